//! A running student program: launched in its own process group with its
//! output captured, watched from start to end, and stopped together with
//! everything it started.

use super::capture::Capture;
use super::program_clock::ProgramClock;
use crate::outcome::ExitInfo;
use crate::platform::{self, ProcessGroup};
use crate::sandbox::{self, Confinement};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// After SIGTERM, how long the group has to exit before SIGKILL.
pub const TERMINATE_GRACE: Duration = Duration::from_millis(200);
/// After SIGKILL, how long to wait for the exit to be reported.
const KILL_SETTLE: Duration = Duration::from_secs(2);
/// How long to keep reading output after the program is gone; a process
/// that escaped the group may hold the pipes open forever.
const OUTPUT_SETTLE: Duration = Duration::from_millis(300);

/// How many times a start that failed for the machine's reasons (see
/// [`is_harness_start_failure`]) is tried before it is reported.
pub const START_ATTEMPTS: u32 = 4;
/// The wait before the second attempt to start, doubled for each next one
/// (25, 50, 100 ms): long enough for a fork's busy descriptors to close or
/// a short shortage of processes or memory to pass.
const START_RETRY_BACKOFF: Duration = Duration::from_millis(25);

/// Whether a program could not start for the harness's or the machine's
/// reasons, not its own: its file still open for writing somewhere ("Text
/// file busy"), or no process, memory or descriptor to be had for the
/// fork. Those are tried again, and never the student's crash.
pub fn is_harness_start_failure(error: &std::io::Error) -> bool {
    platform::is_transient_start_failure(error)
}

/// Process groups of the programs running now, so that an interrupted
/// grade can end them all before it exits (they are in groups of their
/// own, which a terminal's Ctrl-C does not reach).
static RUNNING_GROUPS: Mutex<BTreeMap<u32, ProcessGroup>> = Mutex::new(BTreeMap::new());

fn running_groups() -> std::sync::MutexGuard<'static, BTreeMap<u32, ProcessGroup>> {
    RUNNING_GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills every running program's process group at once (on Ctrl-C).
pub fn kill_all_running() {
    for group in std::mem::take(&mut *running_groups()).into_values() {
        group.kill();
    }
}

/// Everything needed to start a program.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program and its arguments.
    pub argv: Vec<OsString>,
    /// The working directory (the exercise's private copy).
    pub cwd: PathBuf,
    /// Variables added to the environment.
    pub env: Vec<(String, String)>,
}

/// What the peer may watch while the program runs.
#[derive(Debug, Clone)]
pub struct Observer {
    /// `Some` once the program has exited.
    pub exit: watch::Receiver<Option<ExitInfo>>,
    /// The program's standard output.
    pub stdout: Capture,
    /// The program's process ID (its process group's), when it is ours.
    pub pid: Option<u32>,
    /// Where the kernel lists all the program's threads (its cgroup's
    /// list), when it has a cgroup of its own.
    pub thread_list: Option<PathBuf>,
}

impl Observer {
    /// An observer of no program: it never exits and prints nothing; for
    /// a peer whose partner is run by someone else (tests, practice).
    pub fn detached() -> Observer {
        // With its sender gone the channel never reports an exit.
        let (_, exit) = watch::channel(None);
        Observer {
            exit,
            stdout: Capture::closed(),
            pid: None,
            thread_list: None,
        }
    }

    /// The program's own clock (wall time for a program not ours).
    pub fn clock(&self) -> ProgramClock {
        self.pid.map_or_else(ProgramClock::wall, |pid| {
            ProgramClock::of_program(pid, self.thread_list.as_deref())
        })
    }

    /// How the program ended, if it has.
    pub fn exited(&self) -> Option<ExitInfo> {
        self.exit.borrow().clone()
    }

    /// Waits until the program exits and says how.
    pub async fn wait_exit(&mut self) -> ExitInfo {
        loop {
            if let Some(info) = self.exit.borrow_and_update().clone() {
                return info;
            }
            if self.exit.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The program's end: its status and output.
#[derive(Debug, Clone)]
pub struct Finished {
    /// How it ended.
    pub exit: ExitInfo,
    /// Its standard output, capped and escaped.
    pub stdout: String,
    /// Its standard error, capped and escaped.
    pub stderr: String,
}

/// A program that is running (or has just ended).
#[derive(Debug)]
pub struct Running {
    group: ProcessGroup,
    observer: Observer,
    stderr: Capture,
    readers: Vec<JoinHandle<()>>,
    signalled: watch::Sender<bool>,
}

impl Running {
    /// Starts `launch` in a process group of its own, confined if given.
    pub fn spawn(launch: &Launch, confinement: Option<&Confinement>) -> std::io::Result<Running> {
        let (program, args) = launch.argv.split_first().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command")
        })?;
        // `./solution` names a file in the working copy, but whether a
        // relative program path is resolved before or after the change of
        // directory differs between platforms: anchor it.
        let program = match Path::new(program) {
            path if path.is_relative() && path.components().count() > 1 => launch.cwd.join(path),
            path => path.to_path_buf(),
        };
        let started = sandbox::start(
            &sandbox::Program {
                file: &program,
                args,
                cwd: &launch.cwd,
                env: &launch.env,
            },
            confinement,
        )?;
        let group = started.group;
        let pid = group.leader();
        if let Some(confinement) = confinement {
            confinement.started(pid);
        }
        running_groups().insert(pid, group.clone());
        let (stdout, stdout_task) = Capture::start(started.stdout);
        let (stderr, stderr_task) = Capture::start(started.stderr);
        let mut exit_of_program = started.exit;
        let (exit_sender, exit) = watch::channel(None);
        let (signalled, signalled_receiver) = watch::channel(false);
        // The monitor owns the child: it reports the exit the moment it
        // happens, which is how a crash ends an exercise at once.
        tokio::spawn(async move {
            let info = match (&mut exit_of_program).await {
                Ok(status) => platform::exit_info(status, *signalled_receiver.borrow()),
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                    killed_by_grader: false,
                },
            };
            let _ = exit_sender.send(Some(info));
        });
        Ok(Running {
            group,
            observer: Observer {
                exit,
                stdout,
                pid: Some(pid),
                thread_list: confinement.and_then(|c| c.thread_list().map(Path::to_path_buf)),
            },
            stderr,
            readers: vec![stdout_task, stderr_task],
            signalled,
        })
    }

    /// [`Running::spawn`], tried again after a short backoff while the
    /// failure is the harness's or the machine's
    /// ([`is_harness_start_failure`]), at most [`START_ATTEMPTS`] times.
    pub async fn spawn_retrying(
        launch: &Launch,
        confinement: Option<&Confinement>,
    ) -> std::io::Result<Running> {
        let mut backoff = START_RETRY_BACKOFF;
        let mut attempt = 1;
        loop {
            match Running::spawn(launch, confinement) {
                Err(error) if attempt < START_ATTEMPTS && is_harness_start_failure(&error) => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                started => return started,
            }
        }
    }

    /// A handle for watching the program.
    pub fn observer(&self) -> Observer {
        self.observer.clone()
    }

    /// The program's stderr so far.
    pub fn stderr(&self) -> &Capture {
        &self.stderr
    }

    /// Ends the program and everything in its group: SIGTERM, a short grace,
    /// then SIGKILL for whatever is left; then collects the output.
    pub async fn stop(mut self) -> Finished {
        if self.observer.exited().is_none() {
            self.signalled.send_replace(true);
            self.group.terminate();
            let _ = timeout(TERMINATE_GRACE, self.observer.wait_exit()).await;
        }
        // Children of the program may outlive it in the group: always sweep.
        self.group.kill();
        running_groups().remove(&self.group.leader());
        let exit = match timeout(KILL_SETTLE, self.observer.wait_exit()).await {
            Ok(info) => info,
            Err(_) => ExitInfo {
                code: None,
                signal: None,
                killed_by_grader: true,
            },
        };
        for reader in self.readers.drain(..) {
            let abort = reader.abort_handle();
            if timeout(OUTPUT_SETTLE, reader).await.is_err() {
                abort.abort();
            }
        }
        Finished {
            exit,
            stdout: self.observer.stdout.render(),
            stderr: self.stderr.render(),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    /// A program whose file is still open for writing (as a copy is in a
    /// child between fork and exec) starts once the file is closed.
    #[tokio::test]
    async fn a_program_busy_for_a_moment_still_starts() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("busy");
        let mut file = std::fs::File::create(&program).unwrap();
        file.write_all(b"#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let launch = Launch {
            argv: vec![program.clone().into_os_string()],
            cwd: dir.path().to_path_buf(),
            env: Vec::new(),
        };
        let busy = Running::spawn(&launch, None).expect_err("open for writing");
        assert_eq!(busy.raw_os_error(), Some(libc::ETXTBSY));
        assert!(is_harness_start_failure(&busy));
        let closer = std::thread::spawn(move || {
            std::thread::sleep(START_RETRY_BACKOFF);
            drop(file);
        });
        let running = Running::spawn_retrying(&launch, None)
            .await
            .expect("started");
        closer.join().unwrap();
        let exit = running.observer().wait_exit().await;
        assert!(exit.is_success(), "{exit:?}");
        running.stop().await;
    }

    #[test]
    fn only_the_machines_failures_are_the_harnesss() {
        for errno in [libc::ETXTBSY, libc::EAGAIN, libc::ENOMEM] {
            assert!(is_harness_start_failure(
                &std::io::Error::from_raw_os_error(errno)
            ));
        }
        for errno in [libc::ENOENT, libc::EACCES, libc::ENOEXEC] {
            assert!(!is_harness_start_failure(
                &std::io::Error::from_raw_os_error(errno)
            ));
        }
    }
}
