//! The result of grading: one [`ExerciseResult`] per exercise, gathered in a
//! [`SubmissionReport`]. Every reporter reads this one value, so the terminal,
//! JSON and JUnit never disagree about a score.

use crate::exercise::{Variant, Visibility};
use serde::{Deserialize, Serialize};

/// Version of the JSON result format; bumped on any incompatible change.
/// (2: `isolation` and `protections` became values with stable names
/// instead of sentences.)
pub const SCHEMA_VERSION: u32 = 2;

/// The verdict of one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The verdicts other than `passed`, in the order every summary lists
    /// them.
    pub const NOT_PASSED: [Status; 5] = [
        Status::Failed,
        Status::Timeout,
        Status::Crashed,
        Status::Error,
        Status::Missing,
    ];

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The student's file that was run, relative to the submission (for
    /// CI annotations: JUnit's `file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_file: Option<String>,
    /// The exercise's visibility on Gradescope, when not `visible`.
    #[serde(default, skip_serializing_if = "Visibility::is_visible")]
    pub visibility: Visibility,
    /// The robustness tier: the exercise replayed in each variant asked
    /// for, after it passed. Feedback only: `status` and `score` are the
    /// normal tier's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub robustness: Vec<VariantResult>,
}

/// One robustness variant's replay of an exercise.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantResult {
    /// How the grader's side was changed.
    pub variant: Variant,
    /// The seed of the variant's cuts and pauses (from the report's seed
    /// and the exercise: `--seed` replays it).
    pub seed: u64,
    /// The verdict of the replay.
    pub status: Status,
    /// What happened, in words a student can act on.
    pub message: String,
    /// What the mistake probably is and how to fix it.
    #[serde(default)]
    pub hint: Option<String>,
    /// What the grader expected at the step that failed, if one did.
    #[serde(default)]
    pub expected: Option<String>,
    /// What the grader received at that step (escaped), if anything.
    #[serde(default)]
    pub received: Option<String>,
    /// The replay's conversation, each segment the grader sent an entry.
    #[serde(default)]
    pub transcript: Vec<TranscriptEntry>,
}

impl ExerciseResult {
    /// Whether there is something to show about it beyond its verdict:
    /// every exercise that ran and did not pass, and a missing one when a
    /// file meant as its program is there (its hint says how to make it
    /// run). Every reporter gives these a section of their own.
    pub fn has_evidence(&self) -> bool {
        match self.status {
            Status::Passed => false,
            Status::Missing => self.hint.is_some(),
            _ => true,
        }
    }

    /// Whether it passed every robustness variant it was replayed in;
    /// `None` when it was not replayed.
    pub fn passed_every_variant(&self) -> Option<bool> {
        (!self.robustness.is_empty()).then(|| {
            self.robustness
                .iter()
                .all(|variant| variant.status == Status::Passed)
        })
    }

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
            program_file: None,
            visibility: Visibility::Visible,
            robustness: Vec::new(),
        }
    }
}

/// The isolation a whole grade ran under. Reports write its stable name
/// (`none`, `namespaces`); the terminal reporter says it in words.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// The programs share the grader's network; each one's process group
    /// is ended after its exercise.
    #[default]
    None,
    /// New network and PID namespaces for the whole submission.
    Namespaces,
}

/// One protection every program of a grade ran under, as data with stable
/// names (`{"kind": "landlock", "abi": 6, "reads_limited": true}`); the
/// terminal reporter says it in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Protection {
    /// A cgroup of its own per program; every process in it is killed at
    /// the end.
    Cgroup {
        /// The cgroup hierarchy: 1 or 2.
        version: u32,
        /// Whether the memory controller is there to limit it.
        limits_memory: bool,
        /// Whether the pids controller is there to limit it.
        limits_processes: bool,
        /// Whether the cpu controller gives it an equal share of the CPU.
        equal_cpu_share: bool,
        /// The memory limit per program, in MiB.
        memory_mib: u64,
        /// The most processes per program.
        processes: u64,
    },
    /// Landlock: writes only in its own folders; no terminal ioctls;
    /// abstract sockets and signals stay inside its sandbox.
    Landlock {
        /// The Landlock ABI of the kernel.
        abi: u32,
        /// Whether reads and runs are limited too (to the system's files
        /// and its own), which needs another user.
        reads_limited: bool,
    },
    /// Another user than sockgrade's, with no capabilities and
    /// `no_new_privs`.
    User {
        /// The user id programs run as.
        uid: u32,
        /// The group id programs run as.
        gid: u32,
    },
    /// An IPC namespace of its own per program.
    IpcNamespace,
    /// A seccomp filter: no Unix sockets, keyrings or terminal input.
    Seccomp {
        /// Whether it also refuses System V and POSIX IPC (when there is
        /// no IPC namespace to contain them).
        refuses_ipc: bool,
    },
    /// sockgrade measures the memory of all of a program's processes and
    /// kills them all over the limit (when no memory cgroup does).
    MemoryWatchdog {
        /// The memory limit per program, in MiB.
        memory_mib: u64,
        /// How often the memory is measured, in ms.
        sample_interval_ms: u64,
    },
    /// Resource limits: CPU time, file size, descriptors, no core dumps.
    Rlimits {
        /// The largest file a program may write, in MiB.
        file_size_mib: u64,
        /// The most descriptors per process.
        descriptors: u64,
        /// The address-space limit, in MiB, when it is set (a backstop
        /// where no memory cgroup limits the program).
        address_space_mib: Option<u64>,
    },
}

/// Versions of the tool that produced a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The isolation in force for the whole submission.
    pub isolation: Isolation,
    /// The protections each program ran under (cgroups, Landlock, user,
    /// rlimits), in the order the sandbox applies them.
    #[serde(default)]
    pub protections: Vec<Protection>,
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
    /// CPU time of the grading process itself (user and system, ms),
    /// beside `programs_cpu_ms`: most of sockgrade's own cost, not all (the
    /// command that starts it in its namespaces costs a few ms more).
    #[serde(default)]
    pub grader_cpu_ms: Option<u64>,
    /// CPU time of the processes the grader started and waited for (the
    /// programs, a manifest's build, the one lookup of Python's own
    /// executable), in ms.
    #[serde(default)]
    pub programs_cpu_ms: Option<u64>,
    /// The folder inside the submission that was graded, when the
    /// submission held nothing but that one folder (a zipped folder): a
    /// person should check that it is the student's work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graded_folder: Option<String>,
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
