//! Verdicts on a loaded machine: the same program gets the same verdict
//! whether the machine is quiet or busy, because deadlines give back the
//! time a program waited for a CPU and a batch admits only what the
//! machine can run. Verdict tests, not timing tests: they hold on a slow
//! machine as on a fast one.

mod common;

use common::{in_namespace, submission, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};

/// Busy processes on every core (twice over) for as long as this lives,
/// each in a session of its own, as a desktop's or a CI runner's other
/// work is: the kernel's autogroups would otherwise weigh them all as one.
struct Overload(Vec<Child>);

impl Overload {
    fn start() -> Overload {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Overload(
            (0..2 * cores)
                .map(|_| {
                    Command::new("setsid")
                        .args(["sh", "-c", "while :; do :; done"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Overload {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The verdicts a sample submission's `expected.json` lists.
fn expected_verdicts(name: &str) -> BTreeMap<String, String> {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(submission(name).join("expected.json")).unwrap(),
    )
    .unwrap();
    serde_json::from_value(expected["verdicts"].clone()).unwrap()
}

/// The verdicts in a batch's `results.json` for `name`.
fn batch_verdicts(out: &Path, name: &str) -> BTreeMap<String, String> {
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join(name).join("results.json")).unwrap())
            .unwrap();
    common::statuses(&report)
        .into_iter()
        .filter(|(_, status)| status != "missing")
        .collect()
}

/// Copies sample submissions into a class folder, each under its name.
fn class_of(names: &[&str]) -> tempfile::TempDir {
    let class = tempfile::tempdir().unwrap();
    for name in names {
        common::copy_tree(&submission(name), &class.path().join(name));
    }
    class
}

/// Grades copies of sample submissions `names` in one batch (options
/// `extra`) in a private network namespace; returns its `--out`.
fn batch(names: &[&str], extra: &str) -> tempfile::TempDir {
    let class = class_of(names);
    let out = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "\"$SOCKGRADE\" batch '{}' --out '{}' {extra} >/dev/null",
        class.path().display(),
        out.path().display()
    ));
    assert!(
        out.path().join("grades.csv").is_file(),
        "{}",
        text(&output.stderr)
    );
    out
}

#[test]
#[ignore = "heavy: loads every core on purpose; run alone with --ignored"]
fn reference_submissions_on_an_overloaded_machine_get_their_quiet_verdicts() {
    require_namespace!();
    let names = ["reference-python", "reference-shell", "reference-c"];
    let overload = Overload::start();
    let out = batch(&names, "");
    drop(overload);
    for name in names {
        assert_eq!(
            batch_verdicts(out.path(), name),
            expected_verdicts(name),
            "{name} under load"
        );
    }
}

#[test]
fn eight_jvms_of_one_submission_all_start_in_a_batch() {
    require_namespace!();
    if Command::new("java").arg("-version").output().is_err() {
        assert!(!common::strict(), "java is missing: .ci/run installs it");
        eprintln!("skipped: no java here");
        return;
    }
    let exercises = submission("java-eight-clients").join("exercises.json");
    let out = batch(
        &["java-eight-clients"],
        &format!("--exercises '{}' --memory 2048", exercises.display()),
    );
    assert_eq!(
        batch_verdicts(out.path(), "java-eight-clients"),
        expected_verdicts("java-eight-clients")
    );
}

#[test]
#[ignore = "heavy: loads every core on purpose; run alone with --ignored"]
fn a_client_computing_within_its_step_deadline_passes_on_an_overloaded_machine() {
    require_namespace!();
    let overload = Overload::start();
    let out = batch(&["cpu-heavy-client"], "-e client-1");
    drop(overload);
    assert_eq!(
        batch_verdicts(out.path(), "cpu-heavy-client"),
        expected_verdicts("cpu-heavy-client")
    );
}
