//! Reporters: pure functions from a [`SubmissionReport`] to bytes (terminal
//! text, JSON, JUnit XML, an HTML page), and [`write_atomically`], the one place that writes
//! a report file.
//!
//! [`SubmissionReport`]: crate::outcome::SubmissionReport

pub mod colour;
pub mod csv;
pub(crate) mod evidence;
pub mod gradescope;
pub mod html;
pub mod json;
pub mod junit;
pub mod listing;
pub mod schema;
pub mod summary;
pub mod terminal;

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, or to stdout for `-`; a failure
/// is bad input naming the path (escaped: it may hold any byte).
pub fn emit(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if path == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::bad_input("cannot write to stdout").with_source(e));
    }
    write_atomically(path, bytes).map_err(|e| {
        Error::bad_input(format!(
            "cannot write {}: {e}; check that its folder exists and is writable",
            crate::text::escape_path(path)
        ))
        .with_source(e)
    })
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one, never a half-written report: the bytes go to a temporary
/// file in the same folder, which is then renamed over `path`.
///
/// The error is the bare I/O error; the caller names the path in its message.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A device, FIFO or terminal (`--json /dev/null`, `/dev/stdout`) is
    // written to, never replaced: as root a rename over /dev/null would
    // turn the machine's /dev/null into a report.
    if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir()) {
        let mut target = std::fs::OpenOptions::new().write(true).open(path)?;
        target.write_all(bytes)?;
        return target.flush();
    }
    // The temporary file must be on the same file system as `path` for the
    // rename to be atomic, hence its folder; "" is how `parent` says "here".
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(without_temporary_path)?;
    // A temporary file is private (0600); a report is for CI uploaders and
    // other users to read, like any file the user would have created.
    crate::platform::set_file_mode(file.as_file(), 0o644)?;
    file.write_all(bytes).map_err(without_temporary_path)?;
    file.flush().map_err(without_temporary_path)?;
    file.persist(path)
        .map_err(|error| without_temporary_path(error.error))?;
    Ok(())
}

/// The error without the name of the temporary file that tempfile adds
/// (`... at path "/out/.tmpx2HS0c"`): the user never made that file, and
/// the caller names the one they asked for. tempfile's wrapper type is
/// private, so its text is cut where the OS's message ends (which never
/// holds " at path ").
fn without_temporary_path(error: std::io::Error) -> std::io::Error {
    let Some(wrapped) = error.get_ref() else {
        return error;
    };
    match wrapped.to_string().split_once(" at path ") {
        Some((cause, _)) => std::io::Error::new(error.kind(), cause.to_string()),
        None => error,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A hand-built report shared by the reporters' tests.

    #[cfg(unix)]
    #[test]
    fn a_report_written_to_a_fifo_or_device_leaves_it_what_it_is() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        super::write_atomically(&fifo, b"{}\n").unwrap();
        // Checked first: a replaced FIFO would leave the reader waiting.
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(reader.join().unwrap(), b"{}\n");
    }

    use super::*;
    use crate::outcome::{
        Direction, ExerciseResult, ExitInfo, Status, SubmissionReport, ToolInfo, TranscriptEntry,
    };

    fn exercise(id: &str, status: Status) -> ExerciseResult {
        ExerciseResult {
            id: id.to_string(),
            title: format!("Title of {id}"),
            status,
            score: if status == Status::Passed { 1.0 } else { 0.0 },
            max_score: 1.0,
            duration_ms: 120,
            message: String::new(),
            hint: None,
            expected: None,
            received: None,
            command: Some(format!("python3 {id}.py")),
            exit: None,
            transcript: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
            program_file: Some(format!("{id}.py")),
            visibility: crate::exercise::Visibility::Visible,
            robustness: Vec::new(),
        }
    }

    /// One passed, one failed (with hostile text in every field), one
    /// crashed with a traceback, one missing.
    pub(crate) fn sample_report() -> SubmissionReport {
        let passed = exercise("client-demo", Status::Passed);

        let mut failed = exercise("client-1", Status::Failed);
        failed.title = "Ask how \u{1b}[31mthey do".to_string();
        failed.message =
            "expected the reply to be printed]]> <b>&\u{0}\u{1b}[2J\u{fffe}\nhint: print it"
                .to_string();
        failed.expected = Some("How do you do?".to_string());
        failed.received = Some("How are you?\\n\u{0}\u{1b}]]>".to_string());
        failed.duration_ms = 2_000;
        failed.transcript = vec![
            TranscriptEntry {
                at_ms: 3,
                direction: Direction::Event,
                text: "connected".to_string(),
            },
            TranscriptEntry {
                at_ms: 5,
                direction: Direction::Received,
                text: "How are you?\\n\u{0}\u{1b}[0m\u{fffe}\u{ffff}".to_string(),
            },
            TranscriptEntry {
                at_ms: 10,
                direction: Direction::Sent,
                text: "I'm good\\n".to_string(),
            },
        ];
        failed.stdout = "line one\n\u{1b}[2Jline two ]]> \u{fffe}\n".to_string();

        let mut crashed = exercise("client-2", Status::Crashed);
        crashed.message = "the program exited with exit status 1".to_string();
        crashed.exit = Some(ExitInfo {
            code: Some(1),
            signal: None,
            killed_by_grader: false,
        });
        crashed.stderr = (1..=15)
            .map(|n| format!("stderr line {n}\n"))
            .collect::<String>();

        let mut missing = exercise("client-5", Status::Missing);
        missing.message = "no client-5.py, client_5.py, client-5.sh or client-5".to_string();
        missing.command = None;
        missing.duration_ms = 0;

        SubmissionReport {
            schema_version: crate::outcome::SCHEMA_VERSION,
            tool: ToolInfo::default(),
            submission: "alice".to_string(),
            path: "submissions/alice".to_string(),
            seed: 12345,
            graded_folder: None,
            exercises_source: "embedded".to_string(),
            isolation: crate::outcome::Isolation::None,
            grader_max_rss_kib: Some(4096),
            grader_cpu_ms: Some(40),
            programs_cpu_ms: Some(360),
            protections: vec![crate::outcome::Protection::Rlimits {
                file_size_mib: 64,
                descriptors: 1024,
                address_space_mib: None,
            }],
            score: 1.0,
            max_score: 4.0,
            duration_ms: 1_234,
            exercises: vec![passed, failed, crashed, missing],
        }
    }

    /// [`sample_report`] with its passed exercise replayed in `variants`
    /// (each with its status), and that exercise's index.
    pub(crate) fn sample_report_replayed(
        variants: &[(crate::exercise::Variant, Status)],
    ) -> (SubmissionReport, usize) {
        let mut report = sample_report();
        let passed = report
            .exercises
            .iter()
            .position(|e| e.status == Status::Passed)
            .expect("the sample has a passed exercise");
        report.exercises[passed].robustness = variants
            .iter()
            .map(|&(variant, status)| crate::outcome::VariantResult {
                variant,
                seed: 3,
                status,
                message: format!("with {}: it answered a part", variant.describe()),
                hint: Some("TCP carries a stream of bytes".into()),
                expected: Some("`hello`".into()),
                received: Some("he".into()),
                transcript: Vec::new(),
            })
            .collect();
        (report, passed)
    }

    #[test]
    fn every_format_lays_out_the_evidence_in_the_same_order() {
        let mut report = sample_report();
        // Its message has a `hint:` line of its own: only the field counts.
        report.exercises[1].message = "expected the reply to be printed".to_string();
        report.exercises[1].hint = Some("print the reply".to_string());
        let terminal = terminal::render(&report, terminal::Style { color: false });
        let junit = String::from_utf8(junit::render(
            std::slice::from_ref(&report),
            junit::MissingAs::Failure,
        ))
        .unwrap();
        let gradescope = String::from_utf8(gradescope::render(&report)).unwrap();
        for (format, text) in [
            ("terminal", terminal),
            ("junit", junit),
            ("gradescope", gradescope),
        ] {
            let at = |label: &str| {
                text.find(&format!("{label}: "))
                    .or_else(|| text.find(&format!("{label}:  ")))
                    .unwrap_or_else(|| panic!("{format} has no `{label}`: {text}"))
            };
            let order = [at("hint"), at("command"), at("expected"), at("received")];
            assert!(
                order.windows(2).all(|pair| pair[0] < pair[1]),
                "{format}: hint, command, expected, received out of order: {text}"
            );
        }
    }

    #[test]
    fn writes_a_file_atomically_over_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new report").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new report");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
