//! An exercise's conversation as an SVG sequence diagram: the student's
//! program on the left, the grader on the right, one arrow per message with
//! its text and time, events (a connection, a close, an exit, a crash) as
//! boxes across both lanes, and where it failed what was expected beside
//! what was received.

use super::{short_text, text};
use crate::outcome::{Direction, ExerciseResult, Status, TranscriptEntry, VariantResult};
use std::fmt::Write;

/// The diagram's width; it scales down to the page.
const WIDTH: u32 = 960;
/// Where the student's lane runs.
const STUDENT_X: u32 = 210;
/// Where the grader's lane runs.
const GRADER_X: u32 = 870;
/// Height of the lane labels above the first row.
const TOP: u32 = 40;
/// Height of one row: a message or an event.
const ROW: u32 = 32;
/// Longest label on an arrow; the whole text is its tooltip.
const MAX_LABEL_CHARS: usize = 80;
/// Longest expected or received text in the failure box.
const MAX_FAILURE_CHARS: usize = 34;

/// A conversation to draw: an exercise's, or one of its robustness
/// replays'.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drawn<'a> {
    status: Status,
    expected: Option<&'a str>,
    received: Option<&'a str>,
    transcript: &'a [TranscriptEntry],
}

impl<'a> From<&'a ExerciseResult> for Drawn<'a> {
    fn from(exercise: &'a ExerciseResult) -> Drawn<'a> {
        Drawn {
            status: exercise.status,
            expected: exercise.expected.as_deref(),
            received: exercise.received.as_deref(),
            transcript: &exercise.transcript,
        }
    }
}

impl<'a> From<&'a VariantResult> for Drawn<'a> {
    fn from(variant: &'a VariantResult) -> Drawn<'a> {
        Drawn {
            status: variant.status,
            expected: variant.expected.as_deref(),
            received: variant.received.as_deref(),
            transcript: &variant.transcript,
        }
    }
}

/// The kind of an event, for its look: its text is the recorder's.
fn event_kind(entry: &TranscriptEntry) -> &'static str {
    let text = entry.text.as_str();
    if text.contains("closed") || text.contains("reset") {
        "close"
    } else if text.starts_with("the program exited") {
        if text.contains("(exit status 0)") {
            "exit"
        } else {
            "crash"
        }
    } else if text.contains("stopped") {
        "stop"
    } else {
        "other"
    }
}

/// The index of the message the failure is about: the last one received
/// that ends what the result says was received (a message sent in several
/// pieces is several entries, the last its end), or none.
fn failing_entry(run: Drawn) -> Option<usize> {
    if run.status == Status::Passed {
        return None;
    }
    let received = run.received?;
    run.transcript.iter().rposition(|e| {
        e.direction == Direction::Received && !e.text.is_empty() && received.ends_with(&e.text)
    })
}

/// The diagram of a conversation's transcript, in a `<figure>`.
pub(super) fn diagram<'a>(run: impl Into<Drawn<'a>>) -> String {
    let run: Drawn = run.into();
    let failing = failing_entry(run);
    let shows_failure =
        run.status != Status::Passed && (run.expected.is_some() || run.received.is_some());
    let rows = run.transcript.len() as u32 + u32::from(shows_failure);
    let height = TOP + rows * ROW + 20;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<figure class=\"sequence\" data-messages=\"{messages}\" data-events=\"{events}\">\
         <svg viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"the conversation\">",
        messages = run
            .transcript
            .iter()
            .filter(|e| e.direction != Direction::Event)
            .count(),
        events = run
            .transcript
            .iter()
            .filter(|e| e.direction == Direction::Event)
            .count(),
    );
    let bottom = height - 10;
    let _ = writeln!(
        out,
        "<text x=\"{STUDENT_X}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">student's program</text>\
         <text x=\"{GRADER_X}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">grader</text>\
         <line class=\"lane\" x1=\"{STUDENT_X}\" y1=\"26\" x2=\"{STUDENT_X}\" y2=\"{bottom}\"/>\
         <line class=\"lane\" x1=\"{GRADER_X}\" y1=\"26\" x2=\"{GRADER_X}\" y2=\"{bottom}\"/>"
    );
    for (index, entry) in run.transcript.iter().enumerate() {
        let y = TOP + index as u32 * ROW;
        let _ = write!(
            out,
            "<text class=\"time\" x=\"8\" y=\"{}\">{:.3}s</text>",
            y + 20,
            entry.at_ms as f64 / 1000.0
        );
        out.push_str(&match entry.direction {
            Direction::Event => event(entry, y),
            direction => arrow(entry, direction, y, failing == Some(index)),
        });
        out.push('\n');
    }
    if shows_failure {
        let y = TOP + run.transcript.len() as u32 * ROW;
        out.push_str(&failure(run, y));
    }
    out.push_str("</svg></figure>\n");
    out
}

/// One message: an arrow from its sender's lane to the other, its text
/// above it.
fn arrow(entry: &TranscriptEntry, direction: Direction, y: u32, failing: bool) -> String {
    let (class, from, to) = match direction {
        Direction::Sent => ("sent", GRADER_X, STUDENT_X),
        _ => ("received", STUDENT_X, GRADER_X),
    };
    let line_y = y + 22;
    // The head points at the receiver's lane.
    let back = if to > from { to - 9 } else { to + 9 };
    let failing_class = if failing { " failing" } else { "" };
    format!(
        "<g class=\"arrow {class}{failing_class}\" data-direction=\"{class}\"><title>{title}</title>\
         <line x1=\"{from}\" y1=\"{line_y}\" x2=\"{back}\" y2=\"{line_y}\"/>\
         <polygon points=\"{to},{line_y} {back},{} {back},{}\"/>\
         <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{label}</text></g>",
        line_y - 5,
        line_y + 5,
        y + 15,
        title = text(&entry.text),
        mid = (STUDENT_X + GRADER_X) / 2,
        label = short_text(&entry.text, MAX_LABEL_CHARS),
    )
}

/// Something that happened: a box across both lanes.
fn event(entry: &TranscriptEntry, y: u32) -> String {
    let kind = event_kind(entry);
    format!(
        "<g class=\"event {kind}\" data-kind=\"{kind}\"><title>{title}</title>\
         <rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"22\" rx=\"4\"/>\
         <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{label}</text></g>",
        y + 6,
        y + 21,
        x = STUDENT_X - 60,
        w = GRADER_X - STUDENT_X + 120,
        title = text(&entry.text),
        mid = (STUDENT_X + GRADER_X) / 2,
        label = short_text(&entry.text, MAX_LABEL_CHARS + 10),
    )
}

/// The failing step: what was expected beside what was received.
fn failure(run: Drawn, y: u32) -> String {
    let side = |label: &str, value: Option<&str>| match value {
        Some(value) => format!("{label}: {}", short_text(value, MAX_FAILURE_CHARS)),
        None => format!("{label}: nothing"),
    };
    let x = STUDENT_X - 60;
    format!(
        "<g class=\"failure\" data-status=\"{status}\">\
         <rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"24\" rx=\"4\"/>\
         <text class=\"expected\" x=\"{}\" y=\"{}\">{expected}</text>\
         <text class=\"received\" x=\"{}\" y=\"{}\">{received}</text></g>\n",
        y + 6,
        x + 8,
        y + 22,
        (STUDENT_X + GRADER_X) / 2 + 10,
        y + 22,
        status = run.status.as_str(),
        w = GRADER_X - STUDENT_X + 120,
        expected = side("expected", run.expected),
        received = side("received", run.received),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn entry(at_ms: u64, direction: Direction, text: &str) -> TranscriptEntry {
        TranscriptEntry {
            at_ms,
            direction,
            text: text.to_string(),
        }
    }

    #[test]
    fn draws_one_arrow_per_message_and_a_box_per_event() {
        let mut exercise = sample_report().exercises[1].clone();
        exercise.transcript = vec![
            entry(0, Direction::Event, "started `python3 client-1.py`"),
            entry(3, Direction::Event, "connected"),
            entry(5, Direction::Received, "How are you?\\n"),
            entry(6, Direction::Sent, "I'm good\\n"),
            entry(7, Direction::Received, "bye\\n"),
            entry(8, Direction::Event, "the program closed the connection"),
            entry(9, Direction::Event, "the program exited (exit status 1)"),
        ];
        exercise.received = Some("How are you?\\n".to_string());
        let svg = diagram(&exercise);
        assert_eq!(svg.matches("<g class=\"arrow").count(), 3);
        assert_eq!(svg.matches("data-direction=\"sent\"").count(), 1);
        assert_eq!(svg.matches("data-direction=\"received\"").count(), 2);
        assert_eq!(svg.matches("<g class=\"event").count(), 4);
        assert!(svg.contains("data-messages=\"3\" data-events=\"4\""));
        assert!(svg.contains("data-kind=\"close\""));
        assert!(svg.contains("data-kind=\"crash\""));
        assert_eq!(svg.matches(" failing\"").count(), 1);
        assert!(svg.contains("expected: How do you do?"));
        assert!(svg.contains("0.007s"));
    }

    #[test]
    fn a_wrong_answer_sent_in_pieces_is_marked_on_its_last_piece() {
        let mut exercise = sample_report().exercises[1].clone();
        exercise.transcript = vec![
            entry(1, Direction::Sent, "island\\n"),
            entry(2, Direction::Received, "doubled:isl"),
            entry(3, Direction::Received, "and\\n"),
        ];
        exercise.received = Some("doubled:island\\n".to_string());
        let svg = diagram(&exercise);
        assert_eq!(svg.matches(" failing\"").count(), 1, "{svg}");
        let failing = svg.find(" failing\"").unwrap();
        assert!(svg[failing..].contains("and\\n"), "{svg}");
        assert!(!svg[failing..].contains("doubled:isl<"), "{svg}");
    }

    #[test]
    fn a_passed_exercise_has_no_failure_marked() {
        let mut exercise = sample_report().exercises[0].clone();
        exercise.transcript = vec![entry(1, Direction::Sent, "hi")];
        exercise.expected = Some("x".to_string());
        let svg = diagram(&exercise);
        assert!(!svg.contains("class=\"failure\"") && !svg.contains("failing"));
        assert_eq!(svg.matches("<g class=\"arrow").count(), 1);
    }

    #[test]
    fn hostile_messages_come_out_escaped() {
        let mut exercise = sample_report().exercises[1].clone();
        let hostile = "<script>alert(1)</script>]]><img src=x onerror=alert(1)>\"'\u{0}\u{1b}";
        exercise.transcript = vec![entry(1, Direction::Received, hostile)];
        exercise.received = Some(hostile.to_string());
        let svg = diagram(&exercise);
        assert!(!svg.contains("<script") && !svg.contains("<img") && !svg.contains("]]>"));
        assert!(!svg.contains('\u{0}') && !svg.contains('\u{1b}'));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;]]&gt;"));
    }
}
