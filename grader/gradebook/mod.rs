//! `sockgrade gradebook`: a batch's scores put into the gradebook an LMS
//! exported (Canvas, Moodle, or any CSV with a header), in the assignment's
//! column, so that the filled file imports straight back. Every student
//! and submission that did not meet is said, never dropped; a grade the
//! grader itself failed is left out, not written as a number.
//!
//! [`export`] reads the file, [`matching`] finds each submission's row,
//! [`roster`] reads the optional map of folder names to keys, and
//! [`rewrite`] writes the copy with only the filled rows changed.

pub mod export;
pub mod matching;
pub mod rewrite;
pub mod roster;

use crate::error::{Error, exit_code};
use crate::outcome::{Status, SubmissionReport};
use crate::report::evidence::points;
use crate::summary::Skipped;
use crate::text::{escape_bytes, escape_path};
use export::{Export, Lms, RowKind};
use matching::{How, Match, Matcher};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// `sockgrade gradebook`'s arguments.
#[derive(Debug, clap::Args)]
pub struct GradebookArgs {
    /// The output folder of `sockgrade batch` (or `merge`).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The gradebook exported from the LMS: Canvas's Grades › Export, or
    /// Moodle's Export › Plain text file.
    #[arg(long, value_name = "EXPORT.csv")]
    pub lms: PathBuf,
    /// The assignment's column to fill: its header (`Sockets Lab (12345)`,
    /// `Assignment: Sockets Lab (Real)`), the assignment's name alone
    /// (`Sockets Lab`), or Canvas's assignment id.
    #[arg(long, value_name = "NAME")]
    pub column: String,
    /// The export's column that submission names are values of (a login,
    /// an email, a student id); default: `SIS Login ID` for Canvas, `Email
    /// address` for Moodle.
    #[arg(long = "match", value_name = "COLUMN")]
    pub key: Option<String>,
    /// A CSV saying whose each submission is, for other folder names: a
    /// `submission` column and the --match column (or `key`).
    #[arg(long, value_name = "ROSTER.csv")]
    pub roster: Option<PathBuf>,
    /// Scale every score to POINTS (default: the column's Points Possible
    /// in a Canvas export, else sockgrade's own points).
    #[arg(long, value_name = "POINTS", value_parser = parse_points)]
    pub out_of: Option<f64>,
    /// Where to write the filled gradebook (`-` for stdout), to import
    /// into the LMS; written whole or not at all.
    #[arg(long, value_name = "FILE")]
    pub write: PathBuf,
}

fn parse_points(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(points) if points.is_finite() && points > 0.0 => Ok(points),
        _ => Err(format!("`{text}` is not a number of points above 0")),
    }
}

/// What each cell gets: sockgrade's points, or scaled to a maximum.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// The submission's score as it is.
    Points,
    /// `score / max_score` of these points, which come from `--out-of`
    /// (`true`) or Canvas's Points Possible (`false`).
    To(f64, bool),
}

/// Runs `sockgrade gradebook`: exit 0 once the file is written.
pub fn run(args: &GradebookArgs) -> Result<u8, Error> {
    let (reports, not_graded) = read_batch(&args.out)?;
    let shown = |path: &Path| escape_path(path);
    let export_bytes = std::fs::read(&args.lms).map_err(|e| {
        Error::bad_input(format!(
            "cannot read the export {}: {e}; give the CSV the LMS exported",
            shown(&args.lms)
        ))
        .with_source(e)
    })?;
    let export = Export::parse(export_bytes, &shown(&args.lms))?;
    let key_column = key_column(&export, args.key.as_deref())?;
    let column = assignment_column(&export, &args.column, key_column)?;
    let scale = scale(&export, column, args.out_of)?;
    let roster = match &args.roster {
        None => HashMap::new(),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::bad_input(format!("cannot read the roster {}: {e}", shown(path)))
                    .with_source(e)
            })?;
            roster::parse(&bytes, &shown(path), &export.header[key_column])?
        }
    };
    let mut filling = fill(&export, &reports, key_column, column, scale, &roster);
    // What the batch skipped is in no report: said here, not dropped.
    filling.not_graded = not_graded
        .into_iter()
        .map(|skipped| (skipped.path, skipped.reason))
        .collect();
    let bytes = rewrite::filled(&export, &filling.cells);
    crate::report::emit(&args.write, &bytes)?;
    let written = if args.write == Path::new("-") {
        "stdout".to_string()
    } else {
        shown(&args.write)
    };
    eprint!(
        "{}",
        render_summary(&export, &shown(&args.lms), &filling, &written)
    );
    Ok(exit_code::ALL_PASSED)
}

/// Every report of the batch output `out` and what the batch did not
/// grade, or why there is no report.
fn read_batch(out: &Path) -> Result<(Vec<SubmissionReport>, Vec<Skipped>), Error> {
    let shown = escape_path(out);
    let (reports, skipped) = crate::batch::output::read_all(out).map_err(|e| {
        Error::bad_input(format!(
            "cannot read the batch output {shown}: {e}; give the --out folder of `sockgrade batch`"
        ))
        .with_source(e)
    })?;
    if reports.is_empty() {
        return Err(Error::bad_input(format!(
            "{shown} holds no graded submission (no <submission>/results.json): give the --out folder of `sockgrade batch`"
        )));
    }
    Ok((reports, skipped))
}

/// The export's columns, quoted, for messages.
fn listed(export: &Export, columns: &[usize]) -> String {
    columns
        .iter()
        .map(|&i| format!("`{}`", escape_bytes(export.header[i].as_bytes())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column submissions are matched by.
fn key_column(export: &Export, asked: Option<&str>) -> Result<usize, Error> {
    let all: Vec<usize> = (0..export.header.len()).collect();
    let Some(name) = asked.or(export.lms.default_key_column()) else {
        return Err(Error::bad_input(format!(
            "the export {} is neither Canvas's nor Moodle's, so --match must say which column submission names are: one of {}",
            export.shown,
            listed(export, &all)
        )));
    };
    export.column_named(name)?.ok_or_else(|| {
        Error::bad_input(format!(
            "the export {} has no column `{}` to match submissions by: give --match one of {}",
            export.shown,
            escape_bytes(name.as_bytes()),
            listed(export, &all)
        ))
    })
}

/// The column to fill: by its header, the assignment's name alone, or
/// Canvas's assignment id; never the key column or a non-assignment one.
fn assignment_column(export: &Export, wanted: &str, key: usize) -> Result<usize, Error> {
    let assignments = export.assignment_columns();
    let wanted_shown = escape_bytes(wanted.as_bytes());
    let choose_from = || match (export.lms, assignments.is_empty()) {
        (Lms::Other, _) => format!("its columns are {}", listed(export, &assignments)),
        (_, true) => format!(
            "it has no assignment column (in a {} export, named like {}): export the gradebook with the assignment in it",
            export.lms.name(),
            if export.lms == Lms::Canvas {
                "`Sockets Lab (12345)`"
            } else {
                "`Assignment: Sockets Lab (Real)`"
            }
        ),
        (_, false) => format!(
            "its assignment columns are {}",
            listed(export, &assignments)
        ),
    };
    let column = match export.column_named(wanted)? {
        Some(column) => column,
        None => {
            let wanted = wanted.trim();
            let by_name: Vec<usize> = assignments
                .iter()
                .copied()
                .filter(|&i| {
                    let header = &export.header[i];
                    export::assignment_name(export.lms, header)
                        .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
                        || (export.lms == Lms::Canvas
                            && export::canvas_assignment_id(header) == Some(wanted))
                })
                .collect();
            match by_name.as_slice() {
                [one] => *one,
                [] => {
                    return Err(Error::bad_input(format!(
                        "the export {} has no column `{wanted_shown}`: {}; give --column one of them",
                        export.shown,
                        choose_from()
                    )));
                }
                several => {
                    return Err(Error::bad_input(format!(
                        "--column `{wanted_shown}` could be any of {}: give the whole column name",
                        listed(export, several)
                    )));
                }
            }
        }
    };
    if column == key {
        return Err(Error::bad_input(format!(
            "--column `{wanted_shown}` is the column students are matched by: give the assignment's column"
        )));
    }
    if !assignments.contains(&column) {
        return Err(Error::bad_input(format!(
            "`{}` is not an assignment's column: {}; give --column one of them",
            escape_bytes(export.header[column].as_bytes()),
            choose_from()
        )));
    }
    Ok(column)
}

/// How scores are written in `column`.
fn scale(export: &Export, column: usize, out_of: Option<f64>) -> Result<Scale, Error> {
    let possible = export.points_possible(column).unwrap_or_default();
    if possible.to_ascii_lowercase().contains("read only") {
        return Err(Error::bad_input(format!(
            "`{}` is read only in Canvas (a total it computes): give --column an assignment's column",
            escape_bytes(export.header[column].as_bytes())
        )));
    }
    if let Some(points) = out_of {
        return Ok(Scale::To(points, true));
    }
    let number = possible.replace(',', ".").parse::<f64>();
    Ok(match number {
        Ok(points) if points.is_finite() && points > 0.0 => Scale::To(points, false),
        _ => Scale::Points,
    })
}

/// What filling an export came to.
#[derive(Debug, Default)]
struct Filling {
    /// The cells to write: row index → (column, text).
    cells: BTreeMap<usize, (usize, String)>,
    /// How many rows were filled each way.
    by: BTreeMap<How, usize>,
    /// Filled cells that held another value before.
    replaced: usize,
    /// Filled, but the batch flagged them for a look: (submission, why).
    flagged: Vec<(String, String)>,
    /// Matched, but not filled since the grader failed: (submission, why).
    harness_errors: Vec<(String, String)>,
    /// Student rows no submission is for (row indexes).
    no_submission: Vec<usize>,
    /// Submissions no row is for: (submission, why).
    no_student: Vec<(String, String)>,
    /// Submissions with several rows, or a row shared: (submission, why).
    ambiguous: Vec<(String, String)>,
    /// What the batch found but did not grade: (path, why).
    not_graded: Vec<(String, String)>,
    /// The key column's name.
    key_column: String,
    /// The column filled.
    column: String,
    /// How scores were written.
    scale: Option<Scale>,
    /// The maximum scores of the reports filled in.
    max_scores: Vec<String>,
    /// Whether numbers were written with a decimal comma.
    decimal_comma: bool,
}

/// Matches every report to its row and works out each cell.
fn fill(
    export: &Export,
    reports: &[SubmissionReport],
    key: usize,
    column: usize,
    scale: Scale,
    roster: &HashMap<String, String>,
) -> Filling {
    let key_column = &export.header[key];
    let matcher = Matcher::new(export, key, key_column, roster);
    let names: Vec<&str> = reports.iter().map(|r| r.submission.as_str()).collect();
    let matches = matching::match_all(&matcher, &names);
    let decimal_comma = export.decimal_comma();
    let mut filling = Filling {
        key_column: key_column.clone(),
        column: export.header[column].clone(),
        scale: Some(scale),
        decimal_comma,
        ..Filling::default()
    };
    let mut spoken_for = std::collections::HashSet::new();
    for (report, found) in reports.iter().zip(matches) {
        let name = report.submission.clone();
        match found {
            Match::Row(row, how) => {
                spoken_for.insert(row);
                match cell_value(report, scale, decimal_comma) {
                    Err(why) => filling.harness_errors.push((name, why)),
                    Ok(value) => {
                        let before = export.rows[row].text(column);
                        // Moodle writes `-` for no grade: not a grade replaced.
                        let graded_before = !matches!(before.trim(), "" | "-");
                        if graded_before && before.trim() != value {
                            filling.replaced += 1;
                        }
                        if let Some(why) = crate::summary::review_reason(report) {
                            filling.flagged.push((name, why));
                        }
                        let max = points(report.max_score);
                        if !filling.max_scores.contains(&max) {
                            filling.max_scores.push(max);
                        }
                        filling.cells.insert(row, (column, value));
                        *filling.by.entry(how).or_default() += 1;
                    }
                }
            }
            Match::NoRow(why) => filling.no_student.push((name, why)),
            Match::Ambiguous(rows, why) => {
                spoken_for.extend(rows.iter().copied());
                let lines: Vec<String> = rows
                    .iter()
                    .map(|&r| export.rows[r].line.to_string())
                    .collect();
                let noun = if lines.len() == 1 { "line" } else { "lines" };
                filling
                    .ambiguous
                    .push((name, format!("{why} ({noun} {})", lines.join(", "))));
            }
        }
    }
    filling.no_submission = export
        .students()
        .filter(|(index, row)| row.kind == RowKind::Student && !spoken_for.contains(index))
        .map(|(index, _)| index)
        .collect();
    filling
}

/// The cell of a report: its score (scaled), or why it gets none.
fn cell_value(
    report: &SubmissionReport,
    scale: Scale,
    decimal_comma: bool,
) -> Result<String, String> {
    if report.exercises.iter().any(|e| e.status == Status::Error) {
        return Err(crate::summary::review_reason(report)
            .unwrap_or_else(|| "a grader error: regrade it".to_string()));
    }
    let value = match scale {
        Scale::Points => report.score,
        Scale::To(_, _) if report.max_score <= 0.0 => 0.0,
        Scale::To(out_of, _) => report.score / report.max_score * out_of,
    };
    let text = points(value);
    Ok(if decimal_comma {
        text.replace('.', ",")
    } else {
        text
    })
}

/// A student row for the summary: `line 7: Doe, Jane (jdoe)`.
fn describe_row(export: &Export, index: usize, key_column: &str) -> String {
    let row = &export.rows[index];
    let cell = |name: &str| {
        export
            .header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .map(|i| row.text(i).trim().to_string())
            .unwrap_or_default()
    };
    let name = match export.lms {
        Lms::Canvas if !cell("Student").is_empty() => cell("Student"),
        Lms::Canvas => format!("{}, {}", cell("LastName"), cell("FirstName")),
        Lms::Moodle => {
            let last = if cell("Last name").is_empty() {
                cell("Surname")
            } else {
                cell("Last name")
            };
            format!("{} {last}", cell("First name"))
        }
        Lms::Other => String::new(),
    };
    let key = cell(key_column);
    let key = if key.is_empty() {
        format!("no {key_column}")
    } else {
        key
    };
    let name = name.trim();
    if name.is_empty() {
        format!("line {}: {}", row.line, escape_bytes(key.as_bytes()))
    } else {
        format!(
            "line {}: {} ({})",
            row.line,
            escape_bytes(name.as_bytes()),
            escape_bytes(key.as_bytes())
        )
    }
}

/// What `gradebook` says on stderr: what was filled and how, then every
/// student and submission that did not meet, and where the file went.
fn render_summary(export: &Export, shown: &str, filling: &Filling, written: &str) -> String {
    let mut text = format!(
        "sockgrade: {} export {shown}: filling `{}`, students matched by {}\n",
        export.lms.name(),
        escape_bytes(filling.column.as_bytes()),
        escape_bytes(filling.key_column.as_bytes()),
    );
    if export.lms == Lms::Other {
        text.push_str("note: not a Canvas or Moodle export: every row below the header is taken as a student\n");
    }
    if export.not_utf8 {
        text.push_str("note: the export is not UTF-8 (saved in another encoding?): names with accents may not match; every row not filled is kept as it was\n");
    }
    let filled = filling.cells.len();
    let ways: Vec<String> = filling
        .by
        .iter()
        .map(|(how, n)| format!("{n} {}", how.describe(&filling.key_column)))
        .collect();
    let out_of = if filling.max_scores.is_empty() {
        String::new()
    } else {
        format!(
            " (sockgrade's are out of {})",
            filling.max_scores.join(", ")
        )
    };
    let scale = match filling.scale {
        Some(Scale::To(points_to, false)) => format!(
            "scores scaled to the column's {} points possible{out_of}",
            points(points_to)
        ),
        Some(Scale::To(points_to, true)) => {
            format!("scores scaled to --out-of {}{out_of}", points(points_to))
        }
        _ if export.lms == Lms::Moodle => format!(
            "sockgrade's points written as they are{out_of}; the export does not say the grade item's maximum, --out-of scales to it"
        ),
        _ => format!("sockgrade's points written as they are{out_of}"),
    };
    let noun = if filled == 1 { "row" } else { "rows" };
    text.push_str(&format!(
        "filled {filled} {noun}{}: {scale}{}\n",
        if ways.is_empty() {
            String::new()
        } else {
            format!(" ({})", ways.join(", "))
        },
        if filling.decimal_comma {
            ", with a decimal comma as the export writes"
        } else {
            ""
        }
    ));
    if filling.replaced > 0 {
        text.push_str(&format!(
            "note: {} of them held another value in the export, now replaced\n",
            filling.replaced
        ));
    }
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        text.push_str(&format!("{title} ({}):\n", lines.len()));
        for line in lines {
            text.push_str(&format!("  {line}\n"));
        }
    };
    let pairs = |pairs: &[(String, String)]| -> Vec<String> {
        pairs
            .iter()
            .map(|(name, why)| {
                format!(
                    "{}: {}",
                    escape_bytes(name.as_bytes()),
                    escape_bytes(why.as_bytes())
                )
            })
            .collect()
    };
    section(
        "not filled, the grader failed on them (regrade, then fill again)",
        pairs(&filling.harness_errors),
    );
    section(
        "ambiguous, not filled (a --roster line decides)",
        pairs(&filling.ambiguous),
    );
    section(
        "submissions matching no student",
        pairs(&filling.no_student),
    );
    section(
        "not graded by the batch, so in no row (fix them, then batch --resume)",
        pairs(&filling.not_graded),
    );
    section(
        "students in the export with no submission",
        filling
            .no_submission
            .iter()
            .map(|&row| describe_row(export, row, &filling.key_column))
            .collect(),
    );
    section(
        "filled, but grades.csv says they need a human look",
        pairs(&filling.flagged),
    );
    text.push_str(&format!("written to {written}\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn export(text: &str) -> Export {
        Export::parse(text.as_bytes().to_vec(), "e.csv").unwrap()
    }

    const CANVAS: &str = "Student,ID,SIS User ID,SIS Login ID,Section,Sockets Lab (123),Quiz (124),Current Score\n\
        \x20   Points Possible,,,,,10,5,(read only)\n\
        \"Doe, Jane\",1001,S1,jdoe,A,,,\n";

    #[test]
    fn the_column_is_found_by_header_name_or_id_and_must_be_an_assignments() {
        let export = export(CANVAS);
        let key = key_column(&export, None).unwrap();
        assert_eq!(key, 3);
        let column = |wanted: &str| assignment_column(&export, wanted, key);
        assert_eq!(column("Sockets Lab (123)").unwrap(), 5);
        assert_eq!(column("sockets lab").unwrap(), 5);
        assert_eq!(column("124").unwrap(), 6);
        let unknown = column("Lab 2").unwrap_err().to_string();
        assert!(
            unknown.contains(
                "no column `Lab 2`: its assignment columns are `Sockets Lab (123)`, `Quiz (124)`"
            ),
            "{unknown}"
        );
        assert!(
            column("SIS Login ID")
                .unwrap_err()
                .to_string()
                .contains("matched by")
        );
        assert!(
            column("Section")
                .unwrap_err()
                .to_string()
                .contains("not an assignment's column")
        );
        let read_only = scale(&export, 7, None).unwrap_err().to_string();
        assert!(read_only.contains("read only"), "{read_only}");
        assert!(
            key_column(&export, Some("Email"))
                .unwrap_err()
                .to_string()
                .contains("no column `Email`")
        );
    }

    #[test]
    fn scores_are_scaled_to_the_points_possible_or_written_as_they_are() {
        let export = export(CANVAS);
        assert_eq!(scale(&export, 5, None).unwrap(), Scale::To(10.0, false));
        assert_eq!(scale(&export, 5, Some(3.0)).unwrap(), Scale::To(3.0, true));
        let mut report = sample_report();
        report.score = 8.0;
        report.max_score = 11.0;
        for exercise in &mut report.exercises {
            exercise.status = Status::Passed;
        }
        assert_eq!(
            cell_value(&report, Scale::To(10.0, false), false).unwrap(),
            "7.27"
        );
        assert_eq!(
            cell_value(&report, Scale::To(10.0, false), true).unwrap(),
            "7,27"
        );
        assert_eq!(cell_value(&report, Scale::Points, false).unwrap(), "8");
        report.exercises[0].status = Status::Error;
        assert!(
            cell_value(&report, Scale::Points, false)
                .unwrap_err()
                .contains("regrade")
        );
    }
}
