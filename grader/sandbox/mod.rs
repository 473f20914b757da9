//! The isolation a student's program runs under. On Linux, where the kernel
//! allows it, a whole grade runs in new network and PID namespaces: its own
//! loopback (the notebook's fixed ports never collide, nothing off the
//! machine is reachable) and its own PID 1 (when the grade ends, nothing a
//! student started survives). Elsewhere, or when asked, only the process
//! group isolates (see `platform`).
//!
//! Namespaces are entered by a child of the caller's: the hidden command
//! `sockgrade __isolated -- ARGS` (a new sockgrade, for a caller with
//! threads: a batch) or a fork of a caller with one thread
//! ([`fork_into_namespaces`]: `grade`) unshares, forks a child that
//! becomes PID 1 of the new namespace, brings its loopback up and runs
//! the grade there, in the same image (with no second exec). As root the
//! fork needs no child in between: the caller asks for a PID namespace
//! for its next child alone, forks it as PID 1 (which makes its network
//! namespace itself) and returns to its own (which takes the user
//! namespace that owns it: root of one below goes the maker's way). No
//! student code ever runs in the caller's own namespaces or process.
//!
//! Each program is also confined on its own ([`Confinement`]): a cgroup,
//! Landlock, another user when sockgrade is root, and rlimits, as far as
//! the machine allows; [`Protections`] says which, for the reports.

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod confine;
#[cfg(target_os = "linux")]
mod filesystem;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod memory;
#[cfg(target_os = "linux")]
mod quick_moves;
#[cfg(target_os = "linux")]
mod spawn;
mod start;
#[cfg(target_os = "linux")]
mod syscalls;
#[cfg(target_os = "linux")]
pub mod views;

#[cfg(target_os = "linux")]
pub use cgroup::CgroupKind;
#[cfg(target_os = "linux")]
pub use confine::{Confinement, address_space_backstop, remove_all_cgroups};
#[cfg(not(target_os = "linux"))]
pub use elsewhere::{CgroupKind, Confinement, QuickMoves, remove_all_cgroups, views};
#[cfg(target_os = "linux")]
pub use memory::MEMORY_SAMPLE_INTERVAL;
#[cfg(target_os = "linux")]
pub use quick_moves::QuickMoves;

pub use crate::outcome::Isolation;
pub use start::{Program, Started, start};

use crate::outcome::Protection;
use std::ffi::OsString;
use std::process::Command;

/// The hidden command that enters namespaces; see the module doc.
pub const ISOLATED_COMMAND: &str = "__isolated";

/// Where a grade's cgroups come from.
#[derive(Debug, Clone)]
pub enum CgroupSource {
    /// Probe this machine for cgroups sockgrade may create (and remove
    /// those that killed graders left behind).
    Probe,
    /// What the caller found: a child grader (each of a batch's, or the
    /// one a grade runs in namespaces) probes no more. A probe makes
    /// cgroups, which waits for the lock the caller's priming holds (see
    /// `quick_moves`), and the caller has swept and primed already.
    Caller(Option<CgroupKind>),
}

/// What the user asked for with `--isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum IsolationRequest {
    /// Namespaces where the kernel allows them, else none.
    #[default]
    Auto,
    /// Namespaces, or an error if the kernel does not allow them.
    Namespace,
    /// No namespaces.
    None,
}

/// Whether new namespaces can be made here; the reason when not.
pub fn namespaces_available() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    return linux::probe();
    #[cfg(not(target_os = "linux"))]
    Err("network and PID namespaces exist only on Linux".to_string())
}

/// Decides the isolation for a request: `Err` when namespaces were
/// required and cannot be had; `Ok((isolation, why_not))` otherwise, with
/// the reason when `auto` fell back to none.
pub fn decide(request: IsolationRequest) -> Result<(Isolation, Option<String>), String> {
    match request {
        IsolationRequest::None => Ok((Isolation::None, None)),
        IsolationRequest::Auto => match namespaces_available() {
            Ok(()) => Ok((Isolation::Namespaces, None)),
            Err(why) => Ok((Isolation::None, Some(why))),
        },
        IsolationRequest::Namespace => {
            namespaces_available().map(|()| (Isolation::Namespaces, None))
        }
    }
}

/// A command that runs `sockgrade ARGS` under `isolation`.
pub fn sockgrade_command(isolation: Isolation, args: &[OsString]) -> std::io::Result<Command> {
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    if isolation == Isolation::Namespaces {
        command.arg(ISOLATED_COMMAND).arg("--");
    }
    command.args(args);
    Ok(command)
}

/// Whether this system has the namespaces sockgrade isolates a grade in
/// (whether the kernel and the user allow them is another matter).
pub const NAMESPACES_EXIST: bool = cfg!(target_os = "linux");

/// The exit code of the hidden command when the namespaces cannot be
/// entered (nothing of `sockgrade ARGS` ran; its message on stderr says
/// why): a caller that asked for namespaces where the kernel allows them
/// grades without, instead of probing first (a probe costs a process).
pub const NAMESPACES_REFUSED: u8 = 75;

/// The hidden command: enters new namespaces and runs `sockgrade ARGS` as
/// their PID 1, in this same executable image (`inside` is given ARGS
/// after the fork: no second exec, whose loading was a tenth of a quick
/// grade); returns the exit code to leave with ([`NAMESPACES_REFUSED`]
/// when it cannot enter them). Must be called before any thread is
/// started (it forks).
pub fn run_isolated(args: &[OsString], inside: fn(&[OsString]) -> u8) -> u8 {
    #[cfg(target_os = "linux")]
    return linux::run_isolated(args, inside);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (args, inside);
        eprintln!("sockgrade: network and PID namespaces exist only on Linux");
        NAMESPACES_REFUSED
    }
}

/// A child grader forked into namespaces by [`fork_into_namespaces`],
/// not yet watched.
#[derive(Debug)]
pub struct Forked {
    #[cfg(target_os = "linux")]
    forked: linux::Forked,
    #[cfg(not(target_os = "linux"))]
    never: std::convert::Infallible,
}

/// The end of a process, awaited; dropping it before the end kills the
/// process.
pub type ProcessEnd =
    std::pin::Pin<Box<dyn Future<Output = std::io::Result<std::process::ExitStatus>> + Send>>;

impl Forked {
    pub fn pid(&self) -> u32 {
        #[cfg(target_os = "linux")]
        return self.forked.pid as u32;
        #[cfg(not(target_os = "linux"))]
        match self.never {}
    }

    /// Watches it from the async runtime: its stderr, and its end.
    pub fn watch(
        self,
    ) -> std::io::Result<(Box<dyn tokio::io::AsyncRead + Unpin + Send>, ProcessEnd)> {
        #[cfg(target_os = "linux")]
        {
            let linux::Forked { pid, pidfd, stderr } = self.forked;
            let stderr = tokio::net::unix::pipe::Receiver::from_owned_fd(stderr)?;
            let mut exit = spawn::Exit::adopt(pid, pidfd)?;
            Ok((Box::new(stderr), Box::pin(async move { exit.wait().await })))
        }
        #[cfg(not(target_os = "linux"))]
        match self.never {}
    }
}

/// Starts what `sockgrade __isolated -- ...` does, as a fork of this
/// process with no exec: a child that enters new namespaces and runs
/// `inside` as their PID 1, `TMPDIR` set to `tmpdir`, its stderr in a
/// pipe, its exit code that of the hidden command. `None` where only an
/// exec is safe (this process has other threads) or possible (not Linux).
/// Must be called outside any async runtime: the child starts one of its
/// own.
pub fn fork_into_namespaces(
    tmpdir: &std::path::Path,
    inside: impl FnOnce() -> u8,
) -> std::io::Result<Option<Forked>> {
    #[cfg(target_os = "linux")]
    return Ok(linux::fork_into_namespaces(tmpdir, inside)?.map(|forked| Forked { forked }));
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tmpdir, inside);
        Ok(None)
    }
}

/// Keeps `ports` (the exercises' fixed ports) for the programs in this
/// network namespace: the kernel gives none of them to a socket that did
/// not ask for it, so none of the grader's own sockets (a listener on any
/// free port, the source port of a connection) takes a port a program is
/// about to listen on. Without it a right server was, now and then, told
/// its port was "already in use" by the grader. Only ever called in the
/// grade's own namespace: the setting is the namespace's.
pub fn keep_ports_for_programs(ports: &[u16]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    return linux::keep_ports_for_programs(ports);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ports;
        Ok(())
    }
}

/// Age past which a sockgrade cgroup belongs to a grader that was killed
/// (no grade lives this long), and is swept.
#[cfg(target_os = "linux")]
const STALE_CGROUP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Processes per program (pids cgroup, else RLIMIT_NPROC for its user).
pub const PROCESS_LIMIT: u64 = 64;

/// Descriptors one process may hold (RLIMIT_NOFILE): plenty for a socket
/// program and its runtime, and with the process limit a bound on what a
/// program can take of the machine's file table.
pub const DESCRIPTOR_LIMIT: u64 = 1024;

/// The largest file a program may write (RLIMIT_FSIZE), in MiB, as
/// reports name it; `confine` sets the limit.
pub const FILE_SIZE_LIMIT_MIB: u64 = 64;

/// How a confined program's resources were used, read at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The memory limit was hit and the kernel killed a process for it.
    pub out_of_memory: bool,
    /// The process limit was hit (a fork failed).
    pub out_of_processes: bool,
}

/// Default memory limit of a student program (`--memory`), in MiB.
pub const DEFAULT_MEMORY_MIB: u64 = 512;
/// The user student programs run as when sockgrade runs as root.
pub const DEFAULT_RUN_AS: &str = "nobody";

/// What confinement was asked for (the command line).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SandboxConfig {
    /// Memory limit per program, in MiB.
    pub memory_mib: u64,
    /// The user to run programs as when root: a name or a numeric uid.
    pub run_as: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            memory_mib: DEFAULT_MEMORY_MIB,
            run_as: DEFAULT_RUN_AS.to_string(),
        }
    }
}

/// The protections a grade can apply to each program here, found once.
#[derive(Debug, Clone, Default)]
pub struct Protections {
    /// Cgroups sockgrade may create (limits, and killing every process).
    pub cgroup: Option<CgroupKind>,
    /// The Landlock ABI, when the kernel has Landlock.
    pub landlock_abi: Option<u32>,
    /// The (uid, gid) programs run as, when sockgrade is root.
    pub run_as: Option<(u32, u32)>,
    /// Each program gets an IPC namespace of its own (sockgrade is root,
    /// or root of the user namespace it grades in).
    pub ipc_namespace: bool,
    /// A seccomp filter refuses Unix sockets, keyrings and terminal input
    /// (and System V IPC where there is no IPC namespace).
    pub syscall_filter: bool,
    /// Memory limit per program.
    pub memory_bytes: u64,
    /// rlimits (CPU time, file size, and the fallbacks) are set.
    pub rlimits: bool,
}

impl Protections {
    /// No confinement at all (tests of the peer, platforms without it).
    pub fn none() -> Protections {
        Protections {
            memory_bytes: DEFAULT_MEMORY_MIB << 20,
            ..Protections::default()
        }
    }

    /// Looks at this machine: what can be applied, and, for what cannot,
    /// why. A bad `--run-as` is an error.
    pub fn discover(
        config: &SandboxConfig,
        cgroups: CgroupSource,
    ) -> Result<(Protections, Vec<String>), String> {
        let memory_bytes = config.memory_mib.saturating_mul(1 << 20);
        #[cfg(target_os = "linux")]
        {
            let mut missing = Vec::new();
            let root = nix::unistd::Uid::effective().is_root();
            let run_as = if root {
                Some(resolve_user(&config.run_as)?)
            } else {
                None
            };
            // Root of a user namespace may only become the users mapped in it.
            let run_as = run_as.filter(|&(uid, _)| uid_is_mapped(uid));
            match (root, run_as) {
                (false, _) => missing.push("a separate user (sockgrade is not root)".to_string()),
                (true, None) => missing.push(format!(
                    "a separate user ({} is not mapped in this user namespace)",
                    config.run_as
                )),
                (true, Some(_)) => {}
            }
            let probed = matches!(cgroups, CgroupSource::Probe);
            let cgroup = match cgroups {
                CgroupSource::Probe => {
                    let cgroup = CgroupKind::discover();
                    if let Some(cgroup) = &cgroup {
                        cgroup.sweep_stale(STALE_CGROUP_AGE);
                    }
                    cgroup
                }
                CgroupSource::Caller(cgroup) => cgroup,
            };
            if cgroup.is_none() {
                missing.push(if root {
                    "cgroups (none this process may create)".to_string()
                } else {
                    "cgroups (needs root)".to_string()
                });
            }
            let landlock_abi = filesystem::kernel_abi();
            if landlock_abi.is_none() {
                missing.push("Landlock (not in this kernel)".to_string());
            }
            // Root without CAP_SYS_ADMIN (a default Docker container, as
            // autograders run) may not make one: every program would then
            // fail to start. The filter refuses System V IPC instead.
            let ipc_namespace = root && linux::may_unshare_ipc();
            // After the probes: priming holds the kernel lock that a
            // cgroup probe needs. Only where the cgroups were probed: a
            // child grader's caller has primed already, and a second prime
            // would hold that lock while the child makes its first
            // programs' cgroups (a Python grade took 5% longer with it).
            if let Some(cgroup) = cgroup.as_ref().filter(|_| probed) {
                quick_moves::prime(cgroup);
            }
            if root && !ipc_namespace {
                missing.push(
                    "an IPC namespace per program (not allowed here: no CAP_SYS_ADMIN); System V IPC is refused instead"
                        .to_string(),
                );
            }
            Ok((
                Protections {
                    cgroup,
                    landlock_abi,
                    run_as,
                    ipc_namespace,
                    syscall_filter: true,
                    memory_bytes,
                    rlimits: true,
                },
                missing,
            ))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (config, cgroups);
            Ok((
                Protections {
                    memory_bytes,
                    ..Protections::default()
                },
                vec!["cgroups, Landlock, rlimits and a separate user (Linux only)".to_string()],
            ))
        }
    }

    /// Whether a memory cgroup limits each program.
    pub fn memory_in_cgroup(&self) -> bool {
        self.cgroup.as_ref().is_some_and(CgroupKind::limits_memory)
    }

    /// Whether a pids cgroup limits each program.
    pub fn pids_in_cgroup(&self) -> bool {
        self.cgroup.as_ref().is_some_and(CgroupKind::limits_pids)
    }

    /// The protections in force, for reports.
    pub fn in_force(&self) -> Vec<Protection> {
        let memory_mib = self.memory_bytes >> 20;
        let mut in_force = Vec::new();
        if let Some(cgroup) = &self.cgroup {
            in_force.push(Protection::Cgroup {
                version: cgroup_version(cgroup),
                limits_memory: cgroup.limits_memory(),
                limits_processes: cgroup.limits_pids(),
                equal_cpu_share: cgroup.shares_cpu(),
                memory_mib,
                processes: PROCESS_LIMIT,
            });
        }
        if let Some(abi) = self.landlock_abi {
            in_force.push(Protection::Landlock {
                abi,
                // As `confine` does: reads are confined for another user.
                reads_limited: self.run_as.is_some(),
            });
        }
        if let Some((uid, gid)) = self.run_as {
            in_force.push(Protection::User { uid, gid });
        }
        if self.ipc_namespace {
            in_force.push(Protection::IpcNamespace);
        }
        if self.syscall_filter {
            in_force.push(Protection::Seccomp {
                refuses_ipc: !self.ipc_namespace,
            });
        }
        #[cfg(target_os = "linux")]
        if self.rlimits && !self.memory_in_cgroup() {
            in_force.push(Protection::MemoryWatchdog {
                memory_mib,
                sample_interval_ms: MEMORY_SAMPLE_INTERVAL.as_millis() as u64,
            });
        }
        if self.rlimits {
            #[cfg(target_os = "linux")]
            let address_space_mib =
                (!self.memory_in_cgroup()).then(|| address_space_backstop(self.memory_bytes) >> 20);
            #[cfg(not(target_os = "linux"))]
            let address_space_mib = None;
            in_force.push(Protection::Rlimits {
                file_size_mib: FILE_SIZE_LIMIT_MIB,
                descriptors: DESCRIPTOR_LIMIT,
                address_space_mib,
            });
        }
        in_force
    }
}

/// 1 or 2: the cgroup hierarchy sockgrade creates groups in.
fn cgroup_version(cgroup: &CgroupKind) -> u32 {
    #[cfg(target_os = "linux")]
    return match cgroup {
        CgroupKind::V1 { .. } => 1,
        CgroupKind::V2 { .. } => 2,
    };
    #[cfg(not(target_os = "linux"))]
    match *cgroup {}
}

/// Whether `uid` exists in this process's user namespace.
#[cfg(target_os = "linux")]
fn uid_is_mapped(uid: u32) -> bool {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines().any(|line| {
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        matches!(numbers[..], [inside, _, count] if (inside..inside + count).contains(&u64::from(uid)))
    })
}

/// The uid and gid of `user` (a name or a number).
#[cfg(target_os = "linux")]
fn resolve_user(user: &str) -> Result<(u32, u32), String> {
    use nix::unistd::{Uid, User};
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map_or(Some((uid, uid)), |u| Some((u.uid.as_raw(), u.gid.as_raw()))),
        Err(_) => User::from_name(user)
            .ok()
            .flatten()
            .map(|u| (u.uid.as_raw(), u.gid.as_raw())),
    };
    match found {
        Some((0, _)) => Err(format!(
            "--run-as {user} is root: student programs must not run as root"
        )),
        Some(ids) => Ok(ids),
        None => Err(format!(
            "--run-as {user}: no such user on this machine; give another name or a numeric uid"
        )),
    }
}

/// Stand-ins where the kernel has none of this: nothing is confined.
#[cfg(not(target_os = "linux"))]
mod elsewhere {
    use super::{Protections, Usage};
    use std::path::Path;

    /// No cgroups outside Linux.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub enum CgroupKind {}

    impl CgroupKind {
        pub fn limits_memory(&self) -> bool {
            match *self {}
        }
        pub fn limits_pids(&self) -> bool {
            match *self {}
        }
        pub fn shares_cpu(&self) -> bool {
            match *self {}
        }
    }

    /// No cgroups to remove.
    pub fn remove_all_cgroups() {}

    /// No overlay views outside Linux: every exercise gets a copy.
    pub mod views {
        pub fn available() -> bool {
            false
        }
        pub fn mount(
            _: &std::path::Path,
            _: &std::path::Path,
            _: &std::path::Path,
        ) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }

    /// No cgroups to move programs into.
    #[derive(Debug)]
    pub struct QuickMoves;

    impl QuickMoves {
        pub fn start(cgroup: &CgroupKind) -> Option<QuickMoves> {
            match *cgroup {}
        }
        pub fn program_starting(&self) {}
    }

    /// Nothing to confine with.
    #[derive(Debug)]
    pub struct Confinement;

    impl Confinement {
        pub fn prepare(
            _: &Protections,
            _: &Path,
            _: &Path,
            _: u64,
        ) -> std::io::Result<Confinement> {
            Ok(Confinement)
        }
        pub fn apply(&self, _: &mut tokio::process::Command) {}
        pub fn thread_list(&self) -> Option<&Path> {
            None
        }
        pub fn started(&self, _: u32) {}
        pub fn finish(self) -> Usage {
            Usage::default()
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// What a root grader with every protection finds (cgroup v2).
    fn as_root() -> Protections {
        Protections {
            cgroup: Some(CgroupKind::V2 {
                parent: std::path::PathBuf::from("/sys/fs/cgroup/sockgrade"),
                memory: true,
                pids: true,
                cpu: true,
            }),
            landlock_abi: Some(6),
            run_as: Some((65534, 65534)),
            ipc_namespace: true,
            syscall_filter: true,
            memory_bytes: 512 << 20,
            rlimits: true,
        }
    }

    #[test]
    fn root_with_a_memory_cgroup_needs_no_watchdog_nor_backstop() {
        assert_eq!(
            as_root().in_force(),
            vec![
                Protection::Cgroup {
                    version: 2,
                    limits_memory: true,
                    limits_processes: true,
                    equal_cpu_share: true,
                    memory_mib: 512,
                    processes: PROCESS_LIMIT,
                },
                Protection::Landlock {
                    abi: 6,
                    reads_limited: true,
                },
                Protection::User {
                    uid: 65534,
                    gid: 65534,
                },
                Protection::IpcNamespace,
                Protection::Seccomp { refuses_ipc: false },
                Protection::Rlimits {
                    file_size_mib: FILE_SIZE_LIMIT_MIB,
                    descriptors: DESCRIPTOR_LIMIT,
                    address_space_mib: None,
                },
            ]
        );
    }

    #[test]
    fn a_normal_user_gets_the_watchdog_the_backstop_and_seccomp_for_ipc() {
        let protections = Protections {
            cgroup: None,
            run_as: None,
            ipc_namespace: false,
            ..as_root()
        };
        assert_eq!(
            protections.in_force(),
            vec![
                Protection::Landlock {
                    abi: 6,
                    reads_limited: false,
                },
                Protection::Seccomp { refuses_ipc: true },
                Protection::MemoryWatchdog {
                    memory_mib: 512,
                    sample_interval_ms: MEMORY_SAMPLE_INTERVAL.as_millis() as u64,
                },
                Protection::Rlimits {
                    file_size_mib: FILE_SIZE_LIMIT_MIB,
                    descriptors: DESCRIPTOR_LIMIT,
                    address_space_mib: Some(address_space_backstop(512 << 20) >> 20),
                },
            ]
        );
    }
}
