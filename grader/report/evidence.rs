//! The evidence of an exercise that did not pass (its transcript and the tail
//! of its output), formatted once so that the terminal and JUnit show the
//! same lines.

use crate::outcome::{
    Direction, ExerciseResult, Status, SubmissionReport, TranscriptEntry, VariantResult,
};
use crate::text::{escape_output, truncate_chars};

/// Longest line shown from a transcript or an output tail: one runaway
/// message must not bury the rest of the report.
pub(super) const MAX_LINE_CHARS: usize = 300;

/// The arrow of a transcript line: grader to student, student to grader, or
/// something that happened.
fn arrow(direction: Direction) -> &'static str {
    match direction {
        Direction::Sent => "→",
        Direction::Received => "←",
        Direction::Event => "·",
    }
}

/// Text shown on one line: any control character left in it (the producer
/// should have escaped them all, but a stray ESC must never reach a
/// terminal) and any line break become visible escapes.
pub(super) fn one_line(text: &str) -> String {
    escape_output(text.as_bytes()).replace('\n', "\\n")
}

/// Text shown over several lines: line breaks and tabs stay, any other
/// control character becomes a visible escape.
pub(super) fn multi_line(text: &str) -> String {
    escape_output(text.as_bytes())
}

/// `  0.003s → text`: the time since the exercise started, who sent it,
/// and what.
pub(super) fn transcript_line(entry: &TranscriptEntry) -> String {
    let seconds = entry.at_ms as f64 / 1000.0;
    let text = truncate_chars(&one_line(&entry.text), MAX_LINE_CHARS);
    format!("{seconds:>7.3}s {} {text}", arrow(entry.direction))
}

/// The last `max` entries of a transcript, and how many came before them:
/// the end of a conversation is where it went wrong.
pub(super) fn last_entries(
    transcript: &[TranscriptEntry],
    max: usize,
) -> (usize, &[TranscriptEntry]) {
    let skipped = transcript.len().saturating_sub(max);
    (skipped, &transcript[skipped..])
}

/// The tail of a program's output: its last `max` lines (blank lines at the
/// very end left out, each line control-free and shortened) and how many
/// lines it has in all.
pub(super) struct Tail {
    /// Lines of output, trailing blank lines excluded.
    pub total: usize,
    /// The last lines, at most `max`.
    pub lines: Vec<String>,
}

impl Tail {
    /// The tail of `output`; empty when the output is only whitespace.
    pub fn of(output: &str, max: usize) -> Tail {
        let all: Vec<&str> = output.trim_end().lines().collect();
        let start = all.len().saturating_sub(max);
        let lines = all[start..]
            .iter()
            .map(|line| truncate_chars(&multi_line(line), MAX_LINE_CHARS))
            .collect();
        Tail {
            total: all.len(),
            lines,
        }
    }

    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// `stderr` or `stderr (last 10 of 57 lines)`.
    pub fn label(&self, stream: &str) -> String {
        if self.lines.len() < self.total {
            format!(
                "{stream} (last {} of {} lines)",
                self.lines.len(),
                self.total
            )
        } else {
            stream.to_string()
        }
    }
}

/// `… 12 earlier lines`, the marker of a transcript cut at its start.
pub(super) fn earlier_marker(skipped: usize) -> String {
    let noun = if skipped == 1 { "line" } else { "lines" };
    format!("… {skipped} earlier {noun}")
}

/// Points as a person writes them: `1`, `0.5`, `2.25`; at most two
/// decimals. Every format writes points with this, so none shows a
/// different score.
pub(crate) fn points(value: f64) -> String {
    let rounded = format!("{value:.2}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "" | "-0" => "0".to_string(),
        _ => trimmed.to_string(),
    }
}

/// `0.12s`.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

/// `1 failed`, `2 timeout`...: the exercises that did not pass, by status,
/// in the order every summary lists them.
pub(crate) fn not_passed_counts(report: &SubmissionReport) -> Vec<String> {
    Status::NOT_PASSED
        .into_iter()
        .filter_map(|status| {
            let count = report.count(status);
            (count > 0).then(|| format!("{count} {}", status.as_str()))
        })
        .collect()
}

/// `9 passed, 1 failed, 1 missing`.
pub(crate) fn status_counts(report: &SubmissionReport) -> String {
    let mut counts = vec![format!("{} passed", report.count(Status::Passed))];
    counts.extend(not_passed_counts(report));
    counts.join(", ")
}

/// One labelled fact about an exercise that did not pass.
pub(super) struct Fact {
    /// `hint`, `command`, `expected` or `received`.
    pub label: &'static str,
    /// The text, on one line, control-free.
    pub text: String,
}

/// The labelled facts of an exercise that did not pass, in the one order
/// every format shows them: the hint first (the likely fix), then the
/// command, what was expected and what came instead.
pub(super) fn facts(exercise: &ExerciseResult) -> Vec<Fact> {
    labelled([
        ("hint", &exercise.hint),
        ("command", &exercise.command),
        ("expected", &exercise.expected),
        ("received", &exercise.received),
    ])
}

/// The labelled facts of a robustness variant that did not pass, in the
/// same order.
pub(super) fn variant_facts(variant: &VariantResult) -> Vec<Fact> {
    labelled([
        ("hint", &variant.hint),
        ("expected", &variant.expected),
        ("received", &variant.received),
    ])
}

fn labelled<const N: usize>(facts: [(&'static str, &Option<String>); N]) -> Vec<Fact> {
    facts
        .into_iter()
        .filter_map(|(label, text)| {
            Some(Fact {
                label,
                text: one_line(text.as_deref()?),
            })
        })
        .collect()
}

/// `lead`, then the evidence of an exercise that did not pass as
/// paragraphs, in the terminal's order: the [`facts`], the end of the
/// transcript, the tail of its output (stderr, where a crash explains
/// itself; stdout when it is all there is).
pub fn with_evidence(
    lead: String,
    exercise: &ExerciseResult,
    max_transcript: usize,
    max_output: usize,
) -> String {
    let mut text = lead;
    let paragraph: Vec<String> = facts(exercise)
        .into_iter()
        .map(|fact| format!("{:<10}{}", format!("{}:", fact.label), fact.text))
        .collect();
    push_paragraph(&mut text, &paragraph);

    let (skipped, kept) = last_entries(&exercise.transcript, max_transcript);
    if !kept.is_empty() {
        let mut paragraph = vec!["transcript:".to_string()];
        if skipped > 0 {
            paragraph.push(format!("  {}", earlier_marker(skipped)));
        }
        paragraph.extend(kept.iter().map(transcript_line));
        push_paragraph(&mut text, &paragraph);
    }

    let stderr = Tail::of(&exercise.stderr, max_output);
    let (stream, tail) = if stderr.is_empty() {
        ("stdout", Tail::of(&exercise.stdout, max_output))
    } else {
        ("stderr", stderr)
    };
    if !tail.is_empty() {
        let mut paragraph = vec![format!("{}:", tail.label(stream))];
        paragraph.extend(tail.lines.iter().map(|line| format!("  {line}")));
        push_paragraph(&mut text, &paragraph);
    }
    text
}

/// The robustness tier's verdicts of an exercise as a paragraph (each
/// variant's message, and the hint of each that failed), for formats with
/// one text per exercise; `None` when it was not replayed.
pub(super) fn robustness_text(exercise: &ExerciseResult) -> Option<String> {
    if exercise.robustness.is_empty() {
        return None;
    }
    let mut lines = vec!["robustness tier (feedback: the score is the normal tier's):".to_string()];
    for variant in &exercise.robustness {
        lines.push(format!(
            "  {} {}: {}",
            variant.variant.as_str(),
            variant.status.as_str(),
            one_line(&variant.message)
        ));
        if variant.status != Status::Passed
            && let Some(hint) = &variant.hint
        {
            lines.push(format!("    hint: {}", one_line(hint)));
        }
    }
    Some(lines.join("\n"))
}

/// Appends `lines` to `text` as a paragraph of its own.
fn push_paragraph(text: &mut String, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(&lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_entries_of_a_long_transcript() {
        let transcript: Vec<TranscriptEntry> = (0..50)
            .map(|n| TranscriptEntry {
                at_ms: n,
                direction: Direction::Sent,
                text: format!("message {n}"),
            })
            .collect();
        let (skipped, kept) = last_entries(&transcript, 40);
        assert_eq!(skipped, 10);
        assert_eq!(kept.len(), 40);
        assert_eq!(kept[0].text, "message 10");
    }

    #[test]
    fn formats_a_transcript_line_with_time_and_arrow() {
        let entry = TranscriptEntry {
            at_ms: 5,
            direction: Direction::Received,
            text: "hi\\n\u{1b}[2J".to_string(),
        };
        assert_eq!(transcript_line(&entry), "  0.005s ← hi\\n\\u{1b}[2J");
    }

    #[test]
    fn tail_drops_trailing_blank_lines_and_counts_the_rest() {
        let tail = Tail::of("a\nb\nc\n\n  \n", 2);
        assert_eq!(tail.total, 3);
        assert_eq!(tail.lines, ["b", "c"]);
        assert_eq!(tail.label("stderr"), "stderr (last 2 of 3 lines)");
        assert!(Tail::of(" \n\t\n", 10).is_empty());
    }
}
