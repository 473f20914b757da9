//! The JUnit XML report, for CI: one testsuite per submission, one testcase
//! per exercise, held to the Jenkins xunit schema (`junit-10.xsd`) with the
//! one de facto addition CI reporters read, `file` on a testcase. A
//! student's program can send any bytes, so every string is made valid XML
//! 1.0 before it goes in, and text is escaped, never put in CDATA sections
//! (a `]]>` in a program's output splits one, which some consumers join
//! back wrongly).
//!
//! Written with quick-xml rather than junit-report: that crate always
//! writes `id`, `package` and `hostname` defaults, makes a suite's time the
//! sum of its cases' (exercises run at the same time, so the sum is not how
//! long the grade took), and puts every text in CDATA.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::evidence;
use crate::outcome::{ExerciseResult, Status, SubmissionReport};

/// Transcript lines in a failure's text; more than the terminal shows, since
/// a CI log is read with a scroll bar, but still bounded.
const MAX_TRANSCRIPT_LINES: usize = 200;

/// Lines of stderr (or stdout) in a failure's text; the whole output is in
/// the testcase's `system-out` and `system-err`.
const MAX_OUTPUT_LINES: usize = 10;

/// How a missing exercise is reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MissingAs {
    /// A failure: right for a grade, where it costs its points.
    #[default]
    Failure,
    /// Skipped: for a student's own CI, where exercises not yet started
    /// should not be red annotations.
    Skipped,
}

/// Renders the reports as one JUnit XML document.
pub fn render(reports: &[SubmissionReport], missing: MissingAs) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    document(&mut writer, reports, missing).expect("writing to a Vec cannot fail");
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    bytes
}

/// How many testcases of a suite (or of all) are failures, errors and
/// skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(report: &SubmissionReport, missing: MissingAs) -> Counts {
        let mut counts = Counts::default();
        for exercise in &report.exercises {
            counts.tests += 1;
            match outcome(exercise.status, missing) {
                Outcome::Success => {}
                Outcome::Failure => counts.failures += 1,
                Outcome::Error => counts.errors += 1,
                Outcome::Skipped => counts.skipped += 1,
            }
        }
        counts
    }

    fn add(self, other: Counts) -> Counts {
        Counts {
            tests: self.tests + other.tests,
            failures: self.failures + other.failures,
            errors: self.errors + other.errors,
            skipped: self.skipped + other.skipped,
        }
    }
}

/// What a verdict is in JUnit's terms: passed is a success; a wrong
/// answer, a timeout or a missing program is a failure (the student's to
/// fix); a crash or a harness fault is an error, as a test runner reports a
/// panic; missing is skipped when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Error,
    Skipped,
}

fn outcome(status: Status, missing: MissingAs) -> Outcome {
    match status {
        Status::Passed => Outcome::Success,
        Status::Missing if missing == MissingAs::Skipped => Outcome::Skipped,
        Status::Failed | Status::Timeout | Status::Missing => Outcome::Failure,
        Status::Crashed | Status::Error => Outcome::Error,
    }
}

fn document(
    writer: &mut Writer<Vec<u8>>,
    reports: &[SubmissionReport],
    missing: MissingAs,
) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let total = reports
        .iter()
        .map(|r| Counts::of(r, missing))
        .fold(Counts::default(), Counts::add);
    writer
        .create_element("testsuites")
        .with_attribute(("tests", total.tests.to_string().as_str()))
        .with_attribute(("failures", total.failures.to_string().as_str()))
        .with_attribute(("errors", total.errors.to_string().as_str()))
        .write_inner_content(|writer| {
            for report in reports {
                testsuite(writer, report, missing)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The testsuite of one submission; its time is the grade's wall time.
fn testsuite(
    writer: &mut Writer<Vec<u8>>,
    report: &SubmissionReport,
    missing: MissingAs,
) -> io::Result<()> {
    let name = xml_safe(&report.submission);
    let counts = Counts::of(report, missing);
    let classname = format!("sockgrade.{name}");
    writer
        .create_element("testsuite")
        .with_attribute(("name", name.as_str()))
        .with_attribute(("tests", counts.tests.to_string().as_str()))
        .with_attribute(("failures", counts.failures.to_string().as_str()))
        .with_attribute(("errors", counts.errors.to_string().as_str()))
        .with_attribute(("skipped", counts.skipped.to_string().as_str()))
        .with_attribute(("time", seconds(report.duration_ms).as_str()))
        .write_inner_content(|writer| {
            for exercise in &report.exercises {
                testcase(writer, report, exercise, &classname, missing)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The testcase of one exercise, named `client-1: Title`, with `file`
/// naming the student's program (where CI reporters put annotations).
fn testcase(
    writer: &mut Writer<Vec<u8>>,
    report: &SubmissionReport,
    exercise: &ExerciseResult,
    classname: &str,
    missing: MissingAs,
) -> io::Result<()> {
    let name = xml_safe(&format!("{}: {}", exercise.id, exercise.title));
    let time = seconds(exercise.duration_ms);
    let file = exercise.program_file.as_ref().map(|file| {
        let path = Path::new(&report.path).join(file);
        xml_safe(&path.to_string_lossy())
    });
    let mut element = writer
        .create_element("testcase")
        .with_attribute(("name", name.as_str()))
        .with_attribute(("classname", classname))
        .with_attribute(("time", time.as_str()));
    if let Some(file) = &file {
        element = element.with_attribute(("file", file.as_str()));
    }
    let verdict = outcome(exercise.status, missing);
    if verdict == Outcome::Success && exercise.stdout.is_empty() && exercise.stderr.is_empty() {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|writer| {
        let tag = match verdict {
            Outcome::Success => None,
            Outcome::Failure => Some("failure"),
            Outcome::Error => Some("error"),
            Outcome::Skipped => Some("skipped"),
        };
        if let Some(tag) = tag {
            let message = xml_safe(&exercise.message);
            writer
                .create_element(tag)
                .with_attribute(("type", exercise.status.as_str()))
                .with_attribute(("message", message.as_str()))
                .write_text_content(BytesText::new(&xml_safe(&failure_text(exercise))))?;
        }
        for (tag, text) in [
            ("system-out", &exercise.stdout),
            ("system-err", &exercise.stderr),
        ] {
            if !text.is_empty() {
                writer
                    .create_element(tag)
                    .write_text_content(BytesText::new(&xml_safe(text)))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Seconds with millisecond precision (`15.774`), as the schema's
/// `SUREFIRE_TIME` allows: a float's `15.774000000000001` does not match it.
fn seconds(milliseconds: u64) -> String {
    format!("{}.{:03}", milliseconds / 1000, milliseconds % 1000)
}

/// The text of a failure or error: the message again (some CI tools show only
/// the text), then the evidence, as the terminal shows it.
fn failure_text(exercise: &ExerciseResult) -> String {
    let lead = evidence::multi_line(&exercise.message)
        .trim_end()
        .to_string();
    evidence::with_evidence(lead, exercise, MAX_TRANSCRIPT_LINES, MAX_OUTPUT_LINES)
}

/// True for the characters XML 1.0 allows in a document (its `Char`
/// production); any other, even escaped as `&#...;`, makes it ill-formed.
fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}'
        | '\u{10000}'..='\u{10ffff}')
}

/// `text` with every character XML 1.0 forbids replaced by a visible escape
/// (`\u{1b}`, as in transcripts), so the document stays well-formed and the
/// reader still sees what was there.
fn xml_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn rendered() -> String {
        String::from_utf8(render(&[sample_report()], MissingAs::Failure)).unwrap()
    }

    /// The `<testcase ...>` of `id`, up to the next testcase.
    fn testcase_xml<'a>(xml: &'a str, id: &str) -> &'a str {
        let start = xml
            .find(&format!(r#"<testcase name="{id}: "#))
            .unwrap_or_else(|| panic!("no testcase {id} in {xml}"));
        let rest = &xml[start..];
        let end = rest[1..].find("<testcase").map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }

    #[test]
    fn has_one_testsuite_per_submission_and_one_testcase_per_exercise() {
        let xml = rendered();
        assert!(
            xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuites tests="4" failures="2" errors="1">"#),
            "{xml}"
        );
        assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
        // The grade's wall time, not the sum of exercises run at once.
        assert!(
            xml.contains(
                r#"<testsuite name="alice" tests="4" failures="2" errors="1" skipped="0" time="1.234">"#
            ),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert!(xml.ends_with("</testsuites>\n"), "{xml}");
        let two = String::from_utf8(render(
            &[sample_report(), sample_report()],
            MissingAs::Failure,
        ))
        .unwrap();
        assert_eq!(two.matches("<testsuite ").count(), 2, "{two}");
    }

    #[test]
    fn has_no_attribute_of_no_use() {
        let xml = rendered();
        for noise in ["package=", "hostname=", "id=", "timestamp=", "<![CDATA["] {
            assert!(!xml.contains(noise), "{noise} in {xml}");
        }
        assert_eq!(xml, rendered(), "the same report gives the same bytes");
    }

    #[test]
    fn names_each_case_with_its_title_and_its_program_file() {
        let xml = rendered();
        let passed = testcase_xml(&xml, "client-demo");
        assert!(
            passed.starts_with(
                r#"<testcase name="client-demo: Title of client-demo" classname="sockgrade.alice" time="0.120" file="submissions/alice/client-demo.py"/>"#
            ),
            "{passed}"
        );
    }

    #[test]
    fn writes_times_to_the_millisecond() {
        assert_eq!(seconds(15_774), "15.774");
        assert_eq!(seconds(5), "0.005");
        assert_eq!(seconds(0), "0.000");
    }

    #[test]
    fn maps_each_status_to_success_failure_or_error() {
        let xml = rendered();
        let failed = testcase_xml(&xml, "client-1");
        assert!(
            failed.contains(r#"<failure type="failed" message="expected the reply"#),
            "{failed}"
        );
        assert!(failed.contains("expected: How do you do?\n"), "{failed}");
        assert!(failed.contains("  0.005s ← How are you?"), "{failed}");
        assert!(failed.contains("<system-out>line one\n"), "{failed}");
        assert!(!failed.contains("<system-err>"), "{failed}");
        let crashed = testcase_xml(&xml, "client-2");
        assert!(
            crashed.contains(r#"<error type="crashed" message="the program exited"#),
            "{crashed}"
        );
        assert!(
            crashed.contains("stderr (last 10 of 15 lines):\n  stderr line 6\n"),
            "{crashed}"
        );
        assert!(crashed.contains("<system-err>stderr line 1\n"), "{crashed}");
        let missing = testcase_xml(&xml, "client-5");
        assert!(
            missing.contains(r#"<failure type="missing" message="no client-5.py"#),
            "{missing}"
        );
    }

    #[test]
    fn missing_exercises_can_be_skipped_for_a_students_own_ci() {
        let xml = String::from_utf8(render(&[sample_report()], MissingAs::Skipped)).unwrap();
        let missing = testcase_xml(&xml, "client-5");
        assert!(
            missing.contains(r#"<skipped type="missing" message="no client-5.py"#),
            "{missing}"
        );
        assert!(
            xml.contains(r#"tests="4" failures="1" errors="1" skipped="1""#),
            "{xml}"
        );
    }

    #[test]
    fn has_only_characters_xml_allows() {
        let xml = rendered();
        let bad: Vec<char> = xml.chars().filter(|&c| !is_xml_char(c)).collect();
        assert!(bad.is_empty(), "forbidden characters {bad:?} in {xml}");
        assert!(
            xml.contains(r"\u{fffe}"),
            "forbidden characters stay visible: {xml}"
        );
        assert!(
            xml.contains("&lt;b&gt;&amp;"),
            "markup in attributes is escaped: {xml}"
        );
    }

    #[test]
    fn escapes_an_end_of_cdata_in_output_instead_of_splitting_a_section() {
        let xml = rendered();
        assert!(xml.contains("printed]]&gt; &lt;b&gt;"), "{xml}");
        assert!(!xml.contains("]]>"), "{xml}");
    }

    #[test]
    fn replaces_forbidden_characters_visibly() {
        assert_eq!(
            xml_safe("a\u{0}b\u{1b}c\u{fffe}\u{ffff}"),
            r"a\u{0}b\u{1b}c\u{fffe}\u{ffff}"
        );
        assert_eq!(
            xml_safe("tab\tnl\ncr\r é 🦀 \u{e000}"),
            "tab\tnl\ncr\r é 🦀 \u{e000}"
        );
    }

    #[test]
    fn a_hint_reaches_the_failure_text_as_in_gradescope() {
        let mut report = crate::report::tests::sample_report();
        report.exercises[1].hint = Some("count only the letters".to_string());
        let xml =
            String::from_utf8(render(std::slice::from_ref(&report), MissingAs::Failure)).unwrap();
        assert!(xml.contains("hint:     count only the letters"), "{xml}");
        let gradescope = String::from_utf8(crate::report::gradescope::render(&report)).unwrap();
        assert!(
            gradescope.contains("hint:     count only the letters"),
            "{gradescope}"
        );
    }
}
