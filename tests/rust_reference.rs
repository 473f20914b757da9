//! The Rust side of the templates: `fixtures/submissions/reference-rust`
//! builds without warnings and passes every exercise, and
//! `student-template/rust` builds without warnings and its starters fail
//! or time out without crashing. Each is built here, by the test, as its
//! manifest says (as root sockgrade runs a manifest's build as `nobody`,
//! who cannot reach a toolchain installed under /root), then graded by
//! the built binary.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Where the manifests of both folders say the executables are.
const EXECUTABLES: &str = "./target/release/";

#[test]
fn the_rust_reference_builds_and_passes_every_exercise() {
    require_namespace!();
    if !cargo_available() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (copy, warnings) = built_copy(&common::submission("reference-rust"), scratch.path());
    assert!(
        warnings.is_empty(),
        "reference-rust builds with warnings:\n{warnings}"
    );

    let (code, report) = common::grade_json(&copy, &[]);
    let not_passed: Vec<String> = common::statuses(&report)
        .into_iter()
        .filter(|(_, status)| status != "passed")
        .map(|(id, status)| {
            let message = &common::exercise(&report, &id)["message"];
            format!("{id}: {status} ({message})")
        })
        .collect();
    assert!(
        not_passed.is_empty(),
        "reference-rust:\n  {}",
        not_passed.join("\n  ")
    );
    assert_eq!(common::statuses(&report).len(), 11, "every exercise graded");
    assert_eq!(code, 0, "exit code");
}

#[test]
fn the_rust_template_builds_without_warnings_and_its_starters_do_not_crash() {
    require_namespace!();
    if !cargo_available() {
        return;
    }
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("student-template/rust");
    let scratch = tempfile::tempdir().unwrap();
    let (copy, warnings) = built_copy(&template, scratch.path());
    assert!(
        warnings.is_empty(),
        "the template builds with warnings:\n{warnings}"
    );

    // A starter prints its TODO and exits: nothing to wait for.
    let (code, report) = common::grade_json(&copy, &["--timeout-scale", "0.2"]);
    let statuses = common::statuses(&report);
    assert_eq!(statuses.len(), 11, "every exercise graded");
    let wrong: Vec<String> = statuses
        .into_iter()
        // `crashed` or `error` is a broken starter or manifest; `missing`
        // a manifest naming the wrong executable.
        .filter(|(_, status)| status != "failed" && status != "timeout")
        .map(|(id, status)| {
            let message = &common::exercise(&report, &id)["message"];
            format!("{id}: {status} ({message})")
        })
        .collect();
    assert!(wrong.is_empty(), "the template:\n  {}", wrong.join("\n  "));
    assert_eq!(code, 1, "exit code");
}

/// True when `cargo` can be run; otherwise prints why the test skips (a
/// failure with `SOCKGRADE_STRICT_TESTS`).
fn cargo_available() -> bool {
    let reason = match Command::new("cargo").arg("--version").output() {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "`cargo --version` failed: {}",
            common::text(&out.stderr).trim()
        ),
        Err(e) => format!("`cargo` is not on PATH: {e}"),
    };
    assert!(
        !common::strict(),
        "SOCKGRADE_STRICT_TESTS is set, but {reason}"
    );
    eprintln!("skipped: needs cargo: {reason}");
    false
}

/// Copies `folder` into `scratch`, runs its manifest's `build` there (with
/// cargo's target folder in `scratch`), puts the executables its manifest
/// names into the copy, and drops `build` from the copy's manifest. Returns
/// the copy and the build's output if it warns (else nothing).
fn built_copy(folder: &Path, scratch: &Path) -> (PathBuf, String) {
    let copy = scratch.join(folder.file_name().unwrap());
    common::copy_tree(folder, &copy);
    let manifest_path = copy.join("sockgrade.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let build = manifest
        .as_object_mut()
        .unwrap()
        .remove("build")
        .expect("the manifest has a build command");
    let build = build.as_str().unwrap();
    assert_eq!(build, "cargo build --release --offline --quiet");

    let target = scratch.join("cargo-target");
    let started = Instant::now();
    let output = Command::new("sh")
        .args(["-c", build])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("sh runs");
    let stderr = common::text(&output.stderr);
    assert!(
        output.status.success(),
        "`{build}` in {} failed:\n{stderr}",
        folder.display()
    );
    eprintln!(
        "built {} in {:.1}s",
        folder.display(),
        started.elapsed().as_secs_f64()
    );

    let executables = copy.join(EXECUTABLES);
    std::fs::create_dir_all(&executables).unwrap();
    for (id, command) in manifest["exercises"].as_object().unwrap() {
        let name = command
            .as_str()
            .and_then(|c| c.strip_prefix(EXECUTABLES))
            .unwrap_or_else(|| panic!("{id}: {command} is not in {EXECUTABLES}"));
        std::fs::copy(target.join("release").join(name), executables.join(name))
            .unwrap_or_else(|e| panic!("{id}: cargo built no {name}: {e}"));
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let warnings = if stderr.contains("warning") {
        stderr
    } else {
        String::new()
    };
    (copy, warnings)
}

#[test]
fn a_students_own_grade_runs_the_manifests_cargo_build_itself() {
    // A student is not root: sockgrade runs the build as them, with their
    // rustup toolchain (RUSTUP_HOME and CARGO_HOME are passed on, though
    // HOME is the build's private folder). A user namespace stands in for
    // a student here, even when the tests run as root.
    require_namespace!();
    if !cargo_available() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("reference-rust");
    common::copy_tree(&common::submission("reference-rust"), &copy);
    let output = Command::new("unshare")
        .args(["--net", "--map-root-user", "--", "sh", "-c"])
        .arg(format!(
            "ip link set lo up && exec \"$SOCKGRADE\" grade '{}' --json - --isolation none",
            copy.display()
        ))
        .env("SOCKGRADE", env!("CARGO_BIN_EXE_sockgrade"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let statuses = common::statuses(&report);
    assert!(statuses.iter().all(|(_, s)| s == "passed"), "{report}");
    assert_eq!(output.status.code(), Some(0));
}
