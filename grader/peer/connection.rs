//! One TCP conversation from the grader's side: a stream, the bytes received
//! but not yet consumed by a step, reading them as messages (by a
//! [`Completion`]), and the rules for closing it so that the student's port
//! is left reusable.

use super::framing::{Completion, Message};
use crate::transcript::Recorder;
use socket2::SockRef;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// The most unconsumed bytes kept; a program that floods the socket is
/// judged on what fits, and the grader's memory stays bounded.
pub const MAX_BUFFERED: usize = 1 << 20;

/// How often a segmented send asks whether the program has read the
/// segment before the next: asked, since no event on the sender's socket
/// says so (loopback acknowledges on arrival, not on reading).
const READ_POLL: Duration = Duration::from_millis(1);
/// How many readings in a row must find the program settled: one may
/// catch it between two system calls.
const SETTLED_READINGS: u32 = 2;
/// Between two segments where the kernel does not say what the program
/// has read: long enough for a waiting `recv` to return the first alone.
const SEGMENT_PAUSE: Duration = Duration::from_millis(30);

/// Whether a write failed because the program's end is gone.
fn is_closed_by_peer(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// What one read brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEvent {
    /// Some bytes arrived (now in the buffer).
    Data,
    /// The student closed its side.
    Closed,
    /// The deadline passed first.
    Deadline,
}

/// What the grader did last, which decides how it may close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LastMove {
    /// The grader sent something the student may still be reading.
    Sent,
    /// The grader's last act was reading an answer: the student has read
    /// everything the grader sent.
    Received,
}

/// A connection to the student's program, with its receive buffer.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    peer_closed: bool,
    we_closed: bool,
    last_move: LastMove,
    /// How many of the buffered bytes were received before the grader's
    /// latest message was sent: they cannot answer it.
    before_send: usize,
    recorder: Recorder,
    /// The session of the student's program, when the grader started it:
    /// a segmented send waits for it to settle (see `wait_until_read`).
    program: Option<u32>,
}

impl Connection {
    /// Wraps an established stream.
    pub fn new(stream: TcpStream, recorder: Recorder) -> Connection {
        // Messages are small and a conversation waits on each one: send
        // every message at once rather than batching.
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            buffer: Vec::new(),
            peer_closed: false,
            we_closed: false,
            last_move: LastMove::Received,
            before_send: 0,
            recorder,
            program: None,
        }
    }

    /// Names the session of the program at the other end, so that a
    /// segmented send can wait for it to settle.
    pub fn watch_program(&mut self, session: Option<u32>) {
        self.program = session;
    }

    /// The transcript this connection records in.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Bytes received and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buffer
    }

    /// Drops the first `count` buffered bytes (a step consumed them).
    pub fn consume(&mut self, count: usize) {
        let count = count.min(self.buffer.len());
        self.buffer.drain(..count);
        self.before_send = self.before_send.saturating_sub(count);
        self.last_move = LastMove::Received;
    }

    /// The buffered bytes that had arrived before the grader's latest
    /// message was sent, so the program wrote them without having read it.
    pub fn received_before_send(&self) -> &[u8] {
        &self.buffer[..self.before_send]
    }

    /// True once the grader has closed its sending side.
    pub fn closed_sending(&self) -> bool {
        self.we_closed
    }

    /// True once the student has closed its side.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// The local address of the grader's socket (the student sees it as the
    /// client's address).
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.stream.local_addr().ok().map(|a| a.ip())
    }

    /// Sends `bytes`, or fails at `deadline` (a program that stops reading
    /// fills the socket's buffers).
    pub async fn send(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        self.send_in_segments(bytes, &[bytes.len()], false, deadline)
            .await
    }

    /// Sends `bytes` as segments of the lengths `segments` gives, or fails
    /// at `deadline`. With `one_per_read`, each segment goes out only once
    /// the program has read everything before it, the first one too: each
    /// of its reads then returns exactly one segment, however loaded the
    /// machine, and never the end of one message with the start of the
    /// next. Each segment is a transcript entry of its own. A program that
    /// closes before the last segment ends the sending, not the step: what
    /// it sent is judged.
    pub async fn send_in_segments(
        &mut self,
        bytes: &[u8],
        segments: &[usize],
        one_per_read: bool,
        deadline: Instant,
    ) -> io::Result<()> {
        if one_per_read {
            self.wait_until_read(deadline).await;
        }
        // Whatever is readable now was written before the program could see
        // this message: take it in first, so a step can tell an answer sent
        // ahead of its question from a real one.
        self.take_available()?;
        self.before_send = self.buffer.len();
        self.last_move = LastMove::Sent;
        let mut from = 0;
        for (index, &len) in segments.iter().enumerate() {
            if index > 0 {
                if one_per_read {
                    self.wait_until_read(deadline).await;
                }
                // An answer to a part of the message, and a close after it,
                // are taken in before more is written to a closed socket.
                self.take_available()?;
                if self.peer_closed {
                    self.stopped_sending_to_a_closed_program();
                    return Ok(());
                }
            }
            let segment = &bytes[from..(from + len).min(bytes.len())];
            from += len;
            self.recorder.sent(segment);
            match timeout_at(deadline, self.stream.write_all(segment)).await {
                // A program that closed with the first segment unread
                // resets the connection: the rest cannot go, as the whole
                // message could not have gone after that close either.
                Ok(Err(error)) if index > 0 && is_closed_by_peer(&error) => {
                    self.peer_closed = true;
                    self.stopped_sending_to_a_closed_program();
                    return Ok(());
                }
                Ok(result) => result?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the program stopped reading",
                    ));
                }
            }
        }
        Ok(())
    }

    fn stopped_sending_to_a_closed_program(&self) {
        self.recorder
            .event("the grader did not send the rest: the program had closed");
    }

    /// Waits until the program has read everything sent so far and has
    /// settled (nothing of it left to run, [`SETTLED_READINGS`] readings in
    /// a row: whatever it does in reply to what it read is sent by then),
    /// or until `deadline`. Where the kernel does not tell what it has
    /// read, a short pause instead.
    async fn wait_until_read(&self, deadline: Instant) {
        let ends = (self.stream.peer_addr(), self.stream.local_addr());
        let (Ok(theirs), Ok(ours)) = ends else {
            return;
        };
        let mut settled_readings = 0;
        loop {
            let unread = crate::platform::unread_bytes(theirs, ours);
            if unread.is_none() {
                tokio::time::sleep_until(deadline.min(Instant::now() + SEGMENT_PAUSE)).await;
                return;
            }
            let settled = unread == Some(0)
                && self
                    .program
                    .and_then(crate::platform::session_is_busy)
                    .is_none_or(|busy| !busy);
            settled_readings = if settled { settled_readings + 1 } else { 0 };
            if settled_readings >= SETTLED_READINGS || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(READ_POLL).await;
        }
    }

    /// Buffers the bytes already received, without waiting.
    fn take_available(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        while !self.peer_closed && self.buffer.len() < MAX_BUFFERED {
            match self.stream.try_read(&mut chunk) {
                Ok(0) => {
                    self.peer_closed = true;
                    self.recorder.event("the program closed the connection");
                }
                Ok(n) => self.keep(&chunk[..n]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                    self.peer_closed = true;
                    self.recorder.event("the program reset the connection");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn keep(&mut self, bytes: &[u8]) {
        self.recorder.received(bytes);
        let room = MAX_BUFFERED - self.buffer.len();
        self.buffer
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Reads until the buffered bytes hold one message by `completion`, or
    /// until they cannot: the student closed, a quiet gap came after bytes
    /// that cannot become one, or `until` passed. When `until` seems to
    /// have passed, `moved` says when the wait really ends, and it goes on
    /// to that if it is later (a step's deadline moves with the program's
    /// waits for a CPU); a quiet gap is the grader's own and never moves.
    pub async fn read_message(
        &mut self,
        completion: &Completion<'_>,
        until: Instant,
        moved: impl Fn() -> Instant,
    ) -> io::Result<Message> {
        // Since when nothing has come; `None` once the silence so far was
        // judged and did not end the message: only new bytes restart it.
        let mut quiet_since = Some(Instant::now());
        loop {
            if let Some(len) = completion.end(&self.buffer, self.peer_closed) {
                return Ok(Message::Whole(len));
            }
            if self.peer_closed {
                return Ok(Message::Closed);
            }
            let gap_ends = completion
                .quiet_gap(&self.buffer)
                .zip(quiet_since)
                .map(|(gap, since)| since + gap)
                .filter(|at| *at < until);
            let event = match gap_ends {
                Some(at) => self.read(at).await?,
                None => self.read_moving(until, &moved).await?,
            };
            match event {
                ReadEvent::Data => {
                    quiet_since = Some(Instant::now());
                    if completion.drops_data() {
                        self.consume(self.buffer.len());
                    }
                }
                ReadEvent::Closed => {}
                ReadEvent::Deadline => {
                    if let Some(len) = completion.end_when_silent(&self.buffer) {
                        return Ok(Message::Whole(len));
                    }
                    if gap_ends.is_none() {
                        return Ok(Message::Deadline);
                    }
                    if !completion.may_still_end(&self.buffer) {
                        return Ok(Message::Stalled);
                    }
                    quiet_since = None;
                }
            }
        }
    }

    /// Reads what is available, waiting until `until`, or later if
    /// `moved` says so then.
    async fn read_moving(
        &mut self,
        until: Instant,
        moved: impl Fn() -> Instant,
    ) -> io::Result<ReadEvent> {
        let mut until = until;
        loop {
            let event = self.read(until).await?;
            if event == ReadEvent::Deadline {
                let later = moved();
                if later > Instant::now() {
                    until = later;
                    continue;
                }
            }
            return Ok(event);
        }
    }

    /// Reads what is available, waiting until `deadline` at most.
    async fn read(&mut self, deadline: Instant) -> io::Result<ReadEvent> {
        if self.peer_closed {
            return Ok(ReadEvent::Closed);
        }
        if self.buffer.len() >= MAX_BUFFERED {
            return Ok(ReadEvent::Deadline);
        }
        let mut chunk = [0u8; 8192];
        match timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => Ok(ReadEvent::Deadline),
            Ok(Ok(0)) => {
                self.peer_closed = true;
                self.recorder.event("the program closed the connection");
                Ok(ReadEvent::Closed)
            }
            Ok(Ok(n)) => {
                self.keep(&chunk[..n]);
                Ok(ReadEvent::Data)
            }
            Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionReset => {
                self.peer_closed = true;
                self.recorder.event("the program reset the connection");
                Ok(ReadEvent::Closed)
            }
            Ok(Err(error)) => Err(error),
        }
    }

    /// Closes the grader's sending side (FIN), keeping its reading side
    /// open: the student reads the end of the stream, as from `nc` when its
    /// input ends, and may still answer.
    pub async fn close_sending(&mut self) {
        if !self.we_closed {
            self.we_closed = true;
            self.recorder.event("the grader closed its sending side");
            let _ = self.stream.shutdown().await;
        }
    }

    /// Ends the connection without leaving TIME_WAIT on the student's side
    /// and without resetting a connection the student may still be reading.
    ///
    /// TIME_WAIT lands on whichever side closes first; on a student server's
    /// port it would make the next run's `bind` fail unless the student set
    /// SO_REUSEADDR. So: if the student already closed, or has read all the
    /// grader sent (its last answer came after), an abortive close (RST)
    /// ends the connection with no TIME_WAIT anywhere. Otherwise the grader
    /// closes first, gracefully, and waits up to `grace` for the student's
    /// close; TIME_WAIT then stays on the grader's side.
    pub async fn finish(mut self, grace: Duration) {
        if self.last_move == LastMove::Sent {
            // The end of the stream goes out before any reset: a student
            // that half-closed first and reads to the end reads the last
            // message and then the end, not "connection reset".
            self.close_sending().await;
        }
        if !self.peer_closed && self.last_move == LastMove::Sent {
            let deadline = Instant::now() + grace;
            let mut sink = [0u8; 8192];
            while let Ok(Ok(n)) = timeout_at(deadline, self.stream.read(&mut sink)).await {
                if n == 0 {
                    self.peer_closed = true;
                    break;
                }
                self.recorder.received(&sink[..n]);
            }
        }
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        drop(self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::{Matcher, Values};
    use std::collections::BTreeMap;
    use tokio::net::TcpListener;
    use tokio::time::sleep;

    /// A silence no test waits out: reaching it fails the test's timing.
    const FOREVER: Duration = Duration::from_secs(600);
    /// A quiet gap short enough to wait out.
    const QUIET: Duration = Duration::from_millis(100);

    /// The grader's connection and the student's end of it, over loopback.
    async fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let student = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (grader, _) = listener.accept().await.unwrap();
        (Connection::new(grader, Recorder::new()), student)
    }

    /// Writes `parts` with `pause` between them, then keeps the
    /// connection open a while (or closes it, with `close`).
    fn student_writes(
        mut student: TcpStream,
        parts: &'static [&'static [u8]],
        pause: Duration,
        close: bool,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    sleep(pause).await;
                }
                student.write_all(part).await.unwrap();
            }
            if close {
                drop(student);
            } else {
                sleep(Duration::from_secs(5)).await;
            }
        })
    }

    fn values() -> Values {
        Values::resolve(&BTreeMap::new(), 0, &[]).unwrap()
    }

    fn answer<'a>(matcher: &'a Matcher, values: &'a Values, quiet: Duration) -> Completion<'a> {
        Completion::Answer {
            matcher,
            values,
            quiet,
        }
    }

    /// Reads one message with `until` this far away and no moving.
    async fn read(
        connection: &mut Connection,
        completion: &Completion<'_>,
        wait: Duration,
    ) -> Message {
        let until = Instant::now() + wait;
        connection
            .read_message(completion, until, || until)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_right_answer_in_fragments_is_whole_as_soon_as_it_matches() {
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"How do ", b"you do?"], QUIET / 4, false);
        let (matcher, values) = (Matcher::Exact("How do you do?".into()), values());
        let started = Instant::now();
        let message = read(
            &mut connection,
            &answer(&matcher, &values, FOREVER),
            FOREVER,
        )
        .await;
        assert_eq!(message, Message::Whole(14));
        // Waiting for silence would take FOREVER.
        assert!(started.elapsed() < Duration::from_secs(60));
        assert_eq!(connection.buffered(), b"How do you do?");
    }

    #[tokio::test]
    async fn a_quiet_gap_ends_an_answer_only_once_it_cannot_match() {
        let (matcher, values) = (Matcher::Number("42".into()), values());
        // "4", a pause of three gaps, "2": the pause cannot cut a "4".
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"4", b"2\n"], QUIET * 3, false);
        let completion = answer(&matcher, &values, QUIET);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Whole(3)
        );
        // "43" can only be wrong: the gap ends it, and it stays as evidence.
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"43"], QUIET, false);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Stalled
        );
        assert_eq!(connection.buffered(), b"43");
    }

    #[tokio::test]
    async fn a_close_reads_an_answer_whole_or_ends_it() {
        let values = values();
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"Send the "], QUIET, true);
        // A prompt's first fragment is not yet a prompt, but all of one at
        // the close.
        let prompt = answer(&Matcher::AnyText, &values, FOREVER);
        assert_eq!(
            read(&mut connection, &prompt, FOREVER).await,
            Message::Whole(9)
        );
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"nope"], QUIET, true);
        let exact = Matcher::Exact("yes".into());
        let completion = answer(&exact, &values, FOREVER);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Closed
        );
        assert_eq!(connection.buffered(), b"nope");
    }

    #[tokio::test]
    async fn the_deadline_ends_a_wait_unless_moved_is_later() {
        let (matcher, values) = (Matcher::Exact("late".into()), values());
        let completion = answer(&matcher, &values, QUIET);
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"", b"late"], QUIET * 3, false);
        assert_eq!(
            read(&mut connection, &completion, QUIET).await,
            Message::Deadline
        );
        // The same lateness, with the deadline moved past it.
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"", b"late"], QUIET * 3, false);
        let until = Instant::now() + QUIET;
        let later = Instant::now() + FOREVER;
        let message = connection
            .read_message(&completion, until, || later)
            .await
            .unwrap();
        assert_eq!(message, Message::Whole(4));
    }

    #[tokio::test]
    async fn an_optional_message_that_does_not_come_leaves_what_did() {
        let (matcher, values) = (Matcher::Exact("exit".into()), values());
        let completion = Completion::Optional {
            matcher: &matcher,
            values: &values,
        };
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"hello\n"], QUIET, false);
        assert_eq!(
            read(&mut connection, &completion, QUIET * 2).await,
            Message::Deadline
        );
        assert_eq!(connection.buffered(), b"hello\n");
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"ex", b"it\nnext"], QUIET / 4, false);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Whole(5)
        );
    }

    #[tokio::test]
    async fn an_http_head_ends_at_its_empty_line_or_stalls_without_it() {
        let completion = Completion::HttpHead { quiet: QUIET };
        let (mut connection, student) = pair().await;
        let parts: &[&[u8]] = &[b"GET / HTTP/1.0\r\n", b"Host: x\r\n", b"\r\n"];
        let _student = student_writes(student, parts, QUIET / 4, false);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Whole(27)
        );
        // The request line and then silence: the missing empty line.
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"GET / HTTP/1.0\r\n"], QUIET, false);
        assert_eq!(
            read(&mut connection, &completion, FOREVER).await,
            Message::Stalled
        );
        // No line yet: silence is no reason to judge it before the deadline.
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"GET / HT"], QUIET, false);
        let started = Instant::now();
        let message = read(&mut connection, &completion, QUIET * 4).await;
        assert_eq!(message, Message::Deadline);
        assert!(started.elapsed() >= QUIET * 4);
    }

    #[tokio::test]
    async fn words_before_a_close_are_dropped_and_the_close_ends_it() {
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"Bye", b"!\n"], QUIET / 4, true);
        let message = read(&mut connection, &Completion::Close, FOREVER).await;
        assert_eq!(message, Message::Closed);
        assert!(connection.buffered().is_empty());
        let (mut connection, student) = pair().await;
        let _student = student_writes(student, &[b"still here"], QUIET, false);
        let message = read(&mut connection, &Completion::Close, QUIET * 2).await;
        assert_eq!(message, Message::Deadline);
    }
}
