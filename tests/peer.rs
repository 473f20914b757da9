//! The peer in-process, on ports the system picks (port 0), against small
//! "students" written here: framing, matching, the HTTP exchange, and how
//! the grader closes connections. No fixed port, so nothing can collide.

use socket2::{Domain, Socket, Type};
use sockgrade::exercise::{Exercise, ExerciseSet, Values, Variant};
use sockgrade::peer::{self, Connection, Conversation, Failure, FailureKind, Listening, Shaping};
use sockgrade::student::Observer;
use sockgrade::transcript::Recorder;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep};

/// An exercise with these steps and timeouts (in seconds).
fn exercise(role: &str, port: u16, steps: &str, step: f64, quiet: f64) -> Exercise {
    let text = format!(
        r#"{{"format": 1, "exercises": [{{"id": "t", "title": "t", "instructions": "t",
            "role": "{role}", "port": {port}, "timeouts": {{"step": {step}, "quiet": {quiet}}},
            "values": {{"word": "random-word"}}, "steps": {steps}}}]}}"#
    );
    ExerciseSet::parse(&text, "test")
        .unwrap()
        .exercises
        .remove(0)
}

/// Plays `exercise` as the grader over `stream`, then closes as `grade` does.
async fn play(exercise: &Exercise, stream: TcpStream) -> Result<(), Failure> {
    play_shaped(exercise, stream, Shaping::none()).await
}

/// [`play`] with the grader's sends shaped by a robustness variant.
async fn play_shaped(
    exercise: &Exercise,
    stream: TcpStream,
    shaping: Shaping,
) -> Result<(), Failure> {
    let values = Values::resolve(&exercise.values, 1, &[]).unwrap();
    let deadlines = exercise.timeouts.scaled(1.0);
    let connection = Connection::new(stream, Recorder::new());
    let (outcome, connection) = Conversation::new(
        exercise,
        &values,
        deadlines,
        connection,
        Observer::detached(),
        shaping,
    )
    .play()
    .await;
    connection.finish(Duration::from_secs(2)).await;
    outcome
}

/// Listens on a free port, lets `student` connect, and plays `exercise`.
async fn grade_client<F>(
    steps: &str,
    step: f64,
    quiet: f64,
    student: impl FnOnce(u16) -> F,
) -> Result<(), Failure>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let listening = Listening::bind(0).unwrap();
    let port = listening.port();
    let exercise = exercise("client", port, steps, step, quiet);
    let student = tokio::spawn(student(port));
    let deadline = Instant::now() + Duration::from_secs(5);
    let stream = listening
        .accept(deadline, &mut Observer::detached())
        .await?;
    let outcome = play(&exercise, stream).await;
    student.await.unwrap();
    outcome
}

#[tokio::test]
async fn a_right_answer_in_fragments_without_newline_is_accepted_at_once() {
    // A 10-minute quiet gap: waiting for silence would hit the step deadline.
    let outcome = grade_client(
        r#"[{"expect": {"exact": "How do you do?"}}, {"send": "fine"}]"#,
        5.0,
        600.0,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"How do ").await.unwrap();
            sleep(Duration::from_millis(30)).await;
            s.write_all(b"you do?").await.unwrap();
            let mut reply = [0u8; 16];
            let n = s.read(&mut reply).await.unwrap();
            assert_eq!(&reply[..n], b"fine\n");
        },
    )
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn a_right_answer_paused_halfway_for_longer_than_the_quiet_gap_is_waited_for() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "How do you do?"}}, {"send": "fine"}]"#,
        5.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"How do ").await.unwrap();
            sleep(Duration::from_millis(300)).await;
            s.write_all(b"you do?\n").await.unwrap();
            let mut reply = [0u8; 16];
            let n = s.read(&mut reply).await.unwrap();
            assert_eq!(&reply[..n], b"fine\n");
        },
    )
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn a_client_reading_until_the_end_of_the_stream_gets_the_end_after_the_last_message() {
    // The grader waits for the student's close; the student waits for the
    // grader's: only a half-close after the last message ends it.
    let outcome = grade_client(
        r#"[{"expect": {"exact": "How do you do?"}}, {"send": "fine"}, "expect-close"]"#,
        2.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"How do you do?\n").await.unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).await.unwrap();
            assert_eq!(reply, b"fine\n");
        },
    )
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn a_client_that_half_closes_first_reads_the_last_message_and_then_the_end() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "1"}}, {"send": "2"}]"#,
        2.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"1\n").await.unwrap();
            s.shutdown().await.unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply)
                .await
                .expect("the end of the stream, not a reset");
            assert_eq!(reply, b"2\n");
        },
    )
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn an_answer_sent_before_the_message_it_answers_fails() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "1"}}, {"send": "2"}, {"expect": {"exact": "3"}}, {"send": "4"}]"#,
        5.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"1\n3\n").await.unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
        },
    )
    .await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Mismatch);
    assert!(
        failure.message.contains("before it received `2`"),
        "{}",
        failure.message
    );
    assert_eq!(failure.received.as_deref(), Some("3\\n"));
}

#[tokio::test]
async fn an_answer_sent_after_reading_the_message_passes() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "1"}}, {"send": "2"}, {"expect": {"exact": "3"}}, {"send": "4"}]"#,
        5.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut buffer = [0u8; 16];
            s.write_all(b"1\n").await.unwrap();
            let n = s.read(&mut buffer).await.unwrap();
            assert_eq!(&buffer[..n], b"2\n");
            s.write_all(b"3\n").await.unwrap();
            let n = s.read(&mut buffer).await.unwrap();
            assert_eq!(&buffer[..n], b"4\n");
        },
    )
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn a_wrong_answer_fails_after_the_quiet_gap_with_what_was_received() {
    let outcome = grade_client(
        // A message still to send keeps the grader's side open.
        r#"[{"expect": {"exact": "1"}}, {"send": "next"}]"#,
        30.0,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"one").await.unwrap();
            // Stay connected: only the quiet gap can end the message.
            let _ = s.read(&mut [0u8; 1]).await;
        },
    )
    .await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Mismatch);
    assert_eq!(failure.expected.as_deref(), Some("`1`"));
    assert_eq!(failure.received.as_deref(), Some("one"));
}

#[tokio::test]
async fn silence_is_a_timeout_at_the_step_deadline() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "1"}}, {"send": "next"}]"#,
        0.1,
        0.05,
        |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let _ = s.read(&mut [0u8; 1]).await;
        },
    )
    .await;
    assert_eq!(outcome.unwrap_err().kind, FailureKind::Timeout);
}

#[tokio::test]
async fn a_close_before_the_answer_is_reported_as_such() {
    let outcome = grade_client(
        r#"[{"expect": {"exact": "1"}}]"#,
        5.0,
        600.0,
        |port| async move {
            drop(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        },
    )
    .await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Closed);
    assert!(
        failure
            .message
            .contains("closed the connection without sending it"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn an_optional_echo_may_come_or_not() {
    let steps = r#"[{"send": "{word}"}, {"expect-optional": {"exact": "{word}"}}, {"send": "next"}, {"expect": {"exact": "next"}}]"#;
    for echo_the_word in [true, false] {
        let outcome = grade_client(steps, 5.0, 0.1, move |port| async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut buffer = [0u8; 64];
            let n = s.read(&mut buffer).await.unwrap();
            if echo_the_word {
                s.write_all(&buffer[..n]).await.unwrap();
            }
            let n = s.read(&mut buffer).await.unwrap();
            assert_eq!(&buffer[..n], b"next\n");
            s.write_all(b"next\n").await.unwrap();
        })
        .await;
        assert_eq!(outcome, Ok(()), "echo: {echo_the_word}");
    }
}

#[tokio::test]
async fn the_http_response_is_read_whole_by_a_client_reading_to_the_end() {
    let steps =
        r#"[{"http-exchange": {"request-line": "GET / HTTP/1.0", "body": "token {word}\n"}}]"#;
    let outcome = grade_client(steps, 5.0, 0.2, |port| async move {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        s.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
        assert!(
            response.ends_with('\n') && response.contains("token "),
            "{response}"
        );
    })
    .await;
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn a_request_without_its_empty_line_is_explained() {
    let steps = r#"[{"http-exchange": {"request-line": "GET / HTTP/1.0", "body": "x"}}]"#;
    let outcome = grade_client(steps, 5.0, 0.05, |port| async move {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET / HTTP/1.0\n").await.unwrap();
        let _ = s.read(&mut [0u8; 1]).await;
    })
    .await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Mismatch);
    assert!(
        failure.message.contains("not ended by an empty line"),
        "{}",
        failure.message
    );
}

/// A listening socket like a student's server that does not set
/// SO_REUSEADDR, on a free port.
fn plain_listener() -> (StdListener, u16) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_reuse_address(false).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(1).unwrap();
    let listener: StdListener = socket.into();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    (listener, port)
}

/// Binding the port again without SO_REUSEADDR, as the student's next run
/// would: fails if the conversation left TIME_WAIT on the port.
fn rebind_without_reuseaddr(port: u16) -> std::io::Result<()> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(false)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
}

#[tokio::test]
async fn no_time_wait_is_left_on_the_students_port_whoever_closes_first() {
    // The student closes first (answers, then closes) and the grader closes
    // first (a `close` step, then the student sees the end and closes).
    let cases = [
        (
            r#"[{"send": "hi"}, {"expect": {"exact": "hi"}}]"#,
            true,
            "student closes first",
        ),
        (
            r#"[{"send": "hi"}, {"expect": {"exact": "hi"}}, "close"]"#,
            false,
            "grader closes first",
        ),
    ];
    for (steps, student_closes_first, case) in cases {
        let (listener, port) = plain_listener();
        let exercise = exercise("server", port, steps, 5.0, 0.2);
        let server = tokio::spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (mut conn, _) = listener.accept().await.unwrap();
            drop(listener);
            let mut buffer = [0u8; 16];
            let n = conn.read(&mut buffer).await.unwrap();
            conn.write_all(&buffer[..n]).await.unwrap();
            if !student_closes_first {
                // Like a notebook echo server: read until the grader closes.
                while conn.read(&mut buffer).await.is_ok_and(|n| n > 0) {}
            }
        });
        let mut observer = Observer::detached();
        let until = Instant::now() + Duration::from_secs(5);
        let stream = peer::connect(port, || until, &mut observer).await.unwrap();
        assert_eq!(play(&exercise, stream).await, Ok(()), "{case}");
        server.await.unwrap();
        rebind_without_reuseaddr(port)
            .unwrap_or_else(|e| panic!("{case}: port {port} not reusable: {e}"));
    }
}

#[tokio::test]
async fn connect_polling_finds_a_server_that_starts_late() {
    let (listener, port) = plain_listener();
    drop(listener);
    let late_server = tokio::spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"hello\n").await.unwrap();
    });
    let until = Instant::now() + Duration::from_secs(5);
    let stream = peer::connect(port, || until, &mut Observer::detached())
        .await
        .unwrap();
    let exercise = exercise(
        "server",
        port,
        r#"[{"expect": {"exact": "hello"}}]"#,
        5.0,
        0.2,
    );
    assert_eq!(play(&exercise, stream).await, Ok(()));
    late_server.await.unwrap();
}

/// Plays `steps` with the student's program a client that reads once,
/// as soon as it connects, and answers what that one read returned.
async fn one_read_client(steps: &str, shaping: Shaping) -> (Result<(), Failure>, Vec<u8>) {
    let listening = Listening::bind(0).unwrap();
    let port = listening.port();
    let exercise = exercise("client", port, steps, 5.0, 0.2);
    let student = tokio::spawn(async move {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut first = vec![0u8; 1024];
        let n = s.read(&mut first).await.unwrap();
        first.truncate(n);
        s.write_all(&first).await.unwrap();
        first
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let stream = listening
        .accept(deadline, &mut Observer::detached())
        .await
        .unwrap();
    let outcome = play_shaped(&exercise, stream, shaping).await;
    (outcome, student.await.unwrap())
}

#[tokio::test]
async fn coalesce_sends_two_messages_with_no_answer_between_in_one_read() {
    let steps = r#"[{"send": "one"}, {"send": "two"}, {"expect": {"exact": "one"}}]"#;
    let shaping = Shaping::of(Some(Variant::Coalesce), 1, "client-x");
    let (outcome, first_read) = one_read_client(steps, shaping).await;
    assert_eq!(first_read, b"one\ntwo\n");
    assert_eq!(outcome, Ok(()));
}

#[tokio::test]
async fn split_gives_a_reading_program_one_segment_per_read_whatever_the_load() {
    let steps = r#"[{"send": "a-long-enough-word"}, {"expect": {"exact": "a-long-enough-word"}}]"#;
    // Every seed cuts it after at most three bytes, and the program reads
    // before the rest is sent: its one read is that first segment.
    for seed in 0..20 {
        let shaping = Shaping::of(Some(Variant::Split), seed, "client-x");
        let (outcome, first_read) = one_read_client(steps, shaping).await;
        assert!((1..=3).contains(&first_read.len()), "{first_read:?}");
        assert!(b"a-long-enough-word".starts_with(&first_read));
        assert!(outcome.is_err(), "seed {seed}: {outcome:?}");
    }
}
