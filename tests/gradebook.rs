//! `sockgrade gradebook` as an instructor uses it: a batch's output and the
//! gradebook Canvas or Moodle exported, into a filled copy to import, with
//! every student and submission that did not meet said on stderr.

mod common;

use common::{copy_tree, sockgrade, sockgrade_here, submission, text};
use sockgrade::outcome::{ExerciseResult, Isolation, Status, SubmissionReport, ToolInfo};
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lms")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A report of `name` with eleven one-point exercises: `passed` passed,
/// the rest failed, except those given another status.
fn report(name: &str, passed: usize, others: &[Status]) -> SubmissionReport {
    let mut exercises: Vec<ExerciseResult> = (0..11)
        .map(|i| {
            let status = if i < passed {
                Status::Passed
            } else {
                others.get(i - passed).copied().unwrap_or(Status::Failed)
            };
            let mut result =
                ExerciseResult::new(&format!("exercise-{i}"), "An exercise", 1.0, status, "");
            if status == Status::Error {
                result.message = "the grader could not start the peer".to_string();
            }
            result
        })
        .collect();
    for exercise in &mut exercises {
        if exercise.status == Status::Passed {
            exercise.score = 1.0;
        }
    }
    SubmissionReport {
        schema_version: sockgrade::outcome::SCHEMA_VERSION,
        tool: ToolInfo::default(),
        submission: name.to_string(),
        path: format!("submissions/{name}"),
        seed: 1,
        exercises_source: "embedded".to_string(),
        isolation: Isolation::None,
        protections: Vec::new(),
        score: passed as f64,
        max_score: 11.0,
        duration_ms: 1,
        grader_max_rss_kib: None,
        grader_cpu_ms: None,
        programs_cpu_ms: None,
        graded_folder: None,
        exercises,
    }
}

/// A batch output folder holding `reports`, as `sockgrade batch` writes it.
fn batch_out(reports: &[SubmissionReport]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    for report in reports {
        sockgrade::batch::output::write_submission(out.path(), report).unwrap();
    }
    out
}

/// `sockgrade gradebook OUT --lms EXPORT --write FILED ARGS...`.
fn gradebook(out: &Path, export: &Path, filled: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "gradebook",
        out.to_str().unwrap(),
        "--lms",
        export.to_str().unwrap(),
        "--write",
        filled.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    sockgrade_here(&all)
}

/// The cell of `column` in the row whose cell of `key` is `value`.
fn cell(csv_bytes: &[u8], key: &str, value: &str, column: &str) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_bytes);
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (key, column) = (at(key), at(column));
    reader
        .records()
        .map(Result::unwrap)
        .find(|r| r.get(key) == Some(value))
        .unwrap_or_else(|| panic!("no row with {value}"))
        .get(column)
        .unwrap_or("")
        .to_string()
}

const LAB: &str = "Sockets Lab (12345)";

/// The lines of `bytes` that differ from those of `before`, by number
/// (the files have the same number of lines).
fn changed_lines(before: &[u8], after: &[u8]) -> Vec<usize> {
    let split = |bytes: &[u8]| -> Vec<Vec<u8>> {
        bytes
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    };
    let (before, after) = (split(before), split(after));
    assert_eq!(before.len(), after.len(), "the number of lines changed");
    (0..before.len())
        .filter(|&i| before[i] != after[i])
        .map(|i| i + 1)
        .collect()
}

#[test]
fn a_real_batch_fills_the_canvas_export_and_says_who_is_missing() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in [
        ("jdoe", "reference-python"),
        ("ASmith", "wrong-text"),
        ("leemin_LATE_1003_77001_sockets", "reference-python"),
        ("zed", "wrong-text"),
    ] {
        copy_tree(&submission(fixture), &dir.path().join(name));
    }
    // An upload the batch does not grade: in no report, but not forgotten.
    std::fs::write(
        dir.path().join("stray.txt"),
        b"my solution is in the other folder",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let batch = sockgrade(&[
        "batch",
        dir.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--seed",
        "7",
        "-q",
    ]);
    assert_eq!(batch.status.code(), Some(1), "{}", text(&batch.stderr));

    let filled = out.path().join("canvas-filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    let bytes = read(&filled);
    let lab = |login: &str| cell(&bytes, "SIS Login ID", login, LAB);
    // 11/11 is the column's 10 points; wrong-text's 0 is 0.
    assert_eq!(lab("jdoe"), "10", "{said}");
    assert_eq!(lab("asmith"), "0", "{said}");
    // Canvas's own download name: by the user id in the ID column.
    assert_eq!(lab("mlee"), "10", "{said}");
    assert_eq!(lab("pobrien"), "");
    assert_eq!(
        changed_lines(&read(&fixture("canvas-export.csv")), &bytes),
        [4, 5, 6]
    );
    assert!(
        said.contains("filled 3 rows (2 by SIS Login ID, 1 by Canvas's download names (user ID)): scores scaled to the column's 10 points possible (sockgrade's are out of 11)"),
        "{said}"
    );
    assert!(
        said.contains("note: 1 of them held another value"),
        "{said}"
    );
    assert!(
        said.contains("submissions matching no student (1):\n  zed: no row's SIS Login ID is `zed`: give a --roster line for it\n"),
        "{said}"
    );
    assert!(
        said.contains(
            "students in the export with no submission (2):\n  line 7: O'Brien, Pat (pobrien)\n  line 8: García, Ana María (agarcia)\n"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "not graded by the batch, so in no row (fix them, then batch --resume) (1):\n  "
        ) && said.contains("stray.txt: neither a folder nor a .zip or .tar.gz archive\n"),
        "{said}"
    );
    // Canvas's rows and its Test Student are nobody missing.
    assert!(
        !said.contains("Test") && !said.contains("Points Possible"),
        "{said}"
    );
    assert!(
        said.contains(&format!("written to {}", filled.display())),
        "{said}"
    );
}

#[test]
fn only_the_filled_cells_change_byte_for_byte() {
    let out = batch_out(&[report("jdoe", 8, &[]), report("asmith", 11, &[])]);
    let filled = out.path().join("filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", "Sockets Lab"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let before = read(&fixture("canvas-export.csv"));
    let after = read(&filled);
    assert_eq!(changed_lines(&before, &after), [4, 5]);
    let before = String::from_utf8(before).unwrap();
    let after = String::from_utf8(after).unwrap();
    assert_eq!(
        after.lines().nth(3).unwrap(),
        before
            .lines()
            .nth(3)
            .unwrap()
            .replace("ECS 101 - A,3.00,", "ECS 101 - A,7.27,")
    );
    assert_eq!(
        after.lines().nth(4).unwrap(),
        before
            .lines()
            .nth(4)
            .unwrap()
            .replace("ECS 101 - A,,", "ECS 101 - A,10,")
    );
}

#[test]
fn crlf_a_bom_semicolons_and_decimal_commas_are_kept() {
    let canvas = String::from_utf8(read(&fixture("canvas-export.csv"))).unwrap();
    // As a spreadsheet in a comma-decimal locale saves it.
    let mut reader = csv::Reader::from_reader(canvas.as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xef\xbb\xbf".to_vec());
    writer.write_record(reader.headers().unwrap()).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        writer
            .write_record(record.iter().map(|c| c.replace('.', ",")))
            .unwrap();
    }
    let export_bytes = writer.into_inner().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.csv");
    std::fs::write(&export, &export_bytes).unwrap();
    let out = batch_out(&[report("jdoe", 8, &[]), report("mlee", 11, &[])]);
    let filled = dir.path().join("filled.csv");
    let run = gradebook(out.path(), &export, &filled, &["--column", "12345"]);
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(said.contains("with a decimal comma"), "{said}");
    let after = read(&filled);
    assert!(after.starts_with(b"\xef\xbb\xbfStudent;ID;"));
    assert_eq!(changed_lines(&export_bytes, &after), [4, 6]);
    let after = String::from_utf8(after).unwrap();
    assert_eq!(after.matches("\r\n").count(), after.matches('\n').count());
    assert!(
        after.contains("\r\nDoe, Jane;1001;S1001;jdoe;ECS 101 - A;7,27;4,00;"),
        "{after}"
    );
    assert!(
        after.contains(";mlee;ECS 101 - A, ECS 101 - B;10;3,50;"),
        "{after}"
    );
}

#[test]
fn a_moodle_export_is_filled_by_email_and_by_moodles_download_names() {
    let out = batch_out(&[
        report("Jane.Doe@Example.EDU", 11, &[]),
        report("Alex Smith_421337_assignsubmission_file_", 6, &[]),
        report("min.lee", 3, &[]),
    ]);
    let filled = out.path().join("moodle-filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("moodle-export.csv"),
        &filled,
        &["--column", "Assignment: Sockets Lab (Real)"],
    );
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(said.starts_with("sockgrade: Moodle export "), "{said}");
    assert!(
        said.contains("filled 3 rows (1 by Email address, 1 by Moodle's download names (full name), 1 by the part of Email address before the @): sockgrade's points written as they are (sockgrade's are out of 11); the export does not say the grade item's maximum, --out-of scales to it"),
        "{said}"
    );
    assert!(
        said.contains("line 5: Pat O'Brien (pat.obrien@example.edu)"),
        "{said}"
    );
    // Moodle's `-` is no grade: filling it replaces nothing.
    assert!(!said.contains("now replaced"), "{said}");
    let after = read(&filled);
    let lab = |email: &str| {
        cell(
            &after,
            "Email address",
            email,
            "Assignment: Sockets Lab (Real)",
        )
    };
    assert_eq!(lab("jane.doe@example.edu"), "11");
    assert_eq!(lab("alex.smith@example.edu"), "6");
    assert_eq!(lab("min.lee@example.edu"), "3");
    assert_eq!(lab("pat.obrien@example.edu"), "-");
    // Moodle quotes around spaces (PHP's fputcsv): a filled row still does.
    let text_after = String::from_utf8(after).unwrap();
    assert!(
        text_after.contains(
            "\nJane,Doe,S1001,\"Example University\",\"Computer Science\",jane.doe@example.edu,11,4.00,4.00,1767225600\n"
        ),
        "{text_after}"
    );

    let scaled = gradebook(
        out.path(),
        &fixture("moodle-export.csv"),
        &filled,
        &["--column", "sockets lab", "--out-of", "100"],
    );
    assert_eq!(scaled.status.code(), Some(0), "{}", text(&scaled.stderr));
    assert!(text(&scaled.stderr).contains("scores scaled to --out-of 100"));
    let after = read(&filled);
    assert_eq!(
        cell(
            &after,
            "Email address",
            "alex.smith@example.edu",
            "Assignment: Sockets Lab (Real)"
        ),
        "54.55"
    );
}

#[test]
fn a_roster_maps_other_folder_names_to_students() {
    let out = batch_out(&[
        report("team-ana", 11, &[]),
        report("octo-pat", 5, &[]),
        report("ghost", 5, &[]),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "folder,SIS User ID,note\nteam-ana,S1005,\nocto-pat,s1004,\nghost,S9999,left the course\n",
    )
    .unwrap();
    let filled = dir.path().join("filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &[
            "--column",
            LAB,
            "--match",
            "SIS User ID",
            "--roster",
            roster.to_str().unwrap(),
        ],
    );
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(said.contains("filled 2 rows (2 by the roster)"), "{said}");
    assert!(
        said.contains("ghost: the roster gives it `S9999`, and no row's SIS User ID is that"),
        "{said}"
    );
    let after = read(&filled);
    assert_eq!(cell(&after, "SIS User ID", "S1005", LAB), "10");
    assert_eq!(cell(&after, "SIS User ID", "S1004", LAB), "4.55");
}

#[test]
fn a_grader_error_leaves_the_cell_as_it_was_and_is_listed() {
    let out = batch_out(&[
        report("jdoe", 9, &[Status::Error]),
        report("asmith", 10, &[Status::Timeout]),
    ]);
    let filled = out.path().join("filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(
        said.contains("not filled, the grader failed on them (regrade, then fill again) (1):\n  jdoe: grader error in exercise-9 (the grader could not start the peer): regrade it"),
        "{said}"
    );
    assert!(
        said.contains("filled, but grades.csv says they need a human look (1):\n  asmith: timeout in exercise-10"),
        "{said}"
    );
    // Neither the row of the failed grade nor the Test Student is missing.
    assert!(!said.contains("(jdoe)"), "{said}");
    let after = read(&filled);
    assert_eq!(cell(&after, "SIS Login ID", "jdoe", LAB), "3.00");
    assert_eq!(cell(&after, "SIS Login ID", "asmith", LAB), "9.09");
}

#[test]
fn two_submissions_for_one_student_fill_neither_and_are_listed() {
    let out = batch_out(&[
        report("jdoe", 11, &[]),
        report("doejane_LATE_1001_88002_sockets", 5, &[]),
    ]);
    let filled = out.path().join("filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    let said = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(said.contains("filled 0 rows"), "{said}");
    assert!(
        said.contains("ambiguous, not filled (a --roster line decides) (2):\n  doejane_LATE_1001_88002_sockets: its row is also jdoe's (line 4)\n  jdoe: its row is also doejane_LATE_1001_88002_sockets's (line 4)\n"),
        "{said}"
    );
    assert_eq!(read(&filled), read(&fixture("canvas-export.csv")));
}

#[test]
fn a_column_that_is_not_an_assignments_is_refused_naming_those_that_are() {
    let out = batch_out(&[report("jdoe", 11, &[])]);
    let filled = out.path().join("filled.csv");
    let refused = |column: &str| {
        let run = gradebook(
            out.path(),
            &fixture("canvas-export.csv"),
            &filled,
            &["--column", column],
        );
        assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
        assert!(!filled.exists());
        text(&run.stderr)
    };
    let said = refused("Sockets Lab 2");
    assert!(
        said.contains("canvas-export.csv has no column `Sockets Lab 2`: its assignment columns are `Sockets Lab (12345)`, `Sockets Quiz (12346)`; give --column one of them"),
        "{said}"
    );
    assert!(refused("Current Score").contains("`Current Score` is not an assignment's column"));
    assert!(refused("SIS Login ID").contains("the column students are matched by"));
    assert!(refused("sockets").contains("no column `sockets`"));
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB, "--match", "Email"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains(
            "no column `Email` to match submissions by: give --match one of `Student`, `ID`"
        ),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn any_other_csv_is_filled_once_told_the_key_column() {
    let out = batch_out(&[report("u2", 4, &[])]);
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("sheet.csv");
    std::fs::write(&export, "Username,Name,Lab\nu1,One,\nu2,Two,\n").unwrap();
    let filled = dir.path().join("filled.csv");
    let without = gradebook(out.path(), &export, &filled, &["--column", "Lab"]);
    assert_eq!(without.status.code(), Some(2));
    assert!(
        text(&without.stderr).contains(
            "--match must say which column submission names are: one of `Username`, `Name`, `Lab`"
        ),
        "{}",
        text(&without.stderr)
    );
    let with = gradebook(
        out.path(),
        &export,
        &filled,
        &["--column", "Lab", "--match", "username"],
    );
    assert_eq!(with.status.code(), Some(0), "{}", text(&with.stderr));
    assert!(text(&with.stderr).contains("note: not a Canvas or Moodle export"));
    assert_eq!(
        String::from_utf8(read(&filled)).unwrap(),
        "Username,Name,Lab\nu1,One,\nu2,Two,4\n"
    );
}

#[test]
fn write_dash_puts_the_filled_file_on_stdout() {
    let out = batch_out(&[report("jdoe", 11, &[])]);
    let run = sockgrade_here(&[
        "gradebook",
        out.path().to_str().unwrap(),
        "--lms",
        fixture("canvas-export.csv").to_str().unwrap(),
        "--column",
        LAB,
        "--write",
        "-",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(cell(&run.stdout, "SIS Login ID", "jdoe", LAB), "10");
    assert!(text(&run.stderr).contains("written to stdout"));
}

#[test]
fn the_file_is_written_whole_or_not_at_all() {
    let out = batch_out(&[report("jdoe", 11, &[])]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder").join("filled.csv");
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &missing,
        &["--column", LAB],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("check that its folder exists"),
        "{}",
        text(&run.stderr)
    );
    let filled = dir.path().join("filled.csv");
    std::fs::write(&filled, "an older file").unwrap();
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["filled.csv"], "a temporary file was left behind");
    assert_eq!(cell(&read(&filled), "SIS Login ID", "jdoe", LAB), "10");
}

#[test]
fn bad_input_is_exit_2_with_what_to_do_and_never_a_panic() {
    let out = batch_out(&[report("jdoe", 11, &[]), report("x", 1, &[])]);
    let dir = tempfile::tempdir().unwrap();
    let filled = dir.path().join("filled.csv");
    let cases: [(&str, &[u8], Option<&str>); 8] = [
        ("empty.csv", b"", Some("is empty: export the gradebook")),
        ("blank.csv", b"\r\n\r\n", Some("is empty")),
        ("bom.csv", b"\xef\xbb\xbf", Some("is empty")),
        (
            "header-twice.csv",
            b"Student,ID,SIS Login ID,SIS Login ID,Lab (1)\nx,1,a,b,\n",
            Some("2 columns named `SIS Login ID`"),
        ),
        (
            "garbage.bin",
            b"\x00\xff\xfe\"\"\"\n\x89PNG",
            Some("garbage.bin is neither Canvas's nor Moodle's"),
        ),
        (
            "latin1.csv",
            b"Student,ID,SIS Login ID,Lab (1)\nJos\xe9,1,jdoe,\n",
            None,
        ),
        (
            "quotes.csv",
            b"Student,ID,SIS Login ID,Lab (1)\n\"Doe, \"\"J\"\"\nane\",1,jdoe,\n\"unterminated,2,x,",
            None,
        ),
        (
            "ragged.csv",
            b"Student,ID,SIS Login ID,Lab (1)\nDoe,1,jdoe\nx\n\n,,,,,,,\n",
            None,
        ),
    ];
    for (name, bytes, expected) in cases {
        let export = dir.path().join(name);
        std::fs::write(&export, bytes).unwrap();
        let run = gradebook(out.path(), &export, &filled, &["--column", "Lab (1)"]);
        let said = text(&run.stderr);
        assert!(
            !said.contains("internal error") && !said.contains("panicked"),
            "{name}: {said}"
        );
        match expected {
            Some(expected) => {
                assert_eq!(run.status.code(), Some(2), "{name}: {said}");
                assert!(said.contains(expected), "{name}: {said}");
            }
            None => assert!(matches!(run.status.code(), Some(0 | 2)), "{name}: {said}"),
        }
    }
    // What could be read is filled, and no other byte changes.
    let latin1 = read(&dir.path().join("latin1.csv"));
    let run = gradebook(
        out.path(),
        &dir.path().join("latin1.csv"),
        &filled,
        &["--column", "Lab (1)"],
    );
    assert_eq!(run.status.code(), Some(0));
    assert!(text(&run.stderr).contains("not UTF-8"));
    assert_eq!(
        read(&filled),
        [&latin1[..latin1.len() - 1], b"11\n"].concat()
    );
    let ragged = gradebook(
        out.path(),
        &dir.path().join("ragged.csv"),
        &filled,
        &["--column", "Lab (1)"],
    );
    assert_eq!(ragged.status.code(), Some(0), "{}", text(&ragged.stderr));
    assert!(read(&filled).starts_with(b"Student,ID,SIS Login ID,Lab (1)\nDoe,1,jdoe,11\nx\n"));

    let empty_out = tempfile::tempdir().unwrap();
    let run = gradebook(
        empty_out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("holds no graded submission"),
        "{}",
        text(&run.stderr)
    );
    let run = gradebook(
        &dir.path().join("nothing"),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("cannot read the batch output"));
    let run = gradebook(
        out.path(),
        &dir.path().join("nothing.csv"),
        &filled,
        &["--column", LAB],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("cannot read the export"));
    let roster = dir.path().join("roster.csv");
    std::fs::write(&roster, "a,b,c\n").unwrap();
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB, "--roster", roster.to_str().unwrap()],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("has no `submission` (or `folder`)"),
        "{}",
        text(&run.stderr)
    );
    let run = gradebook(
        out.path(),
        &fixture("canvas-export.csv"),
        &filled,
        &["--column", LAB, "--out-of", "0"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("`0` is not a number of points above 0"),
        "{}",
        text(&run.stderr)
    );
}
