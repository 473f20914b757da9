//! The terminal report: one line per exercise, then what went wrong in each
//! exercise that did not pass (the evidence a student needs to fix it), then
//! the score; with `--verbose`, also the isolation and protections the
//! programs ran under, in words. Readable without colour; colour only adds
//! emphasis.

use super::evidence::{self, Tail};
use crate::outcome::{
    ExerciseResult, Isolation, Protection, Status, SubmissionReport, TranscriptEntry, VariantResult,
};
use crate::summary::RobustCount;

/// Transcript lines shown per exercise; the last ones are kept, since the
/// end of a conversation is where it went wrong.
const MAX_TRANSCRIPT_LINES: usize = 40;

/// Lines of stderr (or stdout) shown per exercise, from its end, where a
/// traceback names the error.
const MAX_OUTPUT_LINES: usize = 10;

/// Longest status word (`crashed`, `missing`, `timeout`), to align the ids.
const STATUS_WIDTH: usize = 7;

/// How to render the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Whether to emphasise with ANSI colours (the caller decides: a tty,
    /// and `NO_COLOR` not set).
    pub color: bool,
}

/// How much of the report to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// The summary line only (`--quiet`).
    Quiet,
    /// The summary, the table, and the evidence of what did not pass.
    #[default]
    Normal,
    /// Also the transcript of every exercise that passed, and what the
    /// programs ran under (`--verbose`).
    Verbose,
}

/// ANSI SGR parameters, written by hand: the few we need are not worth a crate.
pub(crate) mod ansi {
    pub const BOLD: &str = "1";
    pub const DIM: &str = "2";
    pub const RED: &str = "31";
    pub const GREEN: &str = "32";
    pub const YELLOW: &str = "33";
    pub const MAGENTA: &str = "35";
    pub const RED_BOLD: &str = "1;31";
    pub const GREEN_BOLD: &str = "1;32";
}

/// The colour of a status in every terminal table.
pub(crate) fn status_color(status: Status) -> &'static str {
    match status {
        Status::Passed => ansi::GREEN,
        Status::Failed => ansi::RED,
        Status::Timeout => ansi::YELLOW,
        Status::Crashed => ansi::MAGENTA,
        Status::Missing => ansi::DIM,
        Status::Error => ansi::RED_BOLD,
    }
}

impl Style {
    /// `text` in the SGR style `code` when colour is on, else as it is.
    pub(crate) fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// The status word, padded to `width`, in its colour.
    fn status(self, status: Status, width: usize) -> String {
        let code = status_color(status);
        // Pad before painting: escape codes have no width on screen.
        self.paint(code, &format!("{:<width$}", status.as_str()))
    }
}

/// Renders the report for a terminal, ending with a newline.
pub fn render(report: &SubmissionReport, style: Style) -> String {
    render_with(report, style, Detail::Normal)
}

/// Renders the report with the given detail: the summary line first (the
/// answer a student looks for), then the table, then the failures with
/// their evidence and hints.
pub fn render_with(report: &SubmissionReport, style: Style, detail: Detail) -> String {
    if detail == Detail::Quiet {
        let mut out = summary(report, style).join("\n");
        out.push('\n');
        return out;
    }
    let mut lines = vec![header(report, style)];
    lines.extend(summary(report, style).into_iter().take(1));
    lines.push(String::new());
    lines.extend(table(&report.exercises, style));
    if detail == Detail::Verbose {
        lines.push(String::new());
        lines.extend(confinement(report));
    }
    let shown = |e: &&ExerciseResult| {
        e.has_evidence() || (detail == Detail::Verbose && e.status == Status::Passed)
    };
    for exercise in report.exercises.iter().filter(shown) {
        lines.push(String::new());
        lines.extend(section(exercise, style));
    }
    let missing: Vec<&ExerciseResult> = report
        .exercises
        .iter()
        .filter(|e| e.status == Status::Missing && !e.has_evidence())
        .collect();
    if !missing.is_empty() {
        lines.push(String::new());
        lines.push(missing_line(&missing, style));
    }
    lines.extend(robustness(&report.exercises, style));
    lines.push(String::new());
    lines.extend(summary(report, style));
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `sockgrade 0.1.0 · alice (submissions/alice)`.
fn header(report: &SubmissionReport, style: Style) -> String {
    format!(
        "{} {} · {} ({})",
        evidence::one_line(&report.tool.name),
        evidence::one_line(&report.tool.version),
        style.paint(ansi::BOLD, &evidence::one_line(&report.submission)),
        evidence::one_line(&report.path),
    )
}

/// One aligned line per exercise: status, id, points, time.
fn table(exercises: &[ExerciseResult], style: Style) -> Vec<String> {
    let ids: Vec<String> = exercises
        .iter()
        .map(|e| evidence::one_line(&e.id))
        .collect();
    let points: Vec<String> = exercises
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                evidence::points(e.score),
                evidence::points(e.max_score)
            )
        })
        .collect();
    let id_width = ids.iter().map(|id| id.chars().count()).max().unwrap_or(0);
    let points_width = points.iter().map(|p| p.chars().count()).max().unwrap_or(0);
    exercises
        .iter()
        .zip(ids.iter().zip(&points))
        .map(|(exercise, (id, points))| {
            // A missing program never ran: a time would only be noise.
            let time = if exercise.status == Status::Missing {
                String::new()
            } else {
                format!("  {:>6}", evidence::seconds(exercise.duration_ms))
            };
            format!(
                "  {}  {id:<id_width$}  {points:>points_width$}{time}",
                style.status(exercise.status, STATUS_WIDTH)
            )
        })
        .collect()
}

/// What went wrong in one exercise, with the evidence: message, the
/// hint, command, expected and received, transcript, output tail.
fn section(exercise: &ExerciseResult, style: Style) -> Vec<String> {
    let mut lines = vec![format!(
        "{} {} · {}",
        style.status(exercise.status, 0),
        style.paint(ansi::BOLD, &evidence::one_line(&exercise.id)),
        evidence::one_line(&exercise.title),
    )];
    lines.extend(
        evidence::multi_line(&exercise.message)
            .lines()
            .map(|line| format!("  {line}")),
    );
    let label = |name: &str| style.paint(ansi::DIM, name);
    lines.extend(fact_lines(evidence::facts(exercise), style));
    lines.extend(transcript_lines("transcript:", &exercise.transcript, style));
    // stderr is where a crash explains itself; stdout only when it is all
    // there is (a program that prints its errors).
    let stderr = Tail::of(&exercise.stderr, MAX_OUTPUT_LINES);
    let (stream, tail) = if stderr.is_empty() {
        ("stdout", Tail::of(&exercise.stdout, MAX_OUTPUT_LINES))
    } else {
        ("stderr", stderr)
    };
    if !tail.is_empty() {
        lines.push(format!("  {}", label(&format!("{}:", tail.label(stream)))));
        lines.extend(tail.lines.iter().map(|line| format!("    │ {line}")));
    }
    lines
}

/// The robustness tier, when it was played: one line per exercise with
/// each variant's verdict, then what went wrong in each that failed.
fn robustness(exercises: &[ExerciseResult], style: Style) -> Vec<String> {
    let Some(count) = RobustCount::of(exercises) else {
        return Vec::new();
    };
    let replayed: Vec<&ExerciseResult> = exercises
        .iter()
        .filter(|e| !e.robustness.is_empty())
        .collect();
    let mut lines = vec![
        String::new(),
        style.paint(
            ansi::BOLD,
            &format!(
                "robustness: {} of {} exercises passed every variant (the score is the normal tier's)",
                count.passed, count.replayed
            ),
        ),
    ];
    let id_width = replayed
        .iter()
        .map(|e| evidence::one_line(&e.id).chars().count())
        .max()
        .unwrap_or(0);
    for exercise in &replayed {
        let verdicts: Vec<String> = exercise
            .robustness
            .iter()
            .map(|v| format!("{} {}", v.variant.as_str(), style.status(v.status, 0)))
            .collect();
        lines.push(format!(
            "  {:<id_width$}  {}",
            evidence::one_line(&exercise.id),
            verdicts.join(" · ")
        ));
    }
    for exercise in &replayed {
        for variant in exercise
            .robustness
            .iter()
            .filter(|v| v.status != Status::Passed)
        {
            lines.push(String::new());
            lines.extend(variant_section(exercise, variant, style));
        }
    }
    lines
}

/// What went wrong in one robustness variant of an exercise.
fn variant_section(
    exercise: &ExerciseResult,
    variant: &VariantResult,
    style: Style,
) -> Vec<String> {
    let mut lines = vec![format!(
        "{} {} in {} · {}",
        style.status(variant.status, 0),
        style.paint(ansi::BOLD, &evidence::one_line(&exercise.id)),
        variant.variant.as_str(),
        evidence::one_line(&exercise.title),
    )];
    lines.extend(
        evidence::multi_line(&variant.message)
            .lines()
            .map(|line| format!("  {line}")),
    );
    lines.extend(fact_lines(evidence::variant_facts(variant), style));
    lines.extend(transcript_lines("transcript:", &variant.transcript, style));
    lines
}

/// The labelled facts, the hint in colour, the rest padded so that the
/// values line up under one another.
fn fact_lines(facts: Vec<evidence::Fact>, style: Style) -> Vec<String> {
    facts
        .into_iter()
        .map(|fact| {
            let name = format!("{}:", fact.label);
            if fact.label == "hint" {
                format!("  {} {}", style.paint(ansi::YELLOW, &name), fact.text)
            } else {
                let padded = format!("{name:<9}");
                format!("  {} {}", style.paint(ansi::DIM, &padded), fact.text)
            }
        })
        .collect()
}

/// The end of a transcript under `heading`.
fn transcript_lines(heading: &str, transcript: &[TranscriptEntry], style: Style) -> Vec<String> {
    if transcript.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("  {}", style.paint(ansi::DIM, heading))];
    let (skipped, kept) = evidence::last_entries(transcript, MAX_TRANSCRIPT_LINES);
    if skipped > 0 {
        let marker = evidence::earlier_marker(skipped);
        lines.push(format!("    {}", style.paint(ansi::DIM, &marker)));
    }
    lines.extend(
        kept.iter()
            .map(|e| format!("  {}", evidence::transcript_line(e))),
    );
    lines
}

/// `missing: client-3, client-5 (no file such as client-3.py ...)`: one
/// line for all, since the fix is the same for each.
fn missing_line(missing: &[&ExerciseResult], style: Style) -> String {
    let ids: Vec<String> = missing.iter().map(|e| evidence::one_line(&e.id)).collect();
    let first = &ids[0];
    style.paint(
        ansi::DIM,
        &format!(
            "missing: {} (no program found: name it after the exercise, such as {} or an executable {first})",
            ids.join(", "),
            crate::student::example_names(first).join(", ")
        ),
    )
}

/// `isolation: ...` and one line per protection, in words.
fn confinement(report: &SubmissionReport) -> Vec<String> {
    let mut lines = vec![format!("isolation: {}", isolation_words(report.isolation))];
    if report.protections.is_empty() {
        lines.push("protections: none".to_string());
    } else {
        lines.push("protections:".to_string());
        lines.extend(
            report
                .protections
                .iter()
                .map(|p| format!("  {}", protection_words(p))),
        );
    }
    lines
}

/// The isolation in words: `network and pid namespaces` or `none`.
pub fn isolation_words(isolation: Isolation) -> &'static str {
    match isolation {
        Isolation::None => "none",
        Isolation::Namespaces => "network and pid namespaces",
    }
}

/// A protection in words, such as `an IPC namespace of its own`.
pub fn protection_words(protection: &Protection) -> String {
    match *protection {
        Protection::Cgroup {
            version,
            limits_memory,
            limits_processes,
            equal_cpu_share,
            memory_mib,
            processes,
        } => {
            let controllers: Vec<&str> = [
                (limits_memory, "memory"),
                (limits_processes, "pids"),
                (equal_cpu_share, "cpu"),
            ]
            .into_iter()
            .filter_map(|(there, name)| there.then_some(name))
            .collect();
            let cpu = if equal_cpu_share {
                ", an equal CPU share"
            } else {
                ""
            };
            format!(
                "cgroup v{version} ({}): memory {memory_mib} MiB, {processes} processes{cpu}, all killed at the end",
                controllers.join(", ")
            )
        }
        Protection::Landlock { abi, reads_limited } => {
            let reads = if reads_limited {
                "; reads and runs only the system's files and its own"
            } else {
                ""
            };
            format!(
                "Landlock ABI {abi}: writes only in its own folders{reads}; no terminal ioctls; abstract sockets and signals stay inside its sandbox"
            )
        }
        Protection::User { uid, gid } => {
            format!("runs as uid {uid} gid {gid}, no capabilities, no_new_privs")
        }
        Protection::IpcNamespace => "an IPC namespace of its own".to_string(),
        Protection::Seccomp { refuses_ipc } => {
            let ipc = if refuses_ipc {
                ", System V and POSIX IPC"
            } else {
                ""
            };
            format!("seccomp: no Unix sockets, keyrings or terminal input{ipc}")
        }
        Protection::MemoryWatchdog {
            memory_mib,
            sample_interval_ms,
        } => format!(
            "a watchdog: memory {memory_mib} MiB (what all its processes use, measured every {sample_interval_ms} ms), all killed over it"
        ),
        Protection::Rlimits {
            file_size_mib,
            descriptors,
            address_space_mib,
        } => {
            let memory = address_space_mib
                .map(|mib| format!(", address space {mib} MiB (a backstop)"))
                .unwrap_or_default();
            format!(
                "rlimits: CPU time, file size {file_size_mib} MiB, {descriptors} descriptors, no core dumps{memory}"
            )
        }
    }
}

/// `score 9/11 · 9 passed, 1 failed, 1 missing · 1.23s`, and the seed when
/// something ran and did not pass, since replaying it is then worth a try.
fn summary(report: &SubmissionReport, style: Style) -> Vec<String> {
    let mut line = format!(
        "score {}/{} · {} · {}",
        evidence::points(report.score),
        evidence::points(report.max_score),
        evidence::status_counts(report),
        evidence::seconds(report.duration_ms),
    );
    if let Some(count) = RobustCount::of(&report.exercises) {
        line.push_str(&format!(" · robust {}/{}", count.passed, count.replayed));
    }
    let code = if report.all_passed() {
        ansi::GREEN_BOLD
    } else {
        ansi::BOLD
    };
    let mut lines = vec![style.paint(code, &line)];
    if report.exercises.iter().any(ExerciseResult::has_evidence) {
        lines.push(format!(
            "seed {seed} (replay with --seed {seed})",
            seed = report.seed
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample_report, sample_report_replayed};

    const PLAIN: Style = Style { color: false };
    const COLOR: Style = Style { color: true };

    #[test]
    fn lists_every_exercise_on_one_line_in_order() {
        let text = render(&sample_report(), PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("alice (submissions/alice)"), "{text}");
        // The summary comes first: it is the answer a student looks for.
        assert_eq!(
            lines[1],
            "score 1/4 · 1 passed, 1 failed, 1 crashed, 1 missing · 1.23s"
        );
        assert_eq!(lines[3], "  passed   client-demo  1/1   0.12s");
        assert_eq!(lines[4], "  failed   client-1     0/1   2.00s");
        assert_eq!(lines[5], "  crashed  client-2     0/1   0.12s");
        assert_eq!(lines[6], "  missing  client-5     0/1");
    }

    #[test]
    fn quiet_is_the_summary_alone_and_verbose_shows_passes_too() {
        let report = sample_report();
        let quiet = render_with(&report, PLAIN, Detail::Quiet);
        assert!(quiet.starts_with("score 1/4"), "{quiet}");
        assert!(!quiet.contains("client-demo"), "{quiet}");
        let verbose = render_with(&report, PLAIN, Detail::Verbose);
        assert!(verbose.contains("passed client-demo ·"), "{verbose}");
        assert!(!render(&report, PLAIN).contains("passed client-demo ·"));
    }

    #[test]
    fn verbose_says_what_the_programs_ran_under_in_words() {
        let mut report = sample_report();
        report.isolation = Isolation::Namespaces;
        let verbose = render_with(&report, PLAIN, Detail::Verbose);
        assert!(
            verbose.contains(
                "\nisolation: network and pid namespaces\nprotections:\n  rlimits: CPU time, file size 64 MiB, 1024 descriptors, no core dumps\n"
            ),
            "{verbose}"
        );
        assert!(!render(&report, PLAIN).contains("isolation:"));
        report.protections.clear();
        let verbose = render_with(&report, PLAIN, Detail::Verbose);
        assert!(verbose.contains("\nprotections: none\n"), "{verbose}");
    }

    /// The sentences the reports carried before protections were values.
    #[test]
    fn every_protection_reads_as_it_always_did() {
        let cases = [
            (
                Protection::Cgroup {
                    version: 1,
                    limits_memory: true,
                    limits_processes: true,
                    equal_cpu_share: true,
                    memory_mib: 512,
                    processes: 64,
                },
                "cgroup v1 (memory, pids, cpu): memory 512 MiB, 64 processes, an equal CPU share, all killed at the end",
            ),
            (
                Protection::Cgroup {
                    version: 2,
                    limits_memory: false,
                    limits_processes: true,
                    equal_cpu_share: false,
                    memory_mib: 256,
                    processes: 64,
                },
                "cgroup v2 (pids): memory 256 MiB, 64 processes, all killed at the end",
            ),
            (
                Protection::Landlock {
                    abi: 7,
                    reads_limited: true,
                },
                "Landlock ABI 7: writes only in its own folders; reads and runs only the system's files and its own; no terminal ioctls; abstract sockets and signals stay inside its sandbox",
            ),
            (
                Protection::Landlock {
                    abi: 3,
                    reads_limited: false,
                },
                "Landlock ABI 3: writes only in its own folders; no terminal ioctls; abstract sockets and signals stay inside its sandbox",
            ),
            (
                Protection::User {
                    uid: 65534,
                    gid: 65534,
                },
                "runs as uid 65534 gid 65534, no capabilities, no_new_privs",
            ),
            (Protection::IpcNamespace, "an IPC namespace of its own"),
            (
                Protection::Seccomp { refuses_ipc: false },
                "seccomp: no Unix sockets, keyrings or terminal input",
            ),
            (
                Protection::Seccomp { refuses_ipc: true },
                "seccomp: no Unix sockets, keyrings or terminal input, System V and POSIX IPC",
            ),
            (
                Protection::MemoryWatchdog {
                    memory_mib: 512,
                    sample_interval_ms: 20,
                },
                "a watchdog: memory 512 MiB (what all its processes use, measured every 20 ms), all killed over it",
            ),
            (
                Protection::Rlimits {
                    file_size_mib: 64,
                    descriptors: 1024,
                    address_space_mib: Some(4096),
                },
                "rlimits: CPU time, file size 64 MiB, 1024 descriptors, no core dumps, address space 4096 MiB (a backstop)",
            ),
        ];
        for (protection, words) in cases {
            assert_eq!(protection_words(&protection), words);
        }
        assert_eq!(isolation_words(Isolation::None), "none");
    }

    #[test]
    fn a_hint_is_shown_under_the_message() {
        let mut report = sample_report();
        report.exercises[1].hint = Some("count only the letters".to_string());
        let text = render(&report, PLAIN);
        assert!(
            text.contains("\n  hint: count only the letters\n"),
            "{text}"
        );
    }

    #[test]
    fn ends_with_the_score_and_the_seed() {
        let text = render(&sample_report(), PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        assert_eq!(
            lines[n - 2],
            "score 1/4 · 1 passed, 1 failed, 1 crashed, 1 missing · 1.23s"
        );
        assert_eq!(lines[n - 1], "seed 12345 (replay with --seed 12345)");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn the_robustness_tier_gets_a_block_and_a_count_in_the_summary_line() {
        let (report, passed) = sample_report_replayed(&[
            (crate::exercise::Variant::Split, Status::Failed),
            (crate::exercise::Variant::SlowStart, Status::Passed),
        ]);
        let id = report.exercises[passed].id.clone();
        let text = render(&report, PLAIN);
        assert!(
            text.contains("robustness: 0 of 1 exercises passed every variant"),
            "{text}"
        );
        assert!(
            text.contains(&format!("  {id}  split failed · slow-start passed")),
            "{text}"
        );
        assert!(text.contains(&format!("failed {id} in split")), "{text}");
        assert!(
            text.contains("  hint: TCP carries a stream of bytes"),
            "{text}"
        );
        let quiet = render_with(&report, PLAIN, Detail::Quiet);
        assert!(quiet.starts_with("score 1/4 · "), "{quiet}");
        assert!(
            quiet.lines().next().unwrap().ends_with(" · robust 0/1"),
            "{quiet}"
        );
        // No replay, no mention.
        assert!(!render(&sample_report(), PLAIN).contains("robust"));
    }

    #[test]
    fn shows_the_evidence_of_each_exercise_that_ran_and_did_not_pass() {
        let text = render(&sample_report(), PLAIN);
        assert!(
            text.contains("\nfailed client-1 · Ask how \\u{1b}[31mthey do\n"),
            "{text}"
        );
        assert!(text.contains("\n  expected: How do you do?\n"), "{text}");
        assert!(
            text.contains("\n  received: How are you?\\n\\u{0}\\u{1b}]]>\n"),
            "{text}"
        );
        assert!(text.contains("\n    0.003s · connected\n"), "{text}");
        assert!(text.contains("\n    0.005s ← How are you?"), "{text}");
        assert!(text.contains("\n    0.010s → I'm good\\n\n"), "{text}");
        assert!(text.contains("\n  hint: print it\n"), "{text}");
        assert!(text.contains("\n  stdout:\n    │ line one\n"), "{text}");
        assert!(
            text.contains("\ncrashed client-2 · Title of client-2\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  stderr (last 10 of 15 lines):\n    │ stderr line 6\n"),
            "{text}"
        );
        assert!(!text.contains("stderr line 5\n"), "{text}");
        assert!(
            !text.contains("client-demo ·"),
            "no section for a pass: {text}"
        );
    }

    #[test]
    fn lists_missing_exercises_on_one_line() {
        let text = render(&sample_report(), PLAIN);
        assert!(
            text.contains(
                "\nmissing: client-5 (no program found: name it after the exercise, such as \
             client-5.py, client_5.py, client-5.sh, client-5.js or an executable client-5)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("missing client-5 ·"), "{text}");
    }

    #[test]
    fn keeps_the_end_of_a_long_transcript() {
        let mut report = sample_report();
        let entry = report.exercises[1].transcript[2].clone();
        report.exercises[1].transcript = vec![entry; 45];
        let text = render(&report, PLAIN);
        assert!(text.contains("\n    … 5 earlier lines\n"), "{text}");
        assert_eq!(text.matches("→ I'm good").count(), MAX_TRANSCRIPT_LINES);
    }

    #[test]
    fn has_no_escape_codes_without_colour() {
        let text = render(&sample_report(), PLAIN);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
    }

    #[test]
    fn colours_the_status_words_when_asked() {
        let text = render(&sample_report(), COLOR);
        assert!(text.contains("\x1b[32mpassed \x1b[0m"), "{text}");
        assert!(text.contains("\x1b[31mfailed \x1b[0m"), "{text}");
        assert!(text.contains("\x1b[35mcrashed\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[2mmissing\x1b[0m"), "{text}");
        // The student's own escape sequences stay visible, never live.
        assert!(!text.contains("\x1b[2J"), "{text}");
        assert!(!text.contains("\x1b[31mthey"), "{text}");
    }

    #[test]
    fn congratulates_without_a_seed_when_everything_passed() {
        let mut report = sample_report();
        report.exercises.truncate(1);
        report.score = 1.0;
        report.max_score = 1.0;
        let text = render(&report, PLAIN);
        assert!(text.ends_with("\nscore 1/1 · 1 passed · 1.23s\n"), "{text}");
    }

    #[test]
    fn writes_points_as_people_do() {
        assert_eq!(evidence::points(1.0), "1");
        assert_eq!(evidence::points(0.5), "0.5");
        assert_eq!(evidence::points(2.25), "2.25");
        assert_eq!(evidence::points(0.0), "0");
        assert_eq!(evidence::seconds(1234), "1.23s");
    }
}
