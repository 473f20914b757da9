//! Start slots: a bound, shared by every grader process of a batch, on how
//! many student programs are starting at the same moment. Starting an
//! interpreter is the one CPU-heavy part of grading; with hundreds started
//! at once on a few cores, a right program would miss its start deadline
//! because of the grader's own load. A program's start deadline begins
//! only once it has a slot.
//!
//! A slot is an exclusive `flock` on one of a few files in a folder that
//! the batch creates: the kernel releases it when its holder exits, so a
//! grader that dies can never leak a slot.

use crate::backoff::Backoff;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

/// The first pause before a full set of slots is tried again (see
/// [`Backoff`]); the pauses grow up to [`RETRY_LONGEST`]. A whole batch's
/// exercises may be waiting at once: trying every 5 ms, each opening and
/// locking every slot file, cost more CPU than the starts it spaced out.
const RETRY_FIRST: Duration = Duration::from_millis(5);
/// The longest pause between two tries.
const RETRY_LONGEST: Duration = Duration::from_millis(40);
/// How long a program may hold its slot: long enough for an interpreter to
/// start, short enough that a program that sleeps or hangs before
/// connecting does not keep others waiting.
pub const STARTUP_ALLOWANCE: Duration = Duration::from_millis(250);
/// Longest wait for a slot; past it a program starts anyway, so a wedged
/// slot folder slows grading down but never stops it.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The slot files of a batch.
#[derive(Debug, Clone)]
pub struct StartSlots {
    files: Vec<PathBuf>,
}

/// A held slot; released when dropped.
#[derive(Debug)]
pub struct Slot {
    /// The slot file, locked.
    locked: File,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Unlocked at once, not when the last copy of the descriptor
        // closes: a program forked meanwhile holds one until its exec.
        let _ = self.locked.unlock();
    }
}

impl StartSlots {
    /// Creates `count` slots in the folder `dir`, which only this user
    /// may enter: a program that could open a slot file could hold it.
    pub fn create(dir: &Path, count: usize) -> std::io::Result<StartSlots> {
        std::fs::create_dir_all(dir)?;
        crate::platform::set_mode(dir, 0o700)?;
        let files: Vec<PathBuf> = (0..count.max(1))
            .map(|i| dir.join(format!("slot-{i}")))
            .collect();
        for file in &files {
            File::create(file)?;
        }
        Ok(StartSlots { files })
    }

    /// The slots another process created in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<StartSlots> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        if files.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the slot folder is empty",
            ));
        }
        Ok(StartSlots { files })
    }

    /// The folder of the slots.
    pub fn dir(&self) -> Option<&Path> {
        self.files.first().and_then(|f| f.parent())
    }

    /// Waits for a free slot (or gives up after a minute, returning
    /// `None`, and the program starts without one).
    pub async fn acquire(&self) -> Option<Slot> {
        let give_up = Instant::now() + MAX_WAIT;
        let mut backoff = Backoff::new(RETRY_FIRST, RETRY_LONGEST);
        loop {
            if let Some(slot) = self.try_acquire() {
                return Some(slot);
            }
            let now = Instant::now();
            if now >= give_up {
                return None;
            }
            sleep(backoff.pause(give_up - now)).await;
        }
    }

    fn try_acquire(&self) -> Option<Slot> {
        self.files.iter().find_map(|path| {
            // std opens files close-on-exec: student programs never inherit a slot.
            let file = File::open(path).ok()?;
            // flock(LOCK_EX | LOCK_NB) on Unix, LockFileEx on Windows.
            file.try_lock().ok()?;
            Some(Slot { locked: file })
        })
    }
}

/// Holds a slot while its program starts: until it connects (or ends),
/// until it has nothing left to run (it is waiting, for a connection, a
/// reply or a timer, so its start is over and it costs no CPU), or until
/// its allowance is over, whichever comes first. A hanging program thus
/// gives its slot back at once instead of holding it for the allowance.
#[derive(Debug)]
pub struct HeldSlot {
    /// The slot until the program is started.
    slot: Option<Slot>,
    release: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How often a starting program is looked at to see if it is idle.
const IDLE_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Idle readings in a row that show a program is done starting (one may
/// catch an interpreter between two reads of its files).
const IDLE_READINGS: u32 = 2;

impl HeldSlot {
    /// Holds `slot` for a program about to start.
    pub fn hold(slot: Option<Slot>) -> HeldSlot {
        HeldSlot {
            slot,
            release: None,
        }
    }

    /// The program started, as the session `sid`: from now the slot is
    /// held for at most [`STARTUP_ALLOWANCE`], and only while it is busy.
    pub fn started(&mut self, sid: Option<u32>) {
        self.watch(sid, STARTUP_ALLOWANCE);
    }

    /// Gives the slot back on the first of: [`HeldSlot::release`], the
    /// program idle, `allowance` over. The task says which it was.
    fn watch(&mut self, sid: Option<u32>, allowance: Duration) -> Option<JoinHandle<Released>> {
        let slot = self.slot.take()?;
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        self.release = Some(release);
        Some(tokio::spawn(async move {
            let why = tokio::select! {
                _ = released => Released::Asked,
                () = idle(sid) => Released::Idle,
                () = sleep(allowance) => Released::Allowance,
            };
            drop(slot);
            why
        }))
    }

    /// Releases the slot now (the program connected, or ended).
    pub fn release(&mut self) {
        self.slot = None;
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
    }
}

/// Why a held slot came back.
#[derive(Debug, PartialEq)]
enum Released {
    /// By [`HeldSlot::release`]: the program connected or ended.
    Asked,
    Idle,
    Allowance,
}

/// Returns once the session `sid` has had nothing to run for
/// [`IDLE_READINGS`] readings in a row; never where that is unknown (the
/// allowance decides then).
async fn idle(sid: Option<u32>) {
    let Some(sid) = sid else {
        return std::future::pending().await;
    };
    let mut idle_readings = 0;
    loop {
        sleep(IDLE_CHECK_INTERVAL).await;
        let busy = tokio::task::spawn_blocking(move || crate::platform::session_is_busy(sid))
            .await
            .ok()
            .flatten();
        idle_readings = match busy {
            Some(true) => 0,
            Some(false) => idle_readings + 1,
            None => return std::future::pending().await,
        };
        if idle_readings >= IDLE_READINGS {
            return;
        }
    }
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_exclusive_and_come_back_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let slots = StartSlots::create(&dir.path().join("slots"), 2).unwrap();
        let reopened = StartSlots::open(slots.dir().unwrap()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = slots
                .dir()
                .unwrap()
                .metadata()
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "the slot folder is private");
        }
        let first = slots.acquire().await.unwrap();
        let second = reopened.acquire().await.unwrap();
        assert!(slots.try_acquire().is_none(), "a third slot out of two");
        drop(first);
        assert!(reopened.try_acquire().is_some());
        drop(second);
    }

    // Paused time: the allowance passes as soon as every task waits.
    #[tokio::test(start_paused = true)]
    async fn a_held_slot_is_released_after_its_allowance() {
        let dir = tempfile::tempdir().unwrap();
        let slots = StartSlots::create(dir.path(), 1).unwrap();
        let mut held = HeldSlot::hold(slots.acquire().await);
        held.started(None);
        assert!(slots.try_acquire().is_none());
        tokio::time::sleep(STARTUP_ALLOWANCE * 2).await;
        assert!(slots.try_acquire().is_some());
        drop(held);
    }

    #[tokio::test]
    async fn releasing_early_frees_the_slot_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let slots = StartSlots::create(dir.path(), 1).unwrap();
        let mut held = HeldSlot::hold(slots.acquire().await);
        let watcher = held.watch(None, STARTUP_ALLOWANCE).unwrap();
        held.release();
        assert_eq!(watcher.await.unwrap(), Released::Asked);
        assert!(slots.try_acquire().is_some());
    }

    /// A program that starts and then waits (a hanging server, say) gives
    /// its slot back as idle; a computing one keeps it to its allowance.
    /// (Decided by the reason the watcher reports, not by timing: the idle
    /// case has an allowance no machine reaches.)
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_program_that_waits_gives_its_slot_back_and_a_computing_one_keeps_it() {
        use std::os::unix::process::CommandExt;
        let spawn = |program: &str, args: &[&str]| {
            let mut command = std::process::Command::new(program);
            command.args(args);
            // SAFETY: setsid is async-signal-safe.
            unsafe {
                command.pre_exec(|| {
                    libc::setsid();
                    Ok(())
                });
            }
            command.spawn().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let slots = StartSlots::create(dir.path(), 1).unwrap();

        let mut computing = spawn("sh", &["-c", "while :; do :; done"]);
        let mut held = HeldSlot::hold(slots.acquire().await);
        let watcher = held.watch(Some(computing.id()), Duration::from_millis(300));
        assert_eq!(watcher.unwrap().await.unwrap(), Released::Allowance);
        assert!(slots.try_acquire().is_some(), "back after its allowance");
        drop(held);

        let mut waiting = spawn("sleep", &["60"]);
        let mut held = HeldSlot::hold(slots.acquire().await);
        let watcher = held.watch(Some(waiting.id()), Duration::from_secs(60));
        assert_eq!(watcher.unwrap().await.unwrap(), Released::Idle);
        assert!(
            slots.try_acquire().is_some(),
            "back while the program still runs"
        );
        drop(held);
        for child in [&mut computing, &mut waiting] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
