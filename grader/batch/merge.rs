//! `sockgrade merge`: the outputs of a sharded batch put back together,
//! as one batch output folder with the gradebook, summary and JUnit of
//! every submission of every shard.

use super::identity::{self, RunIdentity};
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
/// input that is not a batch output, two that hold the same submission
/// (overlapping shards), runs that differ (seed, exercises, sockgrade) and,
/// unless `allow_partial`, a set of shards with one missing are bad input:
/// nothing is written.
pub fn merge(inputs: &[PathBuf], out: &Path, allow_partial: bool) -> Result<Merged, Error> {
    let identities = read_identities(inputs)?;
    check_shards(inputs, &identities, allow_partial)?;
    let (reports, skipped) = read_inputs(inputs, &identities)?;
    let write_error = |e: std::io::Error| {
        Error::bad_input(format!(
            "cannot write to {}: check that it is writable",
            out.display()
        ))
        .with_source(e)
    };
    std::fs::create_dir_all(out).map_err(write_error)?;
    let mut merged_run = identities[0].clone();
    merged_run.shard = None;
    merged_run.submissions = reports.iter().map(|r| r.submission.clone()).collect();
    identity::write(out, &merged_run).map_err(write_error)?;
    for report in &reports {
        output::write_submission(out, report).map_err(write_error)?;
    }
    let summary =
        output::write_aggregates(out, &reports, &skipped, &merged_run).map_err(write_error)?;
    Ok(Merged { reports, summary })
}

/// The run identity of every input, all alike (see `identity`).
fn read_identities(inputs: &[PathBuf]) -> Result<Vec<RunIdentity>, Error> {
    let mut identities: Vec<RunIdentity> = Vec::new();
    for input in inputs {
        let run = identity::read(input)?.ok_or_else(|| {
            Error::bad_input(format!(
                "{} has no {}: it is not the output of a sockgrade {} batch (or of an older one); \
                 grade it again",
                input.display(),
                identity::FILE,
                env!("CARGO_PKG_VERSION")
            ))
        })?;
        if let Some(first) = identities.first() {
            let differences = run.differences(first);
            if !differences.is_empty() {
                return Err(Error::bad_input(format!(
                    "cannot merge {} with {}: their runs differ in {} (here: {}, there: {})",
                    input.display(),
                    inputs[0].display(),
                    differences.join(", "),
                    input.display(),
                    inputs[0].display()
                )));
            }
        }
        identities.push(run);
    }
    Ok(identities)
}

/// Shards given together must be of one sharding, each once, and all of
/// them unless `allow_partial` (then the missing ones are said).
fn check_shards(
    inputs: &[PathBuf],
    identities: &[RunIdentity],
    allow_partial: bool,
) -> Result<(), Error> {
    let shards: Vec<Option<(usize, usize)>> = identities.iter().map(RunIdentity::shard).collect();
    let Some(Some((_, count))) = shards.first().copied() else {
        return Ok(());
    };
    let mut seen = vec![false; count];
    for (input, shard) in inputs.iter().zip(&shards) {
        match shard {
            Some((index, n)) if *n == count && (1..=count).contains(index) => {
                if std::mem::replace(&mut seen[index - 1], true) {
                    return Err(Error::bad_input(format!(
                        "shard {index}/{count} is given twice (again as {}): the shards overlap",
                        input.display()
                    )));
                }
            }
            _ => {
                return Err(Error::bad_input(format!(
                    "{} is not one of {count} shards like {}: merge the outputs of one sharded run",
                    input.display(),
                    inputs[0].display()
                )));
            }
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen[k - 1])
        .map(|k| format!("{k}/{count}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if allow_partial {
        eprintln!(
            "sockgrade: note: merging without shard {}: their submissions are not in the gradebook",
            missing.join(", ")
        );
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "shard {} missing: merge every shard's output, or pass --allow-partial to merge these only",
        missing.join(", ")
    )))
}

/// Every report of `inputs` that its run graded, sorted by submission,
/// and every skipped entry once.
fn read_inputs(
    inputs: &[PathBuf],
    identities: &[RunIdentity],
) -> Result<(Vec<SubmissionReport>, Vec<Skipped>), Error> {
    let mut reports: Vec<SubmissionReport> = Vec::new();
    let mut skipped = Vec::new();
    for (input, run) in inputs.iter().zip(identities) {
        let (found, their_skipped) = output::read_all(input).map_err(|e| match e {
            output::ReadError::Io(source) => Error::bad_input(format!(
                "cannot read the batch output {}: check the path",
                input.display()
            ))
            .with_source(source),
            misplaced => Error::bad_input(misplaced.to_string()),
        })?;
        if found.is_empty() && !run.submissions.is_empty() {
            return Err(Error::bad_input(format!(
                "{} holds no graded submission (no */results.json): is it a batch output folder?",
                input.display()
            )));
        }
        for report in found {
            // Results its run did not grade (left by hand, or by an older
            // sockgrade) are not this gradebook's.
            if !run.submissions.contains(&report.submission) {
                eprintln!(
                    "sockgrade: note: left out {} in {}: its run did not grade it",
                    escape_bytes(report.submission.as_bytes()),
                    input.display()
                );
                continue;
            }
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
