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
    let _heavy = heavy();
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

/// Taken by each test here that grades every language: with the JVM
/// compiling a single-file program (about 2 s of CPU) they load the
/// machine, and two at once on a small machine would measure the load.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The language fixtures, and what each needs on PATH.
const LANGUAGES: &[(&str, &[&str])] = &[
    ("lang-node", &["node"]),
    ("lang-node-wrong", &["node"]),
    ("lang-go", &["go"]),
    ("lang-go-wrong", &["go"]),
    ("reference-c", &["cc"]),
    ("lang-c-wrong", &["cc"]),
    ("lang-java", &["java"]),
    ("lang-java-wrong", &["java"]),
    ("lang-ruby", &["ruby"]),
    ("lang-ruby-wrong", &["ruby"]),
    ("lang-perl", &["perl"]),
    ("lang-perl-wrong", &["perl"]),
    ("lang-netcat", &["nc", "bash"]),
    ("lang-netcat-wrong", &["nc", "bash"]),
];

/// The exercises the language fixtures implement.
const EXERCISES: [&str; 2] = ["client-1", "server-demo"];

/// The language fixtures whose runtimes are installed; a missing one is
/// skipped with its name printed, and fails the test in CI.
fn installed_languages() -> Vec<&'static str> {
    LANGUAGES
        .iter()
        .filter(|(fixture, tools)| {
            let missing: Vec<&str> = tools
                .iter()
                .copied()
                .filter(|tool| {
                    !std::process::Command::new("sh")
                        .args(["-c", &format!("command -v {tool}")])
                        .output()
                        .is_ok_and(|o| o.status.success())
                })
                .collect();
            if missing.is_empty() {
                return true;
            }
            assert!(
                !common::strict(),
                "SOCKGRADE_STRICT_TESTS is set, but {fixture} needs {missing:?}"
            );
            eprintln!("skipped {fixture}: {missing:?} not installed");
            false
        })
        .map(|(fixture, _)| *fixture)
        .collect()
}

/// The verdicts `fixture`'s expected.json lists for [`EXERCISES`].
fn expected(fixture: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(common::submission(fixture).join("expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    EXERCISES
        .iter()
        .map(|id| {
            let status = expected["verdicts"][id].as_str().unwrap_or("missing");
            (id.to_string(), status.to_string())
        })
        .collect()
}

/// Differences between a report and `fixture`'s expected verdicts.
fn wrong_verdicts(fixture: &str, report: &serde_json::Value) -> Vec<String> {
    expected(fixture)
        .into_iter()
        .filter_map(|(id, want)| {
            let got = common::exercise(report, &id);
            (got["status"] != want.as_str()).then(|| {
                format!(
                    "{fixture} {id}: got {}, expected {want} ({})",
                    got["status"], got["message"]
                )
            })
        })
        .collect()
}

/// The exercises every language fixture has. The notebook's deadlines,
/// unscaled: the JVM compiles a single-file program before it runs it
/// (about 2 s of CPU), and on a loaded machine the start deadline gives
/// back its wait for a CPU.
fn only_exercises() -> Vec<&'static str> {
    EXERCISES.iter().flat_map(|id| ["--exercise", id]).collect()
}

fn grades_alone_as(grade: fn(&Path, &[&str]) -> (i32, serde_json::Value)) {
    let _heavy = heavy();
    let only = only_exercises();
    let mut wrong = Vec::new();
    for fixture in installed_languages() {
        let (_, report) = grade(&common::submission(fixture), &only);
        wrong.extend(wrong_verdicts(fixture, &report));
    }
    assert!(wrong.is_empty(), "\n  {}", wrong.join("\n  "));
}

#[test]
fn every_language_gets_its_verdicts_alone_as_root() {
    require_namespace!();
    grades_alone_as(common::grade_json);
}

#[test]
fn every_language_gets_its_verdicts_alone_as_a_normal_user() {
    require_namespace!();
    grades_alone_as(common::grade_json_as_user);
}

fn grades_in_a_batch_as(run: fn(&[&str]) -> std::process::Output) {
    let _heavy = heavy();
    let dir = common::readable_tempdir();
    let batch = dir.path().join("batch");
    let fixtures = installed_languages();
    for fixture in &fixtures {
        common::copy_tree(&common::submission(fixture), &batch.join(fixture));
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut args = vec![
        "batch",
        batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(only_exercises());
    let output = run(&args);
    let mut wrong = Vec::new();
    for fixture in &fixtures {
        let path = out.join(fixture).join("results.json");
        let report: serde_json::Value = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(e) => panic!(
                "{}: {e}\nstderr:\n{}",
                path.display(),
                common::text(&output.stderr)
            ),
        };
        wrong.extend(wrong_verdicts(fixture, &report));
    }
    assert!(wrong.is_empty(), "\n  {}", wrong.join("\n  "));
}

#[test]
fn every_language_gets_its_verdicts_in_a_batch_as_root() {
    require_namespace!();
    grades_in_a_batch_as(common::sockgrade);
}

#[test]
fn every_language_gets_its_verdicts_in_a_batch_as_a_normal_user() {
    require_namespace!();
    grades_in_a_batch_as(common::sockgrade_as_user);
}

/// A right Node.js client passes as a normal user, where no cgroup bounds
/// memory: the limit counts what V8 uses, not the address space it
/// reserves.
#[test]
fn a_node_client_passes_as_a_normal_user_with_the_default_memory_limit() {
    require_namespace!();
    if !installed_languages().contains(&"lang-node") {
        return;
    }
    let (_, report) = common::grade_json_as_user(
        &common::submission("lang-node"),
        &["--exercise", "client-1"],
    );
    let client = common::exercise(&report, "client-1");
    assert_eq!(client["status"], "passed", "{}", client["message"]);
}

/// As a normal user a memory hog is stopped by the watchdog, and the
/// verdict names the limit.
#[test]
fn a_memory_hog_is_stopped_as_a_normal_user_and_told_which_limit() {
    require_namespace!();
    let (_, report) = common::grade_json_as_user(
        &common::submission("hostile-memory-hog"),
        &["--exercise", "client-1", "--memory", "256"],
    );
    let client = common::exercise(&report, "client-1");
    assert_eq!(client["status"], "crashed", "{}", client["message"]);
    let message = client["message"].as_str().unwrap();
    assert!(
        message.contains("used more than 256 MiB of memory (--memory)"),
        "{message}"
    );
}
