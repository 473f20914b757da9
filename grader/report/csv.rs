//! The CSV gradebook of a batch (`grades.csv`): one row per submission, one
//! column per exercise, ready for a spreadsheet or an LMS import. Submission
//! names come from student folder names, so no cell may start a formula.

use super::evidence::points;
use crate::outcome::SubmissionReport;
use crate::summary::{exercise_ids, sorted};

/// The first columns, before one column per exercise id.
const FIXED_COLUMNS: [&str; 3] = ["submission", "score", "max_score"];

/// Renders the gradebook: a header `submission,score,max_score,<ids>` where
/// the ids are every exercise id of the batch in first-seen order, then one
/// row per submission, sorted by name. A submission without an exercise
/// has an empty cell for it.
pub fn render(reports: &[SubmissionReport]) -> Vec<u8> {
    let reports = sorted(reports);
    let ids = exercise_ids(&reports);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = FIXED_COLUMNS
        .iter()
        .map(|name| name.to_string())
        .chain(ids.iter().map(|id| defused(id)));
    writer
        .write_record(header)
        .expect("writing to a Vec cannot fail");
    for report in reports {
        let scores = ids.iter().map(|id| {
            report
                .exercises
                .iter()
                .find(|e| e.id == *id)
                .map_or_else(String::new, |e| points(e.score))
        });
        let row = [
            defused(&report.submission),
            points(report.score),
            points(report.max_score),
        ]
        .into_iter()
        .chain(scores);
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
            "submission,score,max_score,client-demo,client-1,client-2,client-5\n\
             alice,1,4,1,0,0,0\n\
             carol,1,4,1,0,0,0\n"
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
            "submission,score,max_score,client-demo,client-1,server-1,client-2,client-5\n\
             alice,1,4,1,0,,,\n\
             bob,1,4,,,0,0,0\n"
        );
    }

    #[test]
    fn writes_integral_points_without_decimals() {
        let mut report = named("alice");
        report.score = 2.5;
        report.max_score = 11.0;
        report.exercises[0].score = 0.5;
        let csv = rendered(&[report]);
        assert!(csv.contains("\nalice,2.5,11,0.5,0,0,0\n"), "{csv}");
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
        assert_eq!(rendered(&[]), "submission,score,max_score\n");
    }
}
