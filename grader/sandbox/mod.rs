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

#[cfg(target_os = "linux")]
mod linux;

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
