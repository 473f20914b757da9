//! The Gradescope autograder of `student-template/gradescope/`, run the way
//! Gradescope runs it: its files in `/autograder/source`, the upload
//! unpacked into `/autograder/submission`, `run_autograder` leaving
//! `/autograder/results/results.json`. Here `/autograder` is a temporary
//! folder (`AUTOGRADER_ROOT`) and the sockgrade on PATH is the one built.

mod common;

use common::{copy_tree, in_namespace, submission, text};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A temporary `/autograder`: the template's files in `source/` and the
/// `upload` (a folder) unpacked into `submission/`.
fn autograder_root(upload: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("student-template/gradescope");
    copy_tree(&template, &root.path().join("source"));
    copy_tree(upload, &root.path().join("submission"));
    root
}

/// What a student uploads as a zip of their folder: Gradescope unpacks it
/// with the folder, so the programs are one level down.
fn zipped_folder_upload(fixture: &str) -> tempfile::TempDir {
    let upload = tempfile::tempdir().unwrap();
    copy_tree(&submission(fixture), &upload.path().join("python"));
    upload
}

/// Runs `source/run_autograder` in a private network namespace with `path`
/// first on PATH; returns its exit status and the results it left.
fn run_autograder(root: &Path, path: &Path) -> (Option<i32>, Value) {
    let output = in_namespace(&format!(
        "AUTOGRADER_ROOT='{root}' PATH='{path}':\"$PATH\" bash '{root}/source/run_autograder'",
        root = root.display(),
        path = path.display(),
    ));
    let results = root.join("results/results.json");
    let written = std::fs::read(&results).unwrap_or_else(|e| {
        panic!(
            "no {}: {e}; stderr: {}",
            results.display(),
            text(&output.stderr)
        )
    });
    (
        output.status.code(),
        serde_json::from_slice(&written).unwrap(),
    )
}

/// The folder of the sockgrade under test, to put on PATH.
fn built_sockgrade_folder() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sockgrade"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn test_statuses(results: &Value) -> Vec<&str> {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_right_zipped_folder_upload_gets_full_marks() {
    let upload = zipped_folder_upload("reference-python");
    let root = autograder_root(upload.path());
    let (code, results) = run_autograder(root.path(), &built_sockgrade_folder());
    assert_eq!(code, Some(0));
    assert_eq!(results["score"], 11.0, "{results:#}");
    assert_eq!(test_statuses(&results), ["passed"; 11]);
}

#[test]
fn a_wrong_upload_gets_its_failures_and_the_autograder_still_succeeds() {
    let upload = zipped_folder_upload("wrong-text");
    let root = autograder_root(upload.path());
    let (code, results) = run_autograder(root.path(), &built_sockgrade_folder());
    // Gradescope shows a failed autograder run as its own error: a failing
    // student is a normal run.
    assert_eq!(code, Some(0));
    let score = results["score"].as_f64().unwrap();
    assert!(score < 11.0, "{results:#}");
    assert!(test_statuses(&results).contains(&"failed"), "{results:#}");
}

#[test]
fn an_exercise_file_beside_the_script_is_used_with_its_visibility() {
    let upload = zipped_folder_upload("reference-python");
    let root = autograder_root(upload.path());
    let notebook = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/exercises/notebook.json");
    let mut exercises: Value = serde_json::from_slice(&std::fs::read(notebook).unwrap()).unwrap();
    let list = exercises["exercises"].as_array_mut().unwrap();
    list.retain(|e| e["id"] == "client-1" || e["id"] == "server-1");
    list[0]["visibility"] = "after-due-date".into();
    list[1]["visibility"] = "hidden".into();
    std::fs::write(
        root.path().join("source/exercises.json"),
        serde_json::to_vec_pretty(&exercises).unwrap(),
    )
    .unwrap();
    let (code, results) = run_autograder(root.path(), &built_sockgrade_folder());
    assert_eq!(code, Some(0));
    assert_eq!(results["score"], 2.0, "{results:#}");
    let shown: Vec<(&str, &str)> = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["visibility"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown.len(), 2);
    assert!(shown[0].0.starts_with("client-1: ") && shown[0].1 == "after_due_date");
    assert!(shown[1].0.starts_with("server-1: ") && shown[1].1 == "hidden");
}

#[test]
fn a_submission_sockgrade_cannot_read_gets_results_that_say_why() {
    let upload = tempfile::tempdir().unwrap();
    std::fs::write(upload.path().join("sockgrade.json"), "{ not json").unwrap();
    std::fs::write(upload.path().join("client-1.py"), "print('hi')\n").unwrap();
    let root = autograder_root(upload.path());
    let (code, results) = run_autograder(root.path(), &built_sockgrade_folder());
    assert_eq!(code, Some(0));
    assert_eq!(results["score"], 0.0);
    let output = results["output"].as_str().unwrap();
    assert!(
        output.starts_with("sockgrade could not grade this submission:"),
        "{output}"
    );
    assert!(output.contains("sockgrade.json"), "{output}");
    assert!(output.contains("fix it and submit again"), "{output}");
}

#[test]
fn an_autograder_without_sockgrade_says_it_is_not_the_students_fault() {
    let upload = zipped_folder_upload("reference-python");
    let root = autograder_root(upload.path());
    // A PATH with python3 and the shell's tools but no sockgrade.
    let nowhere = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "AUTOGRADER_ROOT='{root}' PATH='{empty}':/usr/bin:/bin bash '{root}/source/run_autograder'",
        root = root.path().display(),
        empty = nowhere.path().display(),
    ));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let results: Value =
        serde_json::from_slice(&std::fs::read(root.path().join("results/results.json")).unwrap())
            .unwrap();
    let said = results["output"].as_str().unwrap();
    assert!(
        said.starts_with("The autograder failed (exit 127), not your program"),
        "{said}"
    );
}
