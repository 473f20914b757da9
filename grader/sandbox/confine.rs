//! Confining one student program on Linux: resource limits (rlimits), a
//! cgroup of its own (v1 or v2) for memory and process counts and for
//! killing everything it started, Landlock so it can write only its own
//! folders, `no_new_privs`, and an unprivileged user when sockgrade runs
//! as root. Everything that can allocate or fail is prepared in the
//! parent; between fork and exec only raw system calls run.

use super::{PROCESS_LIMIT, Protections, Usage};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest file a program may write (RLIMIT_FSIZE): a print loop into a
/// file cannot fill the disk.
const FILE_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Landlock access rights that change the file system (ABI 1), then the
/// ones later ABIs added: REFER (2), TRUNCATE (3).
const LANDLOCK_WRITE_ABI1: u64 = (1 << 1) | (0b1_1111_1111 << 4);
const LANDLOCK_REFER: u64 = 1 << 13;
const LANDLOCK_TRUNCATE: u64 = 1 << 14;
/// Rights that make sense on a single file.
const LANDLOCK_FILE_RIGHTS: u64 = (1 << 1) | LANDLOCK_TRUNCATE;
/// Reading a file, listing a folder.
const LANDLOCK_READ_FILE: u64 = 1 << 2;
const LANDLOCK_READ: u64 = LANDLOCK_READ_FILE | (1 << 3);

/// What every program may read when reads are confined: the system's
/// programs, libraries, settings and kernel views; nothing that holds
/// users' files.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/dev", "/proc", "/sys",
];

fn readable_system_dirs() -> Vec<PathBuf> {
    SYSTEM_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|d| d.exists())
        .collect()
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

/// The resources of one program, made before it starts.
#[derive(Debug)]
pub struct Confinement {
    cgroups: Vec<PathBuf>,
    exec: Arc<ExecSteps>,
}

/// What the child does between fork and exec, all prepared.
#[derive(Debug)]
struct ExecSteps {
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    cgroup_procs: Vec<CString>,
    landlock: Option<OwnedFd>,
    user: Option<(u32, u32)>,
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
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        // Graders in namespaces are all PID 1: a random part keeps the
        // names of concurrent graders apart.
        static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let run = *RUN.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(std::process::id())
        });
        let mut rlimits = vec![
            (libc::RLIMIT_CPU, cpu_seconds.max(1)),
            (libc::RLIMIT_FSIZE, FILE_SIZE_LIMIT),
            (libc::RLIMIT_CORE, 0),
        ];
        let mut cgroups = Vec::new();
        if let Some(kind) = &protections.cgroup {
            let name = format!(
                "sockgrade-{run:016x}-{}",
                SEQUENCE.fetch_add(1, Ordering::Relaxed)
            );
            cgroups = kind.create(&name, protections.memory_bytes)?;
            live_cgroups().extend(cgroups.iter().cloned());
        }
        if !protections.memory_in_cgroup() {
            // No memory cgroup: the address-space limit is the fallback.
            rlimits.push((libc::RLIMIT_AS, protections.memory_bytes));
        }
        if protections.run_as.is_some() && !protections.pids_in_cgroup() {
            // Counted per user, so it only works for a user of our own.
            rlimits.push((libc::RLIMIT_NPROC, PROCESS_LIMIT));
        }
        // As root (an autograder, a batch) reads are confined too: the
        // system, and the program's own folders; not the other students'
        // submissions or results, wherever the instructor keeps them.
        let reads = protections.run_as.is_some().then(readable_system_dirs);
        let landlock = match protections.landlock_abi {
            Some(abi) => Some(landlock_ruleset(
                abi,
                &[workdir, tmpdir],
                &[Path::new("/dev/null")],
                reads.as_deref(),
            )?),
            None => None,
        };
        let cgroup_procs = cgroups
            .iter()
            .map(|dir| {
                CString::new(
                    dir.join("cgroup.procs")
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(Confinement {
            cgroups,
            exec: Arc::new(ExecSteps {
                rlimits,
                cgroup_procs,
                landlock,
                user: protections.run_as,
            }),
        })
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
        let cgroups = std::mem::take(&mut self.cgroups);
        live_cgroups().retain(|live| !cgroups.contains(live));
        for dir in &cgroups {
            kill_cgroup(dir);
            usage.out_of_memory |= read_counter(&dir.join("memory.events"), "oom_kill") > 0
                || read_counter(&dir.join("memory.oom_control"), "oom_kill") > 0;
            usage.out_of_processes |= read_counter(&dir.join("pids.events"), "max") > 0;
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
        live_cgroups().retain(|live| !self.cgroups.contains(live));
        for dir in &self.cgroups {
            kill_cgroup(dir);
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl ExecSteps {
    /// Runs in the child between fork and exec.
    fn run(&self) -> io::Result<()> {
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
        for procs in &self.cgroup_procs {
            // "0" moves the writer itself: the program is in its cgroup
            // before it can fork.
            // SAFETY: a NUL-terminated path and a two-byte buffer.
            unsafe {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
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
        // SAFETY: prctl and Landlock calls with integer arguments.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(ruleset) = &self.landlock
                && libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some((uid, gid)) = self.user {
            // Groups first, then the group, then the user: after setuid
            // nothing else may change.
            // SAFETY: plain system calls.
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

/// The Landlock ABI of this kernel, if it has Landlock.
pub fn landlock_abi() -> Option<u32> {
    // SAFETY: the documented version query: no attribute, flag 1.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0,
            1u32,
        )
    };
    u32::try_from(abi).ok().filter(|&abi| abi >= 1)
}

/// A ruleset that handles every write right and allows them only beneath
/// `dirs` and on `files`.
fn landlock_ruleset(
    abi: u32,
    dirs: &[&Path],
    files: &[&Path],
    reads: Option<&[PathBuf]>,
) -> io::Result<OwnedFd> {
    let mut handled = LANDLOCK_WRITE_ABI1;
    if reads.is_some() {
        handled |= LANDLOCK_READ;
    }
    if abi >= 2 {
        handled |= LANDLOCK_REFER;
    }
    if abi >= 3 {
        handled |= LANDLOCK_TRUNCATE;
    }
    // SAFETY: an 8-byte attribute holding handled_access_fs (the kernel
    // takes the size, so newer fields stay zero).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &handled as *const u64,
            std::mem::size_of::<u64>(),
            0u32,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let read_only = reads
        .unwrap_or_default()
        .iter()
        .map(|d| (d.as_path(), LANDLOCK_READ));
    for (path, rights) in dirs
        .iter()
        .map(|d| (*d, handled))
        .chain(
            files
                .iter()
                .map(|f| (*f, handled & (LANDLOCK_FILE_RIGHTS | LANDLOCK_READ_FILE))),
        )
        .chain(read_only)
    {
        let target = std::fs::File::open(path)?;
        #[repr(C, packed)]
        struct PathBeneath {
            allowed_access: u64,
            parent_fd: i32,
        }
        let rule = PathBeneath {
            allowed_access: rights,
            parent_fd: target.as_raw_fd(),
        };
        // SAFETY: rule type 1 (path beneath) with its packed attribute.
        let added = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset.as_raw_fd(),
                1u32,
                &rule as *const PathBeneath,
                0u32,
            )
        };
        if added != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(ruleset)
}

/// Kills the processes of a cgroup until it is empty: `cgroup.kill` where
/// the kernel has it (v2), else SIGKILL to each member, repeated while a
/// fork races the sweep (the pids limit bounds the race).
pub fn kill_cgroup(dir: &Path) {
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
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
