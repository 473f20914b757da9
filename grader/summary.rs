//! The summary of a batch, as a value: per exercise how many passed and
//! how the others went wrong, the spread of scores, and the submissions a
//! person should look at (a timeout or a harness fault is worth a second
//! look before it becomes a grade). Computed here from the reports;
//! written as `summary.json` by the batch and shown as a table by
//! [`crate::report::summary`].
//!
//! Also home to the order every batch writer shares: submissions by name,
//! exercises as first seen.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::outcome::{ExerciseResult, Status, SubmissionReport, ToolInfo};
use crate::report::evidence::points;
use crate::text::truncate_chars;

/// Longest reason kept from an exercise's message: enough to recognise the
/// problem; the whole message is in the submission's own report.
const MAX_REASON_CHARS: usize = 200;

/// A file or folder the batch could not grade, and why; given by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Skipped {
    /// The path as the batch found it.
    pub path: String,
    /// Why it was not graded, in words an instructor can act on.
    pub reason: String,
}

/// How one exercise went over the whole batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExerciseSummary {
    /// The exercise id, such as `client-1`.
    pub id: String,
    /// Submissions that passed it.
    pub passed: usize,
    /// Submissions whose program answered wrongly.
    pub failed: usize,
    /// Submissions whose program missed a deadline.
    pub timeout: usize,
    /// Submissions whose program exited or died before it was done.
    pub crashed: usize,
    /// Submissions with no program for it.
    pub missing: usize,
    /// Submissions where the harness or the environment failed.
    pub error: usize,
    /// `passed` divided by the submissions that have this exercise, 0 to 1.
    pub pass_rate: f64,
    /// How its replays in the robustness tier went; absent when none was
    /// replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robustness: Option<RobustCount>,
}

/// How many submissions were replayed in the robustness tier (those that
/// passed, when it was asked for), and how many passed every variant.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct RobustCount {
    /// Submissions replayed.
    pub replayed: usize,
    /// Of those, the ones that passed every variant.
    pub passed: usize,
}

impl RobustCount {
    /// The count of `results` (one submission's exercises, say): `None`
    /// when none was replayed.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a ExerciseResult>) -> Option<RobustCount> {
        let mut count = None;
        for result in results {
            RobustCount::add(&mut count, result);
        }
        count
    }

    /// Adds `result` to `count` if it was replayed.
    fn add(count: &mut Option<RobustCount>, result: &ExerciseResult) {
        if let Some(passed) = result.passed_every_variant() {
            let count = count.get_or_insert_default();
            count.replayed += 1;
            count.passed += usize::from(passed);
        }
    }
}

impl ExerciseSummary {
    /// Submissions that have the exercise.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.timeout + self.crashed + self.missing + self.error
    }

    /// The share that passed, in whole percent rounded down, so 100% means
    /// that every submission passed.
    pub fn pass_percent(&self) -> usize {
        (self.passed * 100).checked_div(self.total()).unwrap_or(0)
    }

    /// The verdicts other than `passed` that some submission got, with
    /// their counts, in the reports' order.
    pub fn others(&self) -> Vec<(Status, usize)> {
        Status::NOT_PASSED
            .into_iter()
            .map(|status| (status, self.count(status)))
            .filter(|&(_, count)| count > 0)
            .collect()
    }

    /// Submissions that got `status`.
    pub fn count(&self, status: Status) -> usize {
        match status {
            Status::Passed => self.passed,
            Status::Failed => self.failed,
            Status::Timeout => self.timeout,
            Status::Crashed => self.crashed,
            Status::Missing => self.missing,
            Status::Error => self.error,
        }
    }
}

/// How many submissions got one score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreCount {
    /// The score, rounded as every report writes points (two decimals).
    pub score: f64,
    /// Submissions with that score.
    pub count: usize,
}

/// A submission a person should look at before its grade is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attention {
    /// The submission's name.
    pub submission: String,
    /// Why, in one line: see [`review_reason`].
    pub reason: String,
}

/// The version of `summary.json`'s format: raised when a field changes
/// meaning or goes away, not when one is added.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The summary of a batch, the value behind `summary.json` and the table at
/// the end of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The sockgrade that wrote it.
    pub tool: ToolInfo,
    /// The batch's seed, as a string (a random seed may exceed 2^53, which
    /// common JSON tools round); each submission's own is in its results.
    #[serde(default)]
    pub seed: Option<String>,
    /// Where the exercises came from: `embedded` or the file's path.
    #[serde(default)]
    pub exercises_source: Option<String>,
    /// When the gradebook was written, UTC (RFC 3339).
    #[serde(default)]
    pub generated_at: Option<String>,
    /// Submissions graded.
    pub submissions: usize,
    /// The highest `max_score` among the submissions (0 when there are none).
    pub max_score: f64,
    /// The mean score; `null` when there are no submissions.
    pub mean_score: Option<f64>,
    /// The median score; `null` when there are no submissions.
    pub median_score: Option<f64>,
    /// One entry per exercise id, in the order the ids are first seen in the
    /// submissions sorted by name.
    pub exercises: Vec<ExerciseSummary>,
    /// How many submissions got each score, lowest score first.
    pub score_distribution: Vec<ScoreCount>,
    /// Submissions with an exercise that timed out or hit a harness fault,
    /// sorted by name.
    pub needs_attention: Vec<Attention>,
    /// What the batch could not grade, as the caller gave it.
    pub skipped: Vec<Skipped>,
}

/// Summarises the graded `reports` and the `skipped` inputs.
pub fn summarize(reports: &[SubmissionReport], skipped: &[Skipped]) -> Summary {
    let reports = sorted(reports);
    let scores: Vec<f64> = reports.iter().map(|r| r.score).collect();
    Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool: ToolInfo::default(),
        seed: None,
        exercises_source: None,
        generated_at: None,
        submissions: reports.len(),
        max_score: reports.iter().map(|r| r.max_score).fold(0.0, f64::max),
        mean_score: mean(&scores),
        median_score: median(&scores),
        exercises: exercise_summaries(&reports),
        score_distribution: distribution(&scores),
        needs_attention: reports
            .iter()
            .filter_map(|r| {
                Some(Attention {
                    submission: r.submission.clone(),
                    reason: review_reason(r)?,
                })
            })
            .collect(),
        skipped: skipped.to_vec(),
    }
}

/// The reports sorted by submission name (then path, for two folders of the
/// same name): the order of every batch writer, whatever order grading
/// finished in.
pub fn sorted(reports: &[SubmissionReport]) -> Vec<&SubmissionReport> {
    let mut sorted: Vec<&SubmissionReport> = reports.iter().collect();
    sorted.sort_by(|a, b| (&a.submission, &a.path).cmp(&(&b.submission, &b.path)));
    sorted
}

/// Every exercise id of `reports`, each once, in the order first seen.
pub fn exercise_ids<'a>(reports: &[&'a SubmissionReport]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = Vec::new();
    for exercise in reports.iter().flat_map(|r| &r.exercises) {
        if !ids.contains(&exercise.id.as_str()) {
            ids.push(&exercise.id);
        }
    }
    ids
}

/// `value` rounded as [`points`] writes it, so two scores that print the
/// same count as one (sums of fractional points differ in the last bits).
fn rounded(value: f64) -> f64 {
    points(value).parse().unwrap_or(value)
}

fn mean(scores: &[f64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    Some(scores.iter().sum::<f64>() / scores.len() as f64)
}

fn median(scores: &[f64]) -> Option<f64> {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// The verdict counts of every exercise id, in first-seen order.
fn exercise_summaries(reports: &[&SubmissionReport]) -> Vec<ExerciseSummary> {
    let mut summaries: Vec<ExerciseSummary> = exercise_ids(reports)
        .into_iter()
        .map(|id| ExerciseSummary {
            id: id.to_string(),
            passed: 0,
            failed: 0,
            timeout: 0,
            crashed: 0,
            missing: 0,
            error: 0,
            pass_rate: 0.0,
            robustness: None,
        })
        .collect();
    let index: HashMap<String, usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    for exercise in reports.iter().flat_map(|r| &r.exercises) {
        let summary = &mut summaries[index[&exercise.id]];
        let count = match exercise.status {
            Status::Passed => &mut summary.passed,
            Status::Failed => &mut summary.failed,
            Status::Timeout => &mut summary.timeout,
            Status::Crashed => &mut summary.crashed,
            Status::Missing => &mut summary.missing,
            Status::Error => &mut summary.error,
        };
        *count += 1;
        RobustCount::add(&mut summary.robustness, exercise);
    }
    for summary in &mut summaries {
        // Every listed id was seen at least once, so the total is never 0.
        summary.pass_rate = summary.passed as f64 / summary.total().max(1) as f64;
    }
    summaries
}

/// How many submissions got each (rounded) score, lowest first.
fn distribution(scores: &[f64]) -> Vec<ScoreCount> {
    let mut rounded: Vec<f64> = scores.iter().copied().map(rounded).collect();
    rounded.sort_by(f64::total_cmp);
    let mut counts: Vec<ScoreCount> = Vec::new();
    for score in rounded {
        match counts.last_mut() {
            Some(last) if last.score.total_cmp(&score).is_eq() => last.count += 1,
            _ => counts.push(ScoreCount { score, count: 1 }),
        }
    }
    counts
}

/// Why `report` needs a person's look before its score is a grade, in
/// one line, if it does: a harness error is never the student's fault, a
/// timeout may be the machine's, a submission with no program at all is
/// often an upload in the wrong shape, and one graded a folder down should
/// be checked to be the student's work.
pub fn review_reason(report: &SubmissionReport) -> Option<String> {
    let with = |status: Status| -> Vec<&crate::outcome::ExerciseResult> {
        report
            .exercises
            .iter()
            .filter(|e| e.status == status)
            .collect()
    };
    let ids = |exercises: &[&crate::outcome::ExerciseResult]| {
        exercises
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first_line = |exercise: &crate::outcome::ExerciseResult| {
        truncate_chars(
            exercise.message.lines().next().unwrap_or("").trim(),
            MAX_REASON_CHARS,
        )
    };
    let mut parts = Vec::new();
    let errors = with(Status::Error);
    let every = report.exercises.len();
    match errors.first() {
        Some(first) if errors.len() == every => {
            parts.push(format!("not graded: {}", first_line(first)));
        }
        Some(first) => {
            let said = first_line(first);
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(" ({said})")
            };
            parts.push(format!(
                "grader error in {}{said}: regrade it",
                ids(&errors)
            ));
        }
        None => {}
    }
    let timeouts = with(Status::Timeout);
    if !timeouts.is_empty() {
        parts.push(format!(
            "timeout in {}: may be the machine's load; regrade or raise --timeout-scale",
            ids(&timeouts)
        ));
    }
    if every > 0 && with(Status::Missing).len() == every {
        parts.push(
            "no program for any exercise: an empty folder, or files named or placed otherwise"
                .to_string(),
        );
    }
    if let Some(folder) = &report.graded_folder {
        parts.push(format!(
            "graded the one folder it holds, {folder}: check that it is the student's work"
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::json::pretty;
    use crate::report::tests::sample_report;

    /// The sample report renamed, with its score set to `score`.
    pub(crate) fn report(name: &str, score: f64) -> SubmissionReport {
        let mut report = sample_report();
        report.submission = name.to_string();
        report.path = format!("submissions/{name}");
        report.score = score;
        report
    }

    /// Three submissions: the sample (`carol`), one that passed everything
    /// (`alice`), and one with a timeout and a harness fault (`bob`).
    pub(crate) fn batch() -> Vec<SubmissionReport> {
        let carol = report("carol", 1.0);
        let mut alice = report("alice", 4.0);
        for exercise in &mut alice.exercises {
            exercise.status = Status::Passed;
            exercise.score = exercise.max_score;
        }
        let mut bob = report("bob", 1.0);
        bob.exercises[1].status = Status::Timeout;
        bob.exercises[1].message = "no answer within 5s\nhint: flush".to_string();
        bob.exercises[2].status = Status::Error;
        bob.exercises[2].message = String::new();
        vec![carol, alice, bob]
    }

    pub(crate) fn skipped() -> Vec<Skipped> {
        vec![Skipped {
            path: "submissions/notes.txt".to_string(),
            reason: "not a folder".to_string(),
        }]
    }

    #[test]
    fn counts_the_verdicts_of_each_exercise_in_first_seen_order() {
        let summary = summarize(&batch(), &[]);
        assert_eq!(summary.submissions, 3);
        let ids: Vec<&str> = summary.exercises.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["client-demo", "client-1", "client-2", "client-5"]);
        let client_1 = &summary.exercises[1];
        assert_eq!(
            (client_1.passed, client_1.failed, client_1.timeout),
            (1, 1, 1)
        );
        assert!((client_1.pass_rate - 1.0 / 3.0).abs() < 1e-9);
        let client_2 = &summary.exercises[2];
        assert_eq!(
            (client_2.passed, client_2.crashed, client_2.error),
            (1, 1, 1)
        );
        assert_eq!(summary.exercises[0].pass_rate, 1.0);
        assert_eq!(summary.exercises[3].missing, 2);
    }

    #[test]
    fn pass_rate_counts_only_submissions_that_have_the_exercise() {
        let mut short = report("dave", 1.0);
        short.exercises.truncate(1);
        let mut reports = batch();
        reports.push(short);
        let summary = summarize(&reports, &[]);
        let client_5 = summary
            .exercises
            .iter()
            .find(|e| e.id == "client-5")
            .unwrap();
        assert_eq!(client_5.total(), 3);
        assert!((client_5.pass_rate - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn computes_the_scores_spread() {
        let summary = summarize(&batch(), &[]);
        assert_eq!(summary.max_score, 4.0);
        assert_eq!(summary.mean_score, Some(2.0));
        assert_eq!(summary.median_score, Some(1.0));
        assert_eq!(
            summary.score_distribution,
            [
                ScoreCount {
                    score: 1.0,
                    count: 2
                },
                ScoreCount {
                    score: 4.0,
                    count: 1
                },
            ]
        );
        let even = summarize(&[report("a", 1.0), report("b", 2.0)], &[]);
        assert_eq!(even.median_score, Some(1.5));
    }

    #[test]
    fn counts_scores_that_print_the_same_as_one() {
        let reports = [report("a", 0.1 + 0.2), report("b", 0.3)];
        let summary = summarize(&reports, &[]);
        assert_eq!(
            summary.score_distribution,
            [ScoreCount {
                score: 0.3,
                count: 2
            }]
        );
    }

    #[test]
    fn lists_timeouts_and_errors_for_a_human_look() {
        let summary = summarize(&batch(), &skipped());
        assert_eq!(
            summary.needs_attention,
            [Attention {
                submission: "bob".to_string(),
                reason: "grader error in client-2: regrade it; timeout in client-1: may be \
                         the machine's load; regrade or raise --timeout-scale"
                    .to_string(),
            }]
        );
        assert_eq!(summary.skipped, skipped());
    }

    #[test]
    fn one_reason_says_why_a_submission_needs_a_look() {
        let mut broken = report("broken", 0.0);
        for exercise in &mut broken.exercises {
            exercise.status = Status::Error;
            exercise.message = "the archive could not be read: not a zip\nmore".to_string();
        }
        assert_eq!(
            review_reason(&broken).unwrap(),
            "not graded: the archive could not be read: not a zip"
        );
        let mut empty = report("empty", 0.0);
        for exercise in &mut empty.exercises {
            exercise.status = Status::Missing;
        }
        assert!(
            review_reason(&empty)
                .unwrap()
                .starts_with("no program for any exercise")
        );
        let mut nested = report("nested", 1.0);
        nested.graded_folder = Some("python".to_string());
        assert_eq!(
            review_reason(&nested).unwrap(),
            "graded the one folder it holds, python: check that it is the student's work"
        );
        // A plain failure is the student's: no look needed.
        assert_eq!(review_reason(&report("carol", 1.0)), None);
    }

    #[test]
    fn sorts_the_submissions_needing_a_look_by_name() {
        let mut reports = batch();
        let mut zed = reports[2].clone();
        zed.submission = "zed".to_string();
        let mut abe = reports[2].clone();
        abe.submission = "abe".to_string();
        reports.insert(0, zed);
        reports.push(abe);
        let summary = summarize(&reports, &[]);
        let names: Vec<&str> = summary
            .needs_attention
            .iter()
            .map(|a| a.submission.as_str())
            .collect();
        assert_eq!(names, ["abe", "bob", "zed"]);
    }

    #[test]
    fn summarises_an_empty_batch_without_dividing_by_zero() {
        let summary = summarize(&[], &skipped());
        assert_eq!(summary.submissions, 0);
        assert_eq!(summary.max_score, 0.0);
        assert_eq!(summary.mean_score, None);
        assert_eq!(summary.median_score, None);
        assert!(summary.exercises.is_empty());
        assert!(summary.score_distribution.is_empty());
        let json: serde_json::Value = serde_json::from_slice(&pretty(&summary)).unwrap();
        assert_eq!(json["mean_score"], serde_json::Value::Null);
    }

    #[test]
    fn round_trips_through_json() {
        let summary = summarize(&batch(), &skipped());
        let bytes = pretty(&summary);
        assert_eq!(bytes.last(), Some(&b'\n'));
        let back: Summary = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, summary);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["exercises"][1]["id"], "client-1");
        assert_eq!(json["exercises"][1]["timeout"], 1);
        assert_eq!(json["score_distribution"][0]["count"], 2);
        assert_eq!(json["needs_attention"][0]["submission"], "bob");
        assert_eq!(json["skipped"][0]["reason"], "not a folder");
    }
}
