//! Ways out of the sandbox that a hostile program tried, each graded the
//! way an instructor runs sockgrade (from a terminal, from a shell that
//! holds other files open, as root): the program must do its exercise and
//! reach nothing of the grader's.

mod common;

use common::{in_namespace, submission, text};
use serde_json::Value;
use std::path::Path;

/// A private copy of sample submission `name` (graded from a folder the
/// test owns, so nothing it does touches the repository).
fn copy_of(name: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(submission(name)).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    copy
}

/// The report at `path`, or a panic that shows what the grader said.
fn report_at(path: &Path, stderr: &[u8]) -> Value {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("no report at {} ({e}): {}", path.display(), text(stderr)));
    serde_json::from_slice(&bytes).unwrap()
}

/// The stdout of exercise `id` of `report`, which must have passed: the
/// hostile programs here do their exercise right after their attack.
fn stdout_of_a_pass(report: &Value, id: &str) -> String {
    assert_eq!(common::exercise(report, id)["status"], "passed", "{report}");
    program_stdout(report, id)
}

/// The stdout a program printed in exercise `id` of `report`.
fn program_stdout(report: &Value, id: &str) -> String {
    common::exercise(report, id)["stdout"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_program_cannot_type_into_the_terminal_sockgrade_runs_in() {
    require_namespace!();
    let copy = copy_of("hostile-tty");
    let results = tempfile::tempdir().unwrap();
    let json = results.path().join("report.json");
    // As an instructor runs it: in a terminal (a pseudo-terminal made by
    // `script`), with a shell that reads the terminal right after sockgrade
    // exits; anything pushed into the terminal's input would be read here.
    let session = format!(
        "\"$SOCKGRADE\" grade '{}' -e client-1 --json '{}' >/dev/null 2>&1; \
         if read -r -t 2 typed; then echo \"TYPED:[$typed]\"; else echo NOTHING-TYPED; fi",
        copy.path().display(),
        json.display()
    );
    let output = in_namespace(&format!(
        "script -qec {} /dev/null",
        shell_words_quote(&format!("bash -c {}", shell_words_quote(&session)))
    ));
    let terminal = text(&output.stdout);
    let report = report_at(&json, &output.stderr);
    let stdout = stdout_of_a_pass(&report, "client-1");
    assert!(
        stdout.contains("/dev/tty") && !stdout.contains("injected"),
        "the program reached a terminal: {stdout}"
    );
    assert!(
        terminal.contains("NOTHING-TYPED") && !terminal.contains("SOCKGRADE-TTY-INJECTED"),
        "the terminal received: {terminal}"
    );
}

#[test]
fn a_program_gets_none_of_the_descriptors_sockgrade_inherited() {
    require_namespace!();
    let copy = copy_of("hostile-descriptors");
    let scratch = tempfile::tempdir().unwrap();
    let secret = scratch.path().join("secret");
    let log = scratch.path().join("log");
    std::fs::write(&secret, "top secret token").unwrap();
    std::fs::write(&log, "").unwrap();
    let json = scratch.path().join("report.json");
    let output = in_namespace(&format!(
        "\"$SOCKGRADE\" grade '{}' -e client-1 --json '{}' 7<'{}' 8>>'{}' >/dev/null",
        copy.path().display(),
        json.display(),
        secret.display(),
        log.display()
    ));
    let report = report_at(&json, &output.stderr);
    let stdout = stdout_of_a_pass(&report, "client-1");
    assert!(
        !stdout.contains("open descriptor"),
        "the program found descriptors: {stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "",
        "the program wrote to fd 8"
    );
}

/// The number that follows `prefix` on a line of `stdout`.
fn count_after(prefix: &str, stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count after {prefix:?}: {stdout}"))
}

/// `text` quoted for a POSIX shell.
fn shell_words_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Grades `folder` (exercises `selection`, options `extra`) in a private
/// network namespace and returns the report.
fn grade(folder: &Path, selection: &[&str], extra: &str) -> Value {
    let results = tempfile::tempdir().unwrap();
    let json = results.path().join("report.json");
    let exercises: Vec<String> = selection.iter().map(|e| format!("-e {e}")).collect();
    let output = in_namespace(&format!(
        "\"$SOCKGRADE\" grade '{}' {} {extra} --json '{}' >/dev/null",
        folder.display(),
        exercises.join(" "),
        json.display()
    ));
    report_at(&json, &output.stderr)
}

/// The System V IPC objects of the machine with `key`, by kind.
fn ipc_objects_with_key(key: u32) -> Vec<String> {
    let mut found = Vec::new();
    for kind in ["shm", "sem", "msg"] {
        let table = std::fs::read_to_string(format!("/proc/sysvipc/{kind}")).unwrap_or_default();
        for line in table.lines().skip(1) {
            let key_field = line.split_whitespace().next().unwrap_or_default();
            if key_field.parse::<i64>().ok() == Some(i64::from(key)) {
                found.push(format!("{kind}: {line}"));
            }
        }
    }
    found
}

#[test]
fn ipc_objects_and_keys_a_program_makes_do_not_outlive_it() {
    require_namespace!();
    let key = 0x50C6;
    assert!(
        ipc_objects_with_key(key).is_empty(),
        "left by an earlier run"
    );
    let copy = copy_of("hostile-ipc");
    let report = grade(copy.path(), &["client-1"], "");
    let stdout = program_stdout(&report, "client-1");
    let left = ipc_objects_with_key(key);
    // Removed before asserting, so a failure leaves nothing pinned.
    for kind in ["-M", "-S", "-Q"] {
        let _ = std::process::Command::new("ipcrm")
            .args([kind, &key.to_string()])
            .output();
    }
    assert_eq!(
        common::exercise(&report, "client-1")["status"],
        "passed",
        "{report}"
    );
    assert!(left.is_empty(), "left behind: {left:?}\n{stdout}");
    assert!(
        stdout.contains("keyring key refused"),
        "a key was left in the user's keyring: {stdout}"
    );
}

#[test]
fn a_program_reaches_no_unix_socket_of_the_host() {
    require_namespace!();
    use std::os::unix::fs::PermissionsExt;
    // A socket of the host's, open to everyone, as dbus and X11 ones are.
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = host.path().join("service.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let copy = copy_of("hostile-unix-sockets");
    std::fs::write(copy.path().join("targets.txt"), path.to_str().unwrap()).unwrap();
    let report = grade(copy.path(), &["client-1"], "");
    let stdout = stdout_of_a_pass(&report, "client-1");
    assert!(
        stdout.contains(&format!("refused {}", path.display())),
        "{stdout}"
    );
    assert!(!stdout.contains("reached"), "{stdout}");
    assert!(
        listener.accept().is_err(),
        "the host's socket was connected to"
    );
}

#[test]
fn a_program_holds_no_more_descriptors_than_the_limit() {
    require_namespace!();
    let copy = copy_of("hostile-descriptor-hog");
    let report = grade(copy.path(), &["client-1"], "");
    let stdout = stdout_of_a_pass(&report, "client-1");
    let held = count_after("descriptors: ", &stdout);
    // The limit the README promises (sandbox::DESCRIPTOR_LIMIT).
    assert!(held <= 1024, "{held} descriptors");
}

#[test]
fn a_program_filling_the_disk_is_stopped_by_the_workspace_limit() {
    require_namespace!();
    let copy = copy_of("hostile-disk-filler");
    // A memory limit above the disk's, so that the disk is what says no
    // (as root the tmpfs pages count as the program's memory too).
    let report = grade(copy.path(), &["client-1"], "--memory 3072");
    let stdout = stdout_of_a_pass(&report, "client-1");
    let wrote = count_after("wrote ", &stdout);
    assert!(
        stdout.contains("No space left on device") && wrote <= 1024,
        "{stdout}"
    );
}

#[test]
fn as_root_a_program_reads_nothing_under_dev_shm_or_opt() {
    require_namespace!();
    require_real_root!("reads are confined only when sockgrade runs as root");
    use std::os::unix::fs::PermissionsExt;
    let open = std::fs::Permissions::from_mode(0o755);
    // A batch kept in /dev/shm, and a tree in /opt that is no runtime.
    let shm = tempfile::Builder::new().tempdir_in("/dev/shm").unwrap();
    std::fs::create_dir_all("/opt").unwrap();
    let opt = tempfile::Builder::new().tempdir_in("/opt").unwrap();
    let mut targets = Vec::new();
    for tree in [shm.path(), opt.path()] {
        std::fs::set_permissions(tree, open.clone()).unwrap();
        let file = tree.join("classmate-client-1.py");
        std::fs::write(&file, "a classmate's answer").unwrap();
        targets.push(file);
    }
    let reader = tempfile::tempdir().unwrap();
    let mut program = String::from("import os\n");
    for target in &targets {
        let (file, dir) = (target.display(), target.parent().unwrap().display());
        program.push_str(&format!(
            "for attempt in (lambda: os.listdir('{dir}'), lambda: open('{file}').read()):\n    \
             try:\n        print('READ', attempt())\n    except OSError as e:\n        print('denied', e.errno)\n"
        ));
    }
    std::fs::write(reader.path().join("client-1.py"), program).unwrap();
    let report = grade(reader.path(), &["client-1"], "");
    let stdout = program_stdout(&report, "client-1");
    assert_eq!(stdout.matches("denied 13").count(), 4, "{stdout}");
    assert!(!stdout.contains("READ"), "{stdout}");
}

#[test]
fn a_program_cannot_read_the_graders_command_line() {
    require_namespace!();
    require_real_root!("as one user, the program and the grader see each other's processes");
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("client-1.py"),
        "import os\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n        \
         try:\n            print('CMDLINE', open(f'/proc/{pid}/cmdline').read())\n        \
         except OSError:\n            pass\n",
    )
    .unwrap();
    let report = grade(folder.path(), &["client-1"], "--seed 4242424242");
    let stdout = program_stdout(&report, "client-1");
    assert!(stdout.contains("CMDLINE"), "it sees itself: {stdout}");
    let folder_name = folder.path().file_name().unwrap().to_str().unwrap();
    assert!(
        !stdout.contains(folder_name) && !stdout.contains("4242424242"),
        "{stdout}"
    );
}

/// Every hostile fixture's folder name.
fn hostile_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::submissions())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("hostile-"))
        .collect();
    names.sort();
    names
}

/// The peak resident memory of process `pid` so far, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
#[ignore = "heavy: every hostile fixture in one batch; run alone with --ignored"]
fn a_batch_of_every_hostile_fixture_spares_the_reference_and_leaves_nothing() {
    require_namespace!();
    let class = tempfile::tempdir().unwrap();
    let mut names = hostile_fixtures();
    names.push("reference-python".to_string());
    for name in &names {
        let copy = class.path().join(name);
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(submission(name)).unwrap().flatten() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let out = tempfile::tempdir().unwrap();
    let ipc_before = ipc_objects_with_key(0x50C6);
    let mut batch = std::process::Command::new("unshare")
        .args(if common::real_root() {
            &["--net", "--"][..]
        } else {
            &["--net", "--map-root-user", "--"][..]
        })
        .args([
            "sh",
            "-c",
            "ip link set lo up && exec \"$SOCKGRADE\" \"$@\"",
            "sh",
        ])
        .arg("batch")
        .arg(class.path())
        .arg("--out")
        .arg(out.path())
        .env("SOCKGRADE", env!("CARGO_BIN_EXE_sockgrade"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = batch.id();
    let mut peak = 0;
    while batch.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let gradebook = std::fs::read_to_string(out.path().join("grades.csv"))
        .unwrap_or_else(|e| panic!("no gradebook ({e})"));
    let reference = gradebook
        .lines()
        .find(|l| l.starts_with("reference-python,"))
        .unwrap_or_else(|| panic!("no reference row: {gradebook}"));
    assert!(
        reference.starts_with("reference-python,11,11"),
        "{reference}"
    );
    for name in hostile_fixtures() {
        assert!(gradebook.contains(&format!("{name},")), "no row for {name}");
    }
    // Nothing left: no process of the class, no IPC object, no working copy.
    let class_path = class.path().to_string_lossy().into_owned();
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&class_path) || c.contains("SOCKGRADE-TTY"))
        .collect();
    assert!(survivors.is_empty(), "survivors: {survivors:?}");
    assert_eq!(ipc_objects_with_key(0x50C6), ipc_before, "IPC objects left");
    let workspaces: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("sockgrade-ns-"))
        .filter(|e| std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
        .collect();
    assert!(workspaces.is_empty(), "working copies left: {workspaces:?}");
    // The batch itself stays small whatever its programs did.
    assert!(peak < 200 * 1024, "the batch grew to {peak} KiB");
}
