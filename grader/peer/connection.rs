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
        }
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
        // Whatever is readable now was written before the program could see
        // this message: take it in first, so a step can tell an answer sent
        // ahead of its question from a real one.
        self.take_available()?;
        self.before_send = self.buffer.len();
        self.recorder.sent(bytes);
        self.last_move = LastMove::Sent;
        match timeout_at(deadline, self.stream.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the program stopped reading",
            )),
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
