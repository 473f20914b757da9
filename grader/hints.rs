//! Feedback that names the real mistake: the exercise's own hints (data:
//! a pattern over what the program sent, or printed, at the failed step),
//! then general detectors for the mistakes every socket course sees:
//! Python's `b'...'` form, the received newline kept inside an answer, a
//! server that hangs up after one answer or waits for the client to speak
//! first, a client that connects to a host of its own, a reply received
//! but not printed, a port already in use, a connection refused; and what
//! a program that fails only in the robustness tier has to learn.

use crate::exercise::{Exercise, Role, Step, Values, Variant};
use crate::outcome::Status;
use crate::peer::FailureKind;
use crate::peer::HOST;
use crate::peer::matching::matches;

/// What a failed exercise left to look at.
#[derive(Debug)]
pub struct Evidence<'a> {
    /// The exercise.
    pub exercise: &'a Exercise,
    /// Its values in this run.
    pub values: &'a Values,
    /// The verdict.
    pub status: Status,
    /// The step that failed, if one did.
    pub failed_step: Option<usize>,
    /// How the conversation failed, if it did.
    pub failure: Option<&'a FailureKind>,
    /// What the program sent at that step and the grader did not accept.
    pub received: &'a str,
    /// What the program printed.
    pub stdout: &'a str,
    /// Its error output.
    pub stderr: &'a str,
    /// The exercise's port in this run.
    pub port: u16,
    /// Who held the port when the program ran, when its error output says
    /// the address was in use (see [`names_a_port_in_use`]): read by the
    /// caller, so a hint is made from evidence alone, with no I/O.
    pub port_holder: Option<&'a str>,
}

/// Whether a program's error output says its port was in use: then the
/// caller looks up who holds it, for the hint.
pub fn names_a_port_in_use(stderr: &str) -> bool {
    stderr.contains("Address already in use") || stderr.contains("EADDRINUSE")
}

/// The hint for a program that passed an exercise but failed its replay
/// in `variant`: what that says about how it reads.
pub fn robustness(variant: Variant) -> String {
    match variant {
        Variant::Split | Variant::Coalesce => "TCP carries a stream of bytes, not messages: one recv can return part of a message, or two messages at once. On your own machine each send happened to arrive as one recv; across a network it does not. Frame the messages: keep what recv returned and read again until a newline ends the message (in Python, `line = sock.makefile('r').readline()`; in C, loop on recv until the buffer holds a '\\n'), and answer each whole line.".to_string(),
        Variant::SlowStart => "the grader's first message came after a pause of over a second, as from a peer across a slow network: wait for a message as long as it takes (no short socket timeout, no non-blocking read that gives up when nothing is there yet).".to_string(),
    }
}

/// The hint for a failed exercise, if its mistake is recognised.
pub fn hint(evidence: &Evidence) -> Option<String> {
    if evidence.status == Status::Passed {
        return None;
    }
    from_exercise(evidence)
        .or_else(|| bytes_form_sent(evidence))
        .or_else(|| newline_inside(evidence))
        .or_else(|| hung_up_after_answering(evidence))
        .or_else(|| waited_for_the_client(evidence))
        .or_else(|| connected_elsewhere(evidence))
        .or_else(|| reply_not_printed(evidence))
        .or_else(|| address_in_use(evidence))
        .or_else(|| connection_refused(evidence))
}

/// The exercise's own hints, on what the program produced at the failed
/// step: what it sent at an `expect` step, what it printed at an
/// `expect-output` step.
fn from_exercise(evidence: &Evidence) -> Option<String> {
    let step = evidence.exercise.steps.get(evidence.failed_step?)?;
    let produced = match step {
        Step::Expect(_) => evidence.received.trim(),
        Step::ExpectOutput(_) => evidence.stdout.trim(),
        _ => return None,
    };
    if produced.is_empty() {
        return None;
    }
    evidence
        .exercise
        .hints
        .iter()
        .find(|hint| matches(&hint.when, evidence.values, produced, true))
        .map(|hint| evidence.values.fill(&hint.hint))
}

/// The matcher of the failed step, when it reads a message the program
/// sent.
fn failed_expect<'a>(evidence: &Evidence<'a>) -> Option<&'a crate::exercise::Matcher> {
    match evidence.exercise.steps.get(evidence.failed_step?)? {
        Step::Expect(matcher) => Some(matcher),
        _ => None,
    }
}

/// The answer is right once the line breaks inside it are gone: the text
/// the program received kept its `\n`, and the program built its answer
/// around it (`"doubled:" + data * 2`).
fn newline_inside(evidence: &Evidence) -> Option<String> {
    let matcher = failed_expect(evidence)?;
    let received = evidence.received.trim();
    if !received.contains(['\n', '\r']) {
        return None;
    }
    let joined: String = received
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r'))
        .collect();
    matches(matcher, evidence.values, &joined, true).then(|| {
        "your answer has a line break in the middle: the message you received ends with a newline, \
         and it stayed in what you built from it; strip it first (data.decode().strip() in Python)"
            .to_string()
    })
}

/// A server that answered, then closed the connection while the grader
/// had more to send: one `recv` and one `send` instead of a loop.
fn hung_up_after_answering(evidence: &Evidence) -> Option<String> {
    if evidence.exercise.role != Role::Server
        || !matches!(evidence.failure, Some(FailureKind::Closed))
        || !evidence.received.trim().is_empty()
    {
        return None;
    }
    let failed = evidence.failed_step?;
    failed_expect(evidence)?;
    let answered_before = evidence.exercise.steps[..failed]
        .iter()
        .any(|step| matches!(step, Step::Expect(_)));
    answered_before.then(|| {
        "your server answered, then closed the connection while the grader had more to send: \
         keep the connection open and loop, recv() and answer, until recv() returns nothing \
         (b'' in Python: the client has closed)"
            .to_string()
    })
}

/// A server that waited for the client to speak first, where the
/// exercise's server speaks first (a prompt): both sides waited.
fn waited_for_the_client(evidence: &Evidence) -> Option<String> {
    if evidence.exercise.role != Role::Server
        || evidence.status != Status::Timeout
        || evidence.failed_step != Some(0)
        || !evidence.received.trim().is_empty()
    {
        return None;
    }
    failed_expect(evidence)?;
    let reset = evidence.stderr.contains("ConnectionResetError")
        || evidence.stderr.contains("Connection reset");
    let mut hint = "in this exercise your server speaks first: right after accept() it sends a \
                    prompt (any text, such as \"Send me a phrase:\"), then reads the answer; \
                    it waited to receive instead, and so did the grader"
        .to_string();
    if reset {
        hint.push_str(
            " (the connection reset in its error output is the grader hanging up after waiting)",
        );
    }
    Some(hint)
}

/// A client that looked up a host of its own (the notebook's website)
/// instead of connecting where the grader listens.
fn connected_elsewhere(evidence: &Evidence) -> Option<String> {
    let lookup_failed = [
        "gaierror",
        "Name or service not known",
        "Temporary failure in name resolution",
        "nodename nor servname",
        "getaddrinfo",
        "UnknownHostException",
        "no such host",
        "Network is unreachable",
        "ENETUNREACH",
        "EAI_AGAIN",
        "ENOTFOUND",
    ];
    if evidence.exercise.role != Role::Client
        || !lookup_failed
            .iter()
            .any(|text| evidence.stderr.contains(text))
    {
        return None;
    }
    let port = evidence.port;
    let takes_arguments = evidence
        .exercise
        .args
        .iter()
        .any(|arg| arg.names().any(|name| name == "host" || name == "port"));
    Some(if takes_arguments {
        format!(
            "your client connected to a host of its own, but the grader is the server it must talk to: \
             connect to the HOST and PORT your program is given as its arguments (sys.argv[1] and \
             int(sys.argv[2]) in Python; in this run {HOST} and {port}); nothing outside this machine \
             can be reached while grading"
        )
    } else {
        format!(
            "your client connected to a host of its own: the grader listens on {HOST} port {port}; \
             nothing outside this machine can be reached while grading"
        )
    })
}

/// `str(data)` of Python bytes sent instead of the bytes themselves.
fn bytes_form_sent(evidence: &Evidence) -> Option<String> {
    let received = evidence.received.trim();
    is_bytes_literal(received).then(|| {
        "your program sent Python's b'...' form (str() of bytes): send the bytes themselves, \
         or .decode() them before putting them in a string"
            .to_string()
    })
}

/// The reply arrived but was not printed, or was printed as `b'...'`
/// where the exercise reads the text.
fn reply_not_printed(evidence: &Evidence) -> Option<String> {
    let step = evidence.exercise.steps.get(evidence.failed_step?)?;
    let Step::ExpectOutput(matcher) = step else {
        return None;
    };
    let printed = evidence.stdout.trim();
    // The output holds the reply now, but did not while the grader waited:
    // it came out only when the program was stopped or ended, the mark of
    // output buffered in the program (C's stdio, Perl) instead of written.
    if evidence.status == Status::Timeout && matches(matcher, evidence.values, printed, true) {
        return Some(
            "your program printed the reply, but only when it ended, after the grader had stopped waiting: \
             its output was buffered; flush it right after printing (fflush(stdout) in C, $| = 1 in Perl, \
             print(..., flush=True) in Python, System.out.flush() in Java)"
                .to_string(),
        );
    }
    if printed
        .lines()
        .any(|line| is_bytes_literal(line.trim()) || line.contains("b'") || line.contains("b\""))
    {
        return Some(
            "your program printed the reply as Python bytes (b'...'): print data.decode() to print the text".to_string(),
        );
    }
    Some(if printed.is_empty() {
        "your program received the reply but printed nothing: print it, e.g. print(data.decode())"
            .to_string()
    } else {
        "your program printed something, but not the reply it received: print what recv() returned"
            .to_string()
    })
}

/// `Address already in use`: who holds the port, or TIME_WAIT from an
/// earlier run, which SO_REUSEADDR fixes.
fn address_in_use(evidence: &Evidence) -> Option<String> {
    if !names_a_port_in_use(evidence.stderr) {
        return None;
    }
    let port = evidence.port;
    Some(match evidence.port_holder {
        Some(holder) => {
            format!("port {port} is taken by {holder}: stop that program and grade again")
        }
        None => format!(
            "port {port} was still held when your server started: if it is your own earlier run (TIME_WAIT), \
             set SO_REUSEADDR before bind: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)"
        ),
    })
}

/// A client that connected where nothing listens.
fn connection_refused(evidence: &Evidence) -> Option<String> {
    let refused = [
        "Connection refused",
        "ConnectionRefusedError",
        "ECONNREFUSED",
    ];
    if !refused.iter().any(|r| evidence.stderr.contains(r)) {
        return None;
    }
    Some(format!(
        "your client's connection was refused: nothing listens where it connected; the grader listens on \
         {HOST} port {}: check HOST and PORT",
        evidence.port
    ))
}

/// `b'...'` or `b"..."`: Python's repr of bytes.
fn is_bytes_literal(text: &str) -> bool {
    let quoted =
        |q: char| text.len() >= 3 && text.starts_with(&format!("b{q}")) && text.ends_with(q);
    quoted('\'') || quoted('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::ExerciseSet;

    fn evidence<'a>(
        exercise: &'a Exercise,
        values: &'a Values,
        step: usize,
        received: &'a str,
    ) -> Evidence<'a> {
        Evidence {
            exercise,
            values,
            status: Status::Failed,
            failed_step: Some(step),
            failure: None,
            received,
            stdout: "",
            stderr: "",
            port: exercise.port.unwrap_or(0),
            port_holder: None,
        }
    }

    fn embedded(id: &str) -> (Exercise, Values) {
        let exercise = ExerciseSet::embedded().unwrap().get(id).unwrap().clone();
        let values = Values::resolve(&exercise.values, 7, &[]).unwrap();
        (exercise, values)
    }

    #[test]
    fn client_4_hints_name_the_missing_doubling_or_prefix() {
        let (exercise, values) = embedded("client-4");
        let word = values.get("word").unwrap().to_string();
        let once = hint(&evidence(&exercise, &values, 1, &word)).unwrap();
        assert!(once.contains("once"), "{once}");
        let no_prefix = hint(&evidence(&exercise, &values, 1, &format!("{word}{word}"))).unwrap();
        assert!(no_prefix.contains("prefix"), "{no_prefix}");
        let single = hint(&evidence(&exercise, &values, 1, &format!("doubled:{word}"))).unwrap();
        assert!(single.contains("twice"), "{single}");
        assert_eq!(
            hint(&evidence(&exercise, &values, 1, "something else")),
            None
        );
    }

    #[test]
    fn server_2_hints_when_spaces_punctuation_or_the_newline_were_counted() {
        let (exercise, values) = embedded("server-2");
        let length: usize = values.get("length").unwrap().parse().unwrap();
        let all = hint(&evidence(&exercise, &values, 2, &length.to_string())).unwrap();
        assert!(all.contains("spaces and punctuation"), "{all}");
        let newline = hint(&evidence(&exercise, &values, 2, &(length + 1).to_string())).unwrap();
        assert!(newline.contains("newline"), "{newline}");
    }

    #[test]
    fn server_3_hints_when_the_numbers_were_joined_as_text() {
        let (exercise, values) = embedded("server-3");
        let joined = format!(
            "{}{}",
            values.get("first").unwrap(),
            values.get("second").unwrap()
        );
        let text = hint(&evidence(&exercise, &values, 4, &joined)).unwrap();
        assert!(text.contains("joined"), "{text}");
        let sum = values.get("sum").unwrap().to_string();
        let mut right = evidence(&exercise, &values, 4, &sum);
        right.status = Status::Passed;
        assert_eq!(hint(&right), None);
    }

    #[test]
    fn a_reply_printed_as_bytes_or_not_at_all_is_named() {
        let (exercise, values) = embedded("client-1");
        let mut e = evidence(&exercise, &values, 2, "");
        assert!(hint(&e).unwrap().contains("printed nothing"));
        e.stdout = "Received b\"I'm good, what about you?\\n\"";
        assert!(hint(&e).unwrap().contains("b'...'"));
    }

    #[test]
    fn a_reply_that_came_out_only_at_the_end_is_named_buffered_output() {
        let (exercise, values) = embedded("client-1");
        let mut e = evidence(&exercise, &values, 2, "");
        e.status = Status::Timeout;
        e.stdout = "I'm good, what about you?\n";
        let text = hint(&e).unwrap();
        assert!(
            text.contains("buffered") && text.contains("fflush"),
            "{text}"
        );
        e.stdout = "";
        assert!(hint(&e).unwrap().contains("printed nothing"));
    }

    #[test]
    fn bytes_sent_as_their_python_form_are_named() {
        let (exercise, values) = embedded("server-demo");
        let text = hint(&evidence(&exercise, &values, 1, "b'hello\\n'")).unwrap();
        assert!(text.contains("b'...' form"), "{text}");
    }

    #[test]
    fn an_answer_with_the_received_newline_inside_is_named() {
        let (exercise, values) = embedded("client-4");
        let word = values.get("word").unwrap().to_string();
        let sent = format!("doubled:{word}\n{word}\n");
        let text = hint(&evidence(&exercise, &values, 1, &sent)).unwrap();
        assert!(text.contains("line break between"), "{text}");
        // The general detector, for an exercise without a hint of its own.
        let (echo, values) = embedded("server-demo");
        let text = hint(&evidence(&echo, &values, 1, "hel\nlo")).unwrap();
        assert!(text.contains("line break in the middle"), "{text}");
        assert_eq!(hint(&evidence(&echo, &values, 1, "help\nme")), None);
    }

    #[test]
    fn a_server_that_hangs_up_after_one_answer_is_told_to_loop() {
        let (exercise, values) = embedded("server-demo");
        let mut e = evidence(&exercise, &values, 3, "");
        e.failure = Some(&FailureKind::Closed);
        assert!(hint(&e).unwrap().contains("loop"));
        // Closed before answering anything: not this mistake.
        e.failed_step = Some(1);
        assert_eq!(hint(&e), None);
    }

    #[test]
    fn a_server_waiting_for_the_client_to_speak_first_is_told_to_prompt() {
        let (exercise, values) = embedded("server-2");
        let mut e = evidence(&exercise, &values, 0, "");
        e.status = Status::Timeout;
        e.failure = Some(&FailureKind::Timeout);
        let text = hint(&e).unwrap();
        assert!(
            text.contains("speaks first") && !text.contains("reset"),
            "{text}"
        );
        e.stderr = "ConnectionResetError: [Errno 104] Connection reset by peer";
        assert!(hint(&e).unwrap().contains("grader hanging up"));
        // A client exercise where the grader speaks first is not this.
        let (client, values) = embedded("client-3");
        let mut e = evidence(&client, &values, 1, "");
        e.status = Status::Timeout;
        assert_eq!(hint(&e), None);
    }

    #[test]
    fn a_client_connecting_to_a_host_of_its_own_is_told_about_host_and_port() {
        let (exercise, values) = embedded("client-5");
        let mut e = evidence(&exercise, &values, 0, "");
        e.failed_step = None;
        e.status = Status::Crashed;
        e.port = 40123;
        e.stderr = "socket.gaierror: [Errno -3] Temporary failure in name resolution";
        let text = hint(&e).unwrap();
        assert!(
            text.contains("HOST and PORT") && text.contains("40123"),
            "{text}"
        );
        let (fixed, values) = embedded("client-1");
        let mut e = evidence(&fixed, &values, 0, "");
        e.failed_step = None;
        e.stderr = "socket.gaierror: [Errno -2] Name or service not known";
        assert!(hint(&e).unwrap().contains("127.0.0.1 port 5555"));
    }

    #[test]
    fn client_5_hints_name_the_part_of_the_response_not_printed() {
        let (exercise, values) = embedded("client-5");
        let token = values.get("token").unwrap().to_string();
        let body = format!("Hello from sockgrade, token {token}\n");
        let mut e = evidence(&exercise, &values, 1, "");
        e.stdout = &body;
        assert!(hint(&e).unwrap().contains("not its status line"));
        e.stdout = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n";
        assert!(hint(&e).unwrap().contains("not its body"));
    }

    #[test]
    fn refused_connections_and_ports_in_use_are_explained() {
        let (exercise, values) = embedded("client-1");
        let mut e = evidence(&exercise, &values, 0, "");
        e.failed_step = None;
        e.stderr = "ConnectionRefusedError: [Errno 111] Connection refused";
        assert!(hint(&e).unwrap().contains("port 5555"));
        e.stderr = "OSError: [Errno 98] Address already in use";
        assert!(hint(&e).unwrap().contains("5555"));
    }
}
