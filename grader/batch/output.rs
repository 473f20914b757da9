//! The batch's output folder: per submission `results.json`, `junit.xml`,
//! `gradescope.json`, `feedback.txt` and `report.html` in a folder of its
//! own, each written atomically the moment that submission is done; then
//! the gradebook, the summary, the combined JUnit and the class page.
//! Reading it back serves `--resume` and `merge`.
//!
//! A submission's folder is its name, except that a name that is one of the
//! batch's own files (`grades.csv`, `summary.json`, `junit.xml`,
//! `report.html`, in any case) gets [`ESCAPED_SUFFIX`] appended, and so
//! does a name that already ends in it after such a name: no student's
//! name can take the place of the gradebook or the class page, and no two
//! names share a folder.

use super::identity::RunIdentity;
use crate::outcome::SubmissionReport;
use crate::report::junit::MissingAs;
use crate::report::{self, write_atomically};
use crate::summary::{self, Skipped, Summary};
use crate::text::{escape_bytes, escape_path};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// sockgrade's own results of one submission (the JSON format).
pub const RESULTS: &str = "results.json";
/// One submission's JUnit report.
pub const JUNIT: &str = "junit.xml";
/// One submission's results in Gradescope's `results.json` format.
pub const GRADESCOPE: &str = "gradescope.json";
/// What the student would see running `sockgrade grade` themselves: the
/// terminal report without colour, to hand back.
pub const FEEDBACK: &str = "feedback.txt";
/// The gradebook: a row per submission.
pub const GRADEBOOK: &str = "grades.csv";
/// Pass rates, score distribution, submissions needing a look.
pub const SUMMARY: &str = "summary.json";
/// The HTML pages: the class page at the top, one per submission in its
/// folder.
pub const HTML: &str = report::html::FILE_NAME;

/// The files the batch writes at the top of its output folder.
pub const OWN_FILES: [&str; 4] = [GRADEBOOK, SUMMARY, JUNIT, HTML];

/// Appended to a submission name that would be one of [`OWN_FILES`].
pub const ESCAPED_SUFFIX: &str = ".submission";

/// The folder in `out` of the submission called `name` (see the module
/// documentation), or `None` when `name` is not one plain file name (empty,
/// `.`, `..`, a path, a NUL): such a name cannot come from a batch folder.
pub fn folder_name(name: &str) -> Option<String> {
    let mut components = Path::new(name).components();
    let plain = matches!(components.next(), Some(Component::Normal(part)) if part == name)
        && components.next().is_none()
        && !name.contains('\0');
    if !plain {
        return None;
    }
    // Case-insensitive, as the file systems of macOS and Windows are.
    let mut base = name.to_ascii_lowercase();
    while let Some(shorter) = base.strip_suffix(ESCAPED_SUFFIX) {
        base = shorter.to_string();
    }
    Some(if OWN_FILES.contains(&base.as_str()) {
        format!("{name}{ESCAPED_SUFFIX}")
    } else {
        name.to_string()
    })
}

/// The folder of `name` in `out`, or an error for a name that has none.
fn folder_of(out: &Path, name: &str) -> io::Result<PathBuf> {
    folder_name(name)
        .map(|folder| out.join(folder))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{}` is not a plain file name, so it has no folder",
                    escape_bytes(name.as_bytes())
                ),
            )
        })
}

/// Removes the results of `name` from `out` (its whole folder).
pub fn remove_submission(out: &Path, name: &str) -> io::Result<()> {
    std::fs::remove_dir_all(folder_of(out, name)?)
}

/// Why a batch output folder could not be read back.
#[derive(Debug)]
pub enum ReadError {
    /// The folder could not be listed or read.
    Io(io::Error),
    /// A `results.json` names a submission whose folder is not the one it
    /// is in: it was edited, or not written by sockgrade.
    Misplaced {
        /// The `results.json`.
        file: PathBuf,
        /// The submission it names.
        submission: String,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Misplaced { file, submission } => write!(
                f,
                "{} says it holds submission `{}`, which does not belong in that folder; it was edited or not written by sockgrade: grade that submission again or remove its folder",
                escape_path(file),
                escape_bytes(submission.as_bytes())
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Misplaced { .. } => None,
        }
    }
}

/// Writes one submission's files into its folder in `out`.
pub fn write_submission(out: &Path, report: &SubmissionReport) -> io::Result<()> {
    let folder = folder_of(out, &report.submission)?;
    std::fs::create_dir_all(&folder)?;
    write_atomically(
        &folder.join(JUNIT),
        &report::junit::render(std::slice::from_ref(report), MissingAs::Failure),
    )?;
    write_atomically(
        &folder.join(GRADESCOPE),
        &report::gradescope::render(report),
    )?;
    let plain = report::terminal::Style { color: false };
    write_atomically(
        &folder.join(FEEDBACK),
        report::terminal::render(report, plain).as_bytes(),
    )?;
    write_atomically(&folder.join(HTML), report::html::render(report).as_bytes())?;
    // Last: its presence is what `--resume` takes as "done".
    write_atomically(&folder.join(RESULTS), &report::json::render(report))
}

/// The results of the submission called `name`, if it was graded in `out`.
pub fn read_submission(out: &Path, name: &str) -> Option<SubmissionReport> {
    read_results(&folder_of(out, name).ok()?).filter(|report| report.submission == name)
}

/// The `results.json` in `folder`, if there is a readable one.
fn read_results(folder: &Path) -> Option<SubmissionReport> {
    let bytes = std::fs::read(folder.join(RESULTS)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the gradebook, the summary and the combined JUnit of `reports`,
/// graded by `run`.
pub fn write_aggregates(
    out: &Path,
    reports: &[SubmissionReport],
    skipped: &[Skipped],
    run: &RunIdentity,
) -> io::Result<Summary> {
    let summary = Summary {
        seed: Some(run.seed.clone()),
        exercises_source: Some(run.exercises_source.clone()),
        generated_at: Some(
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        ),
        ..summary::summarize(reports, skipped)
    };
    write_atomically(&out.join(GRADEBOOK), &report::csv::render(reports))?;
    write_atomically(&out.join(SUMMARY), &crate::report::json::pretty(&summary))?;
    write_atomically(
        &out.join(JUNIT),
        &report::junit::render(reports, MissingAs::Failure),
    )?;
    // Linked only where the page is there: a submission kept by --resume
    // from an older sockgrade's output, or whose files failed to write,
    // has none.
    let page_folder = |submission: &str| {
        folder_name(submission).filter(|folder| out.join(folder).join(HTML).is_file())
    };
    let class_page = report::html::render_class(&summary, reports, &page_folder);
    write_atomically(&out.join(HTML), class_page.as_bytes())?;
    Ok(summary)
}

/// Every submission graded in `out`, sorted by name, and the files its run
/// skipped. A `results.json` whose submission does not belong in its folder
/// is an error: the results would be written somewhere else.
pub fn read_all(out: &Path) -> Result<(Vec<SubmissionReport>, Vec<Skipped>), ReadError> {
    let mut reports = Vec::new();
    for entry in std::fs::read_dir(out).map_err(ReadError::Io)? {
        let entry = entry.map_err(ReadError::Io)?;
        if !entry.file_type().map_err(ReadError::Io)?.is_dir() {
            continue;
        }
        let Some(report) = read_results(&entry.path()) else {
            continue;
        };
        if folder_name(&report.submission).as_deref() != entry.file_name().to_str() {
            return Err(ReadError::Misplaced {
                file: entry.path().join(RESULTS),
                submission: report.submission,
            });
        }
        reports.push(report);
    }
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    let skipped = std::fs::read(out.join(SUMMARY))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
        .map(|summary| summary.skipped)
        .unwrap_or_default();
    Ok((reports, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_page_links_only_the_pages_that_are_there() {
        let out = tempfile::tempdir().unwrap();
        let mut alice = crate::report::tests::sample_report();
        alice.submission = "alice".to_string();
        write_submission(out.path(), &alice).unwrap();
        // bob kept by --resume from an output without pages.
        let mut bob = alice.clone();
        bob.submission = "bob".to_string();
        write_submission(out.path(), &bob).unwrap();
        std::fs::remove_file(out.path().join("bob").join(HTML)).unwrap();
        let set = crate::exercise::ExerciseSet::embedded().unwrap();
        let run = RunIdentity::new(&set, 1, &[], None, None, vec!["alice".into(), "bob".into()]);
        write_aggregates(out.path(), &[alice, bob], &[], &run).unwrap();
        let page = std::fs::read_to_string(out.path().join(HTML)).unwrap();
        assert!(page.contains("href=\"./alice/report.html\""), "{page}");
        assert!(!page.contains("./bob/report.html"), "{page}");
    }

    #[test]
    fn ordinary_names_are_their_own_folders() {
        for name in [
            "alice",
            "Alice Smith_1234",
            "grades",
            "grades.csv.bak",
            "x.submission",
        ] {
            assert_eq!(folder_name(name).as_deref(), Some(name));
        }
    }

    #[test]
    fn names_of_the_batch_files_get_a_folder_of_their_own() {
        let folder = |name: &str| folder_name(name).unwrap();
        assert_eq!(folder("grades.csv"), "grades.csv.submission");
        assert_eq!(folder("JUnit.XML"), "JUnit.XML.submission");
        assert_eq!(folder("summary.json"), "summary.json.submission");
        assert_eq!(folder("Report.HTML"), "Report.HTML.submission");
        // The escaped form of one name is never another name's folder.
        assert_eq!(
            folder("grades.csv.submission"),
            "grades.csv.submission.submission"
        );
        let names = [
            "grades.csv",
            "grades.csv.submission",
            "grades.csv.submission.submission",
        ];
        let folders: std::collections::HashSet<String> = names.iter().map(|n| folder(n)).collect();
        assert_eq!(folders.len(), names.len());
        assert!(folders.iter().all(|f| !OWN_FILES.contains(&f.as_str())));
    }

    #[test]
    fn names_that_are_not_one_plain_file_name_have_no_folder() {
        for name in ["", ".", "..", "../../x", "a/b", "/etc", "a\0b"] {
            assert_eq!(folder_name(name), None, "{name:?}");
        }
    }
}
