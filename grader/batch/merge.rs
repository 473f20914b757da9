//! `sockgrade merge`: the outputs of a sharded batch put back together,
//! as one batch output folder with the gradebook, summary and JUnit of
//! every submission of every shard.

use super::output;
use crate::error::Error;
use crate::outcome::SubmissionReport;
use crate::summary::{Skipped, Summary};
use crate::text::escape_bytes;
use std::path::{Path, PathBuf};

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    /// Every submission of every input, by name.
    pub reports: Vec<SubmissionReport>,
    pub summary: Summary,
}

/// Reads the batch outputs `inputs` and writes them merged into `out`. An
/// input that is not a batch output, or two that hold the same
/// submission (overlapping shards), is bad input: nothing is written.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Merged, Error> {
    let (reports, skipped) = read_inputs(inputs)?;
    let write_error = |e: std::io::Error| {
        Error::bad_input(format!(
            "cannot write to {}: check that it is writable",
            out.display()
        ))
        .with_source(e)
    };
    std::fs::create_dir_all(out).map_err(write_error)?;
    for report in &reports {
        output::write_submission(out, report).map_err(write_error)?;
    }
    let summary = output::write_aggregates(out, &reports, &skipped).map_err(write_error)?;
    Ok(Merged { reports, summary })
}

/// Every report of `inputs`, sorted by submission, and every skipped
/// entry once.
fn read_inputs(inputs: &[PathBuf]) -> Result<(Vec<SubmissionReport>, Vec<Skipped>), Error> {
    let mut reports: Vec<SubmissionReport> = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let (found, their_skipped) = output::read_all(input).map_err(|e| match e {
            output::ReadError::Io(source) => Error::bad_input(format!(
                "cannot read the batch output {}: check the path",
                input.display()
            ))
            .with_source(source),
            misplaced => Error::bad_input(misplaced.to_string()),
        })?;
        if found.is_empty() {
            return Err(Error::bad_input(format!(
                "{} holds no graded submission (no */results.json): is it a batch output folder?",
                input.display()
            )));
        }
        for report in found {
            if reports.iter().any(|r| r.submission == report.submission) {
                return Err(Error::bad_input(format!(
                    "submission `{}` is in more than one input: the shards overlap",
                    escape_bytes(report.submission.as_bytes())
                )));
            }
            reports.push(report);
        }
        for entry in their_skipped {
            if !skipped.contains(&entry) {
                skipped.push(entry);
            }
        }
    }
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    Ok((reports, skipped))
}
