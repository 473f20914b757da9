//! `sockgrade batch` and `merge` as an instructor uses them: many
//! submissions on the same fixed ports, archives, shards, resume, hostile
//! programs, and the gradebook they all end in.

mod common;

use common::{copy_tree, in_namespace, submission, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A batch folder holding copies of sample submissions under new names.
fn batch_of(copies: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in copies {
        copy_tree(&submission(fixture), &dir.path().join(name));
    }
    dir
}

/// `sockgrade batch DIR --out OUT ARGS...` in a private network namespace.
fn batch(dir: &Path, out: &Path, args: &[&str]) -> Output {
    let extra: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    in_namespace(&format!(
        "exec \"$SOCKGRADE\" batch '{}' --out '{}' {}",
        dir.display(),
        out.display(),
        extra.join(" ")
    ))
}

fn results(out: &Path, name: &str) -> Value {
    let path = out.join(name).join("results.json");
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn statuses(out: &Path, name: &str) -> Vec<(String, String)> {
    common::statuses(&results(out, name))
}

/// The verdicts a fixture's expected.json lists, with `missing` for the rest.
fn expected_statuses(fixture: &str) -> Vec<(String, String)> {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(submission(fixture).join("expected.json")).unwrap())
            .unwrap();
    let ids = [
        "client-demo",
        "client-1",
        "client-2",
        "client-3",
        "client-4",
        "client-5",
        "server-demo",
        "server-1",
        "server-2",
        "server-3",
        "server-4",
    ];
    ids.iter()
        .map(|id| {
            (
                id.to_string(),
                expected["verdicts"][id]
                    .as_str()
                    .unwrap_or("missing")
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn a_batch_of_one_submission_or_of_nothing_is_refused_saying_what_it_saw() {
    let out = tempfile::tempdir().unwrap();
    let one = batch(&submission("reference-python"), out.path(), &[]);
    assert_eq!(one.status.code(), Some(2), "{}", text(&one.stderr));
    let said = text(&one.stderr);
    assert!(
        said.contains("looks like one submission (it holds client-1.py"),
        "{said}"
    );
    assert!(said.contains("sockgrade grade"), "{said}");
    let empty = tempfile::tempdir().unwrap();
    let nothing = batch(empty.path(), out.path(), &[]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(text(&nothing.stderr).contains("holds no submission: it is empty"));
    std::fs::write(empty.path().join("notes.txt"), "").unwrap();
    let notes = batch(empty.path(), out.path(), &[]);
    assert_eq!(notes.status.code(), Some(2));
    assert!(
        text(&notes.stderr)
            .contains("holds no submission (no folder, .zip or .tar.gz), only notes.txt"),
        "{}",
        text(&notes.stderr)
    );
}

#[test]
fn an_empty_folder_and_one_a_folder_down_are_flagged_for_a_look() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    copy_tree(
        &submission("reference-python"),
        &dir.path().join("nested").join("python"),
    );
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["--seed", "3"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    let rows: Vec<csv_row::Row> = csv_row::rows(&csv);
    let empty = rows
        .iter()
        .find(|r| r.get("submission") == "empty")
        .unwrap();
    assert_eq!(empty.get("needs_review"), "yes", "{csv}");
    assert!(
        empty
            .get("reason")
            .starts_with("no program for any exercise"),
        "{csv}"
    );
    assert_eq!(empty.get("client-1 status"), "missing");
    // The upload a folder down is graded there: 11/11, but worth a look.
    let nested = rows
        .iter()
        .find(|r| r.get("submission") == "nested")
        .unwrap();
    assert_eq!(nested.get("score"), "11", "{csv}");
    assert_eq!(nested.get("needs_review"), "yes");
    assert_eq!(
        nested.get("reason"),
        "graded the one folder it holds, python: check that it is the student's work"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    let flagged: Vec<&str> = summary["needs_attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["submission"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["empty", "nested"]);
}

/// Reading `grades.csv` by column name.
mod csv_row {
    pub struct Row {
        header: Vec<String>,
        cells: Vec<String>,
    }

    impl Row {
        pub fn get(&self, column: &str) -> &str {
            let index = self.header.iter().position(|h| h == column).unwrap();
            &self.cells[index]
        }
    }

    pub fn rows(csv: &str) -> Vec<Row> {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        reader
            .records()
            .map(|record| Row {
                header: header.clone(),
                cells: record.unwrap().iter().map(String::from).collect(),
            })
            .collect()
    }
}

#[test]
fn every_submission_gets_its_verdicts_and_a_row_in_the_gradebook() {
    require_namespace!();
    let fixtures = [
        "reference-python",
        "wrong-text",
        "crash-at-start",
        "no-reuseaddr",
        "split-sends",
        "reference-c",
    ];
    let copies: Vec<(&str, &str)> = fixtures.iter().map(|f| (*f, *f)).collect();
    let dir = batch_of(&copies);
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["--seed", "3"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    for fixture in fixtures {
        assert_eq!(
            statuses(out.path(), fixture),
            expected_statuses(fixture),
            "{fixture}"
        );
        assert_eq!(results(out.path(), fixture)["isolation"], "namespaces");
        for file in ["junit.xml", "gradescope.json", "feedback.txt"] {
            assert!(
                out.path().join(fixture).join(file).is_file(),
                "{fixture}/{file}"
            );
        }
    }
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let ids = "client-demo,client-1,client-2,client-3,client-4,client-5,server-demo,server-1,server-2,server-3,server-4";
    let statuses = ids
        .split(',')
        .map(|id| format!("{id} status"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        lines[0],
        format!("submission,score,max_score,needs_review,reason,{ids},{statuses}")
    );
    assert_eq!(lines.len(), 1 + fixtures.len(), "{csv}");
    let passed = ["passed"; 11].join(",");
    assert!(
        lines.contains(
            &format!("reference-python,11,11,no,,1,1,1,1,1,1,1,1,1,1,1,{passed}").as_str()
        ),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line
                .starts_with("wrong-text,0,11,no,,0,0,0,0,0,0,0,0,0,0,0,missing,failed,")),
        "{csv}"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["submissions"], 6);
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 6, "{junit}");
    let gradescope: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("wrong-text/gradescope.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(gradescope["score"], 0.0);
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), 11);
    assert_eq!(gradescope["tests"][1]["status"], "failed");
    // The feedback to hand back: the student's own terminal report, plain.
    let feedback = std::fs::read_to_string(out.path().join("wrong-text/feedback.txt")).unwrap();
    assert!(feedback.starts_with("sockgrade "), "{feedback}");
    assert!(feedback.contains("wrong-text"), "{feedback}");
    assert!(feedback.contains("score 0/11"), "{feedback}");
    assert!(feedback.contains("failed"), "{feedback}");
    assert!(!feedback.contains('\x1b'), "no colour codes: {feedback}");
    let passed = std::fs::read_to_string(out.path().join("reference-python/feedback.txt")).unwrap();
    assert!(passed.contains("score 11/11"), "{passed}");
}

#[test]
fn servers_on_the_same_fixed_port_graded_at_the_same_moment_all_pass() {
    require_namespace!();
    let copies: Vec<(String, &str)> = (1..=4)
        .map(|i| (format!("student-{i}"), "reference-python"))
        .collect();
    let copies: Vec<(&str, &str)> = copies.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let dir = batch_of(&copies);
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["--jobs", "4"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for (name, _) in &copies {
        assert_eq!(results(out.path(), name)["score"], 11.0, "{name}");
    }
}

#[test]
fn archives_are_graded_like_folders_and_other_files_are_skipped() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    copy_tree(
        &submission("reference-python"),
        &staging.path().join("alice"),
    );
    copy_tree(&submission("wrong-text"), &staging.path().join("bob"));
    let tar = std::process::Command::new("tar")
        .args([
            "czf",
            dir.path().join("alice.tar.gz").to_str().unwrap(),
            "-C",
            staging.path().to_str().unwrap(),
            "alice",
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    write_zip(&staging.path().join("bob"), &dir.path().join("bob.zip"));
    std::fs::write(dir.path().join("README.txt"), "not a submission").unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(results(out.path(), "alice")["score"], 11.0);
    assert_eq!(statuses(out.path(), "bob"), expected_statuses("wrong-text"));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["skipped"][0]["reason"],
        "neither a folder nor a .zip or .tar.gz archive"
    );
    assert!(
        text(&output.stdout).contains("README.txt"),
        "{}",
        text(&output.stdout)
    );
}

/// Zips the files of `folder` at the archive's root.
fn write_zip(folder: &Path, archive: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(archive).unwrap());
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        zip.start_file(entry.file_name().to_string_lossy(), options)
            .unwrap();
        zip.write_all(&std::fs::read(entry.path()).unwrap())
            .unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn shards_merged_give_the_gradebook_of_a_single_run() {
    require_namespace!();
    let copies = [
        ("ann", "reference-python"),
        ("ben", "wrong-text"),
        ("cat", "split-sends"),
        ("dan", "crash-at-start"),
        ("eve", "no-newlines"),
    ];
    let dir = batch_of(&copies);
    let whole = tempfile::tempdir().unwrap();
    batch(dir.path(), whole.path(), &["--seed", "42"]);
    let shards: Vec<tempfile::TempDir> = (1..=2).map(|_| tempfile::tempdir().unwrap()).collect();
    for (index, shard) in shards.iter().enumerate() {
        batch(
            dir.path(),
            shard.path(),
            &["--seed", "42", "--shard", &format!("{}/2", index + 1)],
        );
    }
    let merged = tempfile::tempdir().unwrap();
    let inputs: Vec<String> = shards
        .iter()
        .map(|s| format!("'{}'", s.path().display()))
        .collect();
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" merge {} --out '{}'",
        inputs.join(" "),
        merged.path().display()
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(merged.path().join("grades.csv")).unwrap(),
        std::fs::read_to_string(whole.path().join("grades.csv")).unwrap(),
    );
    // The same summary but for the moment it was written.
    let summary = |out: &Path| {
        let mut json: Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert!(
            json["generated_at"].as_str().unwrap().ends_with('Z'),
            "{json}"
        );
        json["generated_at"] = Value::Null;
        json
    };
    let single = summary(whole.path());
    assert_eq!(summary(merged.path()), single);
    assert_eq!(single["schema_version"], 1);
    assert_eq!(single["seed"], "42");
    assert_eq!(single["exercises_source"], "embedded");
    assert_eq!(single["tool"]["version"], env!("CARGO_PKG_VERSION"));
    for (name, _) in copies {
        assert_eq!(
            results(merged.path(), name)["seed"],
            results(whole.path(), name)["seed"],
            "{name}"
        );
    }
    // A shard without a seed could not be replayed by the others.
    let no_seed = batch(dir.path(), merged.path(), &["--shard", "1/2"]);
    assert_eq!(no_seed.status.code(), Some(2));
    assert!(
        text(&no_seed.stderr).contains("--seed"),
        "{}",
        text(&no_seed.stderr)
    );
}

#[test]
fn overlapping_shards_cannot_be_merged() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing")]);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    batch(dir.path(), a.path(), &["--seed", "1"]);
    batch(dir.path(), b.path(), &["--seed", "1"]);
    let merged = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" merge '{}' '{}' --out '{}'",
        a.path().display(),
        b.path().display(),
        merged.path().display()
    ));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("submission `ann` is in more than one input"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_same_seed_gives_the_same_scores_on_every_run() {
    require_namespace!();
    let dir = batch_of(&[
        ("ann", "reference-python"),
        ("ben", "wrong-text"),
        ("cat", "split-sends"),
    ]);
    let runs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for run in &runs {
        batch(dir.path(), run.path(), &["--seed", "9"]);
    }
    let gradebooks: Vec<String> = runs
        .iter()
        .map(|r| std::fs::read_to_string(r.path().join("grades.csv")).unwrap())
        .collect();
    assert_eq!(gradebooks[0], gradebooks[1]);
    // The random values too: ben's server-3 got the same numbers.
    let sent = |run: &Path| -> Vec<Value> {
        let report = results(run, "ben");
        common::exercise(&report, "server-3")["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["direction"] == "sent")
            .map(|t| t["text"].clone())
            .collect()
    };
    assert_eq!(sent(runs[0].path()), sent(runs[1].path()));
}

#[test]
fn resume_keeps_what_is_done_and_grades_the_rest() {
    require_namespace!();
    let dir = batch_of(&[("ann", "reference-python")]);
    let out = tempfile::tempdir().unwrap();
    batch(dir.path(), out.path(), &["--seed", "5"]);
    let first = std::fs::read(out.path().join("ann/results.json")).unwrap();
    copy_tree(&submission("wrong-text"), &dir.path().join("ben"));
    let output = batch(dir.path(), out.path(), &["--seed", "5", "--resume"]);
    assert_eq!(
        std::fs::read(out.path().join("ann/results.json")).unwrap(),
        first,
        "ann was graded again"
    );
    assert_eq!(statuses(out.path(), "ben"), expected_statuses("wrong-text"));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ann 11/11 · from an earlier run"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

/// A submission that attacks the grader: it kills its parent, and leaves
/// a daemon listening on server-1's port.
fn hostile_submission(dir: &Path) -> PathBuf {
    let folder = dir.join("a-hostile");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("client-1.py"),
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("server-1.py"),
        "import os, socket, time\n\
         if os.fork() == 0:\n    os.setsid()\n    s = socket.create_server(('127.0.0.1', 7890))\n    time.sleep(60)\n\
         time.sleep(60)\n",
    )
    .unwrap();
    folder
}

#[test]
fn a_hostile_submission_gets_its_row_and_the_next_one_is_unaffected() {
    require_namespace!();
    let dir = batch_of(&[("b-good", "reference-python")]);
    hostile_submission(dir.path());
    let out = tempfile::tempdir().unwrap();
    let args = [
        "--jobs",
        "1",
        "-e",
        "client-1",
        "-e",
        "server-1",
        "--timeout-scale",
        "0.5",
    ];
    let output = batch(dir.path(), out.path(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let hostile = results(out.path(), "a-hostile");
    assert_eq!(hostile["score"], 0.0, "{hostile}");
    let good = results(out.path(), "b-good");
    assert_eq!(good["score"], 2.0, "the next submission was harmed: {good}");
}

#[test]
fn without_namespaces_a_program_killing_its_grader_still_gets_a_row_and_the_batch_goes_on() {
    require_namespace!();
    let dir = batch_of(&[("b-good", "reference-python")]);
    hostile_submission(dir.path());
    let out = tempfile::tempdir().unwrap();
    // Only client-1 (which kills its parent, the grader): the daemon of
    // server-1 would outlive a grade without namespaces (see the README).
    let output = batch(
        dir.path(),
        out.path(),
        &["--isolation", "none", "-e", "client-1"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let hostile = results(out.path(), "a-hostile");
    let client_1 = common::exercise(&hostile, "client-1");
    if common::real_root() {
        // The program runs as another user: it cannot signal the grader,
        // which grades on and blames the program.
        assert_eq!(client_1["status"], "crashed", "{hostile}");
        assert!(
            client_1["stderr"]
                .as_str()
                .unwrap()
                .contains("PermissionError"),
            "{hostile}"
        );
    } else {
        // The same user: the grader dies, and the batch records why.
        assert_eq!(client_1["status"], "error", "{hostile}");
        let message = client_1["message"].as_str().unwrap();
        assert!(
            message.contains("the grader of this submission failed"),
            "{hostile}"
        );
    }
    assert_eq!(results(out.path(), "b-good")["score"], 1.0);
}

#[test]
fn a_submission_its_child_grader_finds_bad_is_an_error_row_with_the_childs_message() {
    // As a normal user, where the child grader has notes of its own to say
    // on stderr: the row holds its message and nothing else.
    require_namespace!();
    let dir = common::readable_tempdir();
    for (name, fixture) in [("ann", "missing"), ("bob", "missing")] {
        copy_tree(&submission(fixture), &dir.path().join(name));
    }
    std::fs::write(dir.path().join("bob/sockgrade.json"), "{ not json").unwrap();
    let out = common::readable_tempdir();
    let writable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o777);
    std::fs::set_permissions(out.path(), writable).unwrap();
    let output = common::sockgrade_as_user(&[
        "batch",
        dir.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "-e",
        "client-1",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        statuses(out.path(), "ann"),
        [("client-1".to_string(), "missing".to_string())]
    );
    let bob = results(out.path(), "bob");
    let client_1 = &bob["exercises"][0];
    assert_eq!(client_1["status"], "error", "{bob}");
    let message = client_1["message"].as_str().unwrap();
    assert!(
        message.starts_with("the submission's manifest is broken: ")
            && message.contains("sockgrade.json")
            && !message.contains("sockgrade: ")
            && !message.contains('\n'),
        "{message}"
    );
}

#[test]
fn without_namespaces_the_batch_grades_one_at_a_time_and_says_so() {
    require_namespace!();
    let dir = batch_of(&[("ann", "reference-python"), ("ben", "reference-python")]);
    let out = tempfile::tempdir().unwrap();
    let output = batch(
        dir.path(),
        out.path(),
        &["--isolation", "none", "--jobs", "8"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("grading one submission at a time"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(results(out.path(), "ann")["isolation"], "none");
}

#[test]
fn ctrl_c_stops_the_batch_and_keeps_what_is_done() {
    require_namespace!();
    let dir = batch_of(&[
        ("a-quick", "reference-python"),
        ("b-slow", "hang"),
        ("c-slow", "hang"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let script = format!(
        "\"$SOCKGRADE\" batch '{dir}' --out '{out}' --jobs 1 & pid=$!; \
         while [ ! -f '{out}/a-quick/results.json' ]; do sleep 0.05; done; sleep 0.5; \
         kill -INT $pid; wait $pid",
        dir = dir.path().display(),
        out = out.path().display()
    );
    let output = in_namespace(&script);
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert_eq!(results(out.path(), "a-quick")["score"], 11.0);
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    assert!(csv.contains("a-quick,11,11"), "{csv}");
    assert!(
        !out.path().join("c-slow/results.json").exists(),
        "c-slow should not have been graded"
    );
}

#[test]
#[ignore = "heavy (hundreds of programs on every core): run alone, as .ci/run does, with --ignored"]
fn a_batch_far_wider_than_the_cores_stays_fair() {
    require_namespace!();
    // 40 submissions at once, 440 Python programs: started all together
    // on a few cores, right programs would miss their start deadlines.
    let names: Vec<String> = (1..=40).map(|i| format!("s{i:02}")).collect();
    let copies: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), "reference-python"))
        .collect();
    let dir = batch_of(&copies);
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["--jobs", "40", "--seed", "1"]);
    let unfair: Vec<String> = names
        .iter()
        .filter(|name| results(out.path(), name)["score"] != 11.0)
        .map(|name| {
            let report = results(out.path(), name);
            let wrong: Vec<String> = report["exercises"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["status"] != "passed")
                .map(|e| {
                    format!(
                        "{} {}: {} (transcript {})",
                        e["id"], e["status"], e["message"], e["transcript"]
                    )
                })
                .collect();
            format!("{name}: {}", wrong.join("; "))
        })
        .collect();
    assert!(
        unfair.is_empty(),
        "right submissions failed under load:\n{}",
        unfair.join("\n")
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Writes a `.tar.gz` of a few MB whose first entry is a GNU long name of
/// `name_bytes` zero bytes. Deflating GiBs here would take minutes, so one
/// MiB of zeros is deflated once, flushed to a byte boundary with no
/// history, and repeated; the gzip trailer is left zero (nothing that
/// refuses the archive reads that far).
fn write_long_name_bomb(path: &Path, name_bytes: u64) {
    use flate2::{Compress, Compression, FlushCompress};
    const CHUNK: usize = 1 << 20;
    let deflate = |data: &[u8], flush| {
        let mut compress = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(data.len() + 1024);
        compress.compress_vec(data, &mut out, flush).unwrap();
        assert_eq!(compress.total_in(), data.len() as u64);
        out
    };
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::GNULongName);
    header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    header.set_size(name_bytes);
    header.set_mode(0o644);
    header.set_cksum();
    let zeros = deflate(&vec![0; CHUNK], FlushCompress::Full);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend(deflate(header.as_bytes(), FlushCompress::Full));
    for _ in 0..name_bytes / CHUNK as u64 {
        gz.extend_from_slice(&zeros);
    }
    gz.extend(deflate(&[], FlushCompress::Finish));
    gz.extend([0; 8]);
    std::fs::write(path, gz).unwrap();
}

#[test]
fn an_archive_announcing_a_long_name_of_gigabytes_is_an_error_row_and_the_batch_goes_on() {
    require_namespace!();
    let dir = batch_of(&[("good", "reference-python")]);
    let bomb = dir.path().join("bomb.tar.gz");
    write_long_name_bomb(&bomb, 3 << 30);
    let on_disk = std::fs::metadata(&bomb).unwrap().len();
    assert!(on_disk < 8 << 20, "the test archive is {on_disk} bytes");
    let out = tempfile::tempdir().unwrap();
    let peak = out.path().join("peak-rss-kib");
    // The address-space limit only protects the machine if the guard
    // regresses: the batch then dies instead of taking GiBs.
    let measured = Path::new("/usr/bin/time").is_file();
    let timed = if measured {
        format!("/usr/bin/time -f %M -o '{}'", peak.display())
    } else {
        String::new()
    };
    let output = in_namespace(&format!(
        "ulimit -v 4194304 && exec {timed} \"$SOCKGRADE\" batch '{}' --out '{}/results' --seed 4",
        dir.path().display(),
        out.path().display()
    ));
    let results_dir = out.path().join("results");
    if measured {
        let kib: u64 = std::fs::read_to_string(&peak)
            .unwrap()
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok())
            .expect("a peak RSS in KiB");
        eprintln!("the batch peaked at {kib} KiB; the archive is {on_disk} bytes");
        assert!(kib < 200 * 1024, "the batch peaked at {kib} KiB");
    } else {
        assert!(
            !common::strict(),
            "/usr/bin/time is needed to measure memory"
        );
        eprintln!("note: /usr/bin/time is missing, the peak memory is not checked");
    }
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(results_dir.join("grades.csv").is_file());
    assert_eq!(results(&results_dir, "good")["score"], 11.0);
    let bombed = results(&results_dir, "bomb");
    for exercise in bombed["exercises"].as_array().unwrap() {
        assert_eq!(exercise["status"], "error", "{bombed}");
        let message = exercise["message"].as_str().unwrap();
        assert!(
            message.contains("bomb.tar.gz") && message.contains("extended name"),
            "{message}"
        );
    }
    let csv = std::fs::read_to_string(results_dir.join("grades.csv")).unwrap();
    assert!(csv.contains("\nbomb,0,11,"), "{csv}");
}

#[test]
fn submissions_named_like_the_batch_files_get_folders_of_their_own() {
    require_namespace!();
    let dir = batch_of(&[
        ("grades.csv", "missing"),
        ("summary.json", "missing"),
        ("ann", "missing"),
    ]);
    write_zip(&submission("missing"), &dir.path().join("junit.xml.zip"));
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["--seed", "2"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    for name in ["ann", "grades.csv", "junit.xml", "summary.json"] {
        assert!(csv.contains(&format!("\n{name},0,11,")), "{name}: {csv}");
    }
    for name in ["grades.csv", "junit.xml", "summary.json"] {
        let report = results(out.path(), &format!("{name}.submission"));
        assert_eq!(report["submission"], name);
    }
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 4, "{junit}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["submissions"], 4);
    // Resume and merge find them where the batch put them.
    let again = batch(dir.path(), out.path(), &["--seed", "2", "--resume"]);
    assert!(
        text(&again.stderr).contains("grades.csv 0/11 (11 missing) · from an earlier run"),
        "{}",
        text(&again.stderr)
    );
    let merged = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" merge '{}' --out '{}'",
        out.path().display(),
        merged.path().display()
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(merged.path().join("grades.csv")).unwrap(),
        csv
    );
}

#[test]
fn names_with_line_breaks_and_escape_sequences_are_printed_escaped() {
    require_namespace!();
    // No `/` can be in a file name: a division slash looks the same.
    let forged = "evil\r[2\u{2215}2] everyone 11\u{2215}11\n[2\u{2215}2] forged 11\u{2215}11\x1b[2K\x1b]0;title\x07";
    let dir = batch_of(&[(forged, "missing"), ("ann", "missing")]);
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let shown = text(bytes);
        assert!(
            !bytes.iter().any(|&b| b == b'\r' || b == 0x1b || b == 0x07),
            "{stream} has a raw control character: {shown:?}"
        );
        assert!(
            !shown
                .lines()
                .any(|line| line.starts_with("[2\u{2215}2] forged")),
            "{stream} has a forged line: {shown}"
        );
    }
    assert!(
        text(&output.stderr)
            .contains("evil\\r[2\u{2215}2] everyone 11\u{2215}11\\n[2\u{2215}2] forged"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn merge_refuses_a_shard_whose_results_name_a_submission_outside_its_folder() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing")]);
    let shard = tempfile::tempdir().unwrap();
    batch(dir.path(), shard.path(), &["--seed", "1"]);
    let file = shard.path().join("ann/results.json");
    let mut report: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    report["submission"] = Value::from("../../x");
    std::fs::write(&file, report.to_string()).unwrap();
    let base = tempfile::tempdir().unwrap();
    let merged = base.path().join("a/b/out");
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" merge '{}' --out '{}'",
        shard.path().display(),
        merged.display()
    ));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} says it holds submission `../../x`",
            file.display()
        )),
        "{stderr}"
    );
    assert!(
        !base.path().join("a/x").exists(),
        "merge wrote outside --out"
    );
    assert!(!merged.join("grades.csv").exists());
}

/// `sockgrade merge INPUTS... --out OUT ARGS...`.
fn merge_outputs(inputs: &[&Path], out: &Path, args: &[&str]) -> Output {
    let inputs: Vec<String> = inputs
        .iter()
        .map(|p| format!("'{}'", p.display()))
        .collect();
    in_namespace(&format!(
        "exec \"$SOCKGRADE\" merge {} --out '{}' {}",
        inputs.join(" "),
        out.display(),
        args.join(" ")
    ))
}

#[test]
fn resume_refuses_a_run_graded_otherwise_and_takes_the_first_runs_seed() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing"), ("ben", "missing")]);
    let out = tempfile::tempdir().unwrap();
    batch(dir.path(), out.path(), &["--seed", "5", "-e", "client-1"]);
    let refused = |args: &[&str], what_differs: &str| {
        let output = batch(dir.path(), out.path(), args);
        let said = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{said}");
        assert!(said.contains("would mix two gradings"), "{said}");
        assert!(said.contains(what_differs), "{said}");
    };
    refused(
        &["--resume", "--seed", "6", "-e", "client-1"],
        "the seed (6 here, 5 there)",
    );
    refused(
        &["--resume", "-e", "client-2"],
        "the exercises chosen with -e (client-2 here, client-1 there)",
    );
    // The tier changes no score, but a resumed run with it would leave a
    // summary whose robustness counts cover only some submissions.
    refused(
        &["--resume", "-e", "client-1", "--robust=split"],
        "the robustness tier asked with --robust (split here, not asked there)",
    );
    // Without --seed, the resume is the first run's: accepted.
    let resumed = batch(dir.path(), out.path(), &["--resume", "-e", "client-1"]);
    assert_eq!(resumed.status.code(), Some(1), "{}", text(&resumed.stderr));
}

#[test]
fn a_new_run_into_an_old_output_keeps_no_result_of_the_old_one() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing"), ("ben", "missing")]);
    let out = tempfile::tempdir().unwrap();
    batch(dir.path(), out.path(), &["--seed", "5", "-e", "client-1"]);
    assert!(out.path().join("ben/results.json").is_file());
    std::fs::remove_dir_all(dir.path().join("ben")).unwrap();
    batch(dir.path(), out.path(), &["--seed", "5", "-e", "client-1"]);
    assert!(
        !out.path().join("ben").exists(),
        "the removed student's results are gone"
    );
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // And a resume drops them too, saying so.
    copy_tree(&submission("missing"), &dir.path().join("cat"));
    batch(dir.path(), out.path(), &["--seed", "5", "-e", "client-1"]);
    std::fs::remove_dir_all(dir.path().join("cat")).unwrap();
    let resumed = batch(dir.path(), out.path(), &["--resume", "-e", "client-1"]);
    assert!(!out.path().join("cat").exists());
    assert!(
        text(&resumed.stderr).contains("no longer in the batch folder: cat"),
        "{}",
        text(&resumed.stderr)
    );
}

#[test]
fn merge_refuses_missing_shards_and_runs_that_differ() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing"), ("ben", "missing"), ("cat", "missing")]);
    let shards: Vec<tempfile::TempDir> = (1..=3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (index, shard) in shards.iter().enumerate() {
        let part = format!("{}/3", index + 1);
        batch(
            dir.path(),
            shard.path(),
            &["--seed", "9", "-e", "client-1", "--shard", &part],
        );
    }
    let merged = tempfile::tempdir().unwrap();
    let two = [shards[0].path(), shards[1].path()];
    let partial = merge_outputs(&two, merged.path(), &[]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(
        text(&partial.stderr).contains("shard 3/3 missing"),
        "{}",
        text(&partial.stderr)
    );
    assert!(
        !merged.path().join("grades.csv").exists(),
        "nothing written"
    );
    let allowed = merge_outputs(&two, merged.path(), &["--allow-partial"]);
    assert_eq!(allowed.status.code(), Some(1), "{}", text(&allowed.stderr));
    assert!(text(&allowed.stderr).contains("without shard 3/3"));
    let csv = std::fs::read_to_string(merged.path().join("grades.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // A shard graded with another seed is another grading.
    let other = tempfile::tempdir().unwrap();
    batch(
        dir.path(),
        other.path(),
        &["--seed", "10", "-e", "client-1", "--shard", "3/3"],
    );
    let mixed = merge_outputs(
        &[shards[0].path(), shards[1].path(), other.path()],
        tempfile::tempdir().unwrap().path(),
        &[],
    );
    assert_eq!(mixed.status.code(), Some(2));
    assert!(
        text(&mixed.stderr).contains("the seed (10 here, 9 there)"),
        "{}",
        text(&mixed.stderr)
    );
    let all = merge_outputs(
        &[shards[0].path(), shards[1].path(), shards[2].path()],
        tempfile::tempdir().unwrap().path(),
        &[],
    );
    assert_eq!(all.status.code(), Some(1), "{}", text(&all.stderr));
}

#[test]
fn shard_auto_takes_its_part_from_a_slurm_array_and_refuses_without_one() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing"), ("ben", "missing"), ("cat", "missing")]);
    let out = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 \
         exec \"$SOCKGRADE\" batch '{}' --out '{}' --shard auto --seed 4 -e client-1",
        dir.path().display(),
        out.path().display()
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("grading shard 2/3 (SLURM_ARRAY_TASK_ID=2 of 3 tasks)"),
        "{}",
        text(&output.stderr)
    );
    let run: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("batch.json")).unwrap()).unwrap();
    assert_eq!(run["shard"], "2/3");
    assert_eq!(run["submissions"], serde_json::json!(["ben"]));
    let alone = batch(dir.path(), out.path(), &["--shard", "auto", "--seed", "4"]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(
        text(&alone.stderr).contains("found no scheduler's shard in the environment"),
        "{}",
        text(&alone.stderr)
    );
}

#[test]
fn a_quiet_batch_says_one_line_and_no_line_per_submission() {
    require_namespace!();
    let dir = batch_of(&[("ann", "missing"), ("ben", "missing")]);
    let out = tempfile::tempdir().unwrap();
    let output = batch(dir.path(), out.path(), &["-q", "-e", "client-1"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("[1/2]"),
        "{}",
        text(&output.stderr)
    );
    let said = text(&output.stdout);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.starts_with("2 submissions graded · mean 0/1 · 2 need a human look · written to "),
        "{said}"
    );
}
