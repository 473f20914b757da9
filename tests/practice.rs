//! `sockgrade peer`, as a student practises with it: the grader's side
//! played live on the notebook's port while the student runs their own
//! program by hand. Each test runs in a private network namespace, so the
//! notebook's fixed ports never meet another test's.

mod common;

use common::{in_namespace, namespace_unavailable, strict, submission, text};

/// Runs `sockgrade peer ARGS` in the background, waits for it to say it is
/// ready, runs `student` (a shell command), and prints the peer's exit
/// code and its narration.
fn practise(peer_args: &str, student: &str) -> String {
    let script = format!(
        r#"
        "$SOCKGRADE" peer {peer_args} --timeout-scale 1 > peer.out 2>&1 &
        peer=$!
        tries=0
        until grep -q -e 'now run your client' -e 'start it now' peer.out; do
            tries=$((tries + 1)); [ $tries -gt 400 ] && break; sleep 0.05
        done
        {student}
        wait $peer
        echo "peer exit $?"
        cat peer.out
        "#
    );
    in_a_folder_of_its_own(&script)
}

/// Runs `script` in a private network namespace and a temporary folder;
/// everything it printed.
fn in_a_folder_of_its_own(script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!("cd {} || exit 9\n{script}", dir.path().display()));
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

fn skip() -> bool {
    if let Some(why) = namespace_unavailable() {
        assert!(!strict(), "no namespace here: {why}");
        eprintln!("skipped: {why}");
        return true;
    }
    false
}

fn program(name: &str) -> String {
    submission("reference-python")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_right_client_passes_and_the_conversation_is_narrated() {
    if skip() {
        return;
    }
    let said = practise(
        "client-1 --seed 1",
        &format!("python3 {} > /dev/null", program("client-1.py")),
    );
    assert!(said.contains("peer exit 0"), "{said}");
    assert!(said.contains("listening on 127.0.0.1 port 5555"), "{said}");
    assert!(said.contains("← How do you do?"), "{said}");
    // What the client prints is not seen here: no "passed" a grade of the
    // same client could refute, but what checks it.
    assert!(said.contains("✓ the conversation went"), "{said}");
    assert!(
        said.contains("`sockgrade grade -e client-1` checks that too"),
        "{said}"
    );
    assert!(!said.contains("✓ passed"), "{said}");
}

#[test]
fn the_verdict_comes_right_after_a_conversation_a_person_keeps_open() {
    if skip() {
        return;
    }
    // A person's netcat keeps the connection open after the last reply
    // until told to close. With the default timeouts (ten times a
    // grade's) the verdict must still come at once, not ten exit graces
    // (20 s) later: the peer ends while this client still holds its
    // connection, for 12 s.
    let said = in_a_folder_of_its_own(
        r#"
        "$SOCKGRADE" peer client-1 --seed 1 > peer.out 2>&1 &
        peer=$!
        tries=0
        until grep -q 'now run your client' peer.out; do
            tries=$((tries + 1)); [ $tries -gt 400 ] && break; sleep 0.05
        done
        python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', 5555))
s.sendall(b'How do you do?\n')
s.recv(1024)
time.sleep(12)
open('student-closing', 'w').close()
" &
        student=$!
        wait $peer
        echo "peer exit $?"
        [ -e student-closing ] || echo "student still connected"
        kill $student
        cat peer.out
        "#,
    );
    assert!(said.contains("peer exit 0"), "{said}");
    assert!(said.contains("student still connected"), "{said}");
    assert!(said.contains("✓ the conversation went"), "{said}");
}

#[test]
fn a_wrong_client_fails_with_what_was_expected_and_the_exercises_hint() {
    if skip() {
        return;
    }
    // Sends the word once after `doubled:`, a mistake client-4's
    // exercise data has a hint for.
    let wrong = r#"python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', 8765))
word = s.recv(1024).decode().strip()
s.sendall(('doubled:' + word + '\n').encode())
s.close()
""#;
    let said = practise("client-4 --seed 1", wrong);
    assert!(said.contains("peer exit 1"), "{said}");
    assert!(said.contains("✗ "), "{said}");
    assert!(said.contains("expected: `doubled:"), "{said}");
    assert!(
        said.contains("hint: the word must come twice after `doubled:`"),
        "{said}"
    );
}

#[test]
fn a_server_the_student_started_first_is_reached() {
    if skip() {
        return;
    }
    // A person may start their server before the grader: unlike a grade,
    // where a listener already there is a stale program, practice talks
    // to it.
    let said = in_a_folder_of_its_own(&format!(
        r#"
        python3 {server} > server.out 2>&1 &
        tries=0
        until ss -ltn | grep -q ':7890 '; do
            tries=$((tries + 1)); [ $tries -gt 400 ] && break; sleep 0.05
        done
        "$SOCKGRADE" peer server-1 --seed 1 --timeout-scale 1 > peer.out 2>&1
        echo "peer exit $?"
        cat peer.out
        "#,
        server = program("server-1.py")
    ));
    assert!(said.contains("peer exit 0"), "{said}");
    assert!(said.contains("✓ passed"), "{said}");
}

#[test]
fn a_server_started_after_the_grader_is_waited_for() {
    if skip() {
        return;
    }
    let said = practise(
        "server-3 --seed 4",
        &format!("python3 {} > /dev/null 2>&1", program("server-3.py")),
    );
    assert!(said.contains("peer exit 0"), "{said}");
    assert!(said.contains("connected to the program"), "{said}");
    assert!(said.contains("✓ passed"), "{said}");
}

#[test]
fn a_split_variant_shows_a_one_recv_client_what_a_network_does() {
    if skip() {
        return;
    }
    // The notebook's client-4 takes one recv for the word: split, it
    // answers the first segment alone.
    let said = practise(
        "client-4 --seed 3 --variant split",
        &format!("python3 {} > /dev/null", program("client-4.py")),
    );
    assert!(said.contains("peer exit 1"), "{said}");
    assert!(said.contains("split its next message"), "{said}");
    // One that reads the line whole passes the same conversation.
    let framed = submission("robust-python").join("client-4.py");
    let said = practise(
        "client-4 --seed 3 --variant split",
        &format!("python3 {} > /dev/null", framed.display()),
    );
    assert!(said.contains("peer exit 0"), "{said}");
}
