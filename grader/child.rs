//! Grading a submission in a child sockgrade process, inside namespaces
//! when they are in force: the command line that reproduces the caller's
//! options, a deadline for the child as a whole, and its result file read
//! back. A child that fails, hangs or is killed is an error value here,
//! never the end of the caller (a batch goes on).

use crate::error::exit_code;
use crate::exercise::{EMBEDDED_SOURCE, ExerciseSet};
use crate::grade::{BUILD_TIMEOUT, GradeOptions};
use crate::outcome::SubmissionReport;
use crate::platform;
use crate::sandbox::{self, Isolation};
use crate::student::Capture;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::timeout;

/// After asking a cancelled child to stop, how long it has to clean up.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// Added to the child's own worst case: starting, copying, writing.
const CHILD_MARGIN: Duration = Duration::from_secs(30);

/// Why a child grade produced no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildFailure {
    /// The child rejected its input (exit code 2): the message is for the
    /// user as it is.
    BadInput(String),
    /// The child failed, was killed, or wrote no readable result.
    Failed(String),
    /// The child ran past its deadline and was killed.
    TimedOut(Duration),
    /// The caller cancelled it (Ctrl-C).
    Cancelled,
}

impl std::fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildFailure::BadInput(message) => f.write_str(message),
            ChildFailure::Failed(why) => write!(f, "the grader of this submission failed: {why}"),
            ChildFailure::Cancelled => f.write_str("grading was interrupted"),
            ChildFailure::TimedOut(limit) => {
                write!(
                    f,
                    "the grader of this submission ran past its {}s deadline and was stopped",
                    limit.as_secs()
                )
            }
        }
    }
}

/// The worst-case time of a grade with these exercises and options.
pub fn deadline(set: &ExerciseSet, options: &GradeOptions) -> Duration {
    let exercises: f64 = set.chosen(&options.only).map(|e| e.timeouts.total).sum();
    Duration::from_secs_f64(exercises * options.timeout_scale)
        + BUILD_TIMEOUT.mul_f64(options.timeout_scale)
        + CHILD_MARGIN
}

/// Grades `folder` in a child sockgrade under `isolation`. When `cancel`
/// turns true the child is asked to stop (SIGTERM: it ends its programs),
/// then killed after a grace.
pub async fn grade(
    folder: &Path,
    set: &ExerciseSet,
    options: &GradeOptions,
    isolation: Isolation,
    mut cancel: watch::Receiver<bool>,
) -> Result<SubmissionReport, ChildFailure> {
    let results = crate::platform::private_tempdir("sockgrade-child-")
        .map_err(|e| ChildFailure::Failed(format!("cannot make a temporary folder: {e}")))?;
    let results_file = results.path().join("results.json");
    // The child's temporary folders go inside ours, so they are removed
    // with it even if the child is killed before it can clean up; the
    // programs' own user must be able to cross it.
    let _ = crate::platform::set_mode(results.path(), 0o711);
    let args = child_args(folder, set, options, &results_file);
    let command = sandbox::sockgrade_command(isolation, &args).map_err(|e| {
        ChildFailure::Failed(format!("cannot find sockgrade's own executable: {e}"))
    })?;
    let mut command = tokio::process::Command::from(command);
    command.env("TMPDIR", results.path());
    // The child's terminal report is not needed: its JSON is the result.
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| ChildFailure::Failed(format!("cannot start: {e}")))?;
    let (stderr, stderr_task) = match child.stderr.take() {
        Some(pipe) => Capture::start(pipe),
        None => (Capture::closed(), tokio::spawn(async {})),
    };
    let limit = deadline(set, options);
    let cancelled = async {
        if cancel.wait_for(|stop| *stop).await.is_err() {
            // Nobody can cancel any more: never.
            std::future::pending::<()>().await;
        }
    };
    let status = tokio::select! {
        status = timeout(limit, child.wait()) => match status {
            Ok(status) => status.map_err(|e| ChildFailure::Failed(format!("waiting for it failed: {e}")))?,
            Err(_) => {
                let _ = child.kill().await;
                return Err(ChildFailure::TimedOut(limit));
            }
        },
        () = cancelled => {
            if let Some(pid) = child.id() {
                platform::terminate_process(pid);
            }
            if timeout(CANCEL_GRACE, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
            return Err(ChildFailure::Cancelled);
        }
    };
    let _ = timeout(Duration::from_secs(1), stderr_task).await;
    let stderr = stderr.render();
    match status.code().map(|c| c as u8) {
        Some(exit_code::ALL_PASSED | exit_code::NOT_ALL_PASSED) => read_report(&results_file),
        Some(exit_code::BAD_INPUT) => Err(ChildFailure::BadInput(
            stderr.trim().trim_start_matches("sockgrade: ").to_string(),
        )),
        _ => Err(ChildFailure::Failed(format!(
            "it ended with {} ({})",
            describe_status(status),
            last_lines(&stderr, 5)
        ))),
    }
}

/// The arguments of `sockgrade grade` that reproduce `options` in a child,
/// without namespaces (the child is already in them).
fn child_args(
    folder: &Path,
    set: &ExerciseSet,
    options: &GradeOptions,
    results: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "grade".into(),
        folder.into(),
        "--isolation".into(),
        "none".into(),
    ];
    args.extend(["--json".into(), results.into()]);
    args.extend(["--seed".into(), options.seed.to_string().into()]);
    args.extend([
        "--timeout-scale".into(),
        options.timeout_scale.to_string().into(),
    ]);
    args.extend([
        "--jobs".into(),
        options.exercises_at_once.max(1).to_string().into(),
    ]);
    for id in &options.only {
        args.extend(["--exercise".into(), id.into()]);
    }
    args.extend([
        "--memory".into(),
        options.sandbox.memory_mib.to_string().into(),
    ]);
    args.extend(["--run-as".into(), options.sandbox.run_as.clone().into()]);
    if let Some(dir) = &options.start_slots {
        args.extend(["--start-slots".into(), dir.into()]);
    }
    if set.source != EMBEDDED_SOURCE {
        args.extend(["--exercises".into(), set.source.clone().into()]);
    }
    args
}

fn read_report(path: &Path) -> Result<SubmissionReport, ChildFailure> {
    let bytes = std::fs::read(path)
        .map_err(|e| ChildFailure::Failed(format!("it wrote no result ({e})")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ChildFailure::Failed(format!("its result is unreadable ({e})")))
}

fn describe_status(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => {
            #[cfg(unix)]
            if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
                return format!("signal {signal}");
            }
            "an unknown status".to_string()
        }
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(count)..];
    if tail.is_empty() {
        "no message".to_string()
    } else {
        tail.join(" / ")
    }
}
