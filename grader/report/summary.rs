//! The batch summary as a compact table for the end of a batch: the
//! [`Summary`] value (computed in [`crate::summary`]) in, text out.

use super::evidence::{self, points};
use super::terminal::{Style, ansi, status_color};
use crate::summary::{Attention, ExerciseSummary, Skipped, Summary};
use crate::text::truncate_chars;

/// Longest `#` bar of the score histogram.
const MAX_BAR_CHARS: usize = 40;

/// Submissions (and skipped files) listed in the terminal table; the rest are
/// counted and left to `summary.json`, so hundreds of timeouts cannot bury
/// the table.
const MAX_LISTED: usize = 20;

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
            let total = exercise.total();
            let percent = exercise.pass_percent();
            let code = if exercise.passed == total {
                ansi::GREEN
            } else {
                ansi::BOLD
            };
            // Pad before painting: escape codes have no width on screen.
            let rate = style.paint(code, &format!("{percent:>3}%"));
            let others: Vec<String> = exercise
                .others()
                .into_iter()
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
        let reason = truncate_chars(&evidence::one_line(&entry.reason), evidence::MAX_LINE_CHARS);
        lines.push(format!("  {name:<width$}  {reason}"));
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
    use crate::outcome::SubmissionReport;
    use crate::summary::summarize;
    use crate::summary::tests::{batch, skipped};

    const PLAIN: Style = Style { color: false };
    const COLOR: Style = Style { color: true };

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
            "  bob  grader error in client-2: regrade it; timeout in client-1: may be the machine's load; regrade or raise --timeout-scale",
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
        assert!(
            text.contains("  student-19  grader error in client-2"),
            "{text}"
        );
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

    #[test]
    fn shows_only_what_was_skipped_for_an_empty_batch() {
        let text = render_terminal(&summarize(&[], &skipped()), PLAIN);
        assert_eq!(
            text,
            "batch summary · 0 submissions\n\nskipped (1):\n  submissions/notes.txt: not a folder\n"
        );
    }
}
