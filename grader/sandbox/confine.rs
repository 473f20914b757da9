//! Confining one student program on Linux: resource limits (rlimits), a
//! cgroup of its own (v1 or v2) for memory, process counts and a fair CPU
//! share and for killing everything it started, an IPC namespace of its
//! own, Landlock rules (`filesystem`), `no_new_privs`, an unprivileged
//! user when sockgrade runs as root, and a seccomp filter (`syscalls`).
//! Everything that can allocate or fail is prepared in the parent; between
//! fork and exec only system calls run.

use super::cgroup::ProgramCgroup;
use super::filesystem::FileRules;
use super::memory::MemoryWatch;
use super::{DESCRIPTOR_LIMIT, PROCESS_LIMIT, Protections, Usage, syscalls};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest file a program may write (RLIMIT_FSIZE): a print loop into a
/// file cannot fill the disk.
const FILE_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// The address-space limit (RLIMIT_AS) of a program whose memory no cgroup
/// bounds: only a backstop for what the memory watchdog (`memory`) cannot
/// see between two samples, never the bound itself. Runtimes reserve far
/// more than they use: V8 a code range and its heap cage, the JVM a heap
/// sized from the limit plus 1.25 GiB of class space and code cache, Go
/// its arenas. Eight times the memory limit, and at least 4 GiB, which
/// all of them live with.
pub fn address_space_backstop(memory_bytes: u64) -> u64 {
    const FACTOR: u64 = 8;
    const AT_LEAST: u64 = 4 << 30;
    memory_bytes.saturating_mul(FACTOR).max(AT_LEAST)
}

/// [`DESCRIPTOR_LIMIT`], or less where the grader's own hard limit is
/// lower (raising it would fail, and the program with it).
fn descriptor_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(DESCRIPTOR_LIMIT, |(_, hard)| hard.min(DESCRIPTOR_LIMIT))
}

/// Cgroups of programs alive now, so an interrupted grade can remove them
/// all before it exits.
static LIVE_CGROUPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live_cgroups() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_CGROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills and removes every live cgroup (on Ctrl-C or SIGTERM).
pub fn remove_all_cgroups() {
    for dir in std::mem::take(&mut *live_cgroups()) {
        kill_cgroup(&dir);
        let _ = std::fs::remove_dir(&dir);
    }
}

/// A cgroup name no other cgroup of this or any other grader has:
/// `{prefix}-{run}-{sequence}`. Graders in namespaces are all PID 1, so
/// the process ID cannot tell them apart: a random run ID does, and a
/// sequence number the names made by one grader.
pub(super) fn unique_name(prefix: &str) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let run = *RUN.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(std::process::id())
    });
    format!(
        "{prefix}-{run:016x}-{}",
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// The resources of one program, made before it starts.
#[derive(Debug)]
pub struct Confinement {
    cgroups: Vec<ProgramCgroup>,
    /// The file where the kernel lists every thread in the program's
    /// cgroup (`tasks` in v1, `cgroup.threads` in v2), if it has one.
    thread_list: Option<PathBuf>,
    exec: Arc<ExecSteps>,
    /// The memory limit the watchdog enforces, where no cgroup does.
    watched_memory: Option<u64>,
    /// The process limit the watchdog enforces, where nothing else does.
    watched_processes: Option<u64>,
    watch: std::sync::Mutex<Option<MemoryWatch>>,
}

/// What the child does between fork (or clone) and exec, all prepared.
#[derive(Debug)]
pub(super) struct ExecSteps {
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    /// The file each cgroup is joined by (see `CgroupFiles::join`).
    cgroup_joins: Vec<CString>,
    ipc_namespace: bool,
    landlock: Option<OwnedFd>,
    user: Option<(u32, u32)>,
    refused_calls: Option<seccompiler::BpfProgram>,
}

impl Confinement {
    /// Prepares the confinement of a program that works in `workdir` and
    /// `tmpdir`, with `cpu_seconds` of CPU time.
    pub fn prepare(
        protections: &Protections,
        workdir: &Path,
        tmpdir: &Path,
        cpu_seconds: u64,
    ) -> io::Result<Confinement> {
        let mut rlimits = vec![
            (libc::RLIMIT_CPU, cpu_seconds.max(1)),
            (libc::RLIMIT_FSIZE, FILE_SIZE_LIMIT),
            (libc::RLIMIT_CORE, 0),
            (libc::RLIMIT_NOFILE, descriptor_limit()),
        ];
        let mut cgroups = Vec::new();
        let mut thread_list = None;
        if let Some(kind) = &protections.cgroup {
            cgroups = kind.create(&unique_name("sockgrade"), protections.memory_bytes)?;
            live_cgroups().extend(cgroups.iter().map(|cgroup| cgroup.dir.clone()));
            thread_list = cgroups
                .first()
                .map(|cgroup| cgroup.dir.join(kind.thread_list_file()));
        }
        let watched_memory = (!protections.memory_in_cgroup()).then(|| {
            // No memory cgroup: a watchdog counts what is used; the
            // address-space limit only backs it up.
            rlimits.push((
                libc::RLIMIT_AS,
                address_space_backstop(protections.memory_bytes),
            ));
            protections.memory_bytes
        });
        let mut watched_processes = None;
        if !protections.pids_in_cgroup() {
            if protections.run_as.is_some() {
                // Counted per user, so it only works for a user of our own.
                rlimits.push((libc::RLIMIT_NPROC, PROCESS_LIMIT));
            } else {
                watched_processes = Some(PROCESS_LIMIT);
            }
        }
        // As root (an autograder, a batch) reads are confined too: the
        // system, and the program's own folders; not the other students'
        // submissions or results, wherever the instructor keeps them.
        let landlock = match protections.landlock_abi {
            Some(_) => FileRules {
                own: &[workdir, tmpdir],
                confine_reads: protections.run_as.is_some(),
            }
            .ruleset()?,
            None => None,
        };
        let refused_calls = if protections.syscall_filter {
            syscalls::refused_calls(protections.ipc_namespace)?
        } else {
            None
        };
        // Made beforehand: the child only opens and writes them.
        let cgroup_joins = cgroups
            .iter()
            .map(|cgroup| {
                CString::new(
                    cgroup
                        .dir
                        .join(cgroup.files.join)
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(Confinement {
            cgroups,
            thread_list,
            exec: Arc::new(ExecSteps {
                rlimits,
                cgroup_joins,
                ipc_namespace: protections.ipc_namespace,
                landlock,
                user: protections.run_as,
                refused_calls,
            }),
            watched_memory,
            watched_processes,
            watch: std::sync::Mutex::new(None),
        })
    }

    /// Starts what watches the program once it runs as `pid` (the memory
    /// watchdog, where no cgroup bounds its memory). Needs a Tokio runtime.
    pub fn started(&self, pid: u32) {
        if let Some(limit) = self.watched_memory {
            *self.watch.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(MemoryWatch::start(pid, limit, self.watched_processes));
        }
    }

    /// Where the kernel lists every thread of the program, whatever
    /// session or process group they moved to: nothing it starts leaves
    /// its cgroup.
    pub fn thread_list(&self) -> Option<&Path> {
        self.thread_list.as_deref()
    }

    /// What the child runs between clone and exec (see `spawn`).
    pub(super) fn exec_steps(&self) -> &ExecSteps {
        &self.exec
    }

    /// Makes `command` confine its child.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        let steps = Arc::clone(&self.exec);
        // SAFETY: the closure only makes system calls on data prepared
        // before the fork (no allocation, no locks).
        unsafe {
            command.pre_exec(move || steps.run());
        }
    }

    /// Kills every process left in the program's cgroups, reads how it
    /// used its resources, and removes the cgroups.
    pub fn finish(mut self) -> Usage {
        let mut usage = Usage::default();
        if let Some(watch) = self.watch.lock().unwrap_or_else(|p| p.into_inner()).take() {
            usage.out_of_memory = watch.exceeded();
            usage.out_of_processes = watch.too_many_processes();
        }
        let cgroups = std::mem::take(&mut self.cgroups);
        forget_live(&cgroups);
        for ProgramCgroup { dir, files } in &cgroups {
            end_members(dir, files.kills_all);
            let counted = |counter: Option<(&str, &str)>| {
                counter.is_some_and(|(file, key)| read_counter(&dir.join(file), key) > 0)
            };
            usage.out_of_memory |= counted(files.oom_kills);
            usage.out_of_processes |= counted(files.refused_forks);
            // Empty now (or soon: a killed process leaves the cgroup as it
            // is reaped); a failed removal only leaves an empty folder.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        usage
    }
}

impl Drop for Confinement {
    /// A program that never ran (or a grade that stopped early) still
    /// leaves nothing behind.
    fn drop(&mut self) {
        forget_live(&self.cgroups);
        for cgroup in &self.cgroups {
            end_members(&cgroup.dir, cgroup.files.kills_all);
            let _ = std::fs::remove_dir(&cgroup.dir);
        }
    }
}

/// Takes `cgroups` off the live list: they are being removed.
fn forget_live(cgroups: &[ProgramCgroup]) {
    live_cgroups().retain(|live| !cgroups.iter().any(|cgroup| &cgroup.dir == live));
}

impl ExecSteps {
    /// Runs in the child between fork (or a clone sharing the grader's
    /// memory) and exec: system calls only, and raw ones where glibc's
    /// wrapper would act for the process's other threads (setuid and
    /// friends signal every thread of a multi-threaded process, and a
    /// clone shares the grader's threads' memory).
    pub(super) fn run(&self) -> io::Result<()> {
        for join in &self.cgroup_joins {
            // "0" moves the writer itself: the program is in its cgroup
            // before it can fork.
            // SAFETY: a NUL-terminated path and a two-byte buffer.
            unsafe {
                let fd = libc::open(join.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    let error = io::Error::last_os_error();
                    if fd >= 0 {
                        libc::close(fd);
                    }
                    return Err(error);
                }
                libc::close(fd);
            }
        }
        // After the cgroup is joined: the descriptor limit applies to what
        // the program opens, not to this step.
        for &(resource, limit) in &self.rlimits {
            let value = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: plain system call with a valid pointer.
            if unsafe { libc::setrlimit(resource, &value) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if self.ipc_namespace {
            // Its shared memory, semaphores and message queues die with
            // its last process, and no other program can see them. Needs
            // CAP_SYS_ADMIN: before the change of user.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWIPC)?;
        }
        nix::sys::prctl::set_no_new_privs()?;
        if let Some(ruleset) = &self.landlock {
            // SAFETY: landlock_restrict_self takes a ruleset descriptor
            // that this struct owns and flags 0; it touches no memory.
            if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0) }
                != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some((uid, gid)) = self.user {
            // Groups first, then the group, then the user: after setuid
            // nothing else may change.
            let no_groups: *const libc::gid_t = std::ptr::null();
            // SAFETY: plain system calls on integers (and no group list).
            unsafe {
                raw_call(libc::syscall(libc::SYS_setgroups, 0, no_groups))?;
                raw_call(libc::syscall(libc::SYS_setgid, gid))?;
                raw_call(libc::syscall(libc::SYS_setuid, uid))?;
            }
        }
        // Last: nothing above may be refused by it.
        if let Some(filter) = &self.refused_calls {
            syscalls::enforce(filter)?;
        }
        Ok(())
    }
}

/// A raw system call's result as an `io::Result`.
fn raw_call(result: libc::c_long) -> io::Result<()> {
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Kills the processes of a cgroup of unknown kind until it is empty
/// (see [`end_members`]).
pub fn kill_cgroup(dir: &Path) {
    end_members(dir, true);
}

/// Kills the processes of a cgroup until it is empty: `cgroup.kill` first
/// where `try_kill_file` (v2, where the kernel has it), then SIGKILL to
/// each member left, repeated while a fork races the sweep (the pids
/// limit bounds the race).
fn end_members(dir: &Path, try_kill_file: bool) {
    if try_kill_file {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    }
    for _ in 0..100 {
        let members = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = members
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter(|&p| p > 1)
            .collect();
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            // SAFETY: kill with a positive pid from the cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The value of `key` in a "key value" file (memory.events, pids.events).
fn read_counter(file: &Path, key: &str) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == key).then(|| value.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}
