//! Starting a student's program, confined: the one operation every
//! platform offers the rest of the grader. On Linux a clone that shares
//! the grader's memory until exec (`spawn`); elsewhere, or on a kernel
//! without pidfds, the runtime's own spawn with the confinement run
//! between fork and exec.

use super::Confinement;
use crate::platform;
use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use tokio::io::AsyncRead;

/// What to start.
#[derive(Debug, Clone, Copy)]
pub struct Program<'a> {
    /// The file, or a name looked for in PATH.
    pub file: &'a Path,
    /// The arguments after it.
    pub args: &'a [OsString],
    /// The working folder.
    pub cwd: &'a Path,
    /// Variables set for it on top of the few it inherits
    /// (`platform::INHERITED_ENV`).
    pub env: &'a [(String, String)],
}

/// Output of a started program.
pub type Output = Box<dyn AsyncRead + Send + Unpin>;

/// A started program: the process group it leads (its pid is the
/// group's, and on Unix the session's), its output, and its end (dropping
/// that before the end kills it).
pub struct Started {
    pub group: platform::ProcessGroup,
    pub stdout: Output,
    pub stderr: Output,
    pub exit: Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send>>,
}

/// The environment a program gets: only what it needs of the grader's
/// (a CI's tokens and secrets live there), then the grader's own values.
fn environment(program: &Program<'_>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = match platform::INHERITED_ENV {
        Some(inherited) => inherited
            .iter()
            .filter_map(|name| Some((OsString::from(name), std::env::var_os(name)?)))
            .collect(),
        None => std::env::vars_os().collect(),
    };
    for (name, value) in program.env {
        env.retain(|(existing, _)| existing != name.as_str());
        env.push((name.into(), value.into()));
    }
    env
}

/// Starts `program` in a process group (and on Unix a session) of its
/// own, with stdin from nowhere and its output in pipes, confined by
/// `confinement` if given.
pub fn start(program: &Program<'_>, confinement: Option<&Confinement>) -> io::Result<Started> {
    let env = environment(program);
    #[cfg(target_os = "linux")]
    {
        let steps = confinement.map(Confinement::exec_steps);
        let spawned = super::spawn::spawn(
            program.file.as_os_str(),
            program.args,
            program.cwd,
            &env,
            steps,
        )?;
        if let Some(spawned) = spawned {
            let mut exit = spawned.exit;
            return Ok(Started {
                group: platform::ProcessGroup::led_by(spawned.pid),
                stdout: Box::new(spawned.stdout),
                stderr: Box::new(spawned.stderr),
                exit: Box::pin(async move { exit.wait().await }),
            });
        }
    }
    start_with_runtime(program, &env, confinement)
}

/// The runtime's spawn (a fork where a pre-exec step is needed).
fn start_with_runtime(
    program: &Program<'_>,
    env: &[(OsString, OsString)],
    confinement: Option<&Confinement>,
) -> io::Result<Started> {
    let mut command = tokio::process::Command::new(program.file);
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(program.args)
        .current_dir(program.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    platform::detach_from_grader(&mut command);
    if let Some(confinement) = confinement {
        confinement.apply(&mut command);
    }
    let mut child = command.spawn()?;
    let group = platform::ProcessGroup::adopt(&child);
    let stdout: Output = match child.stdout.take() {
        Some(pipe) => Box::new(pipe),
        None => Box::new(tokio::io::empty()),
    };
    let stderr: Output = match child.stderr.take() {
        Some(pipe) => Box::new(pipe),
        None => Box::new(tokio::io::empty()),
    };
    Ok(Started {
        group,
        stdout,
        stderr,
        exit: Box::pin(async move { child.wait().await }),
    })
}
