//! `sockgrade peer`: practice mode. The grader's side of one exercise on
//! the notebook's port, narrated live, while the student runs their own
//! program by hand (a Jupyter cell, a terminal, a debugger): netcat's part
//! in the notebook, played by the grader itself.

use crate::error::{Error, exit_code};
use crate::exercise::{Exercise, Role, Step, Values, exercise_seed};
use crate::grade::{HOST, builtin_values, listen_for_client};
use crate::hints;
use crate::outcome::{Direction, Status, TranscriptEntry};
use crate::peer::matching::describe;
use crate::peer::{self, Connection, Conversation};
use crate::platform;
use crate::student::Observer;
use crate::transcript::Recorder;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, timeout};

/// How long practice waits for the student to start their program.
const WAIT_FOR_STUDENT: Duration = Duration::from_secs(600);

/// How to practise.
#[derive(Debug, Clone)]
pub struct PracticeOptions {
    /// Seed of the random values.
    pub seed: u64,
    /// Multiplies the exercise's timeouts (a person types, a debugger pauses).
    pub timeout_scale: f64,
    /// Keep playing conversation after conversation.
    pub repeat: bool,
}

/// Plays `exercise` against the student's program, once or until Ctrl-C;
/// returns the exit code (0 passed, 1 not).
pub async fn practise(exercise: &Exercise, options: &PracticeOptions) -> Result<u8, Error> {
    let mut round = 0;
    loop {
        round += 1;
        let seed = exercise_seed(options.seed.wrapping_add(round - 1), &exercise.id);
        let passed = tokio::select! {
            passed = one_conversation(exercise, options, seed) => passed?,
            () = platform::stop_requested() => {
                say("\nstopped.");
                return Ok(exit_code::INTERRUPTED);
            }
        };
        if !options.repeat {
            return Ok(if passed {
                exit_code::ALL_PASSED
            } else {
                exit_code::NOT_ALL_PASSED
            });
        }
        say("\nagain: run your program once more (Ctrl-C to stop).");
    }
}

async fn one_conversation(
    exercise: &Exercise,
    options: &PracticeOptions,
    seed: u64,
) -> Result<bool, Error> {
    let deadlines = exercise.timeouts.scaled(options.timeout_scale);
    let listening = match exercise.role {
        Role::Client => Some(listen_for_client(exercise).map_err(Error::bad_input)?),
        Role::Server => None,
    };

    let port = match (&listening, exercise.port) {
        (Some(listening), _) => listening.port(),
        (None, Some(port)) => port,
        (None, None) => {
            return Err(Error::bad_input(format!(
                "{} has no port to connect to",
                exercise.id
            )));
        }
    };
    let builtins = builtin_values(port, &platform::hostname());
    let mut values = Values::resolve(&exercise.values, seed, &builtins).map_err(|e| {
        Error::bad_input(format!("the exercise's values cannot be computed: {}", e.0))
    })?;
    match exercise.role {
        Role::Client => {
            let args: Vec<String> = exercise.args.iter().map(|a| values.fill(a)).collect();
            let with_args = if args.is_empty() {
                String::new()
            } else {
                format!(" with the arguments {}", args.join(" "))
            };
            say(&format!(
                "sockgrade plays the other side of {}, like `nc -l {port}`.\nlistening on {HOST} port {port}: now run your client{with_args}.",
                exercise.id
            ));
        }
        Role::Server => say(&format!(
            "sockgrade plays the other side of {}, like `nc {HOST} {port}`.\nwaiting for your server on port {port}: start it now.",
            exercise.id
        )),
    }

    let recorder = Recorder::narrated(Arc::new(narrate));
    let mut observer = Observer::detached();
    let wait_until = Instant::now() + WAIT_FOR_STUDENT;
    let stream = match listening {
        Some(listening) => listening.accept(wait_until, &mut observer).await,
        None => peer::connect(port, || wait_until, &mut observer).await,
    };
    let stream = match stream {
        Ok(stream) => stream,
        Err(failure) => {
            say(&format!("✗ {}", failure.message));
            return Ok(false);
        }
    };
    recorder.event("connected");
    let connection = Connection::new(stream, recorder.clone());
    if exercise.role == Role::Server
        && let Some(ip) = connection.local_ip()
    {
        values.set("client-ip", ip.to_string());
    }
    // Nobody here sees the program's output or exit: those steps become
    // reminders instead of checks.
    let mut practised = exercise.clone();
    practised
        .steps
        .retain(|step| !matches!(step, Step::ExpectOutput(_) | Step::ExpectExit(_)));
    let (outcome, connection) =
        Conversation::new(&practised, &values, deadlines, connection, observer)
            .play()
            .await;
    let unaccepted = String::from_utf8_lossy(connection.buffered()).into_owned();
    let graceful = if outcome.is_ok() {
        deadlines.exit_grace
    } else {
        Duration::ZERO
    };
    let _ = timeout(
        graceful + Duration::from_secs(1),
        connection.finish(graceful),
    )
    .await;

    for step in &exercise.steps {
        match step {
            Step::ExpectOutput(matcher) => {
                say(&format!(
                    "· your program should also print {}",
                    describe(matcher, &values)
                ));
            }
            Step::ExpectExit(code) => say(&format!(
                "· your program should then exit with status {code}"
            )),
            _ => {}
        }
    }
    match outcome {
        Ok(()) => {
            say("✓ passed: the conversation went as the exercise requires");
            Ok(true)
        }
        Err(failure) => {
            say(&format!("✗ {}", failure.message));
            if let Some(expected) = &failure.expected {
                say(&format!("  expected: {expected}"));
            }
            let status = if failure.kind == peer::FailureKind::Timeout {
                Status::Timeout
            } else {
                Status::Failed
            };
            let hint = hints::hint(&hints::Evidence {
                exercise: &practised,
                values: &values,
                status,
                failed_step: failure.step,
                received: &unaccepted,
                stdout: "",
                stderr: "",
                port,
                port_holder: None,
            });
            if let Some(hint) = hint {
                say(&format!("  hint: {hint}"));
            }
            Ok(false)
        }
    }
}

/// Prints one transcript entry as it happens.
fn narrate(entry: &TranscriptEntry) {
    let arrow = match entry.direction {
        Direction::Sent => "→",
        Direction::Received => "←",
        Direction::Event => "·",
    };
    say(&format!(
        "{:>8.3}s {arrow} {}",
        entry.at_ms as f64 / 1000.0,
        entry.text
    ));
}

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}
