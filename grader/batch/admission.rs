//! How much of a batch runs at once. At most `--jobs` submissions, and a
//! new one only while the machine has CPU to spare: the kernel's CPU
//! pressure (PSI, `/proc/pressure/cpu`: the share of time some runnable
//! task waited for a CPU) over the last moment must be low. A submission
//! whose programs hang or wait costs no CPU, so its wait overlaps other
//! work; one that computes holds the next back until there is room. Where
//! the kernel reports no pressure, `--jobs` alone decides.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The least time between two admissions, and how often the dispatcher
/// looks again while it holds submissions back. Short, because the figure
/// is a sliding window read at every look, not a fresh window per
/// admission: at 100 ms apart, admitting alone took 5.7 s of a 57-submission
/// batch, and its hanging submissions started last.
pub const ADMISSION_SPACING: Duration = Duration::from_millis(20);
/// The moment over which pressure is measured: long enough that one
/// interpreter's start shows in it, short enough to follow the batch.
const PRESSURE_WINDOW: Duration = Duration::from_millis(100);
/// Above this share of time with a task waiting for a CPU, the machine
/// has no room for more.
const MOST_PRESSURE: f64 = 0.5;

/// The dispatcher's view of the machine.
#[derive(Debug, Default)]
pub struct Admission {
    /// Readings of the pressure counter over the last window: when, and
    /// its total (µs), oldest first.
    readings: VecDeque<(Instant, u64)>,
    last_admitted: Option<Instant>,
}

impl Admission {
    /// Whether one more submission may start now, with `running` running.
    pub fn admits(&mut self, running: usize) -> bool {
        if running == 0 {
            // Something must always run, however loaded the machine.
            return true;
        }
        if self
            .last_admitted
            .is_some_and(|at| at.elapsed() < ADMISSION_SPACING)
        {
            return false;
        }
        let Some(total) = crate::platform::cpu_pressure_total() else {
            // No counter: --jobs alone decides.
            return true;
        };
        // Until a whole window is measured, no room.
        self.record(Instant::now(), total)
            .is_some_and(|pressure| pressure < MOST_PRESSURE)
    }

    /// Records that a submission was started.
    pub fn admitted(&mut self) {
        self.last_admitted = Some(Instant::now());
    }

    /// Adds a reading of the counter (`total` µs of waiting at `now`) and
    /// returns the pressure over the window that ends with it, 0 to 1:
    /// None until a reading a whole window old exists.
    fn record(&mut self, now: Instant, total: u64) -> Option<f64> {
        // Keep one reading at least a window old: the figure spans it.
        while self.readings.len() > 1 && now.duration_since(self.readings[1].0) >= PRESSURE_WINDOW {
            self.readings.pop_front();
        }
        self.readings.push_back((now, total));
        let (since, before) = *self.readings.front()?;
        let span = now.duration_since(since);
        if span < PRESSURE_WINDOW {
            return None;
        }
        let waited = Duration::from_micros(total.saturating_sub(before));
        Some(waited.as_secs_f64() / span.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_nothing_running_a_submission_is_always_admitted() {
        let mut admission = Admission::default();
        assert!(admission.admits(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_second_submission_waits_for_a_measured_window() {
        if crate::platform::cpu_pressure_total().is_none() {
            eprintln!("skipped: this kernel reports no CPU pressure");
            return;
        }
        let mut admission = Admission::default();
        admission.admitted();
        assert!(!admission.admits(1), "admitted before any figure");
    }

    #[test]
    fn the_figure_is_the_share_of_the_last_window_spent_waiting() {
        let mut admission = Admission::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // µs of waiting: none for 100 ms, then 90 ms of every 100.
        assert_eq!(admission.record(at(0), 0), None, "no window yet");
        assert_eq!(admission.record(at(50), 0), None, "half a window");
        assert_eq!(admission.record(at(100), 0), Some(0.0));
        let busy = admission.record(at(200), 90_000).unwrap();
        assert!((busy - 0.9).abs() < 1e-9, "{busy}");
        // The busy moment leaves the figure once it is a window old.
        let later = admission.record(at(320), 90_000).unwrap();
        assert!(later < 0.1, "{later}");
    }
}
