//! `sockgrade peer`: practice mode. The grader's side of one exercise on
//! the notebook's port, narrated live, while the student runs their own
//! program by hand (a Jupyter cell, a terminal, a debugger): netcat's part
//! in the notebook, played by the grader itself.

use crate::error::{Error, exit_code};
use crate::exercise::{Exercise, Role, Step, Variant};
use crate::grade::conversation_verdict;
use crate::hints;
use crate::outcome::{Direction, TranscriptEntry};
use crate::peer::Shaping;
use crate::peer::matching::describe;
use crate::peer::side::{self, Conversed, HOST, Runner, Side};
use crate::platform;
use crate::student::{Observer, ProgramClock};
use crate::transcript::Recorder;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

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
    /// Send as a network would (a robustness variant), or as they are.
    pub variant: Option<Variant>,
}

/// Plays `exercise` against the student's program, once or until Ctrl-C;
/// returns the exit code (0 passed, 1 not).
pub async fn practise(exercise: &Exercise, options: &PracticeOptions) -> Result<u8, Error> {
    let mut round = 0;
    loop {
        round += 1;
        // Each round its own values, replayable from the seed.
        let seed = options.seed.wrapping_add(round - 1);
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
    // The same side as a grade's, except that the student's server may
    // already be listening: a person started it.
    let side = Side::prepare(
        exercise,
        Runner::Person,
        seed,
        &platform::hostname(),
        options.timeout_scale,
    )
    .map_err(Error::bad_input)?;
    let port = side.port();
    match exercise.role {
        Role::Client => {
            let args = side.args(exercise);
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

    let Side {
        setup,
        mut values,
        deadlines,
    } = side;
    let recorder = Recorder::narrated(Arc::new(narrate));
    let mut observer = Observer::detached();
    // A person's program runs on the wall clock: it is not ours to measure.
    let start = ProgramClock::wall().deadline(WAIT_FOR_STUDENT);
    let stream = match side::meet(setup, &start, &mut observer).await {
        Ok(stream) => stream,
        Err(failure) => {
            say(&format!("✗ {}", failure.message));
            return Ok(false);
        }
    };
    // Nobody here sees the program's output or exit: those steps become
    // reminders instead of checks.
    let mut practised = exercise.clone();
    practised
        .steps
        .retain(|step| !matches!(step, Step::ExpectOutput(_) | Step::ExpectExit(_)));
    let Conversed {
        outcome,
        unaccepted,
    } = side::converse(
        &practised,
        &mut values,
        deadlines,
        stream,
        &recorder,
        observer,
        Shaping::of(options.variant, seed, &exercise.id),
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
    let Err(failure) = outcome else {
        if practised.steps.len() < exercise.steps.len() {
            // The rest (what it prints, how it exits) is the program's
            // own and unseen here: no "passed" that a grade could refute.
            say(&format!(
                "✓ the conversation went as the exercise requires; what your program prints is not seen here: \
                 `sockgrade grade -e {}` checks that too",
                exercise.id
            ));
        } else {
            say("✓ passed: the conversation went as the exercise requires");
        }
        return Ok(true);
    };
    // The verdict a grade would give, from what a person's run shows:
    // the conversation only (no exit status, no output).
    let (status, message) = conversation_verdict(Some(&failure), None, "");
    say(&format!("✗ {message}"));
    if let Some(expected) = &failure.expected {
        say(&format!("  expected: {expected}"));
    }
    let hint = hints::hint(&hints::Evidence {
        exercise: &practised,
        values: &values,
        status,
        failed_step: failure.step,
        failure: Some(&failure.kind),
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
