//! The Gradescope report: the `results.json` a Gradescope autograder leaves
//! in `/autograder/results/`, with the field names of Gradescope's
//! autograder specification. One test per exercise; the evidence of a test
//! that did not pass is the terminal's, as plain text.

use serde::Serialize;

use super::evidence;
use crate::exercise::Visibility;
use crate::outcome::{ExerciseResult, Status, SubmissionReport};

/// Transcript lines in a test's output; Gradescope collapses the output, so
/// it can hold more than a terminal screen, but still bounded.
const MAX_TRANSCRIPT_LINES: usize = 100;

/// Lines of stderr (or stdout) in a test's output, from its end, where a
/// traceback names the error.
const MAX_OUTPUT_LINES: usize = 10;

/// The whole `results.json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Results {
    /// Points earned; given, so Gradescope uses the report's score rather
    /// than adding the tests' up again.
    score: f64,
    /// Wall time of the whole grade, in seconds.
    execution_time: f64,
    /// Text about the whole submission: its summary line.
    output: String,
    /// How Gradescope shows `output`: as it is.
    output_format: OutputFormat,
    /// One test per exercise, in the exercise file's order.
    tests: Vec<Test>,
}

/// One exercise as a Gradescope test.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Test {
    /// `client-1: How do you do?`: the exercise id and title.
    name: String,
    /// Points earned.
    score: f64,
    /// Points available.
    max_score: f64,
    /// Passed or not: Gradescope knows no other verdicts.
    status: TestStatus,
    /// For a pass, its time; otherwise the status, the message and the
    /// evidence, as the terminal shows them.
    output: String,
    /// How Gradescope shows `output`: as it is, in a `<pre>` block.
    output_format: OutputFormat,
    /// Who may see the test, and when: the exercise's `visibility`.
    visibility: GradescopeVisibility,
}

/// The `status` values Gradescope documents for a test.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum TestStatus {
    /// Shown as a pass.
    Passed,
    /// Shown as a failure: every verdict but `passed`.
    Failed,
}

/// The one `output_format` value used here.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum OutputFormat {
    /// Plain text: a student's bytes are never read as HTML or Markdown.
    Text,
}

/// A test's `visibility` in Gradescope's words.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum GradescopeVisibility {
    Visible,
    Hidden,
    AfterDueDate,
    AfterPublished,
}

impl From<Visibility> for GradescopeVisibility {
    fn from(visibility: Visibility) -> GradescopeVisibility {
        match visibility {
            Visibility::Visible => GradescopeVisibility::Visible,
            Visibility::Hidden => GradescopeVisibility::Hidden,
            Visibility::AfterDueDate => GradescopeVisibility::AfterDueDate,
            Visibility::AfterPublished => GradescopeVisibility::AfterPublished,
        }
    }
}

/// What a test that the grader could not grade says first, and what the
/// whole submission says when some were: a harness `error` is never the
/// student's fault, and Gradescope, knowing only passed and failed, would
/// otherwise show it as a plain zero.
const NOT_YOUR_FAULT: &str = "the grader failed, not your program, so the points are not a \
     grade yet. Submit again; if this happens again, tell your instructor, \
     who can regrade the submission.";

/// The JSON Schema of what [`render`] writes.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Results)
}

/// Renders the report as Gradescope's `results.json`, ending with a newline.
pub fn render(report: &SubmissionReport) -> Vec<u8> {
    let results = Results {
        score: report.score,
        execution_time: report.duration_ms as f64 / 1000.0,
        output: summary_line(report),
        output_format: OutputFormat::Text,
        tests: report.exercises.iter().map(test).collect(),
    };
    super::json::pretty(&results)
}

/// The test of one exercise.
fn test(exercise: &ExerciseResult) -> Test {
    let (status, output) = match exercise.status {
        Status::Passed => (
            TestStatus::Passed,
            format!("passed in {}", evidence::seconds(exercise.duration_ms)),
        ),
        Status::Error => (
            TestStatus::Failed,
            format!(
                "not graded: {NOT_YOUR_FAULT}\n\n{}",
                evidence_text(exercise)
            ),
        ),
        _ => (TestStatus::Failed, evidence_text(exercise)),
    };
    let output = match evidence::robustness_text(exercise) {
        Some(robustness) => format!("{output}\n\n{robustness}"),
        None => output,
    };
    let mut name = format!(
        "{}: {}",
        evidence::one_line(&exercise.id),
        evidence::one_line(&exercise.title)
    );
    if exercise.status == Status::Error {
        name.push_str(" (not graded: a grader error)");
    }
    Test {
        name,
        score: exercise.score,
        max_score: exercise.max_score,
        status,
        output,
        output_format: OutputFormat::Text,
        visibility: exercise.visibility.into(),
    }
}

/// `score 9/11 · 9 passed, 1 failed, 1 missing`, the terminal's summary
/// line without the time (Gradescope has `execution_time` for that).
fn summary_line(report: &SubmissionReport) -> String {
    let line = format!(
        "score {}/{} · {}",
        evidence::points(report.score),
        evidence::points(report.max_score),
        evidence::status_counts(report)
    );
    let errors = report
        .exercises
        .iter()
        .filter(|e| e.status == Status::Error)
        .count();
    match errors {
        0 => line,
        1 => format!("{line}\n\n1 exercise not graded: {NOT_YOUR_FAULT}"),
        n => format!("{line}\n\n{n} exercises not graded: {NOT_YOUR_FAULT}"),
    }
}

/// The output of a test that did not pass: `timeout: <message>`, then the
/// command, expected and received, the transcript and the output tail, each
/// a paragraph. Gradescope knows only passed and failed, so the real status
/// leads the text.
fn evidence_text(exercise: &ExerciseResult) -> String {
    let message = evidence::multi_line(&exercise.message);
    let message = message.trim_end();
    let lead = if message.is_empty() {
        exercise.status.as_str().to_string()
    } else {
        format!("{}: {message}", exercise.status.as_str())
    };
    evidence::with_evidence(lead, exercise, MAX_TRANSCRIPT_LINES, MAX_OUTPUT_LINES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample_report, sample_report_replayed};
    use serde_json::Value;

    fn parsed(report: &SubmissionReport) -> Value {
        let bytes = render(report);
        assert_eq!(bytes.last(), Some(&b'\n'));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The keys of a JSON object, sorted.
    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_passed_test_tells_its_robustness_without_changing_its_score() {
        let (report, passed) =
            sample_report_replayed(&[(crate::exercise::Variant::Split, Status::Failed)]);
        let json = parsed(&report);
        let test = &json["tests"][passed];
        assert_eq!(test["status"], "passed");
        assert_eq!(test["score"], test["max_score"]);
        let output = test["output"].as_str().unwrap();
        assert!(
            output.contains("split failed: with every message split"),
            "{output}"
        );
        assert!(
            output.contains("hint: TCP carries a stream of bytes"),
            "{output}"
        );
    }

    #[test]
    fn has_exactly_the_documented_top_level_fields() {
        let json = parsed(&sample_report());
        assert_eq!(
            keys(&json),
            [
                "execution_time",
                "output",
                "output_format",
                "score",
                "tests"
            ]
        );
        assert_eq!(json["score"], 1.0);
        assert_eq!(json["execution_time"], 1.234);
        assert_eq!(
            json["output"],
            "score 1/4 · 1 passed, 1 failed, 1 crashed, 1 missing"
        );
        assert_eq!(json["output_format"], "text");
        assert_eq!(json["tests"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn has_exactly_the_documented_test_fields() {
        let json = parsed(&sample_report());
        let test = &json["tests"][0];
        assert_eq!(
            keys(test),
            [
                "max_score",
                "name",
                "output",
                "output_format",
                "score",
                "status",
                "visibility"
            ]
        );
        assert_eq!(test["name"], "client-demo: Title of client-demo");
        assert_eq!(test["score"], 1.0);
        assert_eq!(test["max_score"], 1.0);
        assert_eq!(test["status"], "passed");
        assert_eq!(test["output"], "passed in 0.12s");
        assert_eq!(test["output_format"], "text");
        assert_eq!(test["visibility"], "visible");
    }

    #[test]
    fn maps_every_other_status_to_failed() {
        let mut report = sample_report();
        report.exercises[0].status = Status::Timeout;
        report.exercises[0].message = "no answer within 5s".to_string();
        let json = parsed(&report);
        let statuses: Vec<&str> = json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["failed"; 4]);
        assert_eq!(
            json["tests"][0]["output"],
            "timeout: no answer within 5s\n\ncommand:  python3 client-demo.py"
        );
        assert!(
            json["tests"][3]["output"]
                .as_str()
                .unwrap()
                .starts_with("missing: no client-5.py")
        );
    }

    #[test]
    fn shows_the_evidence_of_a_test_that_did_not_pass() {
        let json = parsed(&sample_report());
        let failed = &json["tests"][1];
        assert_eq!(failed["name"], "client-1: Ask how \\u{1b}[31mthey do");
        assert_eq!(failed["score"], 0.0);
        let output = failed["output"].as_str().unwrap();
        assert!(
            output.starts_with("failed: expected the reply to be printed]]>"),
            "{output}"
        );
        assert!(output.contains("\nhint: print it\n\n"), "{output}");
        assert!(
            output.contains("\ncommand:  python3 client-1.py\nexpected: How do you do?\n"),
            "{output}"
        );
        assert!(
            output.contains("\nreceived: How are you?\\n\\u{0}\\u{1b}]]>\n"),
            "{output}"
        );
        assert!(
            output.contains("\n\ntranscript:\n  0.003s · connected\n  0.005s ← How are you?"),
            "{output}"
        );
        assert!(output.contains("\n  0.010s → I'm good\\n\n"), "{output}");
        assert!(output.ends_with("\n\nstdout:\n  line one\n  \\u{1b}[2Jline two ]]> \u{fffe}"));
        let crashed = json["tests"][2]["output"].as_str().unwrap();
        assert!(
            crashed.contains("\n\nstderr (last 10 of 15 lines):\n  stderr line 6\n"),
            "{crashed}"
        );
    }

    #[test]
    fn a_harness_error_says_it_is_not_the_students_fault_and_not_a_grade() {
        let mut report = sample_report();
        report.exercises[1].status = Status::Error;
        report.exercises[1].message = "port 5000 is held by another program".to_string();
        let json = parsed(&report);
        let test = &json["tests"][1];
        assert_eq!(test["status"], "failed");
        assert!(
            test["name"]
                .as_str()
                .unwrap()
                .ends_with("(not graded: a grader error)"),
            "{}",
            test["name"]
        );
        let output = test["output"].as_str().unwrap();
        assert!(
            output.starts_with("not graded: the grader failed, not your program"),
            "{output}"
        );
        assert!(output.contains("Submit again"), "{output}");
        assert!(
            output.contains("error: port 5000 is held by another program"),
            "{output}"
        );
        let summary = json["output"].as_str().unwrap();
        assert!(
            summary.ends_with("1 exercise not graded: the grader failed, not your program, so the points are not a grade yet. Submit again; if this happens again, tell your instructor, who can regrade the submission."),
            "{summary}"
        );
        // Other verdicts say nothing of the kind.
        assert!(
            !json["tests"][2]["output"]
                .as_str()
                .unwrap()
                .contains("not graded")
        );
        assert!(
            !parsed(&sample_report())["output"]
                .as_str()
                .unwrap()
                .contains("not graded")
        );
    }

    #[test]
    fn each_test_has_its_exercises_visibility_in_gradescopes_words() {
        let mut report = sample_report();
        report.exercises[1].visibility = Visibility::AfterDueDate;
        report.exercises[2].visibility = Visibility::Hidden;
        report.exercises[3].visibility = Visibility::AfterPublished;
        let json = parsed(&report);
        let shown: Vec<&str> = json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["visibility"].as_str().unwrap())
            .collect();
        assert_eq!(
            shown,
            ["visible", "after_due_date", "hidden", "after_published"]
        );
    }

    #[test]
    fn never_passes_a_control_character_through() {
        let json = parsed(&sample_report());
        for test in json["tests"].as_array().unwrap() {
            for field in ["name", "output"] {
                let text = test[field].as_str().unwrap();
                assert!(
                    !text.chars().any(|c| c.is_control() && c != '\n'),
                    "{text:?}"
                );
            }
        }
    }
}
