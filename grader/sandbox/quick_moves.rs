//! Moves into cgroups without waiting for the kernel, where joining a
//! cgroup takes the kernel's machine-wide lock: cgroup v2, whose programs
//! join by `cgroup.procs`. In v1 a program joins by `tasks`, which moves
//! its one thread without that lock (see `CgroupFiles::V1`), and
//! none of this runs.
//!
//! Each program is moved into its own cgroups between fork and exec, and
//! a move of a whole process takes a lock that the kernel switches into a
//! slow mode for it: the first move after a quiet spell waits for an RCU
//! grace period (8-20 ms measured by `cgroup.procs` in v1 on a 2-CPU
//! machine, before v1 joins moved to `tasks`), and holds, meanwhile, the lock
//! every cgroup mkdir needs, so the other exercise's program waits too.
//! Moves that follow within about one grace period take 0.1 ms. A grade
//! alone on the machine starts a program every 5-30 ms: often just late
//! enough to pay the wait again (three or four times in a Python grade).
//!
//! So the grader moves itself into the cgroup it is already in (a move
//! that changes nothing) on a thread of its own: once when it finds its
//! cgroups ([`prime`]), while it makes its copies, and then every few
//! milliseconds for a short while after each program's start
//! ([`QuickMoves`]), while the next start may come. A batch needs none of
//! it after the prime: its many children move programs often enough.
//! Every write is best effort: a refusal changes nothing either.

use super::CgroupKind;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often moves are repeated to keep them quick: under a grace period.
const INTERVAL: Duration = Duration::from_millis(5);
/// How long after a program's start they are kept quick: most exercises
/// of a grade alone end, and let the next start, within it.
const AFTER_A_START: Duration = Duration::from_millis(60);

/// The thread of [`prime`], until [`finish_prime`] waits for it.
static PRIMING: Mutex<Option<std::thread::JoinHandle<()>>> = Mutex::new(None);

/// Starts the wait for the first move now, in the background.
pub fn prime(cgroup: &CgroupKind) {
    if !cgroup.joins_take_the_global_lock() {
        return;
    }
    if let Some(own) = cgroup.own_procs_file() {
        let priming = std::thread::Builder::new()
            .name("cgroup-prime".to_string())
            .spawn(move || move_self(&own));
        *PRIMING.lock().unwrap_or_else(|p| p.into_inner()) = priming.ok();
    }
}

/// Waits until the move [`prime`] started is over (its wait is then
/// behind the grade, and its thread gone): before a fork, which needs
/// this process to have one thread.
pub fn finish_prime() {
    let priming = PRIMING.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(priming) = priming {
        let _ = priming.join();
    }
}

/// "0" is the writing process itself, in any PID namespace.
fn move_self(own: &Path) {
    let _ = std::fs::write(own, "0");
}

/// Keeps moves quick while a grade's programs start; stops when dropped.
#[derive(Debug)]
pub struct QuickMoves {
    keeper: Arc<Keeper>,
}

#[derive(Debug)]
struct Keeper {
    /// Until when moves are kept quick; `None` once stopped.
    until: Mutex<Option<Instant>>,
    woken: Condvar,
}

impl QuickMoves {
    /// Starts keeping moves into `cgroup`'s hierarchy quick (from now,
    /// for [`AFTER_A_START`]); `None` where that is not possible, or not
    /// needed.
    pub fn start(cgroup: &CgroupKind) -> Option<QuickMoves> {
        if !cgroup.joins_take_the_global_lock() {
            return None;
        }
        let own = cgroup.own_procs_file()?;
        let keeper = Arc::new(Keeper {
            until: Mutex::new(Some(Instant::now() + AFTER_A_START)),
            woken: Condvar::new(),
        });
        let kept = Arc::clone(&keeper);
        std::thread::Builder::new()
            .name("cgroup-moves".to_string())
            .spawn(move || kept.keep(&own))
            .ok()?;
        Some(QuickMoves { keeper })
    }

    /// A program is about to start: keep moves quick for a while more.
    pub fn program_starting(&self) {
        let mut until = self.keeper.lock();
        if let Some(until) = until.as_mut() {
            *until = (*until).max(Instant::now() + AFTER_A_START);
            self.keeper.woken.notify_one();
        }
    }
}

impl Drop for QuickMoves {
    fn drop(&mut self) {
        *self.keeper.lock() = None;
        self.keeper.woken.notify_one();
    }
}

impl Keeper {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The thread's work: a move every [`INTERVAL`] while it is asked
    /// for, asleep otherwise, until stopped.
    fn keep(&self, own: &Path) {
        // Opened once: each move is then one write, not an open, a write
        // and a close of a cgroup file.
        let mut file = std::fs::OpenOptions::new().write(true).open(own).ok();
        let mut until = self.lock();
        loop {
            match *until {
                None => return,
                Some(deadline) if Instant::now() < deadline => {
                    drop(until);
                    match file.as_mut() {
                        Some(file) => {
                            let _ = std::io::Write::write_all(file, b"0");
                        }
                        None => move_self(own),
                    }
                    std::thread::sleep(INTERVAL);
                    until = self.lock();
                }
                Some(_) => {
                    until = self
                        .woken
                        .wait(until)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
    }
}
