//! Hostile submissions against the sandbox, as contest judges test
//! theirs: each hostile fixture is graded, then the verdict, the time
//! bound, that nothing it started survives, the grader's own memory, and
//! that the next good submission on the same ports still gets full marks.

mod common;

use common::{in_namespace, submission, text};
use serde_json::Value;
use std::path::Path;

/// What one hostile grade produced.
struct Outcome {
    hostile: Value,
    next: Value,
    survivors: Vec<String>,
}

/// Grades a copy of hostile fixture `name` (each program's command line
/// tagged with a marker, to find survivors), then reference-python on the
/// same exercises, in one private network namespace.
fn grade_hostile(name: &str, exercises: &[&str], extra: &[&str]) -> Outcome {
    let marker = format!("sockgrade-test-marker-{}-{name}", std::process::id());
    let copy = tempfile::tempdir().unwrap();
    let mut commands = serde_json::Map::new();
    for entry in std::fs::read_dir(submission(name)).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        std::fs::copy(entry.path(), copy.path().join(&file)).unwrap();
        if let Some(id) = file.strip_suffix(".py") {
            commands.insert(
                id.to_string(),
                Value::from(format!("python3 {file} {marker}")),
            );
        }
    }
    let manifest = serde_json::json!({ "exercises": commands });
    std::fs::write(copy.path().join("sockgrade.json"), manifest.to_string()).unwrap();

    let results = tempfile::tempdir().unwrap();
    let (hostile_json, next_json) = (
        results.path().join("hostile.json"),
        results.path().join("next.json"),
    );
    let selection: Vec<String> = exercises.iter().map(|e| format!("-e {e}")).collect();
    let script = format!(
        "\"$SOCKGRADE\" grade '{}' {sel} {extra} --json '{}' >/dev/null; \
         \"$SOCKGRADE\" grade '{}' {sel} {extra} --json '{}' >/dev/null; true",
        copy.path().display(),
        hostile_json.display(),
        submission("reference-python").display(),
        next_json.display(),
        sel = selection.join(" "),
        extra = extra.join(" "),
    );
    let output = in_namespace(&script);
    let read = |path: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{name}: no result at {} ({e}); stderr: {}",
                path.display(),
                text(&output.stderr)
            )
        }))
        .unwrap()
    };
    Outcome {
        hostile: read(&hostile_json),
        next: read(&next_json),
        survivors: processes_with(&marker),
    }
}

/// Command lines of live processes containing `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'));
            (cmdline.contains(marker) && !zombie)
                .then(|| format!("{}: {cmdline}", entry.file_name().to_string_lossy()))
        })
        .collect()
}

/// The checks every hostile fixture must pass.
fn contained(name: &str, exercises: &[&str], extra: &[&str], verdict: &str) -> Outcome {
    let outcome = grade_hostile(name, exercises, extra);
    for id in exercises {
        let result = common::exercise(&outcome.hostile, id);
        assert_eq!(result["status"], verdict, "{name} {id}: {result}");
        // Every exercise ends by its deadline (20 s whole-exercise limit).
        let took = result["duration_ms"].as_u64().unwrap();
        assert!(took <= 21_000, "{name} {id} took {took} ms");
        assert_eq!(
            common::exercise(&outcome.next, id)["status"],
            "passed",
            "{name}: the next submission was harmed"
        );
    }
    assert!(
        outcome.survivors.is_empty(),
        "{name}: survivors: {:?}",
        outcome.survivors
    );
    outcome
}

/// Both ways of ending a program's processes: the PID namespace, and,
/// without namespaces, the cgroup (which needs real root).
fn isolation_modes() -> Vec<&'static [&'static str]> {
    let mut modes: Vec<&'static [&'static str]> = vec![&["--isolation", "namespace"]];
    if common::real_root() {
        modes.push(&["--isolation", "none"]);
    } else {
        eprintln!(
            "note: without namespaces only process groups remain when not root; testing namespaces only"
        );
    }
    modes
}

#[test]
fn a_daemon_holding_the_port_is_gone_and_the_next_submission_gets_the_port() {
    require_namespace!();
    for mode in isolation_modes() {
        contained("hostile-daemon", &["server-1"], mode, "timeout");
    }
}

#[test]
fn a_fork_spree_is_limited_and_leaves_no_child() {
    require_namespace!();
    for mode in isolation_modes() {
        let outcome = contained("hostile-fork-spree", &["server-1"], mode, "timeout");
        let result = common::exercise(&outcome.hostile, "server-1");
        if common::real_root() {
            // The pids cgroup (or RLIMIT_NPROC for its own user) stopped it.
            let started: u64 = result["stdout"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .last()
                .unwrap()
                .parse()
                .unwrap();
            assert!(started < 100, "{started} children: not limited; {result}");
            // The limit's own counter told the verdict why.
            let message = result["message"].as_str().unwrap();
            assert!(
                message.contains("more than 64 processes"),
                "the process limit is not named: {message}"
            );
        }
    }
}

#[test]
fn a_program_ignoring_signals_or_stopped_is_killed_by_its_deadline() {
    require_namespace!();
    for mode in isolation_modes() {
        contained(
            "hostile-signal-ignorer",
            &["server-demo", "client-2"],
            mode,
            "timeout",
        );
    }
}

#[test]
fn a_dribbler_ends_by_the_step_deadline() {
    require_namespace!();
    let outcome = contained("hostile-dribbler", &["client-1"], &[], "failed");
    let took = common::exercise(&outcome.hostile, "client-1")["duration_ms"]
        .as_u64()
        .unwrap();
    assert!(
        took < 10_000,
        "the 3 s step deadline did not end it: {took} ms"
    );
}

#[test]
fn floods_leave_the_graders_memory_flat() {
    require_namespace!();
    let baseline =
        grade_hostile("hostile-parent-killer", &["client-1"], &[]).next["grader_max_rss_kib"]
            .as_u64()
            .unwrap();
    for fixture in ["hostile-output-flood", "hostile-socket-flood"] {
        let outcome = contained(fixture, &["client-1"], &[], "failed");
        let peak = outcome.hostile["grader_max_rss_kib"].as_u64().unwrap();
        assert!(
            peak < baseline + 8 * 1024,
            "{fixture}: the grader grew from {baseline} KiB to {peak} KiB"
        );
        let stdout = common::exercise(&outcome.hostile, "client-1")["stdout"]
            .as_str()
            .unwrap()
            .len();
        assert!(
            stdout < 128 * 1024,
            "{fixture}: {stdout} bytes of output kept"
        );
    }
}

#[test]
fn a_memory_hog_is_stopped_at_the_limit_and_told_so() {
    require_namespace!();
    let outcome = contained(
        "hostile-memory-hog",
        &["client-1"],
        &["--memory", "256"],
        "crashed",
    );
    let message = common::exercise(&outcome.hostile, "client-1")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("256 MiB"), "{message}");
}

#[test]
fn a_parent_killer_does_not_take_the_grade_with_it() {
    require_namespace!();
    for mode in isolation_modes() {
        contained("hostile-parent-killer", &["client-1"], mode, "failed");
    }
}

#[test]
fn binary_spew_is_shown_escaped_and_contained() {
    require_namespace!();
    contained("hostile-binary-spew", &["client-1"], &[], "crashed");
}

#[test]
fn writes_outside_the_programs_folders_fail() {
    require_namespace!();
    let landlock = grade_hostile("hostile-writes-outside", &["client-1"], &[]);
    let protections = landlock.hostile["protections"].as_array().unwrap();
    if !protections.iter().any(|p| p["kind"] == "landlock") {
        assert!(
            !common::strict(),
            "SOCKGRADE_STRICT_TESTS is set, but this kernel has no Landlock"
        );
        eprintln!("skipped: this kernel has no Landlock");
        return;
    }
    let outcome = contained("hostile-writes-outside", &["client-1"], &[], "passed");
    let stdout = common::exercise(&outcome.hostile, "client-1")["stdout"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stdout.contains("denied /tmp/sockgrade-escape-check"),
        "{stdout}"
    );
    assert!(stdout.contains("denied ../escaped.txt"), "{stdout}");
    assert!(stdout.contains("inside ok"), "{stdout}");
    assert!(!Path::new("/tmp/sockgrade-escape-check").exists());
}

#[test]
fn every_result_says_which_protections_were_in_force() {
    require_namespace!();
    let outcome = grade_hostile("hostile-parent-killer", &["client-1"], &[]);
    assert_eq!(outcome.hostile["isolation"], "namespaces");
    let protections = outcome.hostile["protections"].as_array().unwrap();
    let has = |kind: &str| protections.iter().any(|p| p["kind"] == kind);
    assert!(has("rlimits"), "{protections:?}");
    if common::real_root() {
        assert!(
            protections
                .iter()
                .any(|p| p["kind"] == "user" && p["uid"] == 65534),
            "{protections:?}"
        );
        assert!(has("cgroup"), "{protections:?}");
    }
}

#[test]
fn a_program_sees_none_of_the_graders_environment() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("client-1.py"),
        "import os\nprint(sorted(os.environ))\nprint(os.environ.get('CI_SECRET_TOKEN', 'no secret'))\n",
    )
    .unwrap();
    let output = in_namespace(&format!(
        "CI_SECRET_TOKEN=hunter2 \"$SOCKGRADE\" grade '{}' -e client-1 --json -",
        dir.path().display()
    ));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stdout = common::exercise(&report, "client-1")["stdout"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stdout.contains("no secret") && !stdout.contains("hunter2"),
        "{stdout}"
    );
    for expected in ["SOCKGRADE_PORT", "PYTHONUNBUFFERED", "TMPDIR", "PATH"] {
        assert!(stdout.contains(expected), "{expected} missing: {stdout}");
    }
}

#[test]
fn as_root_a_program_cannot_read_other_submissions() {
    require_namespace!();
    require_real_root!("reads are confined only when sockgrade runs as root");
    // Another student's file, readable by everyone, as instructors' batch
    // folders usually are.
    let batch = tempfile::tempdir().unwrap();
    let open = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(batch.path(), open).unwrap();
    let secret = batch.path().join("other-student-answer.py");
    std::fs::write(&secret, "the answer").unwrap();
    let reader = batch.path().join("reader");
    std::fs::create_dir(&reader).unwrap();
    std::fs::write(
        reader.join("client-1.py"),
        format!(
            "try:\n    print('READ', open({secret:?}).read())\nexcept OSError as e:\n    print('denied', e.errno)\n",
            secret = secret.to_str().unwrap()
        ),
    )
    .unwrap();
    let (_, report) = common::grade_json(&reader, &["-e", "client-1"]);
    let result = common::exercise(&report, "client-1");
    let stdout = result["stdout"].as_str().unwrap();
    assert!(stdout.contains("denied 13"), "{result}");
    assert!(!stdout.contains("the answer"), "{result}");
}

/// A file only root may read (in a folder only root may enter), holding
/// `token`: what a student must never reach through their submission.
fn root_only_secret(token: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, token).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    (dir, secret)
}

/// The notebook's client-1, after printing whether each of `names` is in
/// its working folder (and the start of what it can read there).
fn client_1_probing(names: &[&str]) -> String {
    format!(
        "import os, socket\n\
         for name in {names:?}:\n\
         \x20   if not os.path.lexists(name):\n\
         \x20       print(name, 'absent')\n\
         \x20   elif os.path.isfile(name) or os.path.islink(name):\n\
         \x20       try:\n\
         \x20           print(name, 'READ', open(name, 'rb').read(64))\n\
         \x20       except OSError as e:\n\
         \x20           print(name, 'present, denied', e.errno)\n\
         \x20   else:\n\
         \x20       print(name, 'present')\n\
         with socket.create_connection(('127.0.0.1', 5555)) as s:\n\
         \x20   s.sendall(b'How do you do?\\n')\n\
         \x20   print(s.recv(1024).decode().strip())\n"
    )
}

#[test]
fn hard_links_links_out_fifos_and_devices_never_reach_the_program() {
    require_namespace!();
    require_real_root!("only root can make another user's hard link and hand files to nobody");
    let token = "sockgrade-test-secret-7f3a";
    let (_secret_dir, secret) = root_only_secret(token);
    let folder = tempfile::tempdir().unwrap();
    let at = |name: &str| folder.path().join(name);
    let probed = [
        "stolen.txt",
        "unreadable.txt",
        "outside-link",
        "loop-a",
        "pipe",
        "zero",
    ];
    std::fs::write(at("client-1.py"), client_1_probing(&probed)).unwrap();
    // The student's folder and program are theirs (uid 12345); the rest is
    // what such a student can plant where the kernel allows it.
    for path in [folder.path().to_path_buf(), at("client-1.py")] {
        std::os::unix::fs::lchown(&path, Some(12345), Some(12345)).unwrap();
    }
    std::fs::hard_link(&secret, at("stolen.txt")).unwrap();
    std::fs::copy(&secret, at("unreadable.txt")).unwrap();
    std::os::unix::fs::symlink(&secret, at("outside-link")).unwrap();
    std::os::unix::fs::symlink(&secret, at("client-2.py")).unwrap();
    std::os::unix::fs::symlink("loop-b", at("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", at("loop-b")).unwrap();
    nix::unistd::mkfifo(&at("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    mknod(
        &at("zero"),
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, 5),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let (_, report) = common::grade_json(folder.path(), &["-e", "client-1", "-e", "client-2"]);
    assert!(
        started.elapsed().as_secs() < 30,
        "the grade took {:?}",
        started.elapsed()
    );
    assert!(
        !report.to_string().contains(token),
        "the secret leaked: {report}"
    );
    let client_1 = common::exercise(&report, "client-1");
    assert_eq!(client_1["status"], "passed", "{client_1}");
    let stdout = client_1["stdout"].as_str().unwrap();
    for name in probed {
        assert!(
            stdout.contains(&format!("{name} absent")),
            "{name}: {stdout}"
        );
    }
    assert!(
        client_1["transcript"]
            .to_string()
            .contains("not copied from the submission: "),
        "{client_1}"
    );
    let client_2 = common::exercise(&report, "client-2");
    assert_eq!(client_2["status"], "missing", "{client_2}");
    let message = client_2["message"].as_str().unwrap();
    assert!(
        message.contains(
            "client-2.py was not copied: it is a symbolic link to outside the submission"
        ),
        "{message}"
    );
}

#[test]
fn a_build_cannot_leave_links_out_or_fifos_for_the_exercises() {
    require_namespace!();
    let folder = tempfile::tempdir().unwrap();
    let probed = ["passwd-link", "pipe", "inside-link"];
    std::fs::write(folder.path().join("client-1.py"), client_1_probing(&probed)).unwrap();
    let manifest = serde_json::json!({
        "build": "mkfifo pipe && ln -s /etc/passwd passwd-link && ln -s client-1.py inside-link",
        "exercises": { "client-1": "python3 client-1.py" },
    });
    std::fs::write(folder.path().join("sockgrade.json"), manifest.to_string()).unwrap();
    let (_, report) = common::grade_json(folder.path(), &["-e", "client-1"]);
    let result = common::exercise(&report, "client-1");
    assert_eq!(result["status"], "passed", "{result}");
    let stdout = result["stdout"].as_str().unwrap();
    assert!(stdout.contains("passwd-link absent"), "{stdout}");
    assert!(stdout.contains("pipe absent"), "{stdout}");
    assert!(stdout.contains("inside-link READ b'import os"), "{stdout}");
}

#[test]
fn a_manifest_that_is_a_link_a_fifo_or_huge_is_refused_at_once_and_never_quoted() {
    require_namespace!();
    // Named like a field, so that a JSON error about the file would quote it.
    let token = "ghp_sockgradetestsecret";
    let (_secret_dir, secret) = root_only_secret(&format!("{{\"{token}\": 1}}"));
    let folder = tempfile::tempdir().unwrap();
    let manifest = folder.path().join("sockgrade.json");
    std::fs::copy(
        common::submission("reference-python").join("client-1.py"),
        folder.path().join("client-1.py"),
    )
    .unwrap();
    let grade = |extra: &str| {
        let started = std::time::Instant::now();
        let output = in_namespace(&format!(
            "timeout 20 \"$SOCKGRADE\" grade '{}' -e client-1 {extra} --json -",
            folder.path().display()
        ));
        let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}: {said}",
            started.elapsed()
        );
        (output.status.code(), said)
    };

    std::os::unix::fs::symlink(&secret, &manifest).unwrap();
    let (code, said) = grade("");
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("is a symbolic link, which is not read"),
        "{said}"
    );
    assert!(!said.contains(token), "the secret leaked: {said}");

    std::fs::remove_file(&manifest).unwrap();
    nix::unistd::mkfifo(&manifest, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for mode in isolation_modes() {
        let (code, said) = grade(&mode.join(" "));
        assert_eq!(code, Some(2), "{said}");
        assert!(said.contains("FIFO"), "{said}");
    }

    std::fs::remove_file(&manifest).unwrap();
    std::fs::write(&manifest, format!("{{{}}}", " ".repeat(100 << 10))).unwrap();
    let (code, said) = grade("");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("limit of 64 KiB"), "{said}");
}

#[test]
fn a_submission_too_large_or_with_too_many_files_is_an_error_for_every_exercise() {
    require_namespace!();
    let exercises = ["client-1", "client-2", "client-3"];
    let selection: Vec<&str> = exercises.iter().flat_map(|e| ["-e", *e]).collect();
    let reference = |folder: &Path| {
        for id in exercises {
            let file = format!("{id}.py");
            std::fs::copy(
                common::submission("reference-python").join(&file),
                folder.join(&file),
            )
            .unwrap();
        }
    };

    let sparse = tempfile::tempdir().unwrap();
    reference(sparse.path());
    std::fs::File::create(sparse.path().join("data.bin"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let many = tempfile::tempdir().unwrap();
    reference(many.path());
    std::fs::create_dir(many.path().join("data")).unwrap();
    for i in 0..10_001 {
        std::fs::File::create(many.path().join(format!("data/{i}"))).unwrap();
    }

    for (folder, limit) in [(&sparse, "64 MiB"), (&many, "10000 files")] {
        let started = std::time::Instant::now();
        let (code, report) = common::grade_json(folder.path(), &selection);
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 1, "{report}");
        for id in exercises {
            let result = common::exercise(&report, id);
            assert_eq!(result["status"], "error", "{result}");
            let message = result["message"].as_str().unwrap();
            assert!(message.contains(&format!("limit of {limit}")), "{message}");
        }
    }
}
