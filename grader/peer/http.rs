//! HTTP/1.0 framing for the grader's web server (client-5): where a
//! request's head ends, its request line, and the response the grader
//! writes. Only what one exchange needs: no body is read from the
//! student, and the response is framed by its length and by the close.

/// Where an HTTP request's head ends: after its first empty line, whether
/// lines end in `\r\n` or `\n` (students write both).
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' {
            let line = &bytes[line_start..index];
            if line_start > 0 && (line.is_empty() || line == b"\r") {
                return Some(index + 1);
            }
            line_start = index + 1;
        }
    }
    None
}

/// The request line of a head: its first line, without surrounding
/// whitespace or its line ending.
pub fn request_line(head: &[u8]) -> String {
    let head = String::from_utf8_lossy(head);
    head.lines().next().unwrap_or("").trim().to_string()
}

/// A `200 OK` response carrying `body`, as text. `Content-Length` lets a
/// client that reads by length stop at the body's end; `Connection:
/// close` tells one that reads to the end that the close is coming.
pub fn ok_response(body: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_heads_end_at_the_first_empty_line() {
        assert_eq!(head_end(b"GET / HTTP/1.0\r\n\r\n"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.0\r\nHost: x\r\n\r\nbody"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.0\r\n"), None);
        assert_eq!(head_end(b"\r\nGET"), None);
    }

    #[test]
    fn the_request_line_is_the_heads_first_line_trimmed() {
        assert_eq!(
            request_line(b" GET / HTTP/1.0\r\nHost: x\r\n\r\n"),
            "GET / HTTP/1.0"
        );
        assert_eq!(request_line(b"\n\n"), "");
    }

    #[test]
    fn the_response_announces_its_bodys_length() {
        let response = ok_response("token 12ab");
        assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
        assert!(
            response.contains("\r\nContent-Length: 10\r\n"),
            "{response}"
        );
        assert!(response.ends_with("\r\n\r\ntoken 12ab"), "{response}");
    }
}
