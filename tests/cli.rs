//! The command line as users meet it: exit codes, messages for bad input,
//! the outputs, and the promises of DESIGN.md that only show across runs
//! (a port reusable at once, no process left behind, replayable seeds).

mod common;

use common::{
    exercise, grade_json, grade_json_as_user, in_namespace, sockgrade, sockgrade_here, submission,
    text,
};
use std::path::{Path, PathBuf};

#[test]
fn list_shows_every_exercise_with_role_port_and_points() {
    let output = sockgrade_here(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let listing = text(&output.stdout);
    for line in [
        "client-1       client  5555",
        "client-5       client  any",
        "server-4       server  1248",
    ] {
        assert!(listing.contains(line), "missing `{line}` in:\n{listing}");
    }
    assert_eq!(listing.lines().count(), 12, "{listing}");
}

#[test]
fn an_unknown_flag_is_bad_usage() {
    let output = sockgrade_here(&["grade", "--frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--frobnicate"));
}

#[test]
fn a_nonsense_timeout_scale_is_bad_usage() {
    let output = sockgrade_here(&["grade", ".", "--timeout-scale", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("not a number between 0 and 100"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_missing_submission_folder_is_bad_input() {
    let output = sockgrade_here(&["grade", "/nonexistent/submission"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("/nonexistent/submission is not a folder"));
}

#[test]
fn bad_input_found_by_a_child_grader_is_said_once_without_the_childs_own_notes() {
    // A normal user grading in namespaces: the child grader finds the bad
    // input, and the caller says what this machine cannot give, once.
    require_namespace!();
    let output = common::sockgrade_as_user(&[
        "grade",
        "/nonexistent/submission",
        "--isolation",
        "namespace",
    ]);
    let stderr = text(&output.stderr);
    if stderr.contains("--isolation namespace is not possible here") {
        assert!(!common::strict(), "{stderr}");
        eprintln!("skipped: a normal user cannot make namespaces here: {stderr}");
        return;
    }
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("not in force here"))
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        lines.last(),
        Some(
            &"sockgrade: /nonexistent/submission is not a folder: give the folder that holds the programs (client-1.py, ...)"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unknown_exercise_is_bad_input_and_lists_the_real_ones() {
    let folder = submission("missing");
    let output = sockgrade_here(&["grade", folder.to_str().unwrap(), "--exercise", "client-9"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no exercise `client-9`") && stderr.contains("client-demo, client-1"),
        "{stderr}"
    );
}

#[test]
fn a_broken_exercise_file_is_named_with_line_and_column() {
    let (_dir, file) =
        course_file("{\n  \"format\": 1,\n  \"exercises\": [\n    {\"id\": \"a\",, }\n  ]\n}\n");
    let output = sockgrade_here(&["list", "--exercises", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:4:", file.display())),
        "{stderr}"
    );
}

#[test]
fn an_exercise_file_with_a_regex_that_does_not_compile_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = exercise_file(
        dir.path(),
        &[r#""hints": [{"when": {"regex": "(unclosed"}, "hint": "close the bracket"}]"#],
    );
    let output = list_exercises(&file);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} has 1 problem(s):", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("exercise x, hint 1: the regex `(unclosed` does not compile"),
        "{stderr}"
    );
}

#[test]
fn a_missing_exercise_file_is_bad_input() {
    let output = sockgrade_here(&["list", "--exercises", "/nonexistent/course.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot read the exercise file /nonexistent/course.json"),
        "{stderr}"
    );
    assert!(
        stderr.contains("caused by: No such file or directory"),
        "{stderr}"
    );
}

#[test]
fn a_broken_manifest_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sockgrade.json"),
        "{\"exercises\": {\"client-1\": \"\"}}",
    )
    .unwrap();
    let output = sockgrade_here(&["grade", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("the command for `client-1` is empty"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn an_unwritable_report_path_is_bad_input() {
    require_namespace!();
    let folder = submission("missing");
    let output = sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--json",
        "/nonexistent/dir/r.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot write /nonexistent/dir/r.json"),
        "{stderr}"
    );
    // The cause once, and never the name of a temporary file the user
    // did not make.
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains(".tmp"), "{stderr}");
}

#[test]
fn an_instructors_exercise_file_replaces_the_notebook() {
    require_namespace!();
    let (_dir, file) = course_file(
        r#"{"format": 1, "exercises": [{"id": "client-2", "title": "Just one", "instructions": "Send 1.",
            "role": "client", "port": 5678, "points": 5, "steps": [{"expect": {"exact": "1"}}]}]}"#,
    );
    let (code, report) = grade_json(
        &submission("reference-python"),
        &["--exercises", file.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(
        common::statuses(&report),
        [("client-2".to_string(), "passed".to_string())]
    );
    assert_eq!(report["max_score"], 5.0);
    assert_eq!(report["exercises_source"], file.to_str().unwrap());
}

#[test]
fn the_json_report_has_the_documented_fields() {
    require_namespace!();
    let (code, report) = grade_json(
        &submission("wrong-text"),
        &["--exercise", "client-1", "--seed", "7"],
    );
    assert_eq!(code, 1);
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["seed"], 7);
    assert_eq!(report["score"], 0.0);
    assert_eq!(report["max_score"], 1.0);
    // A Python program ran: its start alone costs CPU, and so does the grade.
    assert!(report["programs_cpu_ms"].as_u64().unwrap() > 0, "{report}");
    assert!(report["grader_cpu_ms"].is_u64(), "{report}");
    let client_1 = exercise(&report, "client-1");
    for field in [
        "id",
        "status",
        "score",
        "max_score",
        "duration_ms",
        "message",
        "transcript",
        "stdout",
        "stderr",
    ] {
        assert!(client_1.get(field).is_some(), "no `{field}` in {client_1}");
    }
    assert_eq!(client_1["status"], "failed");
    assert_eq!(client_1["expected"], "`How do you do?`");
    assert_eq!(client_1["received"], "How are you?\\n");
    let transcript = client_1["transcript"].as_array().unwrap();
    assert!(
        transcript
            .iter()
            .any(|t| t["direction"] == "received" && t["text"] == "How are you?\\n"),
        "{transcript:?}"
    );
}

#[test]
fn an_exercise_is_chosen_by_the_underscored_name_its_file_may_have() {
    require_namespace!();
    // client_1.py is accepted as client-1's file, so -e client_1 is too.
    let (code, report) = grade_json(
        &submission("reference-python"),
        &["-e", "client_1", "-e", "server_demo"],
    );
    assert_eq!(code, 0, "{report}");
    let graded: Vec<(String, String)> = common::statuses(&report);
    assert_eq!(
        graded,
        [
            ("client-1".to_string(), "passed".to_string()),
            ("server-demo".to_string(), "passed".to_string())
        ],
        "{report}"
    );
}

#[test]
fn the_same_seed_replays_the_same_random_values() {
    require_namespace!();
    let word_sent = |seed: &str| {
        let (_, report) = grade_json(
            &submission("reference-python"),
            &["-e", "client-4", "--seed", seed],
        );
        let transcript = exercise(&report, "client-4")["transcript"]
            .as_array()
            .unwrap()
            .clone();
        transcript
            .into_iter()
            .find(|t| t["direction"] == "sent")
            .unwrap()["text"]
            .clone()
    };
    assert_eq!(word_sent("12345"), word_sent("12345"));
    let words: std::collections::HashSet<String> = ["1", "2", "3", "4", "5"]
        .iter()
        .map(|s| word_sent(s).to_string())
        .collect();
    assert!(words.len() > 1, "five seeds drew one word: {words:?}");
}

#[test]
fn a_server_without_reuseaddr_passes_twice_in_a_row() {
    require_namespace!();
    let folder = submission("no-reuseaddr");
    let output = in_namespace(&format!(
        "\"$SOCKGRADE\" grade '{0}'; \"$SOCKGRADE\" grade '{0}'",
        folder.display()
    ));
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}"); // the other exercises are missing
    assert_eq!(stdout.matches("passed   server-1").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("passed   server-3").count(), 2, "{stdout}");
}

#[test]
fn without_namespaces_a_port_already_taken_is_an_error_naming_the_program() {
    require_namespace!();
    let folder = submission("reference-python");
    let squatter = "import socket,time; s=socket.create_server(('127.0.0.1', 7890)); print('up', flush=True); time.sleep(30)";
    let output = in_namespace(&format!(
        "python3 -c \"{squatter}\" > /dev/null & squatter=$!; while ! python3 -c \"import socket; socket.create_connection(('127.0.0.1', 7890)).close()\" 2>/dev/null; do :; done; \
         \"$SOCKGRADE\" grade '{}' -e server-1 --isolation none --json -; status=$?; kill $squatter; exit $status",
        folder.display()
    ));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let server_1 = exercise(&report, "server-1");
    assert_eq!(server_1["status"], "error", "{server_1}");
    let message = server_1["message"].as_str().unwrap();
    assert!(
        message.contains("port 7890 is already in use by `"),
        "{message}"
    );
    assert!(message.contains("python3 -c import socket"), "{message}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn no_process_survives_its_exercise() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    // A server that never accepts, with a child that ignores SIGTERM; it
    // prints both PIDs (writing files elsewhere is not allowed).
    std::fs::write(
        dir.path().join("server-1.py"),
        "import os, signal, time\n\
         child = os.fork()\n\
         if child == 0:\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    time.sleep(60)\n\
         else:\n    print(os.getpid(), child, flush=True)\n    time.sleep(60)\n",
    )
    .unwrap();
    // Process groups alone (no namespaces): the PIDs printed are real.
    let (_, report) = grade_json(
        dir.path(),
        &[
            "-e",
            "server-1",
            "--timeout-scale",
            "0.2",
            "--isolation",
            "none",
        ],
    );
    let server_1 = exercise(&report, "server-1");
    assert_eq!(server_1["status"], "timeout", "{server_1}");
    let pids: Vec<&str> = server_1["stdout"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(pids.len(), 2, "{server_1}");
    for pid in pids {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = state.split_whitespace().nth(2).is_some_and(|s| s != "Z");
        assert!(!alive, "process {pid} survived: {state}");
    }
}

/// What `look` sees, looked for every 20 ms for at most 20 s (there is
/// no event for another process's children appearing).
fn seen_within_20_s<T>(mut look: impl FnMut() -> Option<T>) -> Option<T> {
    let started = std::time::Instant::now();
    loop {
        if let Some(seen) = look() {
            return Some(seen);
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `root` and the processes descending from it.
fn family_of(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, parent))
        })
        .collect();
    let mut family = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for &(pid, parent) in &parents {
            if family.contains(&parent) && !family.contains(&pid) {
                family.push(pid);
                grew = true;
            }
        }
    }
    family
}

/// The `sockgrade-*` cgroups of the processes descending from `root`.
fn cgroups_of_descendants(root: u32) -> Vec<PathBuf> {
    family_of(root)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| {
                    let mut fields = line.splitn(3, ':');
                    let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
                    path.contains("sockgrade-").then(|| {
                        let controller = controllers.split(',').next().unwrap_or("");
                        let hierarchy = controller.trim_start_matches("name=");
                        Path::new("/sys/fs/cgroup")
                            .join(hierarchy)
                            .join(path.trim_start_matches('/'))
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_grade_forks_its_child_grader_rather_than_starting_sockgrade_again() {
    require_namespace!();
    // Starting sockgrade again (`sockgrade __isolated -- __child-grade`)
    // was a tenth of a quick grade's own CPU: the command forks instead,
    // unless a thread of its own makes a fork unsafe. Seen while the
    // programs of a hanging submission run.
    let folder = submission("hang");
    let grade = common::spawn_sockgrade(&["grade", folder.to_str().unwrap()]);
    let command_lines = seen_within_20_s(|| {
        let lines: Vec<String> = family_of(grade.id())
            .iter()
            .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
            .map(|line| String::from_utf8_lossy(&line).replace('\0', " "))
            .collect();
        lines
            .iter()
            .any(|line| line.contains("python3"))
            .then_some(lines)
    })
    .unwrap_or_default();
    // SAFETY: kill of our own child, not yet waited for.
    unsafe { libc::kill(grade.id() as libc::pid_t, libc::SIGTERM) };
    let output = grade.wait_with_output().unwrap();
    assert!(
        command_lines.iter().any(|line| line.contains("python3")),
        "no program ran: {command_lines:?} {}",
        text(&output.stderr)
    );
    let graders = command_lines
        .iter()
        .filter(|line| line.contains("sockgrade") && !line.contains("python3"));
    for line in graders {
        assert!(
            !line.contains("__isolated") && !line.contains("__child-grade"),
            "sockgrade was started again: {command_lines:?}"
        );
    }
}

#[test]
fn as_root_a_grade_forks_the_pid_1_of_its_namespace_itself() {
    require_namespace!();
    require_real_root!("without root a user namespace comes first, made by a child");
    // As root no process stands between the command and the PID 1 of the
    // grade's namespace (one fork, run and end less: 0.9 ms of a grade's
    // own CPU). Seen while the programs of a hanging submission run.
    let folder = submission("hang");
    let grade = common::spawn_sockgrade(&["grade", folder.to_str().unwrap()]);
    let command = grade.id();
    let field = |pid: u32, name: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|line| {
                line.strip_prefix(name)
                    .map(|value| value.trim().to_string())
            })
    };
    let parent_of_pid_1 = seen_within_20_s(|| {
        family_of(command).into_iter().find_map(|pid| {
            let ids = field(pid, "NSpid:")?;
            let ids: Vec<&str> = ids.split_whitespace().collect();
            (ids.len() == 2 && ids[1] == "1").then(|| field(pid, "PPid:"))?
        })
    });
    // SAFETY: kill of our own child, not yet waited for.
    unsafe { libc::kill(command as libc::pid_t, libc::SIGTERM) };
    let output = grade.wait_with_output().unwrap();
    assert_eq!(
        parent_of_pid_1,
        Some(command.to_string()),
        "the namespace's PID 1 is not the command's child; stderr: {}",
        text(&output.stderr)
    );
}

/// A stop in a grade's first milliseconds, before its runtime listened
/// for signals, ended sockgrade at once (SIGTERM's own action) and left
/// its child's private folder behind, with the grade going on without it
/// (3 folders in 40 stops 2-6 ms after the start). Stopped 0-10 ms after
/// the start, 100 times: nothing may be left in TMPDIR, and every stop
/// sockgrade saw ends its grade "interrupted" (130); one before it could
/// see any (its own start) leaves nothing either.
#[test]
fn a_stop_in_a_grades_first_milliseconds_leaves_nothing_behind() {
    require_namespace!();
    let tmp = common::readable_tempdir();
    let folder = submission("reference-python");
    let output = common::in_namespace(&format!(
        r#"for step in $(seq 0 99); do
             TMPDIR='{tmp}' "$SOCKGRADE" grade '{folder}' >/dev/null 2>&1 & pid=$!
             sleep "$(printf '0.%04d' "$step")"
             kill -TERM "$pid"; wait "$pid"; echo "exit $?"
           done
           sleep 1; echo "left: [$(ls -A '{tmp}')]""#,
        tmp = tmp.path().display(),
        folder = folder.display(),
    ));
    let out = text(&output.stdout);
    assert!(out.contains("left: []"), "{out}");
    let codes: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("exit "))
        .collect();
    assert_eq!(codes.len(), 100, "{out}");
    assert!(
        codes.iter().all(|code| *code == "130" || *code == "143"),
        "{out}"
    );
}

/// Root of a user namespace made below the one that owns its PID
/// namespace (`unshare --user --map-root-user`, as a normal user's tests
/// and bench run sockgrade) may leave that PID namespace for a child but
/// not come back: the grade then enters its namespaces through a child
/// that makes them, as a normal user's does. It failed ("cannot return to
/// its own PID namespace: EPERM") when it left.
#[test]
fn a_grade_as_root_of_a_user_namespace_still_enters_its_namespaces() {
    require_namespace!();
    let folder = submission("reference-python");
    let output = common::in_namespace(&format!(
        "exec unshare --user --map-root-user \"$SOCKGRADE\" grade '{}' --json -",
        folder.display()
    ));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["isolation"], "namespaces", "{stderr}");
    assert_eq!(report["score"], 11.0, "{stderr}");
}

#[test]
fn a_grade_told_to_stop_ends_its_programs_and_removes_their_cgroups() {
    require_namespace!();
    require_real_root!("cgroups are made as the real root only");
    // As a CI runner's timeout or `kill` does (SIGTERM to sockgrade
    // alone), and as Ctrl-C in a terminal does (SIGINT to the whole
    // foreground process group, sockgrade's children too), while its
    // programs hang.
    let folder = submission("hang");
    for (signal, whole_group) in [(libc::SIGTERM, false), (libc::SIGINT, true)] {
        let grade = common::spawn_sockgrade(&["grade", folder.to_str().unwrap()]);
        let cgroups = seen_within_20_s(|| {
            let found = cgroups_of_descendants(grade.id());
            (!found.is_empty()).then_some(found)
        })
        .unwrap_or_default();
        assert!(
            !cgroups.is_empty(),
            "no program of the grade was seen in a cgroup"
        );
        let pid = grade.id() as libc::pid_t;
        // SAFETY: kill of our own child (or its process group), not yet
        // waited for.
        unsafe { libc::kill(if whole_group { -pid } else { pid }, signal) };
        let output = grade.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "signal {signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "signal {signal}: {stderr}");
        let left: Vec<&PathBuf> = cgroups.iter().filter(|dir| dir.exists()).collect();
        assert!(
            left.is_empty(),
            "signal {signal}: cgroups left behind: {left:?}"
        );
    }
}

#[test]
fn junit_goes_to_a_file_and_the_terminal_report_to_stdout() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let folder = submission("reply-not-printed");
    let output = sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite") && xml.matches("<testcase").count() == 11,
        "{xml}"
    );
    let stdout = text(&output.stdout);
    assert!(stdout.contains("failed   client-1"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "colour without a terminal: {stdout}"
    );
}

#[test]
fn reports_stay_valid_whatever_bytes_the_program_sends_and_prints() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("junit.xml"));
    let folder = submission("hostile-binary-spew");
    let output = sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let terminal = text(&output.stdout);
    assert!(
        !terminal.contains('\u{1b}') && !terminal.contains('\0'),
        "raw control bytes reached the terminal"
    );

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let client_1 = exercise(&report, "client-1");
    assert_eq!(client_1["status"], "crashed");
    assert!(
        client_1["received"]
            .as_str()
            .unwrap()
            .contains("\\u{0}\\u{1b}[31mred"),
        "{client_1}"
    );
    assert!(
        client_1["stderr"].as_str().unwrap().contains("\\xff\\xfe"),
        "{client_1}"
    );

    // Every byte of the JUnit file must parse as XML 1.0.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut testcases, mut errors) = (0, 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"testcase" => testcases += 1,
                    b"error" => errors += 1,
                    _ => {}
                }
            }
            Ok(_) => {}
            Err(e) => panic!("invalid XML at {}: {e}\n{xml}", reader.buffer_position()),
        }
    }
    assert_eq!((testcases, errors), (11, 1), "{xml}");
    assert!(
        !xml.chars()
            .any(|c| c == '\u{0}' || c == '\u{1b}' || c == '\u{fffe}'),
        "{xml}"
    );
}

#[test]
fn junit_loads_in_junitparser_as_ci_report_tools_read_it() {
    require_namespace!();
    // junitparser is the parser behind common CI report publishers.
    let probe = std::process::Command::new("python3")
        .args(["-c", "import junitparser"])
        .output();
    if !probe.is_ok_and(|p| p.status.success()) {
        assert!(
            !common::strict(),
            "SOCKGRADE_STRICT_TESTS is set, but junitparser is not installed"
        );
        eprintln!("skipped: needs the Python package junitparser (pip install junitparser)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let folder = submission("wrong-text");
    let output = sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let script = "import sys\n\
        from junitparser import JUnitXml\n\
        for suite in JUnitXml.fromfile(sys.argv[1]):\n\
        \x20   print('suite', suite.name, suite.tests, suite.failures, suite.errors)\n\
        \x20   for case in suite:\n\
        \x20       kinds = [type(r).__name__ for r in case.result]\n\
        \x20       print('case', case.name, ','.join(kinds) or 'passed')\n";
    let parsed = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "junitparser failed: {}",
        text(&parsed.stderr)
    );
    let lines = text(&parsed.stdout);
    assert!(lines.starts_with("suite wrong-text 11 11 0\n"), "{lines}");
    let case = |id: &str| {
        lines
            .lines()
            .find(|line| line.starts_with(&format!("case {id}: ")))
            .unwrap_or_else(|| panic!("no case {id}: {lines}"))
            .to_string()
    };
    assert!(case("client-1").ends_with(" Failure"), "{lines}");
    assert!(case("server-3").ends_with(" Failure"), "{lines}");
    assert!(case("client-5").ends_with(" Failure"), "{lines}"); // missing counts as a failure
    assert_eq!(lines.matches("case ").count(), 11, "{lines}");
}

/// The Jenkins xunit schema (`junit-10.xsd`, the one pytest's own tests
/// validate against) with DESIGN.md's one addition, `file` and `line` on
/// a testcase; `.ci/run` takes it from pytest's source package.
fn jenkins_schema() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/junit-10.xsd");
    path.is_file().then_some(path)
}

#[test]
fn junit_is_valid_against_the_jenkins_xunit_schema() {
    require_namespace!();
    let probe = std::process::Command::new("python3")
        .args(["-c", "import xmlschema"])
        .output();
    let (Some(schema), true) = (jenkins_schema(), probe.is_ok_and(|p| p.status.success())) else {
        assert!(
            !common::strict(),
            "SOCKGRADE_STRICT_TESTS is set, but target/tools/junit-10.xsd or xmlschema is missing"
        );
        eprintln!("skipped: needs target/tools/junit-10.xsd and xmlschema (see .ci/run)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A right submission, a wrong one and one with crashes and hostile
    // bytes, each with --missing as a grade and as a student's CI has it.
    for (fixture, missing) in [
        ("reference-python", "failure"),
        ("wrong-text", "failure"),
        ("crash-at-start", "skipped"),
        ("hostile-binary-spew", "failure"),
        ("missing", "skipped"),
    ] {
        let junit = dir.path().join(format!("{fixture}.xml"));
        let folder = submission(fixture);
        let output = sockgrade(&[
            "grade",
            folder.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--missing",
            missing,
        ]);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{fixture}: {}",
            text(&output.stderr)
        );
        let checked = std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/validate_junit.py"))
            .arg(&schema)
            .arg(&junit)
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{fixture}: not valid against junit-10.xsd: {}",
            text(&checked.stderr)
        );
    }
}

/// An exercise's `duration_ms` is its own run, launch to cleanup. It was
/// counted from the grade's start, the wait for a turn behind the other
/// exercises included: with `--jobs 1` the last of 11 exercises "took"
/// as long as the whole grade, where its run was a tenth of it. (The runs
/// overlap a little, each next one starting while the last is cleaned
/// up, so their sum may pass the whole grade's.)
#[test]
fn an_exercises_duration_leaves_out_its_wait_for_a_turn() {
    require_namespace!();
    let (code, report) = grade_json(&submission("reference-python"), &["--jobs", "1"]);
    assert_eq!(code, 0, "{report}");
    let durations: Vec<u64> = report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|exercise| exercise["duration_ms"].as_u64().unwrap())
        .collect();
    let whole = report["duration_ms"].as_u64().unwrap();
    assert!(
        durations.iter().all(|&duration| duration < whole / 2),
        "exercises {durations:?} in a grade of {whole} ms"
    );
}

#[test]
fn exercises_sharing_a_port_take_turns() {
    require_namespace!();
    let exercise = |id: &str| {
        format!(
            r#"{{"id": "{id}", "title": "t", "instructions": "i", "role": "client", "port": 5555,
                "steps": [{{"expect": {{"exact": "How do you do?"}}}}, {{"send": "fine"}}]}}"#
        )
    };
    let (_dir, file) = course_file(&format!(
        r#"{{"format": 1, "exercises": [{}, {}, {}]}}"#,
        exercise("client-1"),
        exercise("a"),
        exercise("b")
    ));
    let submission_dir = tempfile::tempdir().unwrap();
    let program = std::fs::read(submission("reference-python").join("client-1.py")).unwrap();
    for name in ["client-1.py", "a.py", "b.py"] {
        std::fs::write(submission_dir.path().join(name), &program).unwrap();
    }
    let (code, report) = grade_json(
        submission_dir.path(),
        &["--exercises", file.to_str().unwrap(), "--jobs", "3"],
    );
    assert_eq!(code, 0, "{report}");
}

/// The kernel gives a socket that asks for no port in particular (the
/// grader's listener for a client on any port, a connection's source
/// port) one from its ephemeral range, which holds the notebook's 34567:
/// once in a while the grader itself held server-demo's port when its
/// program came to listen on it, and a right server got an `error` ("port
/// 34567 is already in use by sockgrade"). In the grade's own network
/// namespace the exercises' fixed ports are kept for the programs; this
/// program says what the kernel keeps, as root and as a normal user.
#[test]
fn the_exercises_ports_are_kept_from_the_graders_own_sockets() {
    require_namespace!();
    let (dir, file) = course_file(
        r#"{"format": 1, "exercises": [
            {"id": "kept", "title": "t", "instructions": "i", "role": "server", "port": 34567,
             "steps": [{"expect": {"exact": "kept: 5555,34567"}}]},
            {"id": "other", "title": "t", "instructions": "i", "role": "client", "port": 5555,
             "steps": [{"send": "hello"}]}
        ]}"#,
    );
    let submission_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        submission_dir.path().join("kept.py"),
        r#"import socket
kept = open('/proc/sys/net/ipv4/ip_local_reserved_ports').read().strip()
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 34567))
    s.listen()
    conn, _ = s.accept()
    conn.sendall(f'kept: {kept}\n'.encode())
"#,
    )
    .unwrap();
    // The normal user's programs must reach the folder and the file.
    use std::os::unix::fs::PermissionsExt;
    for path in [dir.path(), submission_dir.path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = ["--exercises", file.to_str().unwrap(), "-e", "kept"];
    for (who, (code, report)) in [
        ("root", grade_json(submission_dir.path(), &args)),
        (
            "a normal user",
            grade_json_as_user(submission_dir.path(), &args),
        ),
    ] {
        assert_eq!(report["isolation"], "namespaces", "{who}: {report}");
        assert_passed(code, &report, "kept", who);
    }
}

/// A version manager's shim for `python3` (pyenv's is a script) costs a
/// start of its own every time it is run: the grader asks it for the
/// interpreter it starts, and no program is run through it. This shim
/// refuses to start anything for a program (whose environment names the
/// exercise's port), so a program run through it fails.
#[test]
fn a_python_shim_on_path_is_resolved_by_the_grader_and_runs_no_program() {
    require_namespace!();
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|path| Path::new(path).is_file())
    else {
        assert!(
            std::env::var_os("SOCKGRADE_STRICT_TESTS").is_none(),
            "no /usr/bin/python3 or /usr/local/bin/python3 for the shim to start"
        );
        eprintln!("skipped: no /usr/bin/python3 or /usr/local/bin/python3 for the shim to start");
        return;
    };
    let shims = tempfile::tempdir().unwrap();
    let shim = shims.path().join("python3");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\n[ -z \"$SOCKGRADE_PORT\" ] || exit 99\nexec {python} \"$@\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The normal user must reach it.
    std::fs::set_permissions(shims.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", shims.path().display());
    let (code, report) = common::grade_json_with(
        |args| common::sockgrade_as_user_with_env(&[("PATH", &path)], args),
        &submission("reference-python"),
        &["-e", "client-1"],
    );
    assert_passed(code, &report, "client-1", "a normal user");
}

#[test]
fn a_missing_interpreter_is_an_error_that_names_it_not_the_students_fault() {
    require_namespace!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client-1.js"), "// a Node.js client\n").unwrap();
    let output = in_namespace(&format!(
        "PATH=/nonexistent \"$SOCKGRADE\" grade '{}' -e client-1 --json -",
        dir.path().display()
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let client_1 = exercise(&report, "client-1");
    assert_eq!(client_1["status"], "error");
    assert!(
        client_1["message"]
            .as_str()
            .unwrap()
            .contains("`node client-1.js` needs `node`, which is not installed here"),
        "{client_1}"
    );
}

#[test]
fn with_namespaces_a_program_already_on_the_port_cannot_answer_for_the_student() {
    require_namespace!();
    let folder = submission("reference-python");
    let squatter =
        "import socket,time; s=socket.create_server(('127.0.0.1', 7890)); time.sleep(30)";
    let output = in_namespace(&format!(
        "python3 -c \"{squatter}\" & squatter=$!; while ! python3 -c \"import socket; socket.create_connection(('127.0.0.1', 7890)).close()\" 2>/dev/null; do :; done; \
         \"$SOCKGRADE\" grade '{}' -e server-1 --isolation namespace --json -; status=$?; kill $squatter; exit $status",
        folder.display()
    ));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["isolation"], "namespaces");
    assert_eq!(exercise(&report, "server-1")["status"], "passed");
}

#[test]
fn with_namespaces_a_daemon_started_by_the_program_does_not_survive() {
    require_namespace!();
    let marker = format!("61.{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    // Double fork and setsid: out of the program's process group, which
    // only the PID namespace can still reach.
    std::fs::write(
        dir.path().join("client-1.py"),
        format!(
            "import os\n\
             if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '{marker}'])\n    os._exit(0)\n\
             os.wait()\n"
        ),
    )
    .unwrap();
    let (_, report) = grade_json(
        dir.path(),
        &[
            "-e",
            "client-1",
            "--isolation",
            "namespace",
            "--timeout-scale",
            "0.2",
        ],
    );
    assert_eq!(
        exercise(&report, "client-1")["status"],
        "failed",
        "{report}"
    );
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&marker))
        .collect();
    assert!(survivors.is_empty(), "survivors: {survivors:?}");
}

#[test]
fn isolation_namespace_is_bad_input_where_namespaces_are_impossible() {
    // As root without any capability (an empty bounding set), no namespace
    // can be made: the request cannot be met, exit code 2 and the reason.
    require_namespace!();
    let folder = submission("missing");
    let output = in_namespace(&format!(
        "setpriv --bounding-set=-all -- \"$SOCKGRADE\" grade '{}' --isolation namespace",
        folder.display()
    ));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--isolation namespace is not possible here"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_submission_folder_is_bad_input() {
    require_namespace!();
    require_real_root!("needs root to make a folder this user cannot read");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("client-1.py"), "").unwrap();
    let closed = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
    std::fs::set_permissions(&secret, closed).unwrap();
    // Another user than the folder's owner: root's 0700 folder is closed to it.
    let output = in_namespace(&format!(
        "chmod 755 '{}'; setpriv --reuid=65534 --regid=65534 --clear-groups \"$SOCKGRADE\" grade '{}' --isolation none",
        dir.path().display(),
        secret.display()
    ));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let expected = format!(
        "cannot read the submission folder {}: check its permissions",
        secret.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_seed_beyond_what_json_holds_exactly_is_bad_usage() {
    let output = sockgrade_here(&["grade", "--seed", "9007199254740992", "."]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("is not in 0..=9007199254740991"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_batch_output_folder_that_cannot_be_made_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    std::fs::create_dir(dir.path().join("alice")).unwrap();
    let out = blocker.join("out");
    let output = sockgrade_here(&[
        "batch",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot create the output folder"),
        "{stderr}"
    );
}

#[test]
fn a_run_as_user_that_does_not_exist_is_bad_input() {
    require_real_root!("--run-as is only used as root");
    let folder = submission("missing");
    let output = sockgrade_here(&[
        "grade",
        folder.to_str().unwrap(),
        "--run-as",
        "no-such-user-here",
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--run-as no-such-user-here: no such user"),
        "{stderr}"
    );
}

#[test]
fn hints_name_each_classic_mistake_and_stay_silent_on_right_answers() {
    require_namespace!();
    // (fixture, exercise, what its hint must say)
    let expected = [
        ("hint-mistakes", "server-demo", "b'...' form"),
        ("hint-mistakes", "client-2", "connection was refused"),
        ("hint-mistakes", "client-4", "prefix `doubled:` is missing"),
        ("hint-mistakes", "server-2", "newline"),
        ("hint-mistakes", "server-1", "SO_REUSEADDR"),
        ("wrong-text", "server-3", "joined the two numbers as text"),
        ("wrong-text", "server-2", "spaces and punctuation"),
        ("reply-not-printed", "client-1", "printed nothing"),
        ("unnamed-mistakes", "client-4", "line break between"),
        ("unnamed-mistakes", "server-demo", "loop, recv() and answer"),
        (
            "unnamed-mistakes",
            "server-2",
            "your server speaks first: right after accept()",
        ),
        (
            "unnamed-mistakes",
            "client-5",
            "HOST and PORT your program is given",
        ),
        ("unnamed-mistakes-2", "client-5", "not its status line"),
        (
            "unnamed-mistakes-2",
            "client-1",
            r#"{"exercises": {"client-1": "ruby client-1.rb"}}"#,
        ),
        ("unnamed-mistakes-2", "server-2", "#!/usr/bin/env perl"),
    ];
    let mut reports = std::collections::HashMap::new();
    for (fixture, id, says) in expected {
        let report = reports
            .entry(fixture)
            .or_insert_with(|| grade_json(&submission(fixture), &[]).1);
        let hint = exercise(report, id)["hint"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            hint.contains(says),
            "{fixture} {id}: {hint:?} does not say {says:?}"
        );
    }
    let (_, right) = grade_json(&submission("reference-python"), &[]);
    for result in right["exercises"].as_array().unwrap() {
        assert!(
            result["hint"].is_null(),
            "a hint on a right answer: {result}"
        );
    }
}

/// `sockgrade peer ID` with the fixture program `program` run by hand
/// (started a moment later, as a student would).
fn practise(id: &str, program: &str) -> std::process::Output {
    let program = submission(program);
    in_namespace(&format!(
        "(sleep 0.3; cd '{}' && python3 {id}.py >/dev/null 2>&1) & \"$SOCKGRADE\" peer {id}",
        program.display()
    ))
}

#[test]
fn peer_narrates_a_right_client_and_passes() {
    require_namespace!();
    let output = practise("client-1", "reference-python");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("like `nc -l 5555`"), "{stdout}");
    assert!(stdout.contains("← How do you do?\\n"), "{stdout}");
    assert!(
        stdout.contains("→ I'm good, what about you?\\n"),
        "{stdout}"
    );
    assert!(stdout.contains("should also print"), "{stdout}");
    assert!(stdout.contains("✓ the conversation went"), "{stdout}");
}

#[test]
fn peer_fails_a_wrong_client_and_says_why() {
    require_namespace!();
    let output = practise("client-4", "wrong-text");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ step 2 of 2"), "{stdout}");
    assert!(stdout.contains("hint:"), "{stdout}");
}

#[test]
fn peer_waits_for_a_server_and_passes_it() {
    require_namespace!();
    let output = practise("server-2", "reference-python");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("waiting for your server on port 8675"),
        "{stdout}"
    );
    assert!(stdout.contains("✓ passed"), "{stdout}");
}

#[test]
fn peer_fails_a_wrong_server_with_a_hint() {
    require_namespace!();
    let output = practise("server-3", "wrong-text");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("joined the two numbers as text"),
        "{stdout}"
    );
}

#[test]
fn peer_with_an_unknown_exercise_is_bad_input() {
    let output = sockgrade_here(&["peer", "client-9"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("there is no exercise `client-9`"));
}

#[test]
fn a_server_on_another_port_is_named_at_once() {
    require_namespace!();
    for isolation in ["namespace", "none"] {
        let (_, report) = grade_json(
            &submission("wrong-port"),
            &["-e", "server-1", "--isolation", isolation],
        );
        let server_1 = exercise(&report, "server-1");
        assert_eq!(server_1["status"], "failed", "{isolation}: {server_1}");
        let message = server_1["message"].as_str().unwrap();
        assert!(
            message.contains("listens on port 7891, not on port 7890"),
            "{isolation}: {message}"
        );
        // Without the diagnosis this waited for the 5 s start deadline.
        assert!(
            server_1["duration_ms"].as_u64().unwrap() < 4000,
            "{isolation}: {server_1}"
        );
    }
}

#[test]
fn explain_says_what_the_grader_sends_and_accepts() {
    let output = sockgrade_here(&["explain", "server-3"]);
    assert_eq!(output.status.code(), Some(0));
    let text = text(&output.stdout);
    assert!(text.starts_with("server-3 · Adding two numbers"), "{text}");
    assert!(text.contains("port 3456") && text.contains("sum"), "{text}");
    let unknown = sockgrade_here(&["explain", "server-9"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn each_machine_format_can_have_stdout_to_itself() {
    require_namespace!();
    let folder = submission("wrong-text");
    for flag in ["--json", "--junit", "--gradescope"] {
        let output = sockgrade(&[
            "grade",
            folder.to_str().unwrap(),
            "-e",
            "client-4",
            flag,
            "-",
        ]);
        let stdout = text(&output.stdout);
        assert!(
            !stdout.contains("sockgrade 0.1.0 ·"),
            "{flag}: the terminal report went to stdout:\n{stdout}"
        );
        assert!(
            text(&output.stderr).contains("failed   client-4"),
            "{flag}: no terminal report on stderr"
        );
        if flag != "--junit" {
            serde_json::from_str::<serde_json::Value>(&stdout)
                .unwrap_or_else(|e| panic!("{flag}: {e}\n{stdout}"));
        }
    }
    let both = sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--json",
        "-",
        "--junit",
        "-",
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        text(&both.stderr)
            .contains("only one of --json, --junit, --gradescope and --html can be `-`")
    );
}

/// An exercise file of one server exercise, `extra` being more of its
/// fields, one per line after `"port": 1,` (line 5).
fn exercise_file(dir: &Path, extra: &[&str]) -> PathBuf {
    let mut lines = vec![
        "{\"format\": 1, \"exercises\": [".to_string(),
        "  {\"id\": \"x\", \"title\": \"t\", \"instructions\": \"i\",".to_string(),
        "   \"role\": \"server\",".to_string(),
        "   \"steps\": [{\"send\": \"hi\"}],".to_string(),
        "   \"port\": 1".to_string(),
    ];
    for field in extra {
        lines.push(format!("   , {field}"));
    }
    lines.push("  }]}".to_string());
    let file = dir.join("course.json");
    std::fs::write(&file, lines.join("\n")).unwrap();
    file
}

/// `sockgrade list --exercises FILE`, stopped if it takes more than 20 s.
fn list_exercises(file: &Path) -> std::process::Output {
    std::process::Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_sockgrade"), "list", "--exercises"])
        .arg(file)
        .output()
        .expect("timeout runs")
}

#[test]
fn an_exercise_file_with_an_infinite_timeout_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for (field, named) in [
        (r#""timeouts": {"step": 1e300}"#, "`timeouts.step` is 1e300"),
        (r#""timeouts": {"quiet": -0.5}"#, "`timeouts.quiet` is -0.5"),
        (
            r#""timeouts": {"total": 3601}"#,
            "`timeouts.total` is 3601.0",
        ),
    ] {
        let file = exercise_file(dir.path(), &[field]);
        let output = list_exercises(&file);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{field}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:6:", file.display())),
            "{stderr}"
        );
        assert!(stderr.contains(named), "{stderr}");
        assert!(stderr.contains("from 0 to 3600 seconds"), "{stderr}");
    }
}

#[test]
fn points_that_would_add_up_to_infinity_are_bad_input() {
    let exercise = |id: &str| {
        format!(
            r#"{{"id": "{id}", "title": "t", "instructions": "i", "role": "server", "port": 1,
              "steps": [{{"send": "hi"}}], "points": 1e308}}"#
        )
    };
    let (_dir, file) = course_file(&format!(
        "{{\"format\": 1, \"exercises\": [\n{},\n{}]}}",
        exercise("a"),
        exercise("b")
    ));
    let output = list_exercises(&file);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3:", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("`points` is 1e308; use a number from 0 to 1000000"),
        "{stderr}"
    );
}

#[test]
fn values_that_double_each_other_are_bad_input_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // v40 would be 2^40 words long, by 2^40 paths through the values.
    let mut values = vec![r#""v0": "random-word""#.to_string()];
    for i in 1..=40 {
        values.push(format!(
            r#""v{i}": {{"format": "{{v{j}}}{{v{j}}}"}}"#,
            j = i - 1
        ));
    }
    let file = exercise_file(
        dir.path(),
        &[&format!("\"values\": {{{}}}", values.join(", "))],
    );
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace(r#""send": "hi""#, r#""send": "{v40}""#),
    )
    .unwrap();
    let output = list_exercises(&file);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // Named once, where the growth passes the limit, not at every value
    // after it.
    assert_eq!(
        stderr
            .matches("this text can expand to more than 65536 characters")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("exercise x, value `v1"), "{stderr}");
}

#[test]
fn a_value_that_refers_to_itself_is_bad_input_naming_the_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let file = exercise_file(
        dir.path(),
        &[
            r#""values": {"a": {"format": "<{b}>"}, "b": {"length": "{c}"}, "c": {"format": "{a}"}}"#,
        ],
    );
    let output = list_exercises(&file);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the values depend on themselves: a → b → c → a"),
        "{stderr}"
    );
}

/// Root without CAP_SYS_ADMIN, as in a default Docker container (where
/// autograders run): no namespaces and no IPC namespace per program.
fn as_root_without_sys_admin(args: &str) -> (String, String, Option<i32>) {
    let output = in_namespace(&format!(
        "exec setpriv --bounding-set=-sys_admin \"$SOCKGRADE\" {args}"
    ));
    (
        text(&output.stdout),
        text(&output.stderr),
        output.status.code(),
    )
}

#[test]
fn root_without_sys_admin_grades_without_namespaces_and_says_so() {
    require_real_root!("needs the real root to drop a capability from");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let reference = submission("reference-python");
    let (stdout, stderr, code) = as_root_without_sys_admin(&format!(
        "grade {} --json {} -q",
        reference.display(),
        json.display()
    ));
    // Every program starts: none is refused its IPC namespace at start.
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("grading without namespaces"), "{stderr}");
    assert!(stderr.contains("an IPC namespace per program"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["isolation"], "none");
    assert_eq!(report["score"], 11.0);

    let (_, stderr, code) = as_root_without_sys_admin(&format!(
        "grade {} --isolation namespace",
        reference.display()
    ));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--isolation namespace is not possible here: the kernel does not allow new namespaces"
        ),
        "{stderr}"
    );
}

/// An unzipped upload (Gradescope's `/autograder/submission`, a zipped
/// folder): everything one level down, beside macOS's junk and dotfiles.
/// `grade` grades the one folder, and says so; a folder that holds more
/// than one folder is graded as it is.
#[test]
fn a_submission_one_folder_down_is_graded_there_and_said_so() {
    require_namespace!();
    let upload = common::readable_tempdir();
    common::copy_tree(
        &submission("reference-python"),
        &upload.path().join("python"),
    );
    std::fs::create_dir(upload.path().join("__MACOSX")).unwrap();
    std::fs::write(upload.path().join("__MACOSX/._client-1.py"), "junk").unwrap();
    std::fs::write(upload.path().join(".DS_Store"), "junk").unwrap();
    let folder = upload.path().to_str().unwrap();
    let out = sockgrade(&["grade", folder, "--json", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["score"], 11.0);
    assert_eq!(report["submission"], "python");
    let said = text(&out.stderr);
    assert!(
        said.contains("holds only the folder") && said.contains("python"),
        "{said}"
    );

    // A second folder: not an upload one level down; nothing to grade here.
    std::fs::create_dir(upload.path().join("rust")).unwrap();
    let (code, report) = grade_json(upload.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["score"], 0.0);
}

#[test]
fn colour_is_asked_for_with_color_or_clicolor_force_and_refused_with_no_color() {
    require_namespace!();
    let folder = submission("wrong-text");
    let folder = folder.to_str().unwrap();
    let has_colour = |output: &std::process::Output| text(&output.stdout).contains("\u{1b}[");
    // Into a pipe: no colour unless asked (in_namespace sets NO_COLOR=1).
    let plain = in_namespace(&format!(
        "unset NO_COLOR; exec \"$SOCKGRADE\" grade '{folder}'"
    ));
    assert!(!has_colour(&plain), "{}", text(&plain.stdout));
    let always = sockgrade(&["grade", folder, "--color", "always"]);
    assert!(has_colour(&always), "{}", text(&always.stdout));
    let forced = in_namespace(&format!(
        "unset NO_COLOR; CLICOLOR_FORCE=1 exec \"$SOCKGRADE\" grade '{folder}'"
    ));
    assert!(has_colour(&forced), "{}", text(&forced.stdout));
    let refused = in_namespace(&format!(
        "NO_COLOR=1 CLICOLOR_FORCE=1 exec \"$SOCKGRADE\" grade '{folder}'"
    ));
    assert!(!has_colour(&refused));
    let never = in_namespace(&format!(
        "unset NO_COLOR; CLICOLOR_FORCE=1 exec \"$SOCKGRADE\" grade '{folder}' --color never"
    ));
    assert!(!has_colour(&never));
}

#[test]
fn help_lists_the_exit_statuses() {
    for command in [&["--help"][..], &["grade", "--help"], &["batch", "--help"]] {
        let output = sockgrade_here(command);
        let help = text(&output.stdout);
        for line in [
            "Exit status:",
            "0    every exercise passed",
            "2    bad usage or bad input",
            "130  interrupted",
        ] {
            assert!(help.contains(line), "{command:?}: {line} in {help}");
        }
    }
}

/// An instructor's exercise file holding `json`, in a folder of its own
/// (removed with the folder returned).
fn course_file(json: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("course.json");
    std::fs::write(&file, json).unwrap();
    (dir, file)
}

/// Asserts that exercise `id` passed and the grade exited 0 (`who` ran it).
fn assert_passed(code: i32, report: &serde_json::Value, id: &str, who: &str) {
    assert_eq!(exercise(report, id)["status"], "passed", "{who}: {report}");
    assert_eq!(code, 0, "{who}: {report}");
}
