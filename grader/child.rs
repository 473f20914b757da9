//! Grading a submission in a child sockgrade process, inside namespaces
//! when they are in force. The two speak a typed protocol: the caller
//! hands the child one [`Request`] (the folder, the options, the
//! exercises themselves, the isolation), and the child writes one
//! [`Reply`] (the report, or why there is none) to the file the request
//! names. A batch, whose runtime has threads, starts each child as a new
//! `sockgrade __child-grade` and writes it the request as JSON on its
//! stdin; `grade`, whose one thread can fork safely, forks the child
//! before its runtime starts and the request is in its memory
//! ([`ChildGrade::fork`]). The caller also gives the child a deadline as
//! a whole. A child that fails, hangs or is killed is an error value
//! here, never the end of the caller (a batch goes on).

use crate::error::{Error, ErrorKind, exit_code};
use crate::exercise::ExerciseSet;
use crate::grade::{BUILD_TIMEOUT, GradeOptions};
use crate::outcome::SubmissionReport;
use crate::platform;
use crate::sandbox::{self, CgroupKind, Isolation};
use crate::student::Capture;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::timeout;

/// The hidden command that grades as a child: `sockgrade __child-grade`.
pub const CHILD_GRADE_COMMAND: &str = "__child-grade";

/// After asking a cancelled child to stop, how long it has to clean up.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// Added to the child's own worst case: starting, copying, writing.
const CHILD_MARGIN: Duration = Duration::from_secs(30);

/// The file in the caller's private folder that the child replies in.
const REPLY_FILE: &str = "reply.json";

/// Everything a child grader needs, so that it reads nothing of the
/// caller's but the submission: the exercises come as the caller loaded
/// and checked them, not as a file to read again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Request {
    /// The submission folder (byte for byte: it need not be UTF-8).
    #[serde(with = "os_path")]
    pub folder: PathBuf,
    /// How to grade.
    pub options: GradeOptions,
    /// The exercises to grade on.
    pub exercises: ExerciseSet,
    /// The isolation the caller decided and the child runs in: the report
    /// says it as it is.
    pub isolation: Isolation,
    /// The start slots the child shares with the caller's other children
    /// (see `student::StartSlots`), if any.
    #[serde(with = "os_path::optional")]
    pub start_slots: Option<PathBuf>,
    /// The cgroups the caller found, for the child's programs: the child
    /// does not probe again (see `sandbox::CgroupSource::Caller`).
    pub cgroups: Option<CgroupKind>,
    /// Where the child writes its [`Reply`]. A file, not the child's
    /// stdout: a program running as sockgrade's own user could reopen that
    /// pipe through `/proc/PID/fd/1` (Landlock does not guard pipes),
    /// while this file is in the caller's private folder, which Landlock
    /// (and, for another user, its mode) keeps every program from
    /// writing in.
    #[serde(with = "os_path")]
    pub reply: PathBuf,
}

/// What a child grader answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum Reply {
    /// The submission was graded.
    Report(Box<SubmissionReport>),
    /// The submission or the request cannot be graded as given: the
    /// message is for the user as it is, each cause a `caused by:` line.
    BadInput {
        /// What is wrong and what to do.
        message: String,
        /// The causes under it, outermost first.
        causes: Vec<String>,
    },
    /// The grader itself failed.
    Failed {
        /// What failed, with its causes.
        message: String,
    },
}

impl Reply {
    /// The reply for a grade that ended in `error`.
    pub fn from_error(error: &Error) -> Reply {
        let mut lines = error.lines().into_iter();
        let message = lines.next().unwrap_or_default();
        match error.kind() {
            ErrorKind::BadInput => Reply::BadInput {
                message,
                causes: lines.collect(),
            },
            ErrorKind::Internal => Reply::Failed {
                message: std::iter::once(message)
                    .chain(lines)
                    .collect::<Vec<_>>()
                    .join(": "),
            },
        }
    }
}

/// Why a child grade produced no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildFailure {
    /// The child rejected its input: the message is for the user as it
    /// is, each cause a `caused by:` line under it.
    BadInput {
        /// What is wrong and what to do.
        message: String,
        /// The causes under it, outermost first.
        causes: Vec<String>,
    },
    /// The child failed, was killed, or wrote no readable reply.
    Failed(String),
    /// The child ran past its deadline and was killed.
    TimedOut(Duration),
    /// The namespaces could not be entered, so nothing was graded: why.
    NamespacesRefused(String),
    /// The caller cancelled it (Ctrl-C).
    Cancelled,
}

impl std::fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildFailure::BadInput { message, causes } => {
                // As `main` prints an error, so a batch's rows read the same.
                f.write_str(message)?;
                for cause in causes {
                    write!(f, "\n  caused by: {cause}")?;
                }
                Ok(())
            }
            ChildFailure::Failed(why) => write!(f, "the grader of this submission failed: {why}"),
            ChildFailure::Cancelled => f.write_str("grading was interrupted"),
            ChildFailure::NamespacesRefused(why) => {
                write!(f, "the grader could not enter namespaces: {why}")
            }
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

impl ChildFailure {
    /// The error of a grade whose child failed this way: bad input stays
    /// bad input, with its causes; anything else is internal.
    pub fn into_error(self) -> Error {
        match self {
            ChildFailure::BadInput { message, causes } => match ReportedCause::chain(causes) {
                Some(cause) => Error::bad_input(message).with_source(cause),
                None => Error::bad_input(message),
            },
            other => Error::internal(other.to_string()),
        }
    }
}

/// A cause the child reported, as text, linked to the next one: the
/// caller's error then shows the child's causes as its own.
#[derive(Debug)]
struct ReportedCause {
    text: String,
    next: Option<Box<ReportedCause>>,
}

impl ReportedCause {
    /// The causes as a chain, outermost first; `None` when there are none.
    fn chain(causes: Vec<String>) -> Option<ReportedCause> {
        causes.into_iter().rev().fold(None, |next, text| {
            Some(ReportedCause {
                text,
                next: next.map(Box::new),
            })
        })
    }
}

impl std::fmt::Display for ReportedCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ReportedCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next
            .as_deref()
            .map(|next| next as &(dyn std::error::Error + 'static))
    }
}

/// The worst-case time of a grade with these exercises and options.
pub fn deadline(set: &ExerciseSet, options: &GradeOptions) -> Duration {
    // Each robustness variant is one more run of its exercise.
    let exercises: f64 = set
        .chosen(&options.only)
        .map(|e| e.timeouts.total * (1 + options.variants_of(e).len()) as f64)
        .sum();
    Duration::from_secs_f64(exercises * options.timeout_scale)
        + BUILD_TIMEOUT.mul_f64(options.timeout_scale)
        + CHILD_MARGIN
}

/// One child grade: `folder` graded in a child sockgrade under
/// `isolation`, sharing the start slots in `start_slots` if given, its
/// programs in the `cgroups` the caller found; its request, and the
/// private folder its reply and temporary files go in (removed with it).
#[derive(Debug)]
pub struct ChildGrade {
    results: tempfile::TempDir,
    request: Request,
    limit: Duration,
}

impl ChildGrade {
    /// Prepares a child grade.
    pub fn new(
        folder: &Path,
        set: &ExerciseSet,
        options: &GradeOptions,
        isolation: Isolation,
        start_slots: Option<&Path>,
        cgroups: Option<&CgroupKind>,
    ) -> Result<ChildGrade, ChildFailure> {
        let results = crate::platform::private_tempdir("sockgrade-child-")
            .map_err(|e| ChildFailure::Failed(format!("cannot make a temporary folder: {e}")))?;
        // The child's temporary folders go inside ours, so they are removed
        // with it even if the child is killed before it can clean up; the
        // programs' own user must be able to cross it.
        let _ = crate::platform::set_mode(results.path(), 0o711);
        let request = Request {
            folder: folder.to_path_buf(),
            options: options.clone(),
            exercises: set.clone(),
            isolation,
            start_slots: start_slots.map(Path::to_path_buf),
            cgroups: cgroups.cloned(),
            reply: results.path().join(REPLY_FILE),
        };
        Ok(ChildGrade {
            limit: deadline(set, options),
            results,
            request,
        })
    }

    /// Starts the child in namespaces as a fork of this process, which
    /// runs `inside` (what `sockgrade __child-grade` runs, given the
    /// request) as their PID 1; `None` where it must be an exec (see
    /// [`sandbox::fork_into_namespaces`]). Outside any async runtime.
    pub fn fork(&self, inside: fn(Request) -> u8) -> Result<Option<sandbox::Forked>, ChildFailure> {
        let request = self.request.clone();
        sandbox::fork_into_namespaces(self.results.path(), move || inside(request))
            .map_err(|e| ChildFailure::Failed(format!("cannot start: {e}")))
    }

    /// Runs the child to its end: the one `forked` if given, else a new
    /// `sockgrade __child-grade` (in namespaces if the request says so).
    /// When `cancel` turns true the child is asked to stop (SIGTERM: it
    /// ends its programs and removes their cgroups), then killed after a
    /// grace.
    pub async fn run(
        self,
        forked: Option<sandbox::Forked>,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<SubmissionReport, ChildFailure> {
        let isolation = self.request.isolation;
        let (mut process, stderr) = match forked {
            Some(forked) => {
                let pid = forked.pid();
                let (stderr, end) = forked
                    .watch()
                    .map_err(|e| ChildFailure::Failed(format!("cannot watch it: {e}")))?;
                (Process::new(Some(pid), end), stderr)
            }
            None => self.exec()?,
        };
        let (stderr, stderr_task) = Capture::start(stderr);
        let limit = self.limit;
        let cancelled = async {
            if cancel.wait_for(|stop| *stop).await.is_err() {
                // Nobody can cancel any more: never.
                std::future::pending::<()>().await;
            }
        };
        let status = tokio::select! {
            status = timeout(limit, process.wait()) => match status {
                Ok(status) => status.map_err(|e| ChildFailure::Failed(format!("waiting for it failed: {e}")))?,
                Err(_) => {
                    process.kill();
                    return Err(ChildFailure::TimedOut(limit));
                }
            },
            () = cancelled => {
                if let Some(pid) = process.id() {
                    platform::terminate_process(pid);
                }
                if timeout(CANCEL_GRACE, process.wait()).await.is_err() {
                    process.kill();
                }
                return Err(ChildFailure::Cancelled);
            }
        };
        let _ = timeout(Duration::from_secs(1), stderr_task).await;
        // A child that was told to stop, or that a Ctrl-C reached first
        // (it is in the terminal's process group), ends interrupted: it
        // stopped its programs and has no reply, and that is no failure.
        let stop_asked = *cancel.borrow();
        if status.code() == Some(i32::from(exit_code::INTERRUPTED))
            || (stop_asked && status.code() != Some(i32::from(exit_code::ALL_PASSED)))
        {
            return Err(ChildFailure::Cancelled);
        }
        // A child that replied exits 0, whatever its reply says; any other
        // end left no reply to read.
        let stderr = stderr.render();
        if isolation == Isolation::Namespaces
            && status.code() == Some(i32::from(sandbox::NAMESPACES_REFUSED))
        {
            let why = stderr.trim().trim_start_matches("sockgrade: ");
            return Err(ChildFailure::NamespacesRefused(why.to_string()));
        }
        if status.code() == Some(i32::from(exit_code::ALL_PASSED)) {
            return match read_reply(&self.request.reply)? {
                Reply::Report(report) => Ok(*report),
                Reply::BadInput { message, causes } => {
                    Err(ChildFailure::BadInput { message, causes })
                }
                Reply::Failed { message } => Err(ChildFailure::Failed(message)),
            };
        }
        Err(ChildFailure::Failed(format!(
            "it ended with {} ({})",
            describe_status(status),
            last_lines(&stderr, 5)
        )))
    }

    /// Starts `sockgrade __child-grade` and writes it the request.
    fn exec(&self) -> Result<(Process, Box<dyn AsyncRead + Unpin + Send>), ChildFailure> {
        let request = serde_json::to_vec(&self.request)
            .map_err(|e| ChildFailure::Failed(format!("cannot write its request ({e})")))?;
        let command =
            sandbox::sockgrade_command(self.request.isolation, &[CHILD_GRADE_COMMAND.into()])
                .map_err(|e| {
                    ChildFailure::Failed(format!("cannot find sockgrade's own executable: {e}"))
                })?;
        let mut command = tokio::process::Command::from(command);
        command.env("TMPDIR", self.results.path());
        // The child writes nothing worth reading on stdout: its reply is
        // the file.
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| ChildFailure::Failed(format!("cannot start: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // Written beside the wait, since a request larger than the pipe
            // blocks until the child reads it; closed after, which is the
            // end of the request. A child that dies first fails the write,
            // and its exit status says why.
            tokio::spawn(async move {
                let _ = stdin.write_all(&request).await;
            });
        }
        let stderr: Box<dyn AsyncRead + Unpin + Send> = match child.stderr.take() {
            Some(pipe) => Box::new(pipe),
            None => Box::new(tokio::io::empty()),
        };
        let pid = child.id();
        // The child is owned by its end: dropping that kills it
        // (`kill_on_drop`), as dropping a forked child's end does.
        let end = Box::pin(async move { child.wait().await });
        Ok((Process::new(pid, end), stderr))
    }
}

/// A child grader's process, exec'd or forked: its pid and its end.
struct Process {
    pid: Option<u32>,
    /// `None` once killed.
    end: Option<sandbox::ProcessEnd>,
}

impl Process {
    fn new(pid: Option<u32>, end: sandbox::ProcessEnd) -> Process {
        Process {
            pid,
            end: Some(end),
        }
    }

    /// Its pid while it has not been killed.
    fn id(&self) -> Option<u32> {
        self.end.as_ref().and(self.pid)
    }

    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match &mut self.end {
            Some(end) => end.as_mut().await,
            None => Err(std::io::ErrorKind::NotFound.into()),
        }
    }

    /// Kills it: dropping its end kills the process (and reaps it, or
    /// leaves it to the runtime to reap).
    fn kill(&mut self) {
        drop(self.end.take());
    }
}

/// Reads a child's request from `input` (its stdin), to its end.
pub fn read_request(input: impl std::io::Read) -> Result<Request, Error> {
    serde_json::from_reader(input).map_err(|e| {
        Error::internal(
            "cannot read the grade request on stdin (this command is for sockgrade's own use)",
        )
        .with_source(e)
    })
}

/// Writes a child's reply where its request says.
pub fn write_reply(path: &Path, reply: &Reply) -> Result<(), Error> {
    let bytes = serde_json::to_vec(reply)
        .map_err(|e| Error::internal("cannot write the grade's reply").with_source(e))?;
    crate::report::write_atomically(path, &bytes).map_err(|e| {
        Error::internal(format!(
            "cannot write the grade's reply to {}",
            path.display()
        ))
        .with_source(e)
    })
}

fn read_reply(path: &Path) -> Result<Reply, ChildFailure> {
    let bytes = std::fs::read(path)
        .map_err(|e| ChildFailure::Failed(format!("it wrote no reply ({e})")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ChildFailure::Failed(format!("its reply is unreadable ({e})")))
}

fn describe_status(status: std::process::ExitStatus) -> String {
    match (status.code(), platform::exit_signal(status)) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".to_string(),
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

/// A path in serde as the OS spells it, byte for byte (UTF-16 units on
/// Windows): a submission folder's name need not be UTF-8, and a JSON
/// string must be.
pub(crate) mod os_path {
    use crate::platform::{PathUnit as Unit, path_from_units as path, path_units as units};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::path::{Path, PathBuf};

    pub fn serialize<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
        units(path).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        Vec::<Unit>::deserialize(deserializer).map(path)
    }

    /// The same for an optional path.
    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(
            path: &Option<PathBuf>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            path.as_deref().map(units).serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<PathBuf>, D::Error> {
            Option::<Vec<Unit>>::deserialize(deserializer).map(|units| units.map(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxConfig;

    /// Every kind of step and matcher the embedded set lacks, and fields
    /// away from their defaults.
    const ODD_EXERCISES: &str = r#"{"format": 1, "exercises": [{
        "id": "client-9", "title": "Odd", "instructions": "Say hi.",
        "role": "client", "args": ["{host}", "{port}"], "points": 2.5,
        "line-ending": "\r\n",
        "timeouts": {"start": 1.5, "step": 0.25, "total": 7, "exit-grace": 0.1, "quiet": 0.05},
        "steps": [{"expect": {"regex": "^h(i|ello)$"}}, {"send": "ok"}, "close", {"expect-exit": 3}]
    }]}"#;

    fn request(folder: PathBuf, exercises: ExerciseSet) -> Request {
        Request {
            folder,
            options: GradeOptions {
                seed: u64::MAX - 1,
                timeout_scale: 0.1 + 0.2,
                exercises_at_once: 3,
                only: vec!["client-1".to_string(), "server-4".to_string()],
                sandbox: SandboxConfig {
                    memory_mib: 77,
                    run_as: "65534".to_string(),
                },
                robust: Some(vec![crate::exercise::Variant::SlowStart]),
            },
            exercises,
            isolation: Isolation::Namespaces,
            start_slots: Some(PathBuf::from("/tmp/sockgrade-slots-x")),
            cgroups: v1_cgroups(),
            reply: PathBuf::from("/tmp/sockgrade-child-x/reply.json"),
        }
    }

    #[cfg(target_os = "linux")]
    fn v1_cgroups() -> Option<CgroupKind> {
        Some(CgroupKind::V1 {
            memory: Some(PathBuf::from("/sys/fs/cgroup/memory/grader")),
            pids: None,
            cpu: Some(PathBuf::from("/sys/fs/cgroup/cpu")),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn v1_cgroups() -> Option<CgroupKind> {
        None
    }

    fn round_trip(request: &Request) -> Request {
        let json = serde_json::to_vec(request).unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn a_request_arrives_as_it_was_sent() {
        let embedded = request(
            PathBuf::from("submissions/ann"),
            ExerciseSet::embedded().unwrap(),
        );
        assert_eq!(round_trip(&embedded), embedded);
        let odd = request(
            PathBuf::from("submissions/bob"),
            ExerciseSet::parse(ODD_EXERCISES, "odd.json").unwrap(),
        );
        assert_eq!(round_trip(&odd), odd);
        let mut without_slots = odd.clone();
        without_slots.start_slots = None;
        without_slots.isolation = Isolation::None;
        without_slots.cgroups = None;
        assert_eq!(round_trip(&without_slots), without_slots);
        #[cfg(target_os = "linux")]
        {
            let mut unified = odd.clone();
            unified.cgroups = Some(CgroupKind::V2 {
                parent: PathBuf::from("/sys/fs/cgroup/user.slice"),
                memory: true,
                pids: false,
                cpu: true,
            });
            assert_eq!(round_trip(&unified), unified);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_whose_name_is_not_utf8_arrives_byte_for_byte() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"submissions/caf\xe9");
        let sent = request(PathBuf::from(name), ExerciseSet::embedded().unwrap());
        assert_eq!(
            round_trip(&sent).folder.as_os_str().as_bytes(),
            name.as_bytes()
        );
    }

    #[test]
    fn bad_input_replies_with_its_message_and_causes_and_reads_as_it_did() {
        let cause = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let error = Error::bad_input("cannot read the submission folder x").with_source(cause);
        let reply = Reply::from_error(&error);
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "reply": "bad-input",
                "message": "cannot read the submission folder x",
                "causes": ["denied"],
            })
        );
        let Reply::BadInput { message, causes } = serde_json::from_value(json).unwrap() else {
            panic!("not bad input");
        };
        let failure = ChildFailure::BadInput { message, causes };
        assert_eq!(
            failure.to_string(),
            "cannot read the submission folder x\n  caused by: denied"
        );
        let again = failure.into_error();
        assert_eq!(again.kind(), ErrorKind::BadInput);
        assert_eq!(again.lines(), error.lines());
    }

    #[test]
    fn an_internal_error_replies_failed_with_its_causes_on_one_line() {
        let cause = std::io::Error::other("no threads");
        let error = Error::internal("cannot start the async runtime").with_source(cause);
        let Reply::Failed { message } = Reply::from_error(&error) else {
            panic!("not failed");
        };
        assert_eq!(message, "cannot start the async runtime: no threads");
    }
}
