//! The HTML reports as a person sees them: written by the built binary for
//! real submissions (`grade --html`, `batch`), then loaded in a headless
//! Chromium, which must show every exercise and every message, log nothing
//! to its console (a blocked request or a refused script would be logged
//! there), and never run what a student's program printed. `--dump-dom`
//! gives the DOM and a screenshot; `tests/tools/browse.py` drives the
//! browser over the DevTools protocol on a pipe to see every request the
//! page makes and to click the class table's headings.

mod common;

use common::{copy_tree, in_namespace, submission, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The browser the pages are loaded in.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest a page may take to load, screenshot included: `timeout` ends
/// the browser after it.
const BROWSER_TIMEOUT: &str = "120s";

/// What a program of the hostile submission sends, prints and exits with.
const HOSTILE: &str =
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";

/// True when the browser is here; otherwise says why the test is skipped
/// (and fails it in CI).
fn have_browser() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        !common::strict(),
        "SOCKGRADE_STRICT_TESTS is set, but {CHROMIUM} is missing: .ci/run installs it"
    );
    eprintln!("skipped: {CHROMIUM} is not installed (apt-get install chromium)");
    false
}

/// A page as the browser left it.
struct Loaded {
    /// The DOM after loading, scripts run.
    dom: String,
    /// What the page logged to the console, CSP violations included.
    console: Vec<String>,
}

/// `file://` URL of `path`, every byte but `/` and unreserved ones
/// percent-encoded (submission names hold `<`, quotes and spaces).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_str().expect("utf-8 path").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Runs the headless browser on `page` with `mode` (`--dump-dom` or a
/// screenshot), a profile of its own so that tests can run at once.
fn chromium(page: &Path, mode: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("timeout")
        .arg(BROWSER_TIMEOUT)
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(mode)
        .arg(file_url(page))
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs")
}

/// Loads `page`, and takes its screenshot into
/// `target/html-screenshots/NAME.png`.
fn load(page: &Path, name: &str) -> Loaded {
    assert!(page.is_file(), "no page at {}", page.display());
    let output = chromium(page, &["--dump-dom"]);
    assert!(
        output.status.success(),
        "chromium: {}",
        text(&output.stderr)
    );
    let console = text(&output.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(format!("{name}.png"));
    let screenshot = chromium(
        page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,2000",
        ],
    );
    assert!(
        screenshot.status.success() && shot.is_file(),
        "no screenshot: {}",
        text(&screenshot.stderr)
    );
    Loaded {
        dom: text(&output.stdout),
        console,
    }
}

impl Loaded {
    fn count(&self, needle: &str) -> usize {
        self.dom.matches(needle).count()
    }

    fn title(&self) -> &str {
        let start = self.dom.find("<title>").expect("a title") + "<title>".len();
        let end = self.dom[start..].find("</title>").expect("a closed title");
        &self.dom[start..start + end]
    }

    /// The page logged nothing: no blocked request, no refused or failing
    /// script.
    fn assert_quiet(&self) {
        assert!(self.console.is_empty(), "console: {:#?}", self.console);
    }
}

/// What the page did in the browser, driven over the DevTools protocol
/// by `tests/tools/browse.py`: every request it made, what it logged,
/// its uncaught exceptions, its title, and the value of each of
/// `expressions` evaluated in it, in order, after it loaded.
fn browse(page: &Path, expressions: &[&str]) -> Value {
    let visit = visit(page, expressions);
    // Nothing but the page itself: no request to the network or the disk.
    assert_eq!(
        visit["requests"],
        serde_json::json!([file_url(page)]),
        "{visit:#}"
    );
    assert_eq!(visit["console"], serde_json::json!([]), "{visit:#}");
    assert_eq!(visit["exceptions"], serde_json::json!([]), "{visit:#}");
    visit
}

/// What `tests/tools/browse.py` saw of `page`, unchecked.
fn visit(page: &Path, expressions: &[&str]) -> Value {
    let output = Command::new("timeout")
        .arg(BROWSER_TIMEOUT)
        .arg("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/browse.py"))
        .arg(CHROMIUM)
        .arg(file_url(page))
        .args(expressions)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "browse.py: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Grades `folder` with `--html` and `--json` into `out`; the HTML page and
/// the JSON report.
fn grade_html(folder: &Path, out: &Path) -> (PathBuf, Value) {
    let page = out.join("report.html");
    let json = out.join("results.json");
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" grade {} --seed 7 --html {} --json {}",
        quoted(folder.to_str().unwrap()),
        quoted(page.to_str().unwrap()),
        quoted(json.to_str().unwrap()),
    ));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        text(&output.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (page, report)
}

/// Checks that the page shows every exercise of `report` with its verdict
/// and one arrow per message of its transcript.
fn assert_shows(loaded: &Loaded, report: &Value) {
    let exercises = report["exercises"].as_array().unwrap();
    assert_eq!(loaded.count("<section class=\"exercise"), exercises.len());
    let mut messages = 0;
    let mut events = 0;
    for exercise in exercises {
        let (id, status) = (
            exercise["id"].as_str().unwrap(),
            exercise["status"].as_str().unwrap(),
        );
        assert!(
            loaded
                .dom
                .contains(&format!("data-exercise=\"{id}\" data-status=\"{status}\"")),
            "{id} is not shown as {status}"
        );
        for entry in exercise["transcript"].as_array().unwrap() {
            if entry["direction"] == "event" {
                events += 1;
            } else {
                messages += 1;
            }
        }
    }
    assert_eq!(loaded.count("<g class=\"arrow"), messages);
    assert_eq!(loaded.count("<g class=\"event"), events);
    let score = format!(
        "data-score=\"{}\" data-max-score=\"{}\"",
        report["score"].as_f64().unwrap(),
        report["max_score"].as_f64().unwrap()
    );
    assert!(loaded.dom.contains(&score), "no {score}");
}

#[test]
fn a_passing_submission_gets_a_page_with_every_exercise_and_message() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (page, report) = grade_html(&submission("reference-python"), out.path());
    assert_eq!(report["score"], report["max_score"]);
    let loaded = load(&page, "reference-python");
    loaded.assert_quiet();
    assert_shows(&loaded, &report);
    assert_eq!(loaded.count("data-status=\"passed\""), 11);
    assert_eq!(loaded.count("<g class=\"failure\""), 0);
    assert!(loaded.count("<g class=\"arrow") >= 11);
    let visit = browse(&page, &["document.querySelectorAll('g.arrow').length"]);
    assert_eq!(visit["results"][0], loaded.count("<g class=\"arrow"));
}

#[test]
fn a_script_that_got_into_a_page_is_refused_and_the_refusal_is_seen() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    // The control for every "quiet" check: a page with a script and an
    // image slipped in, as if escaping had failed. The policy must refuse
    // both, and the ways the tests watch the browser must report it.
    let out = tempfile::tempdir().unwrap();
    let (page, _) = grade_html(&submission("reference-python"), out.path());
    let tampered = out.path().join("tampered.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let slipped_in = format!("<body>{HOSTILE}<img src=\"https://example.invalid/x.png\">");
    std::fs::write(&tampered, html.replacen("<body>", &slipped_in, 1)).unwrap();
    let seen = visit(&tampered, &[]);
    assert_ne!(seen["title"], "pwned", "{seen:#}");
    let console = seen["console"].to_string();
    assert!(console.contains("Content Security Policy"), "{seen:#}");
    let loaded = load(&tampered, "tampered");
    assert!(
        loaded
            .console
            .iter()
            .any(|line| line.contains("Content Security Policy")),
        "{:#?}",
        loaded.console
    );
}

#[test]
fn a_failing_submission_gets_its_failing_steps_marked_with_expected_and_received() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (page, report) = grade_html(&submission("wrong-text"), out.path());
    let loaded = load(&page, "wrong-text");
    loaded.assert_quiet();
    assert_shows(&loaded, &report);
    let failed: Vec<&Value> = report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert!(!failed.is_empty());
    assert_eq!(loaded.count("<g class=\"failure\""), failed.len());
    assert!(loaded.count("<g class=\"arrow received failing\"") >= 1);
    assert!(loaded.dom.contains("expected: `How do you do?`"));
    // Each hint is shown, in its words (wrong-text's server-2 and server-3
    // have one each).
    let hints: Vec<&str> = failed.iter().filter_map(|e| e["hint"].as_str()).collect();
    assert!(hints.len() >= 2, "{hints:?}");
    assert_eq!(loaded.count("<strong>hint:</strong>"), hints.len());
    for hint in hints {
        let escaped = hint
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(loaded.dom.contains(&escaped), "{hint} is not shown");
    }
}

/// A submission whose client-1 sends, prints and exits with [`HOSTILE`].
fn hostile_submission(batch: &Path, name: &str) -> PathBuf {
    let folder = batch.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("client-1.py"),
        format!(
            "import socket, sys\n\
             HOSTILE = {HOSTILE:?}\n\
             with socket.create_connection(('127.0.0.1', 5555)) as s:\n    \
             s.sendall((HOSTILE + '\\x00\\x1b[2J\\n').encode())\n    \
             print(HOSTILE, flush=True)\n    \
             print(HOSTILE, file=sys.stderr, flush=True)\n    \
             s.recv(1024)\n\
             sys.exit(HOSTILE)\n"
        ),
    )
    .unwrap();
    folder
}

/// Checks that nothing of [`HOSTILE`] became markup in the page.
fn assert_inert(loaded: &Loaded, scripts: usize) {
    assert_ne!(loaded.title(), "pwned");
    assert!(
        loaded.title().ends_with(" · sockgrade"),
        "{}",
        loaded.title()
    );
    assert_eq!(loaded.count("<script"), scripts, "{}", loaded.dom);
    assert_eq!(loaded.count("<img"), 0);
}

#[test]
fn what_a_program_prints_is_shown_and_never_run() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    let batch = tempfile::tempdir().unwrap();
    let folder = hostile_submission(batch.path(), "hostile");
    let out = tempfile::tempdir().unwrap();
    let (page, report) = grade_html(&folder, out.path());
    let client_1 = common::exercise(&report, "client-1");
    assert_ne!(client_1["status"], "passed");
    assert!(client_1["stdout"].as_str().unwrap().contains(HOSTILE));
    let loaded = load(&page, "hostile");
    loaded.assert_quiet();
    assert_inert(&loaded, 0);
    assert!(
        loaded
            .dom
            .contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the output is not shown as text"
    );
    assert!(
        loaded.dom.contains("\\u{0}\\u{1b}[2J"),
        "NUL and ESC are not shown"
    );
    let visit = browse(
        &page,
        &[
            "document.scripts.length",
            "document.images.length",
            "document.querySelectorAll('[onerror]').length",
            "document.querySelector('[data-exercise=\"client-1\"] .received').textContent",
        ],
    );
    assert_eq!(visit["title"], "hostile · sockgrade");
    assert_eq!(visit["results"][0], 0);
    assert_eq!(visit["results"][1], 0);
    assert_eq!(visit["results"][2], 0);
    assert!(
        visit["results"][3].as_str().unwrap().starts_with(HOSTILE),
        "{visit:#}"
    );
}

#[test]
fn a_batch_writes_a_class_page_linking_every_submissions_page() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    let batch = tempfile::tempdir().unwrap();
    for fixture in ["reference-python", "wrong-text"] {
        copy_tree(&submission(fixture), &batch.path().join(fixture));
    }
    let evil = "evil<img src=x onerror=\"document.title='pwned'\">";
    hostile_submission(batch.path(), evil);
    let out = tempfile::tempdir().unwrap();
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" batch {} --out {} --seed 7",
        quoted(batch.path().to_str().unwrap()),
        quoted(out.path().to_str().unwrap()),
    ));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();

    let class = load(&out.path().join("report.html"), "class");
    class.assert_quiet();
    assert_inert(&class, 1);
    assert_eq!(class.count("<tr class=\"submission\""), 3);
    assert_eq!(
        class.count("<g class=\"bar\""),
        summary["score_distribution"].as_array().unwrap().len()
    );
    assert_eq!(
        class.count("<tr class=\"pass-rate\""),
        summary["exercises"].as_array().unwrap().len()
    );
    assert!(class.count("<li class=\"common-item\"") >= 1);
    // Every link is relative and leads to a page the batch wrote.
    let hrefs: Vec<&str> = class
        .dom
        .split("href=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(hrefs.len() >= 3, "{hrefs:?}");
    for href in &hrefs {
        assert!(href.starts_with("./"), "{href}");
        let file = href.split('#').next().unwrap();
        let decoded = percent_decoded(&file[2..]);
        assert!(out.path().join(&decoded).is_file(), "{href} leads nowhere");
    }
    assert!(hrefs.contains(&"./reference-python/report.html"));
    // The table sorts by score when its heading is clicked, then back.
    let rows = "Array.from(document.querySelectorAll('tr.submission')).map(r => r.cells[1].dataset.sort).join(' ')";
    let click = "document.querySelectorAll('table.sortable th button')[1].click()";
    let visit = browse(
        &out.path().join("report.html"),
        &[
            rows,
            click,
            rows,
            click,
            rows,
            // The hostile folder name made no element, whatever the
            // browser's serialisation of attributes.
            "document.images.length + document.querySelectorAll('[onerror]').length",
            "document.scripts.length",
        ],
    );
    assert_eq!(visit["title"], "Class report · sockgrade");
    assert_eq!(visit["results"][5], 0, "{visit:#}");
    assert_eq!(visit["results"][6], 1, "{visit:#}");
    assert_eq!(visit["results"][2], "0 0 11", "{visit:#}");
    assert_eq!(visit["results"][4], "11 0 0", "{visit:#}");

    for (name, shot) in [
        ("reference-python", "batch-reference-python"),
        ("wrong-text", "batch-wrong-text"),
        (evil, "batch-evil"),
    ] {
        let page = load(&out.path().join(name).join("report.html"), shot);
        page.assert_quiet();
        assert_inert(&page, 0);
        let report: Value = serde_json::from_slice(
            &std::fs::read(out.path().join(name).join("results.json")).unwrap(),
        )
        .unwrap();
        assert_shows(&page, &report);
    }
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn html_to_stdout_moves_the_terminal_report_to_stderr() {
    require_namespace!();
    let folder = submission("wrong-text");
    let output = common::sockgrade(&[
        "grade",
        folder.to_str().unwrap(),
        "--exercise",
        "client-1",
        "--html",
        "-",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let page = text(&output.stdout);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.ends_with("</html>\n"));
    assert!(page.contains("data-exercise=\"client-1\" data-status=\"failed\""));
    assert!(text(&output.stderr).contains("client-1"));
}

#[test]
fn a_robustness_replay_is_drawn_with_one_arrow_per_segment() {
    require_namespace!();
    if !have_browser() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (page, json) = (
        out.path().join("robust.html"),
        out.path().join("robust.json"),
    );
    let output = in_namespace(&format!(
        "exec \"$SOCKGRADE\" grade {} -e client-4 -e server-2 --robust=split --seed 7 --html {} --json {}",
        quoted(submission("reference-python").to_str().unwrap()),
        quoted(page.to_str().unwrap()),
        quoted(json.to_str().unwrap()),
    ));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let loaded = load(&page, "robust");
    loaded.assert_quiet();
    let exercises = report["exercises"].as_array().unwrap();
    let replays: Vec<&Value> = exercises
        .iter()
        .flat_map(|e| e["robustness"].as_array().unwrap())
        .collect();
    assert_eq!(replays.len(), 2);
    assert!(
        replays.iter().all(|r| r["status"] == "failed"),
        "{replays:?}"
    );
    assert_eq!(
        loaded.count("data-variant=\"split\" data-status=\"failed\""),
        2
    );
    assert_eq!(loaded.count("<details class=\"variant\""), 2);
    // Every message of the normal conversations and every segment of the
    // replays is an arrow of its own.
    let messages = |transcript: &Value| {
        transcript
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["direction"] != "event")
            .count()
    };
    let arrows: usize = exercises
        .iter()
        .map(|e| messages(&e["transcript"]))
        .sum::<usize>()
        + replays
            .iter()
            .map(|r| messages(&r["transcript"]))
            .sum::<usize>();
    assert_eq!(loaded.count("<g class=\"arrow"), arrows);
    assert!(loaded.dom.contains("TCP carries a stream of bytes"));
}
