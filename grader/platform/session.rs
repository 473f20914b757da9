//! The threads of a program's session, read from `/proc`: every program
//! starts a session of its own, so its session ID names everything it
//! started, children and threads included.

use super::listeners::listening_sockets;
use super::procfs::{self, stat_fields};
use nix::unistd::{Pid, getsid};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The `/proc` folders of the processes in the session `sid`; `None` when
/// `/proc` cannot be read or shows another PID namespace (whose numbers
/// name other processes).
fn processes(sid: u32) -> Option<Vec<PathBuf>> {
    if !procfs::shows_own_pid_namespace() {
        return None;
    }
    Some(
        procfs::processes()?
            // One system call per process, not an open, a read and a
            // close of its stat file: with the grader's /proc showing the
            // whole machine (no PID namespace), a scan reads hundreds.
            .filter(|(pid, _)| {
                i32::try_from(*pid).is_ok_and(|pid| {
                    getsid(Some(Pid::from_raw(pid))).is_ok_and(|s| s.as_raw() as u32 == sid)
                })
            })
            .map(|(_, folder)| folder)
            .collect(),
    )
}

/// Calls `visit` with the `/proc/PID/task/TID` folder and the ID of every
/// thread of the session `sid`. Every thread: a runtime's main thread
/// often waits on its workers (a JVM's compiler and loader threads), which
/// are the ones that queue for a CPU.
fn for_each_thread(sid: u32, mut visit: impl FnMut(&Path, u32)) -> Option<()> {
    for process in processes(sid)? {
        let Ok(tasks) = fs::read_dir(process.join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Some(tid) = task.file_name().to_str().and_then(|n| n.parse().ok()) {
                visit(&task.path(), tid);
            }
        }
    }
    Some(())
}

/// Whether the kernel keeps per-task scheduler statistics: asked once, not
/// at every reading of a program's clock.
fn kernel_keeps_schedstat() -> bool {
    static KEEPS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEEPS.get_or_init(|| fs::metadata("/proc/self/schedstat").is_ok())
}

/// See [`super::runqueue_waits_of_session`].
pub fn runqueue_waits(sid: u32) -> Option<HashMap<u32, Duration>> {
    kernel_keeps_schedstat().then_some(())?;
    let mut waits = HashMap::new();
    for_each_thread(sid, |task, tid| {
        if let Some(waited) = runqueue_wait(task) {
            waits.insert(tid, waited);
        }
    })?;
    Some(waits)
}

/// See [`super::ListedThreadWaits`].
#[derive(Debug)]
pub struct ListedThreadWaits {
    list: fs::File,
    /// Each listed thread's `schedstat`, open since the reading that
    /// first listed it: one read a thread a reading, not an open, a read
    /// and a close (a deadline reads several times a step).
    schedstats: Mutex<HashMap<u32, fs::File>>,
}

impl ListedThreadWaits {
    /// `None` where `list` or the waits cannot be read.
    pub fn open(list: &Path) -> Option<ListedThreadWaits> {
        // The list names threads in the reader's PID namespace: only a
        // /proc of that namespace has them under those numbers.
        if !procfs::shows_own_pid_namespace() || !kernel_keeps_schedstat() {
            return None;
        }
        let waits = ListedThreadWaits {
            list: fs::File::open(list).ok()?,
            schedstats: Mutex::default(),
        };
        waits.read()?;
        Some(waits)
    }

    /// The waits now, by thread ID; `None` where the list cannot be read.
    pub fn read(&self) -> Option<HashMap<u32, Duration>> {
        let tids = read_from_start(&self.list)?;
        let mut open = self
            .schedstats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut still_listed = HashMap::new();
        let mut waits = HashMap::new();
        for tid in tids
            .lines()
            .filter_map(|line| line.trim().parse::<u32>().ok())
        {
            let read = |file: fs::File| runqueue_wait_in(&file).map(|waited| (file, waited));
            // A file kept from an earlier reading answers for the thread
            // it was opened for: if that thread has ended and a new one
            // took its ID, the read fails and the ID is opened afresh
            // (/proc/TID answers for any thread, though only leaders are
            // listed there).
            let reading = open
                .remove(&tid)
                .and_then(read)
                .or_else(|| read(fs::File::open(format!("/proc/{tid}/schedstat")).ok()?));
            let Some((file, waited)) = reading else {
                continue;
            };
            waits.insert(tid, waited);
            still_listed.insert(tid, file);
        }
        // The files of threads no longer listed are closed.
        *open = still_listed;
        Some(waits)
    }
}

/// The whole of a kernel file read from its start (a pread at 0 makes
/// the kernel produce it anew).
fn read_from_start(file: &fs::File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::with_capacity(128);
    let mut chunk = [0u8; 4096];
    loop {
        match file.read_at(&mut chunk, text.len() as u64) {
            Ok(0) => break,
            Ok(read) => text.extend_from_slice(&chunk[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    String::from_utf8(text).ok()
}

/// The run-queue wait in an open `schedstat` (its second field).
fn runqueue_wait_in(schedstat: &fs::File) -> Option<Duration> {
    parse_runqueue_wait(&read_from_start(schedstat)?)
}

fn parse_runqueue_wait(schedstat: &str) -> Option<Duration> {
    schedstat
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(Duration::from_nanos)
}

/// The run-queue wait of the task whose `/proc` folder is `task`.
fn runqueue_wait(task: &Path) -> Option<Duration> {
    parse_runqueue_wait(&fs::read_to_string(task.join("schedstat")).ok()?)
}

/// See [`super::session_is_busy`].
pub fn is_busy(sid: u32) -> Option<bool> {
    let mut busy = false;
    for_each_thread(sid, |task, _| {
        if let Ok(stat) = fs::read_to_string(task.join("stat")) {
            busy |= matches!(stat_fields(&stat).next(), Some("R" | "D"));
        }
    })?;
    // A session with no thread left has ended: nothing of it is busy.
    Some(busy)
}

/// See [`super::listening_ports_of_session`].
pub fn listening_ports(sid: u32) -> Option<Vec<u16>> {
    let inodes: Vec<u64> = processes(sid)?
        .iter()
        .flat_map(|process| procfs::socket_inodes(process))
        .collect();
    if inodes.is_empty() {
        // No socket at all: no need to ask the kernel for its listeners.
        return Some(Vec::new());
    }
    let mut ports: Vec<u16> = listening_sockets()?
        .into_iter()
        .filter(|listener| inodes.contains(&listener.inode))
        .map(|listener| listener.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Some(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_of(child: &std::process::Child) -> u32 {
        let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        stat_fields(&stat).nth(3).unwrap().parse().unwrap()
    }

    #[test]
    fn the_waits_of_listed_threads_are_read_one_by_one() {
        // A list as a cgroup's `tasks` gives it: this thread, and one that
        // does not exist (it is left out, not an error).
        let list = tempfile::NamedTempFile::new().unwrap();
        let own = nix::unistd::gettid().as_raw() as u32;
        std::fs::write(list.path(), format!("{own}\n{}\n", i32::MAX)).unwrap();
        let listed = ListedThreadWaits::open(list.path()).unwrap();
        let tids = |waits: HashMap<u32, Duration>| {
            let mut tids: Vec<u32> = waits.into_keys().collect();
            tids.sort_unstable();
            tids
        };
        assert_eq!(tids(listed.read().unwrap()), vec![own]);
        assert!(ListedThreadWaits::open(Path::new("/nonexistent/tasks")).is_none());

        // The list is read afresh each time, and a thread that has ended
        // is left out, though its file was kept open from the reading
        // before: a kept file never answers for a thread that is gone.
        let (tid_sender, tid) = std::sync::mpsc::channel();
        let (end, ended) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            tid_sender
                .send(nix::unistd::gettid().as_raw() as u32)
                .unwrap();
            let _ = ended.recv();
        });
        let other_tid = tid.recv().unwrap();
        std::fs::write(list.path(), format!("{own}\n{other_tid}\n")).unwrap();
        let mut both = vec![own, other_tid];
        both.sort_unstable();
        assert_eq!(tids(listed.read().unwrap()), both);
        end.send(()).unwrap();
        other.join().unwrap();
        assert_eq!(tids(listed.read().unwrap()), vec![own]);
        std::fs::write(list.path(), "").unwrap();
        assert!(listed.read().unwrap().is_empty());
    }

    #[test]
    fn a_sleeping_program_is_idle_and_a_computing_one_busy() {
        use std::os::unix::process::CommandExt;
        let spawn = |script: &str| {
            let mut command = std::process::Command::new("sh");
            command.args(["-c", script]);
            // SAFETY: setsid is async-signal-safe.
            unsafe {
                command.pre_exec(|| {
                    libc::setsid();
                    Ok(())
                });
            }
            command.spawn().unwrap()
        };
        let mut sleeping = spawn("exec sleep 5");
        let mut computing = spawn("while :; do :; done");
        let (idle, busy) = (session_of(&sleeping), session_of(&computing));
        // Once started, `sleep` has nothing to run: however long a loaded
        // machine takes to get it there, it gets there.
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while is_busy(idle) != Some(false) && std::time::Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(is_busy(idle), Some(false));
        assert_eq!(is_busy(busy), Some(true));
        assert!(runqueue_waits(busy).is_some_and(|w| !w.is_empty()));
        for child in [&mut sleeping, &mut computing] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
