//! Grading many submissions: discovery (folders and archives), sharding,
//! a bounded number of child graders at once (each in namespaces of its
//! own where the kernel allows), per-submission outputs as soon as each is
//! done, and the gradebook and summary at the end. Nothing a submission
//! does can stop the batch: a failed child is an `error` row.

mod admission;
mod archive;
mod discover;
pub mod identity;
mod merge;
pub mod output;
mod progress;
mod scheduler;
mod tar_guard;
mod zip_directory;

pub use discover::{Shard, Source, Submission, discover};
pub use merge::{Merged, merge};
pub use scheduler::ShardRequest;

use crate::child::{ChildFailure, ChildGrade};
use crate::error::Error;
use crate::exercise::{ExerciseSet, exercise_seed};
use crate::grade::GradeOptions;
use crate::outcome::{ExerciseResult, SCHEMA_VERSION, Status, SubmissionReport, ToolInfo};
use crate::platform;
use crate::sandbox::{self, CgroupKind, Isolation, IsolationRequest};
use crate::student::StartSlots;
use crate::summary::Summary;
use crate::text::escape_bytes;
use admission::{ADMISSION_SPACING, Admission};
use progress::Progress;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Programs starting at once per CPU: starting an interpreter is CPU work,
/// and a few at a time per core keep each start quick.
const START_SLOTS_PER_CPU: usize = 4;

/// What `sockgrade batch` was asked to do.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The folder of submissions.
    pub dir: PathBuf,
    /// The output folder.
    pub out: PathBuf,
    /// The most submissions graded at once (`batch --jobs`; admission
    /// by CPU pressure decides how many of them really run).
    pub submissions_at_once: usize,
    /// This run's part of the batch, if sharded.
    pub shard: Option<Shard>,
    /// Options for each submission; its seed is the batch's seed.
    pub grade: GradeOptions,
    /// The isolation asked for.
    pub isolation: IsolationRequest,
    /// Keep submissions whose results are already in `out`.
    pub resume: bool,
    /// Show a progress bar (a terminal) instead of plain lines.
    pub progress_bar: bool,
    /// No line per submission (`batch -q`).
    pub quiet: bool,
}

/// What a batch run produced.
#[derive(Debug)]
pub struct BatchOutcome {
    /// Every graded submission (this run's and resumed ones), by name.
    pub reports: Vec<SubmissionReport>,
    /// The summary written to `summary.json`.
    pub summary: Summary,
    /// True when Ctrl-C stopped the run early.
    pub interrupted: bool,
}

/// The seed of one submission: the batch's seed mixed with the student's
/// id, so students get different values (no answer to copy) and a shard
/// on any machine draws the same as a single run.
pub fn submission_seed(batch_seed: u64, name: &str) -> u64 {
    exercise_seed(batch_seed, name) % 1_000_000_000
}

/// Runs a batch.
/// Grades the batch of `options` on `set`, its programs in the `cgroups`
/// found for it.
pub async fn run(
    options: &BatchOptions,
    set: &ExerciseSet,
    cgroups: Option<CgroupKind>,
) -> Result<BatchOutcome, Error> {
    let (mut submissions, skipped) = discover(&options.dir).map_err(|e| {
        Error::bad_input(format!(
            "cannot read the batch folder {}: check the path",
            options.dir.display()
        ))
        .with_source(e)
    })?;
    if submissions.is_empty() {
        return Err(no_submissions(&options.dir, set, &skipped));
    }
    if let Some(shard) = options.shard {
        let mut position = 0..;
        submissions.retain(|_| shard.holds(position.next().unwrap_or(0)));
    }
    std::fs::create_dir_all(&options.out).map_err(|e| {
        Error::bad_input(format!(
            "cannot create the output folder {}: check that it is writable",
            options.out.display()
        ))
        .with_source(e)
    })?;
    let mut progress = Progress::new(submissions.len(), options.progress_bar, options.quiet);
    let this_run = identity::RunIdentity::new(
        set,
        options.grade.seed,
        &options.grade.only,
        options.grade.robust.as_deref(),
        options.shard,
        submissions.iter().map(|s| s.name.clone()).collect(),
    );
    start_gradebook(options, &this_run, &mut progress)?;
    let (isolation, fallback) = sandbox::decide(options.isolation).map_err(|why| {
        Error::bad_input(format!("--isolation namespace is not possible here: {why}"))
    })?;
    // Without namespaces every submission uses the same fixed ports on the
    // same loopback: only one at a time can be graded fairly.
    let jobs = if isolation == Isolation::Namespaces {
        options.submissions_at_once.max(1)
    } else {
        1
    };

    match (&fallback, isolation) {
        (Some(why), _) => progress.note(&format!(
            "grading one submission at a time, without namespaces: {why}"
        )),
        (None, Isolation::None) => {
            progress.note("grading one submission at a time (--isolation none)")
        }
        (None, Isolation::Namespaces) => {}
    }

    let mut reports = Vec::new();
    let mut pending = Vec::new();
    for submission in submissions {
        match options
            .resume
            .then(|| output::read_submission(&options.out, &submission.name))
            .flatten()
        {
            Some(report) => {
                progress.finished(&report, true);
                reports.push(report);
            }
            None => pending.push(submission),
        }
    }

    // Start slots bound how many programs start at once across every
    // child grader, so a large --jobs never makes a right program miss its
    // start deadline because of the batch's own load.
    let slots_dir = crate::platform::private_tempdir("sockgrade-slots-").map_err(|e| {
        Error::internal("cannot make a temporary folder for the start slots").with_source(e)
    })?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    StartSlots::create(slots_dir.path(), START_SLOTS_PER_CPU * cpus)
        .map_err(|e| Error::internal("cannot create the start slots").with_source(e))?;

    let (cancel_sender, cancel) = watch::channel(false);
    // Submissions start in name order, at most `jobs` at a time and only
    // while the machine has CPU to spare (see `admission`): a dispatcher
    // hands out the next one, so the order (and what an interruption
    // leaves undone) is predictable.
    let shared = Arc::new((
        set.clone(),
        options.clone(),
        slots_dir.path().to_path_buf(),
        cgroups,
    ));
    let waiting = pending.into_iter();
    let mut tasks = JoinSet::new();
    let mut interrupted = false;
    let mut stop = std::pin::pin!(platform::stop_requested());
    let mut admission = Admission::default();
    let mut waiting = waiting.peekable();
    loop {
        while !interrupted && tasks.len() < jobs && waiting.peek().is_some() {
            if !admission.admits(tasks.len()) {
                break;
            }
            let Some(submission) = waiting.next() else {
                break;
            };
            admission.admitted();
            let (shared, cancel) = (Arc::clone(&shared), cancel.clone());
            tasks.spawn(async move {
                let (set, options, slots, cgroups) = &*shared;
                let report =
                    grade_one(&submission, set, options, isolation, slots, cgroups, cancel).await?;
                let written = output::write_submission(&options.out, &report);
                Some((report, written))
            });
        }
        let held_back = !interrupted && tasks.len() < jobs && waiting.peek().is_some();
        tokio::select! {
            () = tokio::time::sleep(ADMISSION_SPACING), if held_back => {}
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Some((report, written)))) => {
                    if let Err(e) = written {
                        progress.note(&format!(
                            "cannot write the results of {}: {e}",
                            escape_bytes(report.submission.as_bytes())
                        ));
                    }
                    progress.finished(&report, false);
                    reports.push(report);
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => progress.note(&format!("a grading task failed: {e}")),
            },
            () = &mut stop, if !interrupted => {
                interrupted = true;
                progress.note("interrupted: stopping the running graders; finished submissions are kept");
                let _ = cancel_sender.send(true);
            }
        }
    }
    progress.finish();

    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    let summary =
        output::write_aggregates(&options.out, &reports, &skipped, &this_run).map_err(|e| {
            Error::bad_input(format!(
                "cannot write the gradebook in {}: check that it is writable",
                options.out.display()
            ))
            .with_source(e)
        })?;
    Ok(BatchOutcome {
        reports,
        summary,
        interrupted,
    })
}

/// Makes `options.out` the gradebook of `this_run` before anything is
/// graded: a resumed output must come from a run like this one (the same
/// sockgrade, seed, exercises and selection, and shard), and keeps only the
/// results of submissions this run grades; a new run starts from no
/// results at all, so an interrupted run never mixes old results in.
fn start_gradebook(
    options: &BatchOptions,
    this_run: &identity::RunIdentity,
    progress: &mut Progress,
) -> Result<(), Error> {
    let out = &options.out;
    let recorded = identity::read(out)?;
    let previous: Vec<String> = output::read_all(out)
        .map(|(reports, _)| reports.into_iter().map(|r| r.submission).collect())
        .unwrap_or_default();
    if options.resume {
        match &recorded {
            Some(first) => {
                let mut differences = this_run.differences(first);
                if this_run.shard != first.shard {
                    differences.push(format!(
                        "the shard ({} here, {} there)",
                        this_run.shard.as_deref().unwrap_or("none"),
                        first.shard.as_deref().unwrap_or("none")
                    ));
                }
                if !differences.is_empty() {
                    return Err(identity::resume_mismatch(out, &differences));
                }
            }
            None if !previous.is_empty() => {
                return Err(Error::bad_input(format!(
                    "--resume: {} holds results but no {} (an older sockgrade's output?), so \
                     nothing says how they were graded: grade into a new folder",
                    out.display(),
                    identity::FILE
                )));
            }
            None => {}
        }
    }
    let stale: Vec<&String> = previous
        .iter()
        .filter(|name| !options.resume || !this_run.submissions.contains(name))
        .collect();
    for name in &stale {
        output::remove_submission(out, name).map_err(|e| {
            Error::bad_input(format!(
                "cannot remove the old results of {} in {}: check that it is writable",
                escape_bytes(name.as_bytes()),
                out.display()
            ))
            .with_source(e)
        })?;
    }
    if options.resume && !stale.is_empty() {
        let names: Vec<String> = stale.iter().map(|n| escape_bytes(n.as_bytes())).collect();
        progress.note(&format!(
            "removed the results of {} submission(s) no longer in the batch folder: {}",
            names.len(),
            names.join(", ")
        ));
    }
    identity::write(out, this_run).map_err(|e| {
        Error::bad_input(format!(
            "cannot write {} in {}: check that it is writable",
            identity::FILE,
            out.display()
        ))
        .with_source(e)
    })
}

/// The error of a batch folder with no submission in it, saying what it
/// holds: most often it is one submission, given where the class folder
/// was meant.
fn no_submissions(dir: &Path, set: &ExerciseSet, skipped: &[crate::summary::Skipped]) -> Error {
    let names: Vec<String> = skipped
        .iter()
        .filter_map(|s| Path::new(&s.path).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let is_program = |name: &String| {
        name == "sockgrade.json"
            || set.exercises.iter().any(|e| {
                Path::new(name)
                    .file_stem()
                    .is_some_and(|stem| stem.to_string_lossy() == e.id)
            })
    };
    let shown = |names: &[String]| {
        let mut list: Vec<String> = names
            .iter()
            .take(5)
            .map(|n| escape_bytes(n.as_bytes()))
            .collect();
        if names.len() > 5 {
            list.push(format!("and {} more", names.len() - 5));
        }
        list.join(", ")
    };
    let programs: Vec<String> = names.iter().filter(|n| is_program(n)).cloned().collect();
    let message = if !programs.is_empty() {
        format!(
            "{} looks like one submission (it holds {}), not a folder of submissions: \
             grade it with `sockgrade grade {}`, or give batch the folder that holds one \
             folder or archive per student",
            dir.display(),
            shown(&programs),
            dir.display()
        )
    } else if names.is_empty() {
        format!(
            "{} holds no submission: it is empty (batch grades each folder, .zip or .tar.gz in it)",
            dir.display()
        )
    } else {
        format!(
            "{} holds no submission (no folder, .zip or .tar.gz), only {}: give batch the \
             folder that holds one folder or archive per student",
            dir.display(),
            shown(&names)
        )
    };
    Error::bad_input(message)
}

/// Grades one submission in a child that shares the batch's start slots
/// in `slots`; every failure becomes a report. `None` when cancelled
/// before it finished.
async fn grade_one(
    submission: &Submission,
    set: &ExerciseSet,
    options: &BatchOptions,
    isolation: Isolation,
    slots: &Path,
    cgroups: &Option<CgroupKind>,
    cancel: watch::Receiver<bool>,
) -> Option<SubmissionReport> {
    let mut grade_options = options.grade.clone();
    grade_options.seed = submission_seed(options.grade.seed, &submission.name);
    let original = match &submission.source {
        Source::Folder(path) | Source::Archive(path) => path.display().to_string(),
    };
    let error_report = |reason: String| {
        harness_error(
            &submission.name,
            &original,
            set,
            &grade_options,
            isolation,
            &reason,
        )
    };

    // An archive is unpacked into a private folder that lives as long as
    // its grade.
    let unpacked;
    let (folder, graded_folder) = match &submission.source {
        // A folder holding only one folder (a zipped folder unpacked by
        // hand, an LMS download) is graded in there, as `grade` does.
        Source::Folder(path) => match crate::student::the_one_folder_in(path) {
            Ok(Some(inner)) => {
                let name = inner.file_name().map(|n| n.to_string_lossy().into_owned());
                (inner, name)
            }
            _ => (path.clone(), None),
        },
        Source::Archive(path) => {
            unpacked = match crate::platform::private_tempdir("sockgrade-unpacked-") {
                Ok(dir) => dir,
                Err(e) => {
                    return Some(error_report(format!("cannot make a temporary folder: {e}")));
                }
            };
            match archive::unpack(path, unpacked.path()) {
                // An archive of a folder is the usual upload: the folder
                // it holds is no surprise.
                Ok(root) => (root, None),
                Err(e) => return Some(error_report(e.to_string())),
            }
        }
    };
    // A new sockgrade for each (this runtime has threads: no fork).
    let graded = match ChildGrade::new(
        &folder,
        set,
        &grade_options,
        isolation,
        Some(slots),
        cgroups.as_ref(),
    ) {
        Ok(child) => child.run(None, cancel).await,
        Err(failure) => Err(failure),
    };
    let report = match graded {
        Ok(report) => report,
        Err(ChildFailure::Cancelled) => return None,
        Err(failure) => error_report(failure.to_string()),
    };
    // The child named the submission after the folder it graded (for an
    // archive, a temporary one): the batch's names are the ones to keep.
    Some(SubmissionReport {
        submission: submission.name.clone(),
        path: original,
        graded_folder,
        ..report
    })
}

/// A report for a submission that could not be graded at all: every
/// exercise `error`, with the reason.
fn harness_error(
    name: &str,
    path: &str,
    set: &ExerciseSet,
    options: &GradeOptions,
    isolation: Isolation,
    reason: &str,
) -> SubmissionReport {
    let exercises: Vec<ExerciseResult> = set
        .chosen(&options.only)
        .map(|e| ExerciseResult {
            visibility: e.visibility,
            robustness: Vec::new(),
            ..ExerciseResult::new(&e.id, &e.title, e.points, Status::Error, reason)
        })
        .collect();
    SubmissionReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        submission: name.to_string(),
        path: path.to_string(),
        seed: options.seed,
        graded_folder: None,
        exercises_source: set.source.clone(),
        isolation,
        protections: Vec::new(),
        score: 0.0,
        max_score: exercises.iter().map(|e| e.max_score).sum(),
        duration_ms: 0,
        grader_max_rss_kib: None,
        grader_cpu_ms: None,
        programs_cpu_ms: None,
        exercises,
    }
}
