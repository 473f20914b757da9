//! The summary of a batch: per exercise how many passed and how the others
//! went wrong, the spread of scores, and the submissions a person should look
//! at (a timeout or a harness fault is worth a second look before it becomes
//! a grade). Written as `summary.json` and as a table at the end of a batch.
//!
//! Also home to what the batch writers share, so that they order submissions
//! and exercises, and write points, the same way.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::evidence::{self, points};
use super::terminal::{Style, ansi, status_color};
use crate::outcome::{Status, SubmissionReport};
use crate::text::truncate_chars;

/// Longest reason kept from an exercise's message: enough to recognise the
/// problem; the whole message is in the submission's own report.
const MAX_REASON_CHARS: usize = 200;

/// Longest `#` bar of the score histogram.
const MAX_BAR_CHARS: usize = 40;

/// Submissions (and skipped files) listed in the terminal table; the rest are
/// counted and left to `summary.json`, so hundreds of timeouts cannot bury
/// the table.
const MAX_LISTED: usize = 20;

/// A file or folder the batch could not grade, and why; given by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The path as the batch found it.
    pub path: String,
    /// Why it was not graded, in words an instructor can act on.
    pub reason: String,
}

/// How one exercise went over the whole batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// How many submissions got one score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreCount {
    /// The score, rounded as every report writes points (two decimals).
    pub score: f64,
    /// Submissions with that score.
    pub count: usize,
}

/// A submission a person should look at before its grade is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    /// The submission's name.
    pub submission: String,
    /// One per exercise that timed out or hit a harness fault:
    /// `server-2: timeout: <first line of its message>`.
    pub reasons: Vec<String>,
}

/// The summary of a batch, the value behind `summary.json` and the table at
/// the end of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
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
        submissions: reports.len(),
        max_score: reports.iter().map(|r| r.max_score).fold(0.0, f64::max),
        mean_score: mean(&scores),
        median_score: median(&scores),
        exercises: exercise_summaries(&reports),
        score_distribution: distribution(&scores),
        needs_attention: reports.iter().filter_map(|r| attention(r)).collect(),
        skipped: skipped.to_vec(),
    }
}

/// Renders the summary as pretty JSON, ending with a newline.
pub fn render_json(summary: &Summary) -> Vec<u8> {
    super::json::pretty(summary)
}

/// Renders the summary as a compact table for the end of a batch, ending
/// with a newline. Every string in it is made safe to show: a summary may
/// have been read back from a file, and names come from student folders.
pub fn render_terminal(summary: &Summary, style: Style) -> String {
    let noun = if summary.submissions == 1 {
        "submission"
    } else {
        "submissions"
    };
    let mut lines = vec![style.paint(
        ansi::BOLD,
        &format!("batch summary · {} {noun}", summary.submissions),
    )];
    if summary.submissions > 0 {
        lines.push(String::new());
        lines.extend(exercise_table(&summary.exercises, style));
        lines.push(String::new());
        lines.extend(histogram(summary));
        lines.push(averages(summary));
    }
    if !summary.needs_attention.is_empty() {
        lines.push(String::new());
        lines.extend(attention_list(&summary.needs_attention, style));
    }
    if !summary.skipped.is_empty() {
        lines.push(String::new());
        lines.extend(skipped_list(&summary.skipped, style));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The reports sorted by submission name (then path, for two folders of the
/// same name): the order of every batch writer, whatever order grading
/// finished in.
pub(super) fn sorted(reports: &[SubmissionReport]) -> Vec<&SubmissionReport> {
    let mut sorted: Vec<&SubmissionReport> = reports.iter().collect();
    sorted.sort_by(|a, b| (&a.submission, &a.path).cmp(&(&b.submission, &b.path)));
    sorted
}

/// Every exercise id of `reports`, each once, in the order first seen.
pub(super) fn exercise_ids<'a>(reports: &[&'a SubmissionReport]) -> Vec<&'a str> {
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
    }
    for summary in &mut summaries {
        // Every listed id was seen at least once, so the total is never 0.
        summary.pass_rate = summary.passed as f64 / total(summary).max(1) as f64;
    }
    summaries
}

/// Submissions that have the exercise.
fn total(summary: &ExerciseSummary) -> usize {
    summary.passed
        + summary.failed
        + summary.timeout
        + summary.crashed
        + summary.missing
        + summary.error
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

/// Why `report` needs a person's look, if it does: a timeout may be a slow
/// machine rather than the student, and an error is never the student's.
fn attention(report: &SubmissionReport) -> Option<Attention> {
    let reasons: Vec<String> = report
        .exercises
        .iter()
        .filter(|e| matches!(e.status, Status::Timeout | Status::Error))
        .map(|e| {
            let first_line = e.message.lines().next().unwrap_or("").trim();
            let head = format!("{}: {}", e.id, e.status.as_str());
            if first_line.is_empty() {
                head
            } else {
                format!("{head}: {}", truncate_chars(first_line, MAX_REASON_CHARS))
            }
        })
        .collect();
    (!reasons.is_empty()).then(|| Attention {
        submission: report.submission.clone(),
        reasons,
    })
}

/// `  client-1      92%  (3 failed, 1 timeout)`: one line per exercise.
fn exercise_table(exercises: &[ExerciseSummary], style: Style) -> Vec<String> {
    let ids: Vec<String> = exercises
        .iter()
        .map(|e| evidence::one_line(&e.id))
        .collect();
    let width = ids.iter().map(|id| id.chars().count()).max().unwrap_or(0);
    exercises
        .iter()
        .zip(&ids)
        .map(|(exercise, id)| {
            let total = total(exercise);
            // Rounded down, so 100% means that every submission passed.
            let percent = (exercise.passed * 100).checked_div(total).unwrap_or(0);
            let code = if exercise.passed == total {
                ansi::GREEN
            } else {
                ansi::BOLD
            };
            // Pad before painting: escape codes have no width on screen.
            let rate = style.paint(code, &format!("{percent:>3}%"));
            let others: Vec<String> = [
                (Status::Failed, exercise.failed),
                (Status::Timeout, exercise.timeout),
                (Status::Crashed, exercise.crashed),
                (Status::Error, exercise.error),
                (Status::Missing, exercise.missing),
            ]
            .into_iter()
            .filter(|&(_, count)| count > 0)
            .map(|(status, count)| {
                style.paint(
                    status_color(status),
                    &format!("{count} {}", status.as_str()),
                )
            })
            .collect();
            let others = if others.is_empty() {
                String::new()
            } else {
                format!("  ({})", others.join(", "))
            };
            format!("  {id:<width$}  {rate}{others}")
        })
        .collect()
}

/// One line per score: the score, a bar scaled to the most common score, and
/// the count.
fn histogram(summary: &Summary) -> Vec<String> {
    let most = summary
        .score_distribution
        .iter()
        .map(|s| s.count)
        .max()
        .unwrap_or(0);
    let max_score = points(summary.max_score);
    let labels: Vec<String> = summary
        .score_distribution
        .iter()
        .map(|s| format!("{}/{max_score}", points(s.score)))
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut lines = vec!["scores:".to_string()];
    lines.extend(
        summary
            .score_distribution
            .iter()
            .zip(&labels)
            .map(|(score, label)| {
                // Rounded up, so a score that one submission got still shows.
                let bar = (score.count * MAX_BAR_CHARS).div_ceil(most.max(1));
                let bar = "#".repeat(bar.min(MAX_BAR_CHARS));
                format!("  {label:>width$}  {bar:<MAX_BAR_CHARS$}  {}", score.count)
            }),
    );
    lines
}

/// `mean 8.53/11 · median 9/11`.
fn averages(summary: &Summary) -> String {
    let max_score = points(summary.max_score);
    let show = |value: Option<f64>| value.map_or_else(|| "-".to_string(), points);
    format!(
        "mean {}/{max_score} · median {}/{max_score}",
        show(summary.mean_score),
        show(summary.median_score),
    )
}

/// The submissions that need a look, each with its reasons aligned after
/// its name; at most [`MAX_LISTED`] of them.
fn attention_list(attention: &[Attention], style: Style) -> Vec<String> {
    let shown = &attention[..attention.len().min(MAX_LISTED)];
    let names: Vec<String> = shown
        .iter()
        .map(|a| evidence::one_line(&a.submission))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut lines = vec![style.paint(
        ansi::BOLD,
        &format!("needs a human look ({}):", attention.len()),
    )];
    for (entry, name) in shown.iter().zip(&names) {
        for (i, reason) in entry.reasons.iter().enumerate() {
            let name = if i == 0 { name.as_str() } else { "" };
            let reason = truncate_chars(&evidence::one_line(reason), evidence::MAX_LINE_CHARS);
            lines.push(format!("  {name:<width$}  {reason}"));
        }
    }
    lines.extend(more_marker(attention.len(), shown.len()));
    lines
}

/// `skipped (2):` and one line per skipped input; at most [`MAX_LISTED`].
fn skipped_list(skipped: &[Skipped], style: Style) -> Vec<String> {
    let shown = &skipped[..skipped.len().min(MAX_LISTED)];
    let mut lines = vec![style.paint(ansi::BOLD, &format!("skipped ({}):", skipped.len()))];
    lines.extend(shown.iter().map(|s| {
        let reason = truncate_chars(&evidence::one_line(&s.reason), evidence::MAX_LINE_CHARS);
        format!("  {}: {reason}", evidence::one_line(&s.path))
    }));
    lines.extend(more_marker(skipped.len(), shown.len()));
    lines
}

/// `  … and 7 more (see summary.json)` when a list was cut.
fn more_marker(total: usize, shown: usize) -> Option<String> {
    (total > shown).then(|| format!("  … and {} more (see summary.json)", total - shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::report::tests::sample_report;

    const PLAIN: Style = Style { color: false };
    const COLOR: Style = Style { color: true };

    /// The sample report renamed, with its score set to `score`.
    fn report(name: &str, score: f64) -> SubmissionReport {
        let mut report = sample_report();
        report.submission = name.to_string();
        report.path = format!("submissions/{name}");
        report.score = score;
        report
    }

    /// Three submissions: the sample (`carol`), one that passed everything
    /// (`alice`), and one with a timeout and a harness fault (`bob`).
    fn batch() -> Vec<SubmissionReport> {
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

    fn skipped() -> Vec<Skipped> {
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
        assert_eq!(total(client_5), 3);
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
                reasons: vec![
                    "client-1: timeout: no answer within 5s".to_string(),
                    "client-2: error".to_string(),
                ],
            }]
        );
        assert_eq!(summary.skipped, skipped());
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
        let json: serde_json::Value = serde_json::from_slice(&render_json(&summary)).unwrap();
        assert_eq!(json["mean_score"], serde_json::Value::Null);
        let text = render_terminal(&summary, PLAIN);
        assert_eq!(
            text,
            "batch summary · 0 submissions\n\nskipped (1):\n  submissions/notes.txt: not a folder\n"
        );
    }

    #[test]
    fn round_trips_through_json() {
        let summary = summarize(&batch(), &skipped());
        let bytes = render_json(&summary);
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

    #[test]
    fn renders_a_compact_table() {
        let text = render_terminal(&summarize(&batch(), &skipped()), PLAIN);
        let expected = [
            "batch summary · 3 submissions",
            "",
            "  client-demo  100%",
            "  client-1      33%  (1 failed, 1 timeout)",
            "  client-2      33%  (1 crashed, 1 error)",
            "  client-5      33%  (2 missing)",
            "",
            "scores:",
            &format!("  1/4  {}  2", "#".repeat(40)),
            &format!("  4/4  {:<40}  1", "#".repeat(20)),
            "mean 2/4 · median 1/4",
            "",
            "needs a human look (1):",
            "  bob  client-1: timeout: no answer within 5s",
            "       client-2: error",
            "",
            "skipped (1):",
            "  submissions/notes.txt: not a folder",
        ];
        assert_eq!(text, expected.join("\n") + "\n");
    }

    #[test]
    fn has_no_escape_codes_without_colour() {
        let mut reports = batch();
        reports[2].submission = "\u{1b}[2Jbob".to_string();
        reports[2].exercises[1].message = "stuck \u{1b}[31m".to_string();
        let text = render_terminal(&summarize(&reports, &skipped()), PLAIN);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("\\u{1b}[2Jbob"), "{text}");
        let coloured = render_terminal(&summarize(&reports, &skipped()), COLOR);
        assert!(coloured.contains("\x1b[33m1 timeout\x1b[0m"), "{coloured}");
        assert!(!coloured.contains("\x1b[2J"), "{coloured}");
    }

    #[test]
    fn cuts_a_long_list_of_submissions_needing_a_look() {
        let bob = batch().remove(2);
        let reports: Vec<SubmissionReport> = (0..25)
            .map(|n| {
                let mut report = bob.clone();
                report.submission = format!("student-{n:02}");
                report
            })
            .collect();
        let text = render_terminal(&summarize(&reports, &[]), PLAIN);
        assert!(text.contains("needs a human look (25):\n"), "{text}");
        assert!(text.contains("  student-19  client-1"), "{text}");
        assert!(!text.contains("student-20"), "{text}");
        assert!(
            text.ends_with("\n  … and 5 more (see summary.json)\n"),
            "{text}"
        );
    }

    #[test]
    fn writes_points_as_people_do() {
        assert_eq!(points(1.0), "1");
        assert_eq!(points(0.5), "0.5");
        assert_eq!(points(2.25), "2.25");
        assert_eq!(points(0.1 + 0.2), "0.3");
        assert_eq!(points(-0.0), "0");
    }
}
