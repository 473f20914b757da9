//! The step interpreter: plays an exercise's steps over a [`Connection`],
//! deciding pass or fail from messages and the program's output, without
//! touching bytes on the wire itself.

use super::http;
use super::matching::{describe, find_match, matches};
use super::{Completion, Connection, Failure, FailureKind, Message, Shaping};
use crate::exercise::{
    Deadlines, Exercise, HttpExchange, Matcher, Step, Template, Values, coalesced_pair,
};
use crate::student::{Deadline, Observer, ProgramClock};
use crate::text::escape_bytes;
use tokio::time::{Instant, sleep, sleep_until};

/// One conversation: an exercise's steps against one connection.
pub struct Conversation<'a> {
    exercise: &'a Exercise,
    values: &'a Values,
    deadlines: Deadlines,
    connection: Connection,
    observer: Observer,
    /// The grader's latest message, as sent (escaped), for a step that
    /// finds its answer arrived first.
    last_sent: Option<String>,
    /// The program's clock: a step's deadline gives back the time the
    /// program waited for a CPU (see `ProgramClock`).
    clock: ProgramClock,
    /// The current step's deadline: where it would pass on an idle
    /// machine, and on the program's clock.
    step_deadline: Option<(Instant, Deadline)>,
    /// How the grader's messages go out (the robustness tier's variant).
    shaping: Shaping,
}

impl<'a> Conversation<'a> {
    /// A conversation ready to play.
    pub fn new(
        exercise: &'a Exercise,
        values: &'a Values,
        deadlines: Deadlines,
        connection: Connection,
        observer: Observer,
        shaping: Shaping,
    ) -> Conversation<'a> {
        let clock = observer.clock();
        Conversation {
            exercise,
            values,
            deadlines,
            connection,
            observer,
            last_sent: None,
            clock,
            step_deadline: None,
            shaping,
        }
    }

    /// Plays every step in order; stops at the first failure. Returns the
    /// connection so the caller can close it properly.
    pub async fn play(mut self) -> (Result<(), Failure>, Connection) {
        let total = self.exercise.steps.len();
        let steps = &self.exercise.steps;
        // The pair of messages that go out together, when they do.
        let coalesced = coalesced_pair(steps).filter(|_| self.shaping.coalesces());
        for (index, step) in steps.iter().enumerate() {
            if coalesced.is_some_and(|pair| pair.second == index) {
                continue;
            }
            // Nothing more to say on this connection: say so, as netcat does
            // at the end of its input, so a program reading until the end of
            // the stream gets there.
            if !steps[index..].iter().any(Step::sends) {
                self.connection.close_sending().await;
            }
            let played = match coalesced {
                Some(pair) if pair.first == index => self.send_together(pair.texts).await,
                _ => self.play_step(step).await,
            };
            if let Err(mut failure) = played {
                failure.step = Some(index);
                if total > 1 {
                    failure.message = format!("step {} of {total}: {}", index + 1, failure.message);
                }
                return (Err(failure), self.connection);
            }
        }
        // The last step sent something: the end of the stream follows it.
        self.connection.close_sending().await;
        (Ok(()), self.connection)
    }

    /// Starts a step's deadline: where it would pass on an idle machine,
    /// and on the program's clock.
    fn begin_step(&mut self) -> Instant {
        let deadline = Instant::now() + self.deadlines.step;
        self.step_deadline = Some((deadline, self.clock.deadline(self.deadlines.step)));
        deadline
    }

    async fn play_step(&mut self, step: &Step) -> Result<(), Failure> {
        let deadline = self.begin_step();
        match step {
            Step::Send(text) => self.send(text, deadline).await,
            Step::Expect(matcher) => self.expect(matcher, deadline).await,
            Step::ExpectOptional(matcher) => self.expect_optional(matcher).await,
            Step::ExpectClose => self.expect_close(deadline).await,
            Step::ExpectOutput(matcher) => self.expect_output(matcher, deadline).await,
            Step::ExpectExit(code) => self.expect_exit(*code, deadline).await,
            Step::HttpExchange(http) => self.http_exchange(http, deadline).await,
            Step::Close => {
                self.connection.close_sending().await;
                Ok(())
            }
        }
    }

    /// `text` filled in, with the exercise's line ending.
    fn line(&self, text: &Template) -> String {
        format!("{}{}", self.values.fill(text), self.exercise.line_ending)
    }

    async fn send(&mut self, text: &Template, deadline: Instant) -> Result<(), Failure> {
        let message = self.line(text);
        self.send_bytes(message.as_bytes(), deadline).await
    }

    /// Sends two messages in one segment (the `coalesce` variant).
    async fn send_together(&mut self, [first, second]: [&Template; 2]) -> Result<(), Failure> {
        let deadline = self.begin_step();
        let both = self.line(first) + &self.line(second);
        self.connection
            .recorder()
            .event("the grader sent the next two messages in one segment");
        self.send_bytes(both.as_bytes(), deadline).await
    }

    async fn send_bytes(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), Failure> {
        if let Some(pause) = self.shaping.pause_before_message() {
            self.connection.recorder().event(format!(
                "the grader waited {:.1}s before its first message",
                pause.as_secs_f64()
            ));
            sleep(pause).await;
        }
        self.last_sent = Some(escape_bytes(bytes.trim_ascii()));
        let segments = self.shaping.segments(bytes.len());
        if segments.len() > 1 {
            self.connection.recorder().event(format!(
                "the grader split its next message into {} segments",
                segments.len()
            ));
        }
        let sent = self
            .connection
            .send_in_segments(bytes, &segments, self.shaping.splits(), deadline)
            .await;
        sent.map_err(|error| {
            let what = escape_bytes(bytes);
            match error.kind() {
                std::io::ErrorKind::TimedOut => Failure::new(
                    FailureKind::Timeout,
                    format!("could not send `{what}`: the program stopped reading"),
                ),
                _ => Failure::new(
                    FailureKind::Closed,
                    format!(
                        "could not send `{what}`: the program had closed the connection ({error})"
                    ),
                ),
            }
        })
    }

    /// Reads one answer (see [`Completion::Answer`] for where it ends) and
    /// takes it if it satisfies `matcher`.
    async fn expect(&mut self, matcher: &Matcher, deadline: Instant) -> Result<(), Failure> {
        let completion = Completion::Answer {
            matcher,
            values: self.values,
            quiet: self.deadlines.quiet,
        };
        let message = self.read_message(&completion, deadline).await?;
        let pending = !is_blank(self.connection.buffered());
        let seconds = self.deadlines.step.as_secs_f64();
        let (kind, message) = match message {
            Message::Whole(end) => return self.accept(matcher, end),
            Message::Closed if pending => (
                FailureKind::Closed,
                "the program sent something else and closed the connection".to_string(),
            ),
            Message::Closed => (
                FailureKind::Closed,
                "the program closed the connection without sending it".to_string(),
            ),
            Message::Stalled => (
                FailureKind::Mismatch,
                "the program sent something else".to_string(),
            ),
            Message::Deadline if pending => (
                FailureKind::Mismatch,
                format!("the program sent something else (and nothing more for {seconds:.1}s)"),
            ),
            Message::Deadline => (
                FailureKind::Timeout,
                format!("waited {seconds:.1}s and the program sent nothing"),
            ),
        };
        Err(self.mismatch(kind, message, matcher))
    }

    /// Takes the message ending at `end` as the step's answer, unless it
    /// was already there before the grader sent the message it answers: a
    /// program must wait for what it replies to. Prompts are exempt, since
    /// a prompt answers nothing.
    fn accept(&mut self, matcher: &Matcher, end: usize) -> Result<(), Failure> {
        let early = self.connection.received_before_send();
        if !is_prompt(matcher)
            && !is_blank(early)
            && find_match(matcher, self.values, early, true).is_some()
        {
            let sent = self.last_sent.clone().unwrap_or_default();
            let mut failure = self.mismatch(
                FailureKind::Mismatch,
                format!(
                    "the program sent its answer before it received `{sent}`: wait for the grader's message (recv) before sending the next one"
                ),
                matcher,
            );
            failure.received = Some(escape_bytes(&early[..early.len().min(end)]));
            return Err(failure);
        }
        self.connection.consume(end);
        Ok(())
    }

    /// Accepts one message matching `matcher` if it comes within the quiet
    /// gap; anything else is left for the next step.
    async fn expect_optional(&mut self, matcher: &Matcher) -> Result<(), Failure> {
        let until = Instant::now() + self.deadlines.quiet;
        let completion = Completion::Optional {
            matcher,
            values: self.values,
        };
        if let Message::Whole(end) = self.read_message(&completion, until).await? {
            self.connection.consume(end);
        }
        Ok(())
    }

    async fn expect_close(&mut self, deadline: Instant) -> Result<(), Failure> {
        match self.read_message(&Completion::Close, deadline).await? {
            Message::Deadline => Err(Failure {
                step: None,
                kind: FailureKind::Timeout,
                message: format!(
                    "the program should have closed the connection, but it was still open after {:.1}s",
                    self.deadlines.step.as_secs_f64()
                ),
                expected: Some("the connection closed".to_string()),
                received: None,
            }),
            // The close is the only other way a `Close` read ends.
            Message::Closed | Message::Whole(_) | Message::Stalled => Ok(()),
        }
    }

    /// Waits until the program's standard output satisfies `matcher`.
    async fn expect_output(&mut self, matcher: &Matcher, deadline: Instant) -> Result<(), Failure> {
        let mut stdout = self.observer.stdout.clone();
        loop {
            let (printed, closed) = stdout.snapshot();
            if matches(matcher, self.values, printed.trim(), true) {
                return Ok(());
            }
            let failure = |kind, message: String| Failure {
                step: None,
                kind,
                message,
                expected: Some(format!(
                    "printed output with {}",
                    describe(matcher, self.values)
                )),
                received: Some(if printed.is_empty() {
                    "(nothing printed)".to_string()
                } else {
                    escape_bytes(printed.as_bytes())
                }),
            };
            if closed {
                return Err(failure(
                    FailureKind::Mismatch,
                    "the program ended without printing the reply it received".to_string(),
                ));
            }
            tokio::select! {
                () = stdout.changed() => {}
                () = step_deadline_reached(deadline, self.step_deadline.clone()) => {
                    return Err(failure(
                        FailureKind::Timeout,
                        "the program did not print the reply it received in time".to_string(),
                    ));
                }
            }
        }
    }

    async fn expect_exit(&mut self, code: i32, deadline: Instant) -> Result<(), Failure> {
        tokio::select! {
            exit = self.observer.wait_exit() => {
                if exit.code == Some(code) {
                    Ok(())
                } else {
                    Err(Failure {
                        step: None,
                        kind: FailureKind::Mismatch,
                        message: format!("the program ended with {}", exit.describe()),
                        expected: Some(format!("exit status {code}")),
                        received: Some(exit.describe()),
                    })
                }
            }
            () = step_deadline_reached(deadline, self.step_deadline.clone()) => Err(Failure::new(
                FailureKind::Timeout,
                format!("the program should have exited with status {code}, but it was still running"),
            )),
        }
    }

    /// Plays a web server: reads a request up to its empty line, checks the
    /// request line, answers `200 OK` with the body, and closes.
    async fn http_exchange(
        &mut self,
        http: &HttpExchange,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let expected_line = self.values.fill(&http.request_line);
        let completion = Completion::HttpHead {
            quiet: self.deadlines.quiet,
        };
        let message = self.read_message(&completion, deadline).await?;
        let buffered = self.connection.buffered();
        let failure = |kind, message: &str| Failure {
            step: None,
            kind,
            message: message.to_string(),
            expected: Some(format!("`{expected_line}` and then an empty line")),
            received: Some(escape_bytes(buffered)),
        };
        let head_end = match message {
            Message::Whole(end) => end,
            Message::Closed => {
                return Err(failure(
                    FailureKind::Closed,
                    "the program closed the connection before ending its request with an empty line",
                ));
            }
            Message::Stalled | Message::Deadline if buffered.contains(&b'\n') => {
                return Err(failure(
                    FailureKind::Mismatch,
                    "the request was not ended by an empty line: send `GET / HTTP/1.0` followed by two line breaks",
                ));
            }
            Message::Stalled | Message::Deadline => {
                return Err(failure(
                    FailureKind::Timeout,
                    "no complete HTTP request line arrived in time",
                ));
            }
        };
        let request_line = http::request_line(&buffered[..head_end]);
        self.connection.consume(head_end);
        if request_line != expected_line.trim() {
            return Err(Failure {
                step: None,
                kind: FailureKind::Mismatch,
                message: "the request line is not the one asked for".to_string(),
                expected: Some(format!("`{expected_line}`")),
                received: Some(format!("`{}`", escape_bytes(request_line.as_bytes()))),
            });
        }
        let response = http::ok_response(&self.values.fill(&http.body));
        self.send_bytes(response.as_bytes(), deadline).await?;
        self.connection.close_sending().await;
        Ok(())
    }

    /// Reads one message by `completion`, waiting until `until`. A wait up
    /// to the step's deadline goes on while the program's waits for a CPU
    /// have moved that deadline (see `ProgramClock`).
    async fn read_message(
        &mut self,
        completion: &Completion<'_>,
        until: Instant,
    ) -> Result<Message, Failure> {
        let step = self.step_deadline.clone();
        let moved = move || match &step {
            Some((due, program)) if until >= *due => program.now_due(),
            _ => until,
        };
        self.connection
            .read_message(completion, until, moved)
            .await
            .map_err(|error| {
                Failure::new(
                    FailureKind::Harness,
                    format!("reading from the connection failed: {error}"),
                )
            })
    }

    fn mismatch(&self, kind: FailureKind, message: String, matcher: &Matcher) -> Failure {
        let buffered = self.connection.buffered();
        Failure {
            step: None,
            kind,
            message,
            expected: Some(describe(matcher, self.values)),
            received: (!buffered.is_empty()).then(|| escape_bytes(buffered)),
        }
    }
}

/// True for a matcher that takes a prompt (any text), which may come
/// before the grader's message.
fn is_prompt(matcher: &Matcher) -> bool {
    match matcher {
        Matcher::AnyText => true,
        Matcher::AllOf(all) | Matcher::AnyOf(all) => all.iter().any(is_prompt),
        _ => false,
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Waits for a step's deadline: on the program's clock when there is one.
async fn step_deadline_reached(deadline: Instant, program: Option<(Instant, Deadline)>) {
    match program {
        Some((_, program)) => program.reached().await,
        None => sleep_until(deadline).await,
    }
}
