//! The result of grading: one [`ExerciseResult`] per exercise, gathered in a
//! [`SubmissionReport`]. Every reporter reads this one value, so the terminal,
//! JSON and JUnit never disagree about a score.

use serde::{Deserialize, Serialize};

/// Version of the JSON result format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The verdict of one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The conversation went as the exercise requires.
    Passed,
    /// The program answered, but not what was expected (or closed too early).
    Failed,
    /// The program did not do the next thing within its deadline.
    Timeout,
    /// The program exited with an error status or a signal before it was done.
    Crashed,
    /// No program for this exercise was found in the submission.
    Missing,
    /// The harness or the environment failed; never blamed on the student.
    Error,
}

impl Status {
    /// The lowercase name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Crashed => "crashed",
            Status::Missing => "missing",
            Status::Error => "error",
        }
    }
}

/// Who produced a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Bytes the grader sent to the student's program.
    Sent,
    /// Bytes the grader received from the student's program.
    Received,
    /// Something that happened: a connection, a close, an exit.
    Event,
}

/// One line of the conversation, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Milliseconds since the exercise started.
    pub at_ms: u64,
    /// Who sent it, or `event`.
    pub direction: Direction,
    /// The bytes, escaped so that control characters and invalid UTF-8 are
    /// visible (`\n`, `\r`, `\x00`); for events, a plain description.
    pub text: String,
}

/// How the student's program ended, when it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The exit code, when the program exited by itself.
    pub code: Option<i32>,
    /// The signal number, when a signal ended it.
    pub signal: Option<i32>,
    /// Whether the grader ended it (after the conversation or on a deadline).
    pub killed_by_grader: bool,
}

impl ExitInfo {
    /// True when the program ended by itself with status 0.
    pub fn is_success(&self) -> bool {
        self.code == Some(0) && self.signal.is_none()
    }

    /// "exit status 1" or "signal 11 (SIGSEGV)", for messages.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (_, Some(signal)) => format!("signal {signal}{}", signal_name(signal)),
            (Some(code), None) => format!("exit status {code}"),
            (None, None) => "an unknown status".to_string(),
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// The grade of one exercise for one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseResult {
    /// The exercise id, such as `client-1`.
    pub id: String,
    /// The exercise's title.
    pub title: String,
    /// The verdict.
    pub status: Status,
    /// Points earned: `max_score` when passed, else 0.
    pub score: f64,
    /// Points available.
    pub max_score: f64,
    /// Wall time of the exercise, from launch to cleanup.
    pub duration_ms: u64,
    /// What happened, in words a student can act on.
    pub message: String,
    /// What the mistake probably is and how to fix it, when the grader
    /// recognises it (a teaching assistant's remark).
    #[serde(default)]
    pub hint: Option<String>,
    /// What the grader expected at the step that failed, if a step failed.
    pub expected: Option<String>,
    /// What the grader received at that step (escaped), if anything.
    pub received: Option<String>,
    /// The command that was run, as the student would type it.
    pub command: Option<String>,
    /// How the program ended.
    pub exit: Option<ExitInfo>,
    /// The conversation, in order.
    pub transcript: Vec<TranscriptEntry>,
    /// The program's standard output (capped: head and tail kept; escaped).
    pub stdout: String,
    /// The program's standard error (capped: head and tail kept; escaped).
    pub stderr: String,
}

impl ExerciseResult {
    /// A result with no evidence yet: a run fills in the rest.
    pub fn new(
        id: &str,
        title: &str,
        max_score: f64,
        status: Status,
        message: impl Into<String>,
    ) -> ExerciseResult {
        ExerciseResult {
            id: id.to_string(),
            title: title.to_string(),
            status,
            score: 0.0,
            max_score,
            duration_ms: 0,
            message: message.into(),
            hint: None,
            expected: None,
            received: None,
            command: None,
            exit: None,
            transcript: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

/// Versions of the tool that produced a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Always `sockgrade`.
    pub name: String,
    /// The version of sockgrade.
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The grade of one submission: the value every reporter reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionReport {
    /// The JSON format's version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The tool and its version.
    pub tool: ToolInfo,
    /// The submission's name (its folder name).
    pub submission: String,
    /// The submission folder as given on the command line.
    pub path: String,
    /// The seed of the random values; `--seed` with it replays the run.
    pub seed: u64,
    /// Where the exercises came from: `embedded` or the `--exercises` file.
    pub exercises_source: String,
    /// The isolation in force: `network and pid namespaces` or `none`.
    pub isolation: String,
    /// The protections each program ran under, in words (cgroups,
    /// Landlock, user, rlimits).
    #[serde(default)]
    pub protections: Vec<String>,
    /// Sum of the exercises' scores.
    pub score: f64,
    /// Sum of the exercises' maximum scores.
    pub max_score: f64,
    /// Wall time of the whole grade.
    pub duration_ms: u64,
    /// Peak memory of the grading process itself, in KiB: whatever the
    /// programs print or send, it stays small.
    #[serde(default)]
    pub grader_max_rss_kib: Option<u64>,
    /// CPU time of the grading process itself (user and system, ms):
    /// sockgrade's own cost, beside `programs_cpu_ms`.
    #[serde(default)]
    pub grader_cpu_ms: Option<u64>,
    /// CPU time of the processes the grader started and waited for (the
    /// programs, a manifest's build, the one lookup of Python's own
    /// executable), in ms.
    #[serde(default)]
    pub programs_cpu_ms: Option<u64>,
    /// One result per exercise, in the exercise file's order.
    pub exercises: Vec<ExerciseResult>,
}

impl SubmissionReport {
    /// True when every exercise passed.
    pub fn all_passed(&self) -> bool {
        self.exercises.iter().all(|e| e.status == Status::Passed)
    }

    /// How many exercises got `status`.
    pub fn count(&self, status: Status) -> usize {
        self.exercises.iter().filter(|e| e.status == status).count()
    }
}
