//! The JSON sockgrade writes, checked against the JSON Schemas it ships
//! (`sockgrade schema`, `share/sockgrade/schemas/`) with a validator of
//! its own (Python's jsonschema): results and Gradescope files of sample
//! submissions (right, wrong, crashing, hostile, empty) and a batch's
//! summary.

mod common;

use common::{copy_tree, in_namespace, sockgrade, sockgrade_here, submission, text};
use std::path::{Path, PathBuf};

/// Whether the validator is here; with SOCKGRADE_STRICT_TESTS (CI) it must be.
fn validator_available() -> bool {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    let here = probe.is_ok_and(|p| p.status.success());
    assert!(
        here || !common::strict(),
        "SOCKGRADE_STRICT_TESTS is set, but Python's jsonschema is not installed"
    );
    if !here {
        eprintln!("skipped: needs Python's jsonschema (pip install jsonschema)");
    }
    here
}

/// Validates `files` against the schema `sockgrade schema DOCUMENT` prints.
fn validate(document: &str, files: &[PathBuf]) {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join(format!("{document}.schema.json"));
    let printed = sockgrade_here(&["schema", document]);
    assert!(printed.status.success());
    std::fs::write(&schema, &printed.stdout).unwrap();
    let checked = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/validate_json.py"))
        .arg(&schema)
        .args(files)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{document}: {}",
        text(&checked.stderr)
    );
}

#[test]
fn every_sample_submissions_results_match_their_schemas() {
    require_namespace!();
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut results, mut gradescope) = (Vec::new(), Vec::new());
    for fixture in [
        "reference-python",
        "wrong-text",
        "crash-at-start",
        "hostile-binary-spew",
        "missing",
        "hint-mistakes",
    ] {
        let json = dir.path().join(format!("{fixture}.json"));
        let scope = dir.path().join(format!("{fixture}.gradescope.json"));
        let folder = submission(fixture);
        let output = sockgrade(&[
            "grade",
            folder.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--gradescope",
            scope.to_str().unwrap(),
        ]);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{fixture}: {}",
            text(&output.stderr)
        );
        results.push(json);
        gradescope.push(scope);
    }
    validate("results", &results);
    validate("gradescope", &gradescope);
}

#[test]
fn a_batchs_summary_and_results_match_their_schemas() {
    require_namespace!();
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in [("ann", "reference-python"), ("ben", "wrong-text")] {
        copy_tree(&submission(fixture), &dir.path().join(name));
    }
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "").unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" batch '{}' --out '{}' --seed 3",
        dir.path().display(),
        out.path().display()
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    validate("summary", &[out.path().join("summary.json")]);
    let per_submission = |file: &str| -> Vec<PathBuf> {
        ["ann", "ben", "empty"]
            .iter()
            .map(|name| out.path().join(name).join(file))
            .collect()
    };
    validate("results", &per_submission("results.json"));
    validate("gradescope", &per_submission("gradescope.json"));
}

#[test]
fn a_file_that_breaks_the_schema_is_caught() {
    require_namespace!();
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let folder = submission("wrong-text");
    sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    report["exercises"][0]["status"] = "sort-of".into();
    std::fs::write(&json, report.to_string()).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let schema = dir2.path().join("results.schema.json");
    std::fs::write(&schema, sockgrade_here(&["schema", "results"]).stdout).unwrap();
    let checked = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/validate_json.py"))
        .arg(&schema)
        .arg(&json)
        .output()
        .unwrap();
    assert!(!checked.status.success());
    assert!(
        text(&checked.stderr).contains("exercises/0/status"),
        "{}",
        text(&checked.stderr)
    );
}
