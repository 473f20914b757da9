//! Running the built `sockgrade` against fixtures, each run in a private
//! network namespace of its own: the notebook's fixed ports are then
//! private to the run, so tests never collide with each other or with
//! anything else on the machine.

#![allow(
    dead_code,
    reason = "each test binary uses a different part; `expect` would be unfulfilled in some"
)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The folder of the sample submissions.
pub fn submissions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/submissions")
}

/// One sample submission.
pub fn submission(name: &str) -> PathBuf {
    submissions().join(name)
}

/// What a sample submission's `expected.json` lists under `key`
/// (`verdicts`, or `robust` for the robustness tier), by exercise id.
pub fn expected(name: &str, key: &str) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(submission(name).join("expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(expected[key].clone())
        .unwrap_or_else(|e| panic!("{name}/expected.json has no `{key}` map: {e}"))
}

/// Why private network namespaces cannot be used here, if they cannot.
/// With `SOCKGRADE_STRICT_TESTS` set (CI), their absence is a failure.
pub fn namespace_unavailable() -> Option<&'static str> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let probe = Command::new("unshare")
                .args([
                    "--net",
                    "--map-root-user",
                    "--",
                    "ip",
                    "link",
                    "set",
                    "lo",
                    "up",
                ])
                .stderr(Stdio::piped())
                .output();
            match probe {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(format!(
                    "`unshare --net --map-root-user` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => Some(format!("`unshare` or `ip` is not available: {e}")),
            }
        })
        .as_deref()
        .inspect(|reason| {
            if strict() {
                panic!("SOCKGRADE_STRICT_TESTS is set, but {reason}");
            }
        })
}

/// Skips the calling test, with the reason printed, where the fixed-port
/// tests cannot be isolated.
#[macro_export]
macro_rules! require_namespace {
    () => {
        if let Some(reason) = common::namespace_unavailable() {
            eprintln!("skipped: needs a private network namespace: {reason}");
            return;
        }
    };
}

/// Skips the test (saying `why`) unless it runs as the real root.
#[macro_export]
macro_rules! require_real_root {
    ($why:literal) => {
        if !common::real_root() {
            eprintln!(concat!("skipped: ", $why));
            return;
        }
    };
}

/// `unshare` arguments for a private network namespace: as root, only
/// that (so sockgrade keeps the real root's powers: cgroups, another user
/// for the programs); otherwise inside a user namespace.
fn unshare_args() -> &'static [&'static str] {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        &["--net", "--"]
    } else {
        &["--net", "--map-root-user", "--"]
    }
}

/// True when the tests run as the real root (CI), where every protection
/// of the sandbox can be in force.
pub fn real_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A shell script run in a fresh network namespace with loopback up;
/// `$SOCKGRADE` is the binary under test.
pub fn in_namespace(script: &str) -> Output {
    in_namespace_with(unshare_args(), script)
}

/// [`in_namespace`] with `unshare`'s own arguments.
fn in_namespace_with(unshare: &[&str], script: &str) -> Output {
    namespace_command(unshare, script)
        .output()
        .expect("unshare runs")
}

/// The command that runs `script` in a fresh network namespace with
/// loopback up, stdin closed, `$SOCKGRADE` the binary under test.
fn namespace_command(unshare: &[&str], script: &str) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(unshare)
        .args(["sh", "-c"])
        .arg(format!("ip link set lo up && {script}"))
        .env("SOCKGRADE", env!("CARGO_BIN_EXE_sockgrade"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// The script that runs `sockgrade ARGS...` in place of the shell.
fn sockgrade_script(args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    format!("exec \"$SOCKGRADE\" {}", quoted.join(" "))
}

/// `sockgrade ARGS...` started in a private network namespace, not
/// waited for, in a process group of its own (as a terminal's foreground
/// job): the child's PID is sockgrade's own (each step execs the next),
/// and the group's.
pub fn spawn_sockgrade(args: &[&str]) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    namespace_command(unshare_args(), &sockgrade_script(args))
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs")
}

/// `sockgrade ARGS...` in a private network namespace.
pub fn sockgrade(args: &[&str]) -> Output {
    in_namespace(&sockgrade_script(args))
}

/// `sockgrade ARGS...` on the host network (for commands that open no port).
pub fn sockgrade_here(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockgrade"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("sockgrade runs")
}

/// The uid and gid a test grades as when it grades as a normal user.
pub const NORMAL_USER: u32 = 65534;

/// `sockgrade ARGS...` as a normal user, in a private network namespace:
/// as root, the grader drops to [`NORMAL_USER`] (no cgroups, no other
/// user for the programs, as on a student's laptop or a hosted CI runner);
/// otherwise the user running the tests already is one, and the namespace
/// is a user namespace that maps no root.
pub fn sockgrade_as_user(args: &[&str]) -> Output {
    sockgrade_as_user_with_env(&[], args)
}

/// [`sockgrade_as_user`] with `env` (NAME, VALUE) set for sockgrade.
pub fn sockgrade_as_user_with_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    let assignments: Vec<String> = env
        .iter()
        .map(|(name, value)| shell_quote(&format!("{name}={value}")))
        .collect();
    let env = if assignments.is_empty() {
        String::new()
    } else {
        format!("env {}", assignments.join(" "))
    };
    let script = if real_root() {
        format!(
            "exec {env} setpriv --reuid={NORMAL_USER} --regid={NORMAL_USER} --clear-groups \"$SOCKGRADE\" {}",
            quoted.join(" ")
        )
    } else {
        format!("exec {env} \"$SOCKGRADE\" {}", quoted.join(" "))
    };
    let unshare: &[&str] = if real_root() {
        &["--net", "--"]
    } else {
        &["--user", "--net", "--"]
    };
    in_namespace_with(unshare, &script)
}

/// Grades `folder` with JSON on stdout; returns the exit code and report.
pub fn grade_json(folder: &Path, extra: &[&str]) -> (i32, Value) {
    grade_json_with(sockgrade, folder, extra)
}

/// [`grade_json`] as a normal user (see [`sockgrade_as_user`]).
pub fn grade_json_as_user(folder: &Path, extra: &[&str]) -> (i32, Value) {
    grade_json_with(sockgrade_as_user, folder, extra)
}

/// Grades `folder` with JSON on stdout through `run` (sockgrade's args to
/// its output); returns the exit code and report.
pub fn grade_json_with(
    run: impl Fn(&[&str]) -> Output,
    folder: &Path,
    extra: &[&str],
) -> (i32, Value) {
    let folder = folder.to_str().expect("utf-8 path");
    let mut args = vec!["grade", folder, "--json", "-"];
    args.extend_from_slice(extra);
    let output = run(&args);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

/// The status of every exercise in a report, by id.
pub fn statuses(report: &Value) -> Vec<(String, String)> {
    report["exercises"]
        .as_array()
        .expect("exercises")
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The exercise `id` of a report.
pub fn exercise<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["exercises"]
        .as_array()
        .expect("exercises")
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no exercise {id} in the report"))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Text of an output stream, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Copies the folder `from` to `to`, without a `target/` that a local
/// build may have left in a fixture.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary folder a normal user may read (tests that grade as one).
pub fn readable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// True in CI, where a test must not skip for lack of a tool.
pub fn strict() -> bool {
    std::env::var_os("SOCKGRADE_STRICT_TESTS").is_some()
}
