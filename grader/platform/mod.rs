//! Everything that differs between operating systems, behind one small
//! interface: process groups and their signals, exit statuses, the host
//! name, and (on Linux) which process listens on a port. The rest of the
//! code compiles and runs everywhere.

#[cfg(target_os = "linux")]
mod listeners;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(target_os = "linux")]
mod session;

use crate::outcome::ExitInfo;
use std::process::ExitStatus;

/// Starts the child detached from the grader: in a session and process
/// group of its own (so everything it starts can be ended together), with
/// no controlling terminal (so it cannot open `/dev/tty` and type into the
/// grader's terminal with TIOCSTI), and with no descriptor of the grader's
/// but stdin, stdout and stderr (a shell may have handed the grader others,
/// `7</root/secret`, that it never marked close-on-exec).
pub fn detach_from_grader(command: &mut tokio::process::Command) {
    #[cfg(unix)]
    // SAFETY: the closure makes only async-signal-safe system calls
    // (setsid, close_range or fcntl, getrlimit) and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()?;
            close_inherited_descriptors();
            Ok(())
        });
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// Marks every descriptor above stderr close-on-exec: they close at the
/// program's exec, while the runtime's own exec-error pipe (already
/// close-on-exec) keeps working until then.
#[cfg(unix)]
fn close_inherited_descriptors() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: close_range takes plain integers.
        let marked = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if marked == 0 {
            return;
        }
    }
    // Older kernels and other systems: one by one, up to the descriptor
    // limit (bounded, so a huge limit cannot stall the start).
    const MOST_DESCRIPTORS_SWEPT: libc::c_int = 65_536;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let highest = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        libc::c_int::try_from(limit.rlim_cur).unwrap_or(MOST_DESCRIPTORS_SWEPT)
    } else {
        MOST_DESCRIPTORS_SWEPT
    };
    for fd in 3..highest.min(MOST_DESCRIPTORS_SWEPT) {
        // SAFETY: fcntl on a descriptor number; a closed one is EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Asks every process of the group led by `pid` to stop (SIGTERM).
pub fn terminate_group(pid: u32) {
    #[cfg(unix)]
    signal_group(pid, nix::sys::signal::Signal::SIGTERM);
    #[cfg(not(unix))]
    let _ = pid;
}

/// Kills every process of the group led by `pid` (SIGKILL).
pub fn kill_group(pid: u32) {
    #[cfg(unix)]
    signal_group(pid, nix::sys::signal::Signal::SIGKILL);
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(unix)]
fn signal_group(pid: u32, signal: nix::sys::signal::Signal) {
    // 0 and 1 would name the caller's own group and init: never a student's.
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        // ESRCH means the group is already gone, which is the goal.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM: the requests to stop.
pub async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Asks process `pid` (not its group) to stop with SIGTERM.
pub fn terminate_process(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// How a process ended, in the report's terms.
pub fn exit_info(status: ExitStatus, killed_by_grader: bool) -> ExitInfo {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    ExitInfo {
        code: status.code(),
        signal,
        killed_by_grader,
    }
}

/// Whether `user` (uid, gid) may execute `path`: the file and every folder
/// above it must grant it, as owner, group or other.
pub fn executable_by(path: &std::path::Path, user: (u32, u32)) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(real) = path.canonicalize() else {
            return false;
        };
        let may_enter = |meta: &std::fs::Metadata| {
            let mode = meta.mode();
            if meta.uid() == user.0 {
                mode & 0o100 != 0
            } else if meta.gid() == user.1 {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            }
        };
        real.ancestors()
            .all(|step| std::fs::metadata(step).is_ok_and(|meta| may_enter(&meta)))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, user);
        true
    }
}

/// A new temporary folder (in `TMPDIR`) that only this user may enter:
/// mode 0700 from the moment it exists. Give it 0711 with [`set_mode`]
/// where the programs' user must cross it.
pub fn private_tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir()
}

/// Sets the permission bits of `path` (a no-op where there are none).
pub fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// CPU time (user and system, ms) of this process so far, and of the
/// processes it started and waited for (its children and what they
/// waited for): the grader's own work, and its programs'.
pub fn cpu_time_ms() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{UsageWho, getrusage};
        let ms = |who| {
            let usage = getrusage(who).ok()?;
            let micros = |t: nix::sys::time::TimeVal| -> Option<u64> {
                Some(
                    u64::try_from(t.tv_sec()).ok()? * 1_000_000
                        + u64::try_from(t.tv_usec()).ok()?,
                )
            };
            Some((micros(usage.user_time())? + micros(usage.system_time())?) / 1000)
        };
        Some((ms(UsageWho::RUSAGE_SELF)?, ms(UsageWho::RUSAGE_CHILDREN)?))
    }
    #[cfg(not(unix))]
    None
}

/// The peak resident memory of this process so far, in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    #[cfg(unix)]
    {
        let usage =
            nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).ok()?;
        let max = u64::try_from(usage.max_rss()).ok()?;
        // Linux reports KiB, macOS bytes.
        Some(if cfg!(target_os = "macos") {
            max / 1024
        } else {
            max
        })
    }
    #[cfg(not(unix))]
    None
}

/// The machine's host name, as a student's `socket.gethostname()` sees it.
pub fn hostname() -> String {
    #[cfg(unix)]
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|n| n.into_string().ok());
    #[cfg(not(unix))]
    let name = std::env::var("COMPUTERNAME").ok();
    name.unwrap_or_else(|| "localhost".to_string())
}

/// The TCP ports that processes of the session led by `sid` listen on;
/// `None` where that cannot be read (not Linux, or a /proc that belongs
/// to another PID namespace).
pub fn listening_ports_of_session(sid: u32) -> Option<Vec<u16>> {
    #[cfg(target_os = "linux")]
    return session::listening_ports(sid);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sid;
        None
    }
}

/// How long each thread of the session led by `sid` has waited for a CPU
/// while runnable (its run-queue wait, from `/proc/PID/task/TID/schedstat`),
/// by thread ID; `None` where the kernel does not say (not Linux, or no
/// scheduler statistics).
pub fn runqueue_waits_of_session(
    sid: u32,
) -> Option<std::collections::HashMap<u32, std::time::Duration>> {
    #[cfg(target_os = "linux")]
    return session::runqueue_waits(sid);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sid;
        None
    }
}

/// Whether some thread of the session led by `sid` is running, waiting
/// for a CPU, or in an uninterruptible wait (loading its files): a program
/// that is none of these is waiting for something, done starting. `None`
/// where the kernel does not say.
pub fn session_is_busy(sid: u32) -> Option<bool> {
    #[cfg(target_os = "linux")]
    return session::is_busy(sid);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sid;
        None
    }
}

/// The kernel's count of microseconds during which some runnable task
/// waited for a CPU (`some total` of `/proc/pressure/cpu`); `None` where
/// the kernel keeps no pressure figures.
pub fn cpu_pressure_total() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
        text.lines()
            .find(|line| line.starts_with("some "))?
            .split_whitespace()
            .find_map(|field| field.strip_prefix("total="))?
            .parse()
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Names the process listening on TCP `port` ("python3 server.py (pid 42)"),
/// where the system lets us find out.
pub fn port_holder(port: u16) -> Option<String> {
    #[cfg(target_os = "linux")]
    return linux::port_holder(port);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::listeners::listening_sockets;
    use super::procfs;
    use std::fs;

    pub fn port_holder(port: u16) -> Option<String> {
        let inode = listening_sockets()?
            .into_iter()
            .find(|listener| listener.port == port)?
            .inode;
        for (pid, process) in procfs::processes()? {
            if procfs::socket_inodes(&process).contains(&inode) {
                let cmdline = fs::read(process.join("cmdline")).unwrap_or_default();
                let command = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                return Some(format!("`{}` (pid {pid})", command.trim()));
            }
        }
        Some(format!(
            "a process this user cannot see (socket inode {inode})"
        ))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_the_process_that_listens() {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let holder = port_holder(port).unwrap();
            assert!(
                holder.contains(&format!("(pid {})", std::process::id())),
                "{holder}"
            );
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_temporary_folders_are_closed_to_other_users() {
        let dir = private_tempdir("sockgrade-test-").unwrap();
        let mode = dir.path().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
