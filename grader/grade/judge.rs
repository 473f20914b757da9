//! The last stage: the verdict, a pure function of the evidence. Which
//! status a run earns, what the student is told, which limit ended the
//! program and what the mistake probably is; no I/O, so every rule is
//! unit-tested here.

use super::converse::{Evidence, StartFailure};
use crate::exercise::Exercise;
use crate::hints;
use crate::outcome::{ExitInfo, Status};
use crate::peer::{Failure, FailureKind};
use crate::sandbox::{PROCESS_LIMIT, Usage};
use crate::student::{START_ATTEMPTS, is_harness_start_failure};

/// A run's verdict, with what explains it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Judgement {
    pub status: Status,
    pub message: String,
    pub hint: Option<String>,
    /// What the failed step expected and received, when a step failed.
    pub expected: Option<String>,
    pub received: Option<String>,
}

/// The verdict of a run that took place; `memory_mib` is the memory
/// limit programs run under (named when it ended the program).
pub(super) fn judge(exercise: &Exercise, evidence: &Evidence, memory_mib: u64) -> Judgement {
    let failure = evidence.outcome.as_ref().err();
    let (status, message) = conversation_verdict(
        failure,
        evidence.exited_by_itself.as_ref(),
        &evidence.finished.stderr,
    );
    let (status, message) = with_limits(
        status,
        message,
        evidence.usage,
        &evidence.finished.exit,
        memory_mib,
    );
    let hint = hints::hint(&hints::Evidence {
        exercise,
        values: &evidence.values,
        status,
        failed_step: failure.and_then(|f| f.step),
        failure: failure.map(|f| &f.kind),
        received: &evidence.unaccepted,
        stdout: &evidence.finished.stdout,
        stderr: &evidence.finished.stderr,
        port: evidence.port,
        port_holder: evidence.port_holder.as_deref(),
    });
    Judgement {
        status,
        message,
        hint,
        expected: failure.and_then(|f| f.expected.clone()),
        received: failure.and_then(|f| f.received.clone()),
    }
}

/// The verdict when the program `command` could not even start.
pub(super) fn start_failure(
    command: &str,
    interpreted: bool,
    failure: &StartFailure,
) -> (Status, String) {
    use std::io::ErrorKind;
    let error = &failure.error;
    if is_harness_start_failure(error) {
        // Already tried again (`Running::spawn_retrying`): still the
        // machine's, so an error of the grade, never the program's crash.
        return (
            Status::Error,
            format!(
                "the grader could not start `{command}` in {START_ATTEMPTS} attempts ({error}): a shortage \
                 on this machine or a fault of the grader, not of the program; grade again"
            ),
        );
    }
    match error.kind() {
        // The interpreter, not the student's file, could not be run: the
        // machine's fault (an interpreter the programs' user cannot reach).
        ErrorKind::PermissionDenied if interpreted => (
            Status::Error,
            format!(
                "`{command}` could not start: its interpreter is not executable by the user programs run as \
                 (install it system-wide, or choose another user with --run-as)"
            ),
        ),
        ErrorKind::NotFound => (
            Status::Crashed,
            format!(
                "`{command}` could not start: the program was not found (check the manifest's command)"
            ),
        ),
        // Its mode allows it, so the refusal is the sandbox's: programs
        // run only the system's programs and their own folder's files.
        ErrorKind::PermissionDenied if failure.marked_executable => (
            Status::Crashed,
            format!(
                "`{command}` could not start: the sandbox runs only the system's programs and files in \
                 the submission, and this is neither (install it system-wide, or put it in the submission)"
            ),
        ),
        ErrorKind::PermissionDenied => (
            Status::Crashed,
            format!(
                "`{command}` could not start: the file is not executable (chmod +x, or add a #! line)"
            ),
        ),
        _ => (
            Status::Crashed,
            format!("`{command}` could not start: {error}"),
        ),
    }
}

/// The verdict and message from how the conversation and the program
/// ended; `stderr` is what the program wrote there.
pub fn conversation_verdict(
    failure: Option<&Failure>,
    exited: Option<&ExitInfo>,
    stderr: &str,
) -> (Status, String) {
    let Some(failure) = failure else {
        return (Status::Passed, "passed".to_string());
    };
    let crash = exited.filter(|exit| !exit.is_success());
    // The last line of a traceback names the error: put it in the message.
    let with_error = |message: String| match last_line(stderr) {
        Some(line) => format!("{message}: {line}"),
        None => message,
    };
    match (&failure.kind, crash) {
        (FailureKind::Harness, _) => (Status::Error, failure.message.clone()),
        (FailureKind::Exited(exit), _) if !exit.is_success() => {
            (Status::Crashed, with_error(failure.message.clone()))
        }
        (FailureKind::Exited(_), _) => (Status::Failed, failure.message.clone()),
        (FailureKind::Closed, Some(exit)) => (
            Status::Crashed,
            with_error(format!(
                "{} (it crashed with {})",
                failure.message,
                exit.describe()
            )),
        ),
        (FailureKind::Closed | FailureKind::Mismatch, _) => {
            (Status::Failed, failure.message.clone())
        }
        (FailureKind::Timeout, _) => (Status::Timeout, failure.message.clone()),
    }
}

/// Puts the limits that ended a program into its verdict: a program
/// killed for memory or CPU time is told so, in plain words.
fn with_limits(
    status: Status,
    message: String,
    usage: Usage,
    exit: &ExitInfo,
    memory_mib: u64,
) -> (Status, String) {
    if status == Status::Passed {
        return (status, message);
    }
    let limit = if usage.out_of_memory {
        Some(format!(
            "stopped: it used more than {memory_mib} MiB of memory (--memory)"
        ))
    } else if exit.signal == Some(24) {
        Some("it used up its CPU time (SIGXCPU): an endless loop?".to_string())
    } else if exit.signal == Some(25) {
        Some("it wrote a file larger than the 64 MiB limit (SIGXFSZ)".to_string())
    } else if usage.out_of_processes {
        Some(format!(
            "it tried to start more than {PROCESS_LIMIT} processes (a fork loop?)"
        ))
    } else {
        None
    };
    match limit {
        Some(limit) => (
            if status == Status::Failed {
                Status::Crashed
            } else {
                status
            },
            format!("{message} ({limit})"),
        ),
        None => (status, message),
    }
}

/// The last non-empty line of a program's stderr (a Python exception's
/// type and message).
fn last_line(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::{ExerciseSet, Values};
    use crate::student::Finished;

    fn exercise() -> Exercise {
        ExerciseSet::embedded()
            .unwrap()
            .get("client-1")
            .unwrap()
            .clone()
    }

    fn exited(code: Option<i32>, signal: Option<i32>) -> ExitInfo {
        ExitInfo {
            code,
            signal,
            killed_by_grader: false,
        }
    }

    fn stopped_by_grader() -> ExitInfo {
        ExitInfo {
            code: None,
            signal: Some(9),
            killed_by_grader: true,
        }
    }

    /// The evidence of a run that ended with `outcome`; the program ended
    /// by itself with `exit` when it is not the grader's stop.
    fn evidence(outcome: Result<(), Failure>, exit: ExitInfo, stderr: &str) -> Evidence {
        Evidence {
            outcome,
            exited_by_itself: (!exit.killed_by_grader).then(|| exit.clone()),
            finished: Finished {
                exit,
                stdout: String::new(),
                stderr: stderr.to_string(),
            },
            usage: Usage::default(),
            unaccepted: String::new(),
            values: Values::default(),
            port: 5678,
            port_holder: None,
            transcript: Vec::new(),
        }
    }

    fn judged(evidence: &Evidence) -> Judgement {
        judge(&exercise(), evidence, 512)
    }

    #[test]
    fn a_conversation_with_every_step_right_passes_with_nothing_else_said() {
        let judgement = judged(&evidence(Ok(()), exited(Some(0), None), ""));
        assert_eq!(
            judgement,
            Judgement {
                status: Status::Passed,
                message: "passed".to_string(),
                hint: None,
                expected: None,
                received: None,
            }
        );
    }

    #[test]
    fn a_close_that_was_a_crash_is_a_crash_named_by_its_traceback() {
        let closed = Failure::new(FailureKind::Closed, "the program closed the connection");
        let traceback =
            "Traceback (most recent call last):\n  File \"client-1.py\"\nValueError: bad\n\n";
        let judgement = judged(&evidence(
            Err(closed.clone()),
            exited(Some(1), None),
            traceback,
        ));
        assert_eq!(judgement.status, Status::Crashed);
        assert_eq!(
            judgement.message,
            "the program closed the connection (it crashed with exit status 1): ValueError: bad"
        );
        // The same close by a program that ended well is a wrong answer.
        let clean = judged(&evidence(Err(closed), exited(Some(0), None), ""));
        assert_eq!(clean.status, Status::Failed);
        assert_eq!(clean.message, "the program closed the connection");
    }

    #[test]
    fn each_kind_of_failure_has_its_status() {
        let cases = [
            (FailureKind::Mismatch, Status::Failed),
            (FailureKind::Timeout, Status::Timeout),
            (FailureKind::Harness, Status::Error),
            (FailureKind::Exited(exited(Some(0), None)), Status::Failed),
            (FailureKind::Exited(exited(None, Some(11))), Status::Crashed),
        ];
        for (kind, status) in cases {
            let failure = Failure::new(kind.clone(), "what happened");
            let judgement = judged(&evidence(Err(failure), stopped_by_grader(), ""));
            assert_eq!(judgement.status, status, "{kind:?}");
            assert!(judgement.message.starts_with("what happened"), "{kind:?}");
        }
    }

    #[test]
    fn what_the_failed_step_expected_and_received_is_kept() {
        let failure = Failure {
            expected: Some("2".to_string()),
            received: Some("3".to_string()),
            step: Some(1),
            ..Failure::new(FailureKind::Mismatch, "the program sent something else")
        };
        let judgement = judged(&evidence(Err(failure), stopped_by_grader(), ""));
        assert_eq!(judgement.expected.as_deref(), Some("2"));
        assert_eq!(judgement.received.as_deref(), Some("3"));
    }

    #[test]
    fn a_limit_that_ended_the_program_is_named_and_a_wrong_answer_becomes_a_crash() {
        let mismatch = || {
            Err(Failure::new(
                FailureKind::Mismatch,
                "it sent something else",
            ))
        };
        let mut memory = evidence(mismatch(), exited(None, Some(9)), "");
        memory.usage.out_of_memory = true;
        let judgement = judged(&memory);
        assert_eq!(judgement.status, Status::Crashed);
        assert!(
            judgement
                .message
                .ends_with("(stopped: it used more than 512 MiB of memory (--memory))"),
            "{}",
            judgement.message
        );

        let cpu = judged(&evidence(
            Err(Failure::new(FailureKind::Timeout, "no reply in time")),
            exited(None, Some(24)),
            "",
        ));
        // A timeout stays a timeout, with the reason beside it.
        assert_eq!(cpu.status, Status::Timeout);
        assert!(cpu.message.contains("SIGXCPU"), "{}", cpu.message);

        let mut forks = evidence(mismatch(), stopped_by_grader(), "");
        forks.usage.out_of_processes = true;
        assert!(
            judged(&forks)
                .message
                .contains(&format!("more than {PROCESS_LIMIT} processes"))
        );

        // A program that passed is not blamed for a limit it brushed.
        let mut passed = evidence(Ok(()), exited(Some(0), None), "");
        passed.usage.out_of_memory = true;
        assert_eq!(judged(&passed).message, "passed");
    }

    #[test]
    fn a_hint_is_read_from_the_evidence_of_a_failure() {
        // What the program sent and the grader did not accept is evidence:
        // Python's b'...' form of bytes gets its hint.
        let failure = Failure::new(FailureKind::Mismatch, "the program sent something else");
        let mut sent_bytes_form = evidence(Err(failure), stopped_by_grader(), "");
        sent_bytes_form.unaccepted = "b'1\\n'".to_string();
        let hint = judged(&sent_bytes_form).hint.unwrap_or_default();
        assert!(hint.contains("b'...' form"), "{hint}");
        // The same bytes in a passing run get no hint.
        let mut passed = evidence(Ok(()), exited(Some(0), None), "");
        passed.unaccepted = "b'1\\n'".to_string();
        assert_eq!(judged(&passed).hint, None);
    }

    #[test]
    fn who_held_a_port_in_use_comes_from_the_evidence() {
        let failure = Failure::new(
            FailureKind::Exited(exited(Some(1), None)),
            "the program ended",
        );
        let stderr = "OSError: [Errno 98] Address already in use";
        let mut held = evidence(Err(failure.clone()), exited(Some(1), None), stderr);
        held.port_holder = Some("python3 old.py (pid 42)".to_string());
        let hint = judged(&held).hint.unwrap_or_default();
        assert!(
            hint.contains("port 5678 is taken by python3 old.py (pid 42)"),
            "{hint}"
        );
        // Nobody holds it now: the program's own earlier run, in TIME_WAIT.
        let released = judged(&evidence(Err(failure), exited(Some(1), None), stderr));
        assert!(released.hint.unwrap_or_default().contains("SO_REUSEADDR"));
    }

    #[cfg(unix)]
    #[test]
    fn a_start_failure_of_the_machine_is_an_error_and_one_of_the_file_a_crash() {
        let failure = |errno: i32, marked_executable: bool| StartFailure {
            error: std::io::Error::from_raw_os_error(errno),
            marked_executable,
        };
        for errno in [libc::ETXTBSY, libc::EAGAIN, libc::ENOMEM] {
            let (status, message) =
                start_failure("./solution client-1", false, &failure(errno, false));
            assert_eq!(status, Status::Error, "{message}");
            assert!(message.contains("grade again"), "{message}");
        }
        let verdict = |errno, interpreted, marked| {
            start_failure("./solution", interpreted, &failure(errno, marked))
        };
        assert_eq!(verdict(libc::ENOENT, false, false).0, Status::Crashed);
        // The interpreter refused: the machine's, not the student's.
        assert_eq!(verdict(libc::EACCES, true, false).0, Status::Error);
        let (status, message) = verdict(libc::EACCES, false, true);
        assert_eq!(status, Status::Crashed);
        assert!(message.contains("the sandbox runs only"), "{message}");
        let (status, message) = verdict(libc::EACCES, false, false);
        assert_eq!(status, Status::Crashed);
        assert!(message.contains("chmod +x"), "{message}");
    }
}
