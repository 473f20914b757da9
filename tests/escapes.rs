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
    let stdout = program_stdout(&report, "client-1");
    assert_eq!(
        common::exercise(&report, "client-1")["status"],
        "passed",
        "{report}"
    );
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
    let stdout = program_stdout(&report, "client-1");
    assert_eq!(
        common::exercise(&report, "client-1")["status"],
        "passed",
        "{report}"
    );
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

/// `text` quoted for a POSIX shell.
fn shell_words_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
