//! The second stage: the program runs and the grader plays its side of
//! the conversation, then ends the program and reads what the
//! confinement saw. What comes out is evidence, judged by [`super::judge`];
//! nothing here decides a verdict.

use super::Context;
use super::prepare::Prepared;
use crate::exercise::{Exercise, Values};
use crate::hints;
use crate::outcome::{ExitInfo, TranscriptEntry};
use crate::peer::side::{self, Conversed, Side};
use crate::peer::{Failure, FailureKind};
use crate::platform;
use crate::sandbox::Usage;
use crate::student::{Finished, HeldSlot, Running};
use std::path::Path;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;

/// After the connection closed, how long to wait for the program's exit
/// status, to tell a crash from a clean close.
const EXIT_SETTLE: Duration = Duration::from_millis(250);

/// What a run showed.
#[derive(Debug)]
pub(super) struct Evidence {
    /// How the conversation went: `Ok` when every step passed.
    pub outcome: Result<(), Failure>,
    /// How the program ended, when it ended by itself before the grader
    /// stopped it.
    pub exited_by_itself: Option<ExitInfo>,
    /// Its exit and its output.
    pub finished: Finished,
    /// The limits it ran into.
    pub usage: Usage,
    /// What it sent that the grader did not accept.
    pub unaccepted: String,
    /// The exercise's values in this run.
    pub values: Values,
    /// The exercise's port in this run.
    pub port: u16,
    /// Who held the port, looked up when the program's error output says
    /// it was in use.
    pub port_holder: Option<String>,
    pub transcript: Vec<TranscriptEntry>,
}

/// The program could not be started at all.
#[derive(Debug)]
pub(super) struct StartFailure {
    pub error: std::io::Error,
    /// The file to run has an execute bit (so a refusal is not its mode's).
    pub marked_executable: bool,
}

/// Starts the prepared program and plays the exercise against it.
/// `turn` is this run's turn to have a program running (see
/// `Context::program_turns`); it is given back when the conversation is over.
pub(super) async fn converse(
    exercise: &Exercise,
    prepared: Prepared,
    turn: Option<OwnedSemaphorePermit>,
    context: &Context,
) -> Result<Evidence, StartFailure> {
    let Prepared {
        recorder,
        side: Side {
            setup,
            mut values,
            deadlines,
        },
        command,
        confinement,
        launch,
        shaping,
        ..
    } = prepared;
    let port = setup.port();
    // In a batch, wait for a start slot first: the start deadline is only
    // fair once the program has the CPU to start.
    let slot = match &context.environment.start_slots {
        Some(slots) => slots.acquire().await,
        None => None,
    };
    let mut start_slot = HeldSlot::hold(slot);
    if let Some(quick_moves) = &context.quick_moves {
        quick_moves.program_starting();
    }
    let running = match Running::spawn_retrying(&launch, Some(&confinement)).await {
        Ok(running) => running,
        Err(error) => {
            return Err(StartFailure {
                marked_executable: is_marked_executable(&launch.argv[0], &launch.cwd),
                error,
            });
        }
    };
    recorder.event(format!("started `{command}`"));
    let mut observer = running.observer();
    let program = observer.pid;
    start_slot.started(program);

    let mut unaccepted = String::new();
    let unaccepted_text = &mut unaccepted;
    let values_here = &mut values;
    // The start and whole-exercise deadlines run on the program's own
    // time: waits for a CPU are given back (bounded), see ProgramClock.
    let clock = observer.clock();
    let total = clock.deadline(deadlines.total);
    let conversation = async {
        let start = clock.deadline(deadlines.start);
        let stream = side::meet(setup, &start, &mut observer).await?;
        start_slot.release();
        let Conversed {
            outcome,
            unaccepted,
        } = side::converse(
            exercise,
            values_here,
            deadlines,
            stream,
            &recorder,
            observer.clone(),
            shaping,
        )
        .await;
        *unaccepted_text = unaccepted;
        outcome
    };
    let outcome = tokio::select! {
        outcome = conversation => outcome,
        () = total.reached() => Err(Failure::new(
            FailureKind::Timeout,
            format!(
                "the exercise took longer than its time limit of {:.1}s",
                deadlines.total.as_secs_f64()
            ),
        )),
    };
    if outcome
        .as_ref()
        .is_err_and(|f| f.kind == FailureKind::Closed)
    {
        // The close may be the first sign of a crash: let the exit status
        // arrive so the verdict can say so.
        let _ = timeout(EXIT_SETTLE, observer.wait_exit()).await;
    }
    let exited_by_itself = observer.exited();
    // The next program starts while this one is stopped and its cgroups
    // are read and removed: a few milliseconds of waiting for the kernel
    // (a Python client is stopped 1-5 ms after its last message), in which
    // the CPUs had one program fewer to run.
    drop(turn);
    let finished = running.stop().await;
    let usage = tokio::task::spawn_blocking(move || confinement.finish())
        .await
        .unwrap_or_default();
    if exited_by_itself.is_none() {
        recorder.event("the grader stopped the program");
    } else {
        recorder.event(format!("the program exited ({})", finished.exit.describe()));
    }
    let port_holder = hints::names_a_port_in_use(&finished.stderr)
        .then(|| platform::port_holder(port))
        .flatten();
    Ok(Evidence {
        port_holder,
        outcome,
        exited_by_itself,
        finished,
        usage,
        unaccepted,
        values,
        port,
        transcript: recorder.entries(),
    })
}

/// Whether the file `program` names (a path, or a name looked up on
/// `PATH`) has an execute bit: then a refusal to run it is not its mode's.
/// Never where files have no modes (Windows).
fn is_marked_executable(program: &std::ffi::OsStr, cwd: &Path) -> bool {
    let program = Path::new(program);
    let candidates: Vec<std::path::PathBuf> = if program.components().count() > 1 {
        vec![cwd.join(program)]
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(program))
            .collect()
    };
    candidates.iter().any(|file| {
        std::fs::metadata(file).is_ok_and(|m| {
            let meta = platform::FileMeta::of(&m);
            meta.kind == platform::FileKind::File && meta.mode & 0o111 != 0
        })
    })
}
