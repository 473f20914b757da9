//! The HTML reports: one self-contained page per submission (its score,
//! each exercise's verdict, message, hint and conversation drawn as a
//! sequence diagram) and the class page of a batch. Pure, like every
//! reporter: values in, a `String` out.
//!
//! Everything a student's program produced is hostile: every text goes
//! through [`text`] (control characters made visible, then HTML-escaped),
//! attributes only ever hold escaped text, and nothing from a program goes
//! into a script or a style. The pages load nothing: inline CSS and SVG, a
//! Content-Security-Policy that forbids the network, and on the class page
//! one small script allowed by its hash.

mod class;
mod csp;
mod sequence;

pub use class::render_class;

use super::evidence::{Tail, multi_line, one_line, points, seconds, status_counts};
use crate::outcome::{ExerciseResult, Status, SubmissionReport};
use crate::text::truncate_chars;
use std::fmt::Write;

/// The file name of an HTML report in a batch's output: the class page at
/// its top, each submission's page in its folder.
pub const FILE_NAME: &str = "report.html";

/// Lines of a program's output shown on a page; the whole output is in the
/// JSON results.
const MAX_OUTPUT_LINES: usize = 40;

/// Renders the page of one submission.
pub fn render(report: &SubmissionReport) -> String {
    let mut body = String::new();
    let name = text(&report.submission);
    let _ = writeln!(
        body,
        "<header><h1>{name}</h1>\
         <p class=\"score\" data-score=\"{score}\" data-max-score=\"{max}\">\
         <strong>{score} / {max}</strong> points · {counts}</p>\
         <p class=\"meta\">graded by {tool} {version} · seed {seed} · {duration}</p></header>",
        score = points(report.score),
        max = points(report.max_score),
        counts = text(&status_counts(report)),
        tool = text(&report.tool.name),
        version = text(&report.tool.version),
        seed = report.seed,
        duration = seconds(report.duration_ms),
    );
    if let Some(folder) = &report.graded_folder {
        let _ = writeln!(
            body,
            "<p class=\"note\">graded the one folder the submission holds, <code>{}</code></p>",
            text(folder)
        );
    }
    body.push_str(&overview(&report.exercises));
    for (index, exercise) in report.exercises.iter().enumerate() {
        body.push_str(&exercise_section(index, exercise));
    }
    page(&format!("{name} · sockgrade"), &body, None)
}

/// The table of every exercise at the top of a page, linking to its section.
fn overview(exercises: &[ExerciseResult]) -> String {
    let mut out = String::from(
        "<table class=\"overview\"><thead><tr><th>exercise</th><th>title</th>\
         <th>verdict</th><th>points</th></tr></thead><tbody>\n",
    );
    for (index, exercise) in exercises.iter().enumerate() {
        let status = exercise.status.as_str();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#exercise-{index}\">{id}</a></td><td>{title}</td>\
             <td><span class=\"verdict {status}\">{status}</span></td><td>{score} / {max}</td></tr>",
            id = text(&exercise.id),
            title = text(&exercise.title),
            score = points(exercise.score),
            max = points(exercise.max_score),
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// One exercise: its verdict and evidence, and its conversation.
fn exercise_section(index: usize, exercise: &ExerciseResult) -> String {
    let status = exercise.status.as_str();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section class=\"exercise {status}\" id=\"exercise-{index}\" data-exercise=\"{id}\" \
         data-status=\"{status}\">\n<h2>{id} <span class=\"title\">{title}</span> \
         <span class=\"verdict {status}\">{status}</span> \
         <span class=\"points\">{score} / {max}</span></h2>",
        id = text(&exercise.id),
        title = text(&exercise.title),
        score = points(exercise.score),
        max = points(exercise.max_score),
    );
    if !exercise.message.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"message\">{}</p>",
            text_lines(&exercise.message)
        );
    }
    if let Some(hint) = &exercise.hint {
        let _ = writeln!(
            out,
            "<p class=\"hint\"><strong>hint:</strong> {}</p>",
            text_lines(hint)
        );
    }
    let mut facts = Vec::new();
    if let Some(command) = &exercise.command {
        facts.push(("command", format!("<code>{}</code>", text(command))));
    }
    if exercise.status != Status::Passed {
        if let Some(expected) = &exercise.expected {
            facts.push((
                "expected",
                format!("<code class=\"expected\">{}</code>", text(expected)),
            ));
        }
        if let Some(received) = &exercise.received {
            facts.push((
                "received",
                format!("<code class=\"received\">{}</code>", text(received)),
            ));
        }
    }
    if let Some(exit) = &exercise.exit {
        let by = if exit.killed_by_grader {
            " (stopped by the grader)"
        } else {
            ""
        };
        facts.push(("exit", format!("{}{by}", text(&exit.describe()))));
    }
    facts.push(("time", seconds(exercise.duration_ms)));
    out.push_str("<dl class=\"facts\">");
    for (label, value) in facts {
        let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl>\n");
    if !exercise.transcript.is_empty() {
        out.push_str(&sequence::diagram(exercise));
    }
    for (stream, output) in [("stdout", &exercise.stdout), ("stderr", &exercise.stderr)] {
        let tail = Tail::of(output, MAX_OUTPUT_LINES);
        if tail.is_empty() {
            continue;
        }
        let lines: Vec<String> = tail.lines.iter().map(|line| escape(line)).collect();
        let open = if exercise.status == Status::Passed {
            ""
        } else {
            " open"
        };
        let _ = writeln!(
            out,
            "<details class=\"output {stream}\"{open}><summary>{label}</summary><pre>{}</pre></details>",
            lines.join("\n"),
            label = text(&tail.label(stream)),
        );
    }
    out.push_str(&robustness(exercise));
    out.push_str("</section>\n");
    out
}

/// The robustness tier's replays of an exercise: each variant's verdict,
/// and for each that did not pass its hint, evidence and conversation
/// (where every segment the grader sent is an arrow of its own).
fn robustness(exercise: &ExerciseResult) -> String {
    if exercise.robustness.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<div class=\"robustness\"><h3>robustness tier <span class=\"note\">(feedback: the points are the normal tier's)</span></h3><ul>\n",
    );
    for variant in &exercise.robustness {
        let status = variant.status.as_str();
        let _ = writeln!(
            out,
            "<li data-variant=\"{name}\" data-status=\"{status}\"><span class=\"verdict {status}\">{status}</span> \
             <strong>{name}</strong> · {message}</li>",
            name = variant.variant.as_str(),
            message = text(&variant.message),
        );
    }
    out.push_str("</ul>\n");
    for variant in exercise
        .robustness
        .iter()
        .filter(|v| v.status != Status::Passed)
    {
        let _ = write!(
            out,
            "<details class=\"variant\" data-variant=\"{}\" open><summary>{}: what the program did</summary>",
            variant.variant.as_str(),
            variant.variant.as_str(),
        );
        if let Some(hint) = &variant.hint {
            let _ = writeln!(
                out,
                "<p class=\"hint\"><strong>hint:</strong> {}</p>",
                text_lines(hint)
            );
        }
        if !variant.transcript.is_empty() {
            out.push_str(&sequence::diagram(variant));
        }
        out.push_str("</details>\n");
    }
    out.push_str("</div>\n");
    out
}

/// A whole page: the policy first, then the style, the body and the
/// page's one script, if it has one.
pub(super) fn page(title: &str, body: &str, script: Option<&str>) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape(&csp::policy(script))
    );
    let _ = writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>"
    );
    if let Some(script) = script {
        let _ = writeln!(out, "<script>{script}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes `text` for HTML text and quoted attribute values alike.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text on one line: control characters and noncharacters made
/// visible escapes, then HTML-escaped.
pub(super) fn text(untrusted: &str) -> String {
    escape(&visible(&one_line(untrusted)))
}

/// Untrusted text over several lines (shown with `white-space: pre-wrap`).
fn text_lines(untrusted: &str) -> String {
    escape(&visible(&multi_line(untrusted)))
}

/// Untrusted text shortened to `max` characters for a diagram's label.
pub(super) fn short_text(untrusted: &str, max: usize) -> String {
    escape(&truncate_chars(&visible(&one_line(untrusted)), max))
}

/// Noncharacters (U+FFFE, U+FDD0...) as visible escapes: the HTML parser
/// reports them as errors, and they show as nothing.
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        if (0xFDD0..=0xFDEF).contains(&code) || (code & 0xFFFE) == 0xFFFE {
            let _ = write!(out, "\\u{{{code:x}}}");
        } else {
            out.push(c);
        }
    }
    out
}

/// The one style sheet of every page.
const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;}
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff;}
main{max-width:1000px;margin:0 auto;padding:1em 1.5em 3em;}
h1{margin:.3em 0;} h2{font-size:1.15em;margin:0 0 .4em;}
.score{font-size:1.2em;} .meta,.title,.muted{color:var(--muted);}
section.exercise{border:1px solid var(--line);border-left:6px solid var(--fail);border-radius:6px;padding:.8em 1em;margin:1.2em 0;}
section.exercise.passed{border-left-color:var(--pass);}
section.exercise.timeout,section.exercise.error{border-left-color:var(--warn);}
section.exercise.missing{border-left-color:var(--muted);}
.verdict{display:inline-block;border-radius:1em;padding:0 .6em;font-size:.85em;color:#fff;background:var(--fail);}
.verdict.passed{background:var(--pass);} .verdict.timeout,.verdict.error{background:var(--warn);} .verdict.missing{background:var(--muted);}
.points{float:right;font-weight:normal;}
.message,.hint{white-space:pre-wrap;overflow-wrap:anywhere;}
.hint{background:#fff8c5;border-radius:4px;padding:.4em .6em;}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0;}
dt{color:var(--muted);} dd{margin:0;overflow-wrap:anywhere;}
code,pre{font-family:ui-monospace,monospace;font-size:.9em;}
code.expected{background:#dafbe1;} code.received{background:#ffebe9;}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em;white-space:pre-wrap;overflow-wrap:anywhere;}
table{border-collapse:collapse;margin:.8em 0;} th,td{border-bottom:1px solid var(--line);padding:.25em .7em;text-align:left;}
th button{font:inherit;font-weight:bold;border:0;background:none;cursor:pointer;padding:0;}
svg{max-width:100%;height:auto;display:block;margin:.5em 0;}
svg text{font:12px ui-monospace,monospace;} svg .lane{stroke:#8c959f;stroke-dasharray:4 4;}
svg .arrow line{stroke:#0969da;stroke-width:1.5;} svg .arrow polygon{fill:#0969da;}
svg .arrow.received line{stroke:#8250df;} svg .arrow.received polygon{fill:#8250df;}
svg .arrow.failing line{stroke:var(--fail);stroke-width:2.5;} svg .arrow.failing polygon{fill:var(--fail);}
svg .event rect{fill:#f6f8fa;stroke:#8c959f;} svg .event.crash rect{fill:#ffebe9;stroke:var(--fail);}
svg .failure rect{fill:#ffebe9;stroke:var(--fail);} svg .time{fill:var(--muted);}
.robustness{border-top:1px dashed var(--line);margin-top:.8em;} .robustness ul{padding-left:1.2em;} .robustness h3{font-size:1em;}
.wide{overflow-x:auto;} .bars rect{fill:#0969da;} .rate{display:inline-block;height:.8em;background:var(--pass);}
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Direction, TranscriptEntry};
    use crate::report::tests::sample_report;

    const HOSTILE: &str =
        "<script>alert(1)</script><img src=x onerror=alert(1)>]]>\"'&\u{0}\u{1b}[2J";

    /// The sample report with hostile text in every field a program fills.
    fn hostile_report() -> SubmissionReport {
        let mut report = sample_report();
        report.submission = format!("name{HOSTILE}");
        for exercise in &mut report.exercises {
            exercise.message = HOSTILE.to_string();
            exercise.hint = Some(HOSTILE.to_string());
            exercise.received = Some(HOSTILE.to_string());
            exercise.expected = Some(HOSTILE.to_string());
            exercise.stdout = format!("{HOSTILE}\n{HOSTILE}");
            exercise.stderr = HOSTILE.to_string();
            exercise.transcript.push(TranscriptEntry {
                at_ms: 20,
                direction: Direction::Received,
                text: HOSTILE.to_string(),
            });
        }
        report
    }

    /// Asserts that no markup from [`HOSTILE`] is left in `page`.
    pub(super) fn assert_inert(page: &str) {
        for raw in [
            "<script>alert",
            "<img",
            "onerror=alert(1)>",
            "]]>",
            "\u{0}",
            "\u{1b}",
        ] {
            assert!(!page.contains(raw), "{raw:?} is in the page");
        }
        // The page's own script, if any, is taken out by the caller.
        assert_eq!(page.matches("<script").count(), 0);
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("]]&gt;&quot;&#39;&amp;\\u{0}\\u{1b}[2J"));
    }

    #[test]
    fn a_failed_robustness_variant_shows_its_hint_and_its_segments_escaped() {
        let mut report = hostile_report();
        let transcript = vec![
            TranscriptEntry {
                at_ms: 1,
                direction: Direction::Sent,
                text: "he".to_string(),
            },
            TranscriptEntry {
                at_ms: 2,
                direction: Direction::Received,
                text: HOSTILE.to_string(),
            },
        ];
        report.exercises[0].robustness = vec![
            crate::outcome::VariantResult {
                variant: crate::exercise::Variant::Split,
                seed: 5,
                status: Status::Failed,
                message: HOSTILE.to_string(),
                hint: Some(format!("a byte stream{HOSTILE}")),
                expected: Some("`hello`".to_string()),
                received: Some(HOSTILE.to_string()),
                transcript,
            },
            crate::outcome::VariantResult {
                variant: crate::exercise::Variant::SlowStart,
                seed: 6,
                status: Status::Passed,
                message: "passed".to_string(),
                hint: None,
                expected: None,
                received: None,
                transcript: Vec::new(),
            },
        ];
        let page = render(&report);
        assert_inert(&page);
        assert!(page.contains("data-variant=\"split\" data-status=\"failed\""));
        assert!(page.contains("data-variant=\"slow-start\" data-status=\"passed\""));
        // Only the failed variant is drawn, with its one segment sent.
        assert_eq!(page.matches("<details class=\"variant\"").count(), 1);
        assert!(page.contains("a byte stream"));
    }

    #[test]
    fn hostile_text_comes_out_escaped() {
        let page = render(&hostile_report());
        assert_inert(&page);
        assert!(!page.contains("<script"), "a submission page has no script");
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape("&<>\"'x"), "&amp;&lt;&gt;&quot;&#39;x");
        assert_eq!(text("a\nb\u{7f}\u{fffe}"), "a\\nb\\u{7f}\\u{fffe}");
        assert_eq!(text_lines("a\nb"), "a\nb");
    }

    #[test]
    fn has_a_policy_that_forbids_the_network_before_anything_else() {
        let page = render(&sample_report());
        let policy = page.find("Content-Security-Policy").unwrap();
        assert!(policy < page.find("<style>").unwrap());
        assert!(page.contains("default-src &#39;none&#39;"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn has_a_section_per_exercise_with_its_verdict_and_hint() {
        let mut report = sample_report();
        report.exercises[1].hint = Some("print the reply".to_string());
        let page = render(&report);
        assert_eq!(page.matches("<section class=\"exercise").count(), 4);
        assert!(page.contains("data-exercise=\"client-1\" data-status=\"failed\""));
        assert!(page.contains("<strong>hint:</strong> print the reply"));
        assert!(page.contains("<strong>1 / 4</strong>"));
    }
}
