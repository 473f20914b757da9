//! How far a batch is: a progress bar on a terminal (done / total, ETA,
//! submissions with failures so far), plain lines otherwise, so a CI log or
//! a file gets one readable line per submission.

use crate::outcome::SubmissionReport;
use crate::report::evidence::{not_passed_counts, points};
use crate::text::escape_bytes;
use indicatif::{ProgressBar, ProgressStyle};

/// The batch's progress display.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// No line per submission (`batch -q`); notes are still shown.
    quiet: bool,
    total: usize,
    done: usize,
    not_all_passed: usize,
}

impl Progress {
    /// A display for `total` submissions: a bar when `on_terminal`, and no
    /// line per submission when `quiet`.
    pub fn new(total: usize, on_terminal: bool, quiet: bool) -> Progress {
        let bar = on_terminal.then(|| {
            let bar = ProgressBar::new(total as u64);
            let template = "{bar:30.cyan/blue} {pos}/{len} graded · eta {eta} · {msg}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("█▉▊▋▌▍▎▏ "));
            }
            bar.set_message("no failures yet");
            bar
        });
        Progress {
            bar,
            quiet,
            total,
            done: 0,
            not_all_passed: 0,
        }
    }

    /// Records one finished submission (`resumed`: taken from an earlier run).
    pub fn finished(&mut self, report: &SubmissionReport, resumed: bool) {
        self.done += 1;
        if !report.all_passed() {
            self.not_all_passed += 1;
        }
        let not_passed = not_passed_counts(report);
        let detail = if not_passed.is_empty() {
            String::new()
        } else {
            format!(" ({})", not_passed.join(", "))
        };
        let line = format!(
            "[{}/{}] {} {}/{}{detail}{}",
            self.done,
            self.total,
            // Names come from student folders: a CR, LF or ESC in one must
            // not forge or rewrite a line.
            escape_bytes(report.submission.as_bytes()),
            points(report.score),
            points(report.max_score),
            if resumed {
                " · from an earlier run"
            } else {
                ""
            }
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{} with failures", self.not_all_passed));
            }
            None if self.quiet => {}
            None => eprintln!("{line}"),
        }
    }

    /// Prints a line without breaking the bar.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
