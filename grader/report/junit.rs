//! The JUnit XML report, for CI: one testsuite per submission, one testcase
//! per exercise. A student's program can send any bytes, so every string is
//! made valid XML 1.0 before it goes in.

use std::fmt::Write;

use junit_report::{Duration, OffsetDateTime, Report, TestCase, TestCaseBuilder, TestSuite};

use super::evidence;
use crate::outcome::{ExerciseResult, Status, SubmissionReport};

/// Transcript lines in a failure's text; more than the terminal shows, since
/// a CI log is read with a scroll bar, but still bounded.
const MAX_TRANSCRIPT_LINES: usize = 200;

/// Lines of stderr (or stdout) in a failure's text; the whole output is in
/// the testcase's `system-out` and `system-err`.
const MAX_OUTPUT_LINES: usize = 10;

/// The timestamp attribute junit-report writes for [`OffsetDateTime::UNIX_EPOCH`].
/// The crate always writes one, but a report holds no time of day (reporters
/// are pure), and no date beats a false one: the attribute is optional for
/// JUnit consumers, so it is removed.
const EPOCH_TIMESTAMP_ATTRIBUTE: &str = r#" timestamp="1970-01-01T00:00:00Z""#;

/// Renders the reports as one JUnit XML document.
pub fn render(reports: &[SubmissionReport]) -> Vec<u8> {
    let mut report = Report::new();
    report.add_testsuites(reports.iter().map(testsuite));
    let mut bytes = Vec::new();
    report.write_xml(&mut bytes).expect(
        "writing to a Vec cannot fail, and neither can formatting the fixed \
         epoch timestamp",
    );
    let xml = String::from_utf8(bytes).expect("quick-xml writes the UTF-8 strings it is given");
    // Attribute values have their quotes escaped, so this exact text can only
    // be the attribute itself.
    let mut xml = xml.replace(EPOCH_TIMESTAMP_ATTRIBUTE, "");
    xml.push('\n');
    xml.into_bytes()
}

/// The testsuite of one submission.
fn testsuite(report: &SubmissionReport) -> TestSuite {
    let name = xml_safe(&report.submission);
    let mut suite = TestSuite::new(&name);
    suite.set_timestamp(OffsetDateTime::UNIX_EPOCH);
    let classname = format!("sockgrade.{name}");
    suite.add_testcases(
        report
            .exercises
            .iter()
            .map(|exercise| testcase(exercise, &classname)),
    );
    suite
}

/// The testcase of one exercise: passed is a success; a wrong answer, a
/// timeout or a missing program is a failure (the student's to fix); a crash
/// or a harness fault is an error, as a test runner reports a panic.
fn testcase(exercise: &ExerciseResult, classname: &str) -> TestCase {
    let name = xml_safe(&exercise.id);
    let time = Duration::milliseconds(i64::try_from(exercise.duration_ms).unwrap_or(i64::MAX));
    let kind = exercise.status.as_str();
    let message = xml_safe(&exercise.message);
    let mut builder = match exercise.status {
        Status::Passed => TestCaseBuilder::success(&name, time),
        Status::Failed | Status::Timeout | Status::Missing => {
            TestCaseBuilder::failure(&name, time, kind, &message)
        }
        Status::Crashed | Status::Error => TestCaseBuilder::error(&name, time, kind, &message),
    };
    builder.set_classname(classname);
    if exercise.status != Status::Passed {
        builder.set_trace(&cdata_safe(&failure_text(exercise)));
    }
    if !exercise.stdout.is_empty() {
        builder.set_system_out(&cdata_safe(&exercise.stdout));
    }
    if !exercise.stderr.is_empty() {
        builder.set_system_err(&cdata_safe(&exercise.stderr));
    }
    builder.build()
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

/// [`xml_safe`] text for a CDATA section, which junit-report uses for texts
/// and output: a section cannot contain `]]>`, so each one closes the section
/// after `]]` and opens a new one for `>`; a parser joins them back.
fn cdata_safe(text: &str) -> String {
    xml_safe(text).replace("]]>", "]]]]><![CDATA[>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn rendered() -> String {
        String::from_utf8(render(&[sample_report()])).unwrap()
    }

    /// The `<testcase ...>` of `id`, up to the next testcase.
    fn testcase_xml<'a>(xml: &'a str, id: &str) -> &'a str {
        let start = xml
            .find(&format!(r#"<testcase name="{id}""#))
            .unwrap_or_else(|| panic!("no testcase {id} in {xml}"));
        let rest = &xml[start..];
        let end = rest[1..].find("<testcase").map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }

    #[test]
    fn has_one_testsuite_per_submission_and_one_testcase_per_exercise() {
        let xml = rendered();
        assert!(
            xml.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#),
            "{xml}"
        );
        assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
        assert!(
            xml.contains(
                r#"name="alice" package="testsuite/alice" tests="4" errors="1" failures="2""#
            ),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert!(xml.ends_with("</testsuites>\n"), "{xml}");
        let two = String::from_utf8(render(&[sample_report(), sample_report()])).unwrap();
        assert_eq!(two.matches("<testsuite ").count(), 2, "{two}");
    }

    #[test]
    fn maps_each_status_to_success_failure_or_error() {
        let xml = rendered();
        let passed = testcase_xml(&xml, "client-demo");
        assert!(
            passed.starts_with(
                r#"<testcase name="client-demo" time="0.12" classname="sockgrade.alice"/>"#
            ),
            "{passed}"
        );
        let failed = testcase_xml(&xml, "client-1");
        assert!(
            failed.contains(r#"<failure type="failed" message="expected the reply"#),
            "{failed}"
        );
        assert!(failed.contains("expected: How do you do?\n"), "{failed}");
        assert!(failed.contains("  0.005s ← How are you?"), "{failed}");
        assert!(
            failed.contains("<system-out><![CDATA[line one\n"),
            "{failed}"
        );
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
        assert!(
            crashed.contains("<system-err><![CDATA[stderr line 1\n"),
            "{crashed}"
        );
        let missing = testcase_xml(&xml, "client-5");
        assert!(
            missing.contains(r#"<failure type="missing" message="no client-5.py"#),
            "{missing}"
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
    fn closes_cdata_sections_only_where_they_end() {
        let xml = rendered();
        // A stray `]]>` would end its section early; a real end is followed
        // by the next section or the closing tag.
        for (at, _) in xml.match_indices("]]>") {
            assert!(xml[at + 3..].starts_with('<'), "stray ]]> at {at} in {xml}");
        }
        assert!(xml.contains("printed]]]]><![CDATA[> <b>"), "{xml}");
    }

    #[test]
    fn leaves_out_the_timestamp_it_does_not_know() {
        let xml = rendered();
        assert!(!xml.contains("timestamp="), "{xml}");
        assert_eq!(xml, rendered(), "the same report gives the same bytes");
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
        assert_eq!(cdata_safe("x]]>y"), "x]]]]><![CDATA[>y");
    }

    #[test]
    fn a_hint_reaches_the_failure_text_as_in_gradescope() {
        let mut report = crate::report::tests::sample_report();
        report.exercises[1].hint = Some("count only the letters".to_string());
        let xml = String::from_utf8(render(std::slice::from_ref(&report))).unwrap();
        assert!(xml.contains("hint:     count only the letters"), "{xml}");
        let gradescope = String::from_utf8(crate::report::gradescope::render(&report)).unwrap();
        assert!(
            gradescope.contains("hint:     count only the letters"),
            "{gradescope}"
        );
    }
}
