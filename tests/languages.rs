//! Programs in the languages students use, graded the same whatever the
//! machine: as root and as a normal user, alone and in a batch; and the
//! harness's own start races never blamed on them.

mod common;

use std::path::Path;

/// A copy of `reference-c` whose built binary is padded to tens of MiB,
/// so that copying it for each exercise takes long enough for the other
/// exercises' programs to be starting meanwhile.
fn padded_reference_c(into: &Path) -> std::path::PathBuf {
    let folder = into.join("padded-c");
    std::fs::create_dir_all(&folder).unwrap();
    let source = common::submission("reference-c");
    std::fs::copy(source.join("solution.c"), folder.join("solution.c")).unwrap();
    let manifest = std::fs::read_to_string(source.join("sockgrade.json")).unwrap();
    let manifest = manifest.replace(
        "\"cc -O2 -o solution solution.c\"",
        "\"cc -O2 -o solution solution.c && head -c 30000000 /dev/zero >> solution\"",
    );
    assert!(manifest.contains("head -c"), "the manifest's build changed");
    std::fs::write(folder.join("sockgrade.json"), manifest).unwrap();
    folder
}

#[test]
fn a_built_binary_starts_for_every_exercise_at_once_every_time() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    let folder = padded_reference_c(dir.path());
    for round in 0..3 {
        let (_, report) = common::grade_json(&folder, &["--jobs", "11"]);
        let wrong: Vec<String> = report["exercises"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] != "passed")
            .map(|e| format!("{}: {} ({})", e["id"], e["status"], e["message"]))
            .collect();
        assert!(wrong.is_empty(), "round {round}:\n  {}", wrong.join("\n  "));
    }
}
