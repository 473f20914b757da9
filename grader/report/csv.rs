//! The CSV gradebook of a batch (`grades.csv`): one row per submission, its
//! points per exercise and each exercise's status, ready for a spreadsheet
//! or an LMS import. A zero that is not the student's (a grader error, a
//! timeout that may be the machine's, an upload in the wrong shape) is
//! never a bare zero: `needs_review` and `reason` say so, and the status
//! columns say which exercise. Submission names come from student folder
//! names, so no cell may start a formula.

use super::evidence::points;
use crate::outcome::SubmissionReport;
use crate::summary::{exercise_ids, review_reason, sorted};

/// The first columns, before the exercises' points and statuses.
const FIXED_COLUMNS: [&str; 5] = ["submission", "score", "max_score", "needs_review", "reason"];

/// Renders the gradebook: a header `submission,score,max_score,needs_review,
/// reason,<ids>,<id> status...` where the ids are every exercise id of the
/// batch in first-seen order, then one row per submission, sorted by name.
/// A submission without an exercise has empty cells for it.
pub fn render(reports: &[SubmissionReport]) -> Vec<u8> {
    let reports = sorted(reports);
    let ids = exercise_ids(&reports);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = FIXED_COLUMNS
        .iter()
        .map(|name| name.to_string())
        .chain(ids.iter().map(|id| defused(id)))
        .chain(ids.iter().map(|id| defused(&format!("{id} status"))));
    writer
        .write_record(header)
        .expect("writing to a Vec cannot fail");
    for report in reports {
        let exercise = |id: &str| report.exercises.iter().find(|e| e.id == id);
        let scores = ids
            .iter()
            .map(|id| exercise(id).map_or_else(String::new, |e| points(e.score)));
        let statuses = ids
            .iter()
            .map(|id| exercise(id).map_or_else(String::new, |e| e.status.as_str().to_string()));
        let reason = review_reason(report);
        let row = [
            defused(&report.submission),
            points(report.score),
            points(report.max_score),
            if reason.is_some() { "yes" } else { "no" }.to_string(),
            defused(&reason.unwrap_or_default()),
        ]
        .into_iter()
        .chain(scores)
        .chain(statuses);
        writer
            .write_record(row)
            .expect("writing to a Vec cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing into a Vec cannot fail")
}

/// `text` made inert for a spreadsheet: a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula, so it
/// gets a leading `'` (the OWASP guidance on CSV injection). Quoting the
/// cell is the csv crate's job.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn rendered(reports: &[SubmissionReport]) -> String {
        String::from_utf8(render(reports)).unwrap()
    }

    fn named(name: &str) -> SubmissionReport {
        let mut report = sample_report();
        report.submission = name.to_string();
        report
    }

    #[test]
    fn has_a_header_and_one_row_per_submission_sorted_by_name() {
        let csv = rendered(&[named("carol"), named("alice")]);
        assert_eq!(
            csv,
            "submission,score,max_score,needs_review,reason,client-demo,client-1,client-2,client-5,\
             client-demo status,client-1 status,client-2 status,client-5 status\n\
             alice,1,4,no,,1,0,0,0,passed,failed,crashed,missing\n\
             carol,1,4,no,,1,0,0,0,passed,failed,crashed,missing\n"
        );
    }

    #[test]
    fn has_a_column_for_every_exercise_of_the_batch() {
        let mut alice = named("alice");
        alice.exercises.truncate(2);
        let mut bob = named("bob");
        bob.exercises.remove(0);
        bob.exercises[0].id = "server-1".to_string();
        let csv = rendered(&[bob, alice]);
        assert_eq!(
            csv,
            "submission,score,max_score,needs_review,reason,client-demo,client-1,server-1,client-2,\
             client-5,client-demo status,client-1 status,server-1 status,client-2 status,\
             client-5 status\n\
             alice,1,4,no,,1,0,,,,passed,failed,,,\n\
             bob,1,4,no,,,,0,0,0,,,failed,crashed,missing\n"
        );
    }

    #[test]
    fn writes_integral_points_without_decimals() {
        let mut report = named("alice");
        report.score = 2.5;
        report.max_score = 11.0;
        report.exercises[0].score = 0.5;
        let csv = rendered(&[report]);
        assert!(csv.contains("\nalice,2.5,11,no,,0.5,0,0,0,"), "{csv}");
    }

    #[test]
    fn defuses_names_that_a_spreadsheet_would_run() {
        let names = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "ok-name"];
        let reports: Vec<SubmissionReport> = names.iter().map(|n| named(n)).collect();
        let bytes = render(&reports);
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let firsts: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect();
        assert_eq!(
            firsts,
            [
                "'\tx",
                "'\rx",
                "'+cmd",
                "'-2",
                "'=1+1",
                "'@SUM(A1)",
                "ok-name"
            ]
        );
    }

    #[test]
    fn quotes_names_with_commas_and_quotes() {
        let csv = rendered(&[named("smith, \"jo\"")]);
        assert!(csv.contains("\n\"smith, \"\"jo\"\"\",1,4,"), "{csv}");
    }

    #[test]
    fn has_only_the_header_for_an_empty_batch() {
        assert_eq!(
            rendered(&[]),
            "submission,score,max_score,needs_review,reason\n"
        );
    }

    #[test]
    fn a_zero_that_is_not_the_students_is_marked_and_explained() {
        let mut broken = named("broken");
        for exercise in &mut broken.exercises {
            exercise.status = crate::outcome::Status::Error;
            exercise.message = "the archive could not be read".to_string();
            exercise.score = 0.0;
        }
        broken.score = 0.0;
        let csv = rendered(&[broken]);
        assert!(
            csv.ends_with(
                "\nbroken,0,4,yes,not graded: the archive could not be read,0,0,0,0,\
                 error,error,error,error\n"
            ),
            "{csv}"
        );
    }
}
