//! How much of a batch runs at once. At most `--jobs` submissions, and a
//! new one only while the machine has CPU to spare: the kernel's CPU
//! pressure (PSI, `/proc/pressure/cpu`: the share of time some runnable
//! task waited for a CPU) over the last moment must be low. A submission
//! whose programs hang or wait costs no CPU, so its wait overlaps other
//! work; one that computes holds the next back until there is room. Where
//! the kernel reports no pressure, `--jobs` alone decides.

use std::time::Duration;
use tokio::time::Instant;

/// The moment over which pressure is measured, and the least time
/// between two admissions (so the last one's start shows in the figure).
pub const ADMISSION_WINDOW: Duration = Duration::from_millis(100);
/// Above this share of time with a task waiting for a CPU, the machine
/// has no room for more.
const MOST_PRESSURE: f64 = 0.5;

/// The dispatcher's view of the machine.
#[derive(Debug, Default)]
pub struct Admission {
    /// The last reading of the pressure counter: when, and its total (µs).
    last_reading: Option<(Instant, u64)>,
    /// The pressure over the last full window, 0 to 1.
    pressure: Option<f64>,
    last_admitted: Option<Instant>,
}

impl Admission {
    /// Whether one more submission may start now, with `running` running.
    pub fn admits(&mut self, running: usize) -> bool {
        if running == 0 {
            // Something must always run, however loaded the machine.
            return true;
        }
        self.read_pressure();
        let spaced = self
            .last_admitted
            .is_none_or(|at| at.elapsed() >= ADMISSION_WINDOW);
        match self.pressure {
            Some(pressure) => spaced && pressure < MOST_PRESSURE,
            None => true,
        }
    }

    /// Records that a submission was started.
    pub fn admitted(&mut self) {
        self.last_admitted = Some(Instant::now());
    }

    /// The pressure over the last full window, where the kernel says.
    #[cfg(test)]
    fn pressure(&self) -> Option<f64> {
        self.pressure
    }

    fn read_pressure(&mut self) {
        let Some(total) = crate::platform::cpu_pressure_total() else {
            return;
        };
        let now = Instant::now();
        match self.last_reading {
            Some((at, before)) if now.duration_since(at) >= ADMISSION_WINDOW => {
                let waited = Duration::from_micros(total.saturating_sub(before));
                self.pressure = Some(waited.as_secs_f64() / now.duration_since(at).as_secs_f64());
                self.last_reading = Some((now, total));
            }
            Some(_) => {}
            None => {
                self.last_reading = Some((now, total));
                // No window yet: start at "no room", so the first admissions
                // wait one window for a real figure.
                self.pressure = Some(1.0);
            }
        }
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
        assert!(admission.pressure().is_some());
    }
}
