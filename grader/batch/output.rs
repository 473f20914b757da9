//! The batch's output folder: per submission `results.json`, `junit.xml`
//! and `gradescope.json`, each written atomically the moment that
//! submission is done; then the gradebook, the summary and the combined
//! JUnit. Reading it back serves `--resume` and `merge`.

use crate::outcome::SubmissionReport;
use crate::report::summary::{self, Skipped, Summary};
use crate::report::{self, write_atomically};
use std::io;
use std::path::Path;

/// sockgrade's own results of one submission (the JSON format).
pub const RESULTS: &str = "results.json";
/// One submission's JUnit report.
pub const JUNIT: &str = "junit.xml";
/// One submission's results in Gradescope's `results.json` format.
pub const GRADESCOPE: &str = "gradescope.json";
/// The gradebook: a row per submission.
pub const GRADEBOOK: &str = "grades.csv";
/// Pass rates, score distribution, submissions needing a look.
pub const SUMMARY: &str = "summary.json";

/// Writes one submission's files into `out/<submission>/`.
pub fn write_submission(out: &Path, report: &SubmissionReport) -> io::Result<()> {
    let folder = out.join(&report.submission);
    std::fs::create_dir_all(&folder)?;
    write_atomically(
        &folder.join(JUNIT),
        &report::junit::render(std::slice::from_ref(report)),
    )?;
    write_atomically(
        &folder.join(GRADESCOPE),
        &report::gradescope::render(report),
    )?;
    // Last: its presence is what `--resume` takes as "done".
    write_atomically(&folder.join(RESULTS), &report::json::render(report))
}

/// The results of `out/<name>/`, if that submission was graded there.
pub fn read_submission(out: &Path, name: &str) -> Option<SubmissionReport> {
    let bytes = std::fs::read(out.join(name).join(RESULTS)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the gradebook, the summary and the combined JUnit of `reports`.
pub fn write_aggregates(
    out: &Path,
    reports: &[SubmissionReport],
    skipped: &[Skipped],
) -> io::Result<Summary> {
    let summary = summary::summarize(reports, skipped);
    write_atomically(&out.join(GRADEBOOK), &report::csv::render(reports))?;
    write_atomically(&out.join(SUMMARY), &summary::render_json(&summary))?;
    write_atomically(&out.join(JUNIT), &report::junit::render(reports))?;
    Ok(summary)
}

/// Every submission graded in `out`, sorted by name, and the files its run
/// skipped.
pub fn read_all(out: &Path) -> io::Result<(Vec<SubmissionReport>, Vec<Skipped>)> {
    let mut reports = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(report) = read_submission(out, &name) {
            reports.push(report);
        }
    }
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    let skipped = std::fs::read(out.join(SUMMARY))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
        .map(|summary| summary.skipped)
        .unwrap_or_default();
    Ok((reports, skipped))
}
