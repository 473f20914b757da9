//! The isolation a student's program runs under. On Linux, where the kernel
//! allows it, a whole grade runs in new network and PID namespaces: its own
//! loopback (the notebook's fixed ports never collide, nothing off the
//! machine is reachable) and its own PID 1 (when the grade ends, nothing a
//! student started survives). Elsewhere, or when asked, only the process
//! group isolates (see `platform`).
//!
//! Namespaces are entered by re-executing sockgrade: the hidden command
//! `sockgrade __isolated -- ARGS` unshares, forks a child that becomes
//! PID 1 of the new namespace, brings its loopback up and executes
//! `sockgrade ARGS` there. No student code ever runs in the caller's own
//! namespaces or process.
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
mod syscalls;

#[cfg(target_os = "linux")]
pub use cgroup::CgroupKind;
#[cfg(target_os = "linux")]
pub use confine::{Confinement, address_space_backstop, remove_all_cgroups};
#[cfg(not(target_os = "linux"))]
pub use elsewhere::{CgroupKind, Confinement, remove_all_cgroups};
#[cfg(target_os = "linux")]
pub use memory::MEMORY_SAMPLE_INTERVAL;

use std::ffi::OsString;
use std::process::Command;

/// The hidden command that enters namespaces; see the module doc.
pub const ISOLATED_COMMAND: &str = "__isolated";

/// The isolation in force for a grade, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// The program shares the grader's network; its process group is
    /// ended after each exercise.
    #[default]
    None,
    /// New network and PID namespaces for the whole submission.
    Namespaces,
}

impl Isolation {
    /// The name written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Namespaces => "network and pid namespaces",
        }
    }
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

/// The hidden command: enters new namespaces and runs `sockgrade ARGS` as
/// their PID 1; returns the exit code to leave with. Must be called before
/// any thread is started (it forks).
pub fn run_isolated(args: &[OsString]) -> u8 {
    #[cfg(target_os = "linux")]
    return linux::run_isolated(args);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        eprintln!("sockgrade: namespaces exist only on Linux");
        crate::error::exit_code::INTERNAL
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn discover(config: &SandboxConfig) -> Result<(Protections, Vec<String>), String> {
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
            let cgroup = CgroupKind::discover();
            if let Some(cgroup) = &cgroup {
                cgroup.sweep_stale(STALE_CGROUP_AGE);
            }
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
            Ok((
                Protections {
                    cgroup,
                    landlock_abi,
                    run_as,
                    ipc_namespace: root,
                    syscall_filter: true,
                    memory_bytes,
                    rlimits: true,
                },
                missing,
            ))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = config;
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

    /// The protections in force, in words, for reports.
    pub fn describe(&self) -> Vec<String> {
        let mut words = Vec::new();
        let mib = self.memory_bytes >> 20;
        if let Some(cgroup) = &self.cgroup {
            words.push(format!(
                "{}: memory {mib} MiB, {PROCESS_LIMIT} processes{cpu}, all killed at the end",
                cgroup.describe(),
                cpu = if cgroup.shares_cpu() {
                    ", an equal CPU share"
                } else {
                    ""
                }
            ));
        }
        if let Some(abi) = self.landlock_abi {
            let reads = if self.run_as.is_some() {
                "; reads and runs only the system's files and its own"
            } else {
                ""
            };
            words.push(format!(
                "Landlock ABI {abi}: writes only in its own folders{reads}; no terminal ioctls; abstract sockets and signals stay inside its sandbox"
            ));
        }
        if let Some((uid, gid)) = self.run_as {
            words.push(format!(
                "runs as uid {uid} gid {gid}, no capabilities, no_new_privs"
            ));
        }
        if self.ipc_namespace {
            words.push("an IPC namespace of its own".to_string());
        }
        if self.syscall_filter {
            let ipc = if self.ipc_namespace {
                ""
            } else {
                ", System V and POSIX IPC"
            };
            words.push(format!(
                "seccomp: no Unix sockets, keyrings or terminal input{ipc}"
            ));
        }
        #[cfg(target_os = "linux")]
        if self.rlimits && !self.memory_in_cgroup() {
            words.push(format!(
                "a watchdog: memory {mib} MiB (what all its processes use, measured every {} ms), all killed over it",
                MEMORY_SAMPLE_INTERVAL.as_millis()
            ));
        }
        if self.rlimits {
            #[cfg(target_os = "linux")]
            let memory = if self.memory_in_cgroup() {
                String::new()
            } else {
                format!(
                    ", address space {} MiB (a backstop)",
                    address_space_backstop(self.memory_bytes) >> 20
                )
            };
            #[cfg(not(target_os = "linux"))]
            let memory = String::new();
            words.push(format!(
                "rlimits: CPU time, file size 64 MiB, {DESCRIPTOR_LIMIT} descriptors, no core dumps{memory}"
            ));
        }
        words
    }
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
    #[derive(Debug, Clone, PartialEq, Eq)]
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
        pub fn describe(&self) -> String {
            match *self {}
        }
    }

    /// No cgroups to remove.
    pub fn remove_all_cgroups() {}

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
        pub fn started(&self, _: u32) {}
        pub fn finish(self) -> Usage {
            Usage::default()
        }
    }
}
