//! The memory bound of a program where no memory cgroup can be made (a
//! normal user, no delegated cgroup): a watchdog that counts what the
//! program's processes use, not what they reserve (and, where nothing
//! else can, how many processes it runs). Node's V8, the JVM and
//! the Go runtime reserve gigabytes of address space they never touch, so
//! an address-space limit of the memory limit kills them at start; the
//! proportional set size (PSS, shared pages split between the processes
//! that share them) of every process is what they really take.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the watchdog measures a program's memory. A program can
/// outgrow its limit by what it touches in this time (a few hundred MiB
/// at most) before it is stopped; the address-space backstop bounds the
/// rest (see `confine`).
pub const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// The watchdog of one program, running until it is dropped.
#[derive(Debug)]
pub struct MemoryWatch {
    exceeded: Arc<AtomicBool>,
    too_many: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl MemoryWatch {
    /// Watches the processes of the program started as `pid` (the leader
    /// of its own session and process group): when their memory together
    /// exceeds `limit_bytes`, every one of them is killed; and, where
    /// `processes` is given (no pids cgroup, and no user of its own whose
    /// RLIMIT_NPROC would count them), when there are more of them.
    pub fn start(pid: u32, limit_bytes: u64, processes: Option<u64>) -> MemoryWatch {
        let exceeded = Arc::new(AtomicBool::new(false));
        let too_many = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&exceeded);
        let many = Arc::clone(&too_many);
        let task = tokio::spawn(async move {
            let mut members = Members::new(pid);
            let mut tick = tokio::time::interval(MEMORY_SAMPLE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let alive = members.find();
                if alive == 0 {
                    return;
                }
                if processes.is_some_and(|limit| alive as u64 > limit) {
                    many.store(true, Ordering::SeqCst);
                    members.kill();
                    return;
                }
                if members.over(limit_bytes) {
                    flag.store(true, Ordering::SeqCst);
                    members.kill();
                    return;
                }
            }
        });
        MemoryWatch {
            exceeded,
            too_many,
            task,
        }
    }

    /// Whether the program was killed for using more than its limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::SeqCst)
    }

    /// Whether the program was killed for running too many processes.
    pub fn too_many_processes(&self) -> bool {
        self.too_many.load(Ordering::SeqCst)
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The processes of one program: the tree it started, and every process
/// once seen in it for as long as that lives, so a child that left the
/// session and lost its parent still counts.
struct Members {
    leader: u32,
    /// Known processes and their start times (a reused PID is another).
    known: HashMap<u32, u64>,
}

impl Members {
    fn new(leader: u32) -> Members {
        Members {
            leader,
            known: HashMap::new(),
        }
    }

    /// Finds the members alive now; returns how many.
    fn find(&mut self) -> usize {
        let mut alive = HashMap::new();
        let mut queue: Vec<u32> = vec![self.leader];
        queue.extend(self.known.keys().copied());
        while let Some(pid) = queue.pop() {
            if alive.contains_key(&pid) {
                continue;
            }
            let Some(stat) = Stat::read(pid) else {
                continue;
            };
            let belongs = pid == self.leader
                || self.known.get(&pid) == Some(&stat.start_time)
                || alive.contains_key(&stat.parent);
            if !belongs {
                continue;
            }
            alive.insert(pid, stat.start_time);
            queue.extend(children(pid));
        }
        self.known = alive;
        self.known.len()
    }

    /// Whether the members together use more than `limit` bytes. Their
    /// private resident memory (statm) is cheap to read and never less
    /// than what they use, but counts a page shared after a fork in every
    /// process; only over the limit is the exact measure taken, the PSS
    /// (smaps_rollup walks the page tables under the process's memory
    /// lock: every 20 ms it would slow a starting JVM).
    fn over(&self, limit: u64) -> bool {
        let private: u64 = self.known.keys().map(|&pid| private_resident(pid)).sum();
        private > limit
            && self
                .known
                .keys()
                .map(|&pid| proportional(pid).unwrap_or_else(|| private_resident(pid)))
                .sum::<u64>()
                > limit
    }

    /// Kills every member (the group first: what it forks meanwhile is in
    /// it too).
    fn kill(&self) {
        crate::platform::unix::kill_group(self.leader);
        for &pid in self.known.keys() {
            if let Ok(pid) = i32::try_from(pid)
                && pid > 1
            {
                // SAFETY: kill with a positive pid of a member.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// The fields of /proc/PID/stat the watchdog needs.
struct Stat {
    parent: u32,
    start_time: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = crate::platform::procfs::stat_fields(&text).collect();
        if fields.first() == Some(&"Z") {
            return None;
        }
        Some(Stat {
            parent: fields.get(1)?.parse().ok()?,
            start_time: fields.get(19)?.parse().ok()?,
        })
    }
}

/// The children of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The proportional set size of `pid` in bytes (shared pages divided
/// between the processes sharing them), if it can be read.
fn proportional(pid: u32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kib = rollup.lines().find_map(|line| {
        let value = line.strip_prefix("Pss:")?;
        value
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
    })?;
    Some(kib * 1024)
}

/// The resident memory of `pid` that is not a shared file or shared
/// memory page, in bytes (statm: resident less shared).
fn private_resident(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("statm"))
        .unwrap_or_default();
    let pages: Vec<u64> = statm
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    match pages[..] {
        [_, resident, shared, ..] => resident.saturating_sub(shared) * page_size(),
        _ => 0,
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program that touches more than its limit is killed, and the watch
    /// says why; one that stays under it is left alone.
    #[tokio::test]
    async fn a_program_over_its_limit_is_killed_and_one_under_it_is_not() {
        let start = |touch_mib: u32| {
            let mut command = tokio::process::Command::new("python3");
            command
                .args([
                    "-c",
                    &format!("import time; x = b'x' * ({touch_mib} << 20); time.sleep(2)"),
                ])
                .process_group(0)
                .kill_on_drop(true);
            command.spawn().expect("python3 runs")
        };
        let mut hog = start(400);
        let watch = MemoryWatch::start(hog.id().unwrap(), 100 << 20, None);
        let status = tokio::time::timeout(Duration::from_secs(5), hog.wait())
            .await
            .expect("killed before its sleep ends")
            .unwrap();
        assert!(!status.success());
        assert!(watch.exceeded());

        let mut modest = start(10);
        let watch = MemoryWatch::start(modest.id().unwrap(), 100 << 20, Some(8));
        assert!(modest.wait().await.unwrap().success());
        assert!(!watch.exceeded());
        assert!(!watch.too_many_processes());
    }

    /// A program with more processes than its limit is killed, all of
    /// them, and the watch says why.
    #[tokio::test]
    async fn a_program_with_too_many_processes_is_killed() {
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", "for i in 1 2 3 4 5 6; do sleep 5 & done; wait"])
            .process_group(0)
            .kill_on_drop(true);
        let mut spree = command.spawn().expect("sh runs");
        let watch = MemoryWatch::start(spree.id().unwrap(), 1 << 30, Some(4));
        let status = tokio::time::timeout(Duration::from_secs(3), spree.wait())
            .await
            .expect("killed before its sleeps end")
            .unwrap();
        assert!(!status.success());
        assert!(watch.too_many_processes());
        assert!(!watch.exceeded());
    }
}
