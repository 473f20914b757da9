//! Deadlines on the program's own time. A deadline measures the program,
//! not the machine: time its processes spent runnable but waiting for a
//! CPU (the kernel's per-thread run-queue wait, `/proc/PID/task/TID/schedstat`,
//! of the thread that waited longest) is
//! given back, so a right program on a loaded laptop or CI runner is not
//! timed out for the machine's load. A hung program still ends in bounded
//! time: no deadline moves past [`MOST_EXTENSION`] times its budget.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// However loaded the machine, a deadline ends by this multiple of its
/// budget in wall time.
pub const MOST_EXTENSION: u32 = 4;

/// How long a reading of the waits serves as a new deadline's baseline.
/// A baseline read earlier than the deadline was set only makes it more
/// generous (the waits since the reading are owed too), by at most what
/// the program waited meanwhile; and a conversation sets a deadline per
/// step, each a reading of every thread's `/proc` file, most of a quick
/// exercise's own system calls.
const BASELINE_REUSE: Duration = Duration::from_millis(50);

/// Run-queue waits of the program's threads now, by thread ID.
type WaitSource = Arc<dyn Fn() -> HashMap<u32, Duration> + Send + Sync>;

/// A reading of the waits, and when it was taken.
type Reading = Arc<Mutex<Option<(Instant, HashMap<u32, Duration>)>>>;

/// The clock of one running program (or of none: wall time).
#[derive(Clone)]
pub struct ProgramClock {
    waits: Option<WaitSource>,
    /// The latest reading (see [`BASELINE_REUSE`]).
    latest_reading: Reading,
}

impl std::fmt::Debug for ProgramClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramClock")
            .field("measured", &self.waits.is_some())
            .finish()
    }
}

impl ProgramClock {
    /// Wall time: for a peer whose partner is not ours to measure.
    pub fn wall() -> ProgramClock {
        ProgramClock {
            waits: None,
            latest_reading: Reading::default(),
        }
    }

    /// The clock of the program whose session is led by `pid` (every
    /// program starts a session of its own) and whose threads, when it has
    /// a cgroup of its own, are listed in `thread_list`; wall time where
    /// the kernel keeps no per-task waits. The cgroup's list is one read
    /// where the session is a scan of every process in `/proc`, and a
    /// deadline asks several times a step.
    pub fn of_program(pid: u32, thread_list: Option<&Path>) -> ProgramClock {
        if let Some(listed) = thread_list.and_then(crate::platform::ListedThreadWaits::open) {
            return ProgramClock::from_source(Arc::new(move || listed.read().unwrap_or_default()));
        }
        if crate::platform::runqueue_waits_of_session(pid).is_none() {
            return ProgramClock::wall();
        }
        ProgramClock::from_source(Arc::new(move || {
            crate::platform::runqueue_waits_of_session(pid).unwrap_or_default()
        }))
    }

    fn from_source(waits: WaitSource) -> ProgramClock {
        ProgramClock {
            waits: Some(waits),
            latest_reading: Reading::default(),
        }
    }

    /// The waits now, as read now.
    fn read(&self) -> HashMap<u32, Duration> {
        let Some(waits) = &self.waits else {
            return HashMap::new();
        };
        let reading = waits();
        *self.lock_reading() = Some((Instant::now(), reading.clone()));
        reading
    }

    /// The waits as read at most [`BASELINE_REUSE`] ago.
    fn recent(&self) -> HashMap<u32, Duration> {
        if let Some((at, reading)) = self.lock_reading().as_ref()
            && at.elapsed() < BASELINE_REUSE
        {
            return reading.clone();
        }
        self.read()
    }

    fn lock_reading(&self) -> std::sync::MutexGuard<'_, Option<(Instant, HashMap<u32, Duration>)>> {
        self.latest_reading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A deadline `budget` of program time from now.
    pub fn deadline(&self, budget: Duration) -> Deadline {
        let now = Instant::now();
        let baseline = self.recent();
        Deadline {
            clock: self.clone(),
            due: now + budget,
            latest: now + budget * MOST_EXTENSION,
            baseline,
            owed: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }
}

/// A point in the program's time; see the module doc.
#[derive(Debug, Clone)]
pub struct Deadline {
    clock: ProgramClock,
    /// When it would pass on an idle machine.
    due: Instant,
    /// When it passes whatever the load.
    latest: Instant,
    /// Each thread's wait when the deadline was set.
    baseline: HashMap<u32, Duration>,
    /// The most waiting seen so far (threads that exit take theirs with
    /// them, so it only grows).
    owed: Arc<Mutex<Duration>>,
}

impl Deadline {
    /// The wall-clock instant it passes at, as far as is known now.
    pub fn now_due(&self) -> Instant {
        if self.clock.waits.is_none() {
            return self.due;
        }
        self.due_by(self.clock.read())
    }

    /// When it passes by the waits of `reading`.
    fn due_by(&self, reading: HashMap<u32, Duration>) -> Instant {
        // The program's critical path: its thread that waited longest.
        let waited = reading
            .into_iter()
            .map(|(pid, wait)| {
                wait.saturating_sub(self.baseline.get(&pid).copied().unwrap_or_default())
            })
            .max()
            .unwrap_or_default();
        let mut owed = self.owed.lock().unwrap_or_else(|p| p.into_inner());
        *owed = (*owed).max(waited);
        (self.due + *owed).min(self.latest)
    }

    /// When it passes at the latest, however long the program waits.
    pub fn latest(&self) -> Instant {
        self.latest
    }

    /// Whether it has passed.
    pub fn has_passed(&self) -> bool {
        Instant::now() >= self.now_due()
    }

    /// Waits until it passes: sleeps to the instant it would pass, then
    /// asks again how long the program waited meanwhile.
    pub async fn reached(&self) {
        // A recent reading shows it due no later than a fresh one would
        // (waits only grow): enough to sleep to, and only once that
        // instant comes is the program's clock read again.
        let mut due = self.due_by(self.clock.recent());
        loop {
            if Instant::now() < due {
                sleep_until(due).await;
            }
            due = self.now_due();
            if Instant::now() >= due {
                return;
            }
        }
    }

    /// How much longer than its budget it has been moved so far.
    pub fn extension(&self) -> Duration {
        self.now_due().saturating_duration_since(self.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock whose one process has waited `waited` milliseconds.
    fn clock_with(waited: Arc<Mutex<u64>>) -> ProgramClock {
        ProgramClock::from_source(Arc::new(move || {
            HashMap::from([(7, Duration::from_millis(*waited.lock().unwrap()))])
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn time_spent_waiting_for_a_cpu_moves_the_deadline() {
        let waited = Arc::new(Mutex::new(100));
        let deadline = clock_with(Arc::clone(&waited)).deadline(Duration::from_secs(1));
        // Waits before the deadline was set are not owed.
        assert_eq!(deadline.extension(), Duration::ZERO);
        *waited.lock().unwrap() += 300;
        assert_eq!(deadline.extension(), Duration::from_millis(300));
        let start = Instant::now();
        deadline.reached().await;
        assert_eq!(start.elapsed(), Duration::from_millis(1300));
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_set_close_together_share_one_reading_and_owe_no_less() {
        let readings = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waited = Arc::new(Mutex::new(100));
        let clock = {
            let (readings, waited) = (Arc::clone(&readings), Arc::clone(&waited));
            ProgramClock::from_source(Arc::new(move || {
                readings.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                HashMap::from([(7, Duration::from_millis(*waited.lock().unwrap()))])
            }))
        };
        let first = clock.deadline(Duration::from_secs(1));
        *waited.lock().unwrap() += 5;
        tokio::time::advance(Duration::from_millis(10)).await;
        let second = clock.deadline(Duration::from_secs(1));
        assert_eq!(readings.load(std::sync::atomic::Ordering::SeqCst), 1);
        // The 5 ms waited before the second was set are owed to it too.
        assert_eq!(second.extension(), Duration::from_millis(5));
        assert_eq!(first.extension(), Duration::from_millis(5));
        // Past the reuse, a new deadline reads again.
        tokio::time::advance(BASELINE_REUSE).await;
        let third = clock.deadline(Duration::from_secs(1));
        assert_eq!(third.extension(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_never_moves_past_its_bound() {
        let waited = Arc::new(Mutex::new(0));
        let deadline = clock_with(Arc::clone(&waited)).deadline(Duration::from_secs(1));
        *waited.lock().unwrap() = 60_000;
        let start = Instant::now();
        deadline.reached().await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(u64::from(MOST_EXTENSION))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_process_that_exits_keeps_what_it_was_owed() {
        let waited = Arc::new(Mutex::new(0));
        let deadline = clock_with(Arc::clone(&waited)).deadline(Duration::from_secs(1));
        *waited.lock().unwrap() = 500;
        assert_eq!(deadline.extension(), Duration::from_millis(500));
        *waited.lock().unwrap() = 0;
        assert_eq!(deadline.extension(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn wall_time_is_wall_time() {
        let deadline = ProgramClock::wall().deadline(Duration::from_secs(2));
        let start = Instant::now();
        deadline.reached().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_session_reports_its_waits() {
        // This test process is no session leader, but its own session's
        // leader (the test runner's) is found the same way.
        let sid = nix::unistd::getsid(None).unwrap().as_raw() as u32;
        let waits = crate::platform::runqueue_waits_of_session(sid).unwrap();
        assert!(waits.contains_key(&std::process::id()), "{waits:?}");
    }
}
