//! Making untrusted bytes safe to show: escaping for transcripts and output,
//! so that whatever a student's program sends, every report stays readable
//! and valid (JSON, XML 1.0, a terminal without injected escape sequences).

use std::fmt::Write;

/// A path made safe to show, as [`escape_bytes`] does (a submission's
/// name may hold any byte).
pub fn escape_path(path: &std::path::Path) -> String {
    escape_bytes(path.display().to_string().as_bytes())
}

/// Escapes bytes for display: printable text stays as it is; `\n`, `\r`,
/// `\t`, `\\`, other control characters, and invalid UTF-8 become visible
/// escapes (`\n`, `\x1b`, `\xff`).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Escapes captured program output: like [`escape_bytes`] but keeps line
/// breaks and tabs as they are, so a traceback still reads as one.
pub fn escape_output(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' => out.push(c),
                '\r' => {}
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Shortens `text` to at most `max_chars` characters, marking the cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_line_endings_and_control_characters() {
        assert_eq!(
            escape_bytes(b"hi\r\n\x00\x1b[31m"),
            "hi\\r\\n\\u{0}\\u{1b}[31m"
        );
    }

    #[test]
    fn escapes_invalid_utf8_as_hex() {
        assert_eq!(escape_bytes(b"ok\xff\xfe"), "ok\\xff\\xfe");
        assert_eq!(escape_bytes("héllo".as_bytes()), "héllo");
    }

    #[test]
    fn output_keeps_newlines_but_not_escape_sequences() {
        assert_eq!(escape_output(b"a\r\nb\x1b[2J"), "a\nb\\u{1b}[2J");
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
