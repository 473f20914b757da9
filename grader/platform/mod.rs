//! Everything that differs between operating systems, behind one small
//! interface: starting a program detached and ending it with everything
//! it started ([`ProcessGroup`]), how it ended, file modes, owners and
//! kinds, walking a folder without following links, the host name, what
//! the grader and its programs used, and (on Linux) what the kernel tells
//! about a program: its sockets, its threads' waits. The rest of the code
//! calls these and compiles unchanged everywhere.
//!
//! The implementations are chosen once, here, as std and nextest do it:
//! `unix.rs` and `windows.rs` provide the same functions for the OS, and
//! `linux.rs` (`/proc`, sock_diag) or `elsewhere.rs` the kernel's figures.
//! The Linux confinement (namespaces, cgroups, Landlock) is `sandbox`.

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;
#[cfg(not(any(unix, windows)))]
compile_error!("sockgrade runs on Unix (Linux, macOS) and on Windows");

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as kernel;
#[cfg(not(target_os = "linux"))]
mod elsewhere;
#[cfg(not(target_os = "linux"))]
use elsewhere as kernel;
#[cfg(target_os = "linux")]
mod listeners;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(target_os = "linux")]
mod session;
#[cfg(target_os = "linux")]
mod sock_diag;

use crate::outcome::ExitInfo;
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Starts the child detached from the grader: in a process group of its
/// own (so everything it starts can be ended together, and a terminal's
/// Ctrl-C reaches the grader only). On Unix also in a session of its own
/// with no controlling terminal (so it cannot open `/dev/tty` and type
/// into the grader's terminal with TIOCSTI), and with no descriptor of the
/// grader's but stdin, stdout and stderr (a shell may have handed the
/// grader others, `7</root/secret`, that it never marked close-on-exec).
pub fn detach_from_grader(command: &mut tokio::process::Command) {
    os::detach_from_grader(command);
}

/// Marks every descriptor above stderr close-on-exec (in a child about to
/// exec; system calls only).
#[cfg(unix)]
pub fn close_inherited_descriptors() {
    os::close_inherited_descriptors();
}

/// A started program and everything it starts, to be ended together: the
/// process group (and session) it leads on Unix, a Job object on Windows.
#[derive(Debug, Clone)]
pub struct ProcessGroup(os::Group);

impl ProcessGroup {
    /// The group of `child`, just started with [`detach_from_grader`].
    pub fn adopt(child: &tokio::process::Child) -> ProcessGroup {
        ProcessGroup(os::Group::adopt(child))
    }

    /// The group led by the program `pid`, started detached from the
    /// grader (see [`crate::sandbox::start`]).
    #[cfg(unix)]
    pub fn led_by(pid: u32) -> ProcessGroup {
        ProcessGroup(os::Group::led_by(pid))
    }

    /// The process ID of the program that leads it.
    pub fn leader(&self) -> u32 {
        self.0.leader()
    }

    /// Asks every process of the group to stop: SIGTERM on Unix, a
    /// Ctrl-Break to its console process group on Windows.
    pub fn terminate(&self) {
        self.0.terminate();
    }

    /// Ends every process of the group at once: SIGKILL on Unix, the Job
    /// object terminated on Windows.
    pub fn kill(&self) {
        self.0.kill();
    }
}

/// Asks process `pid` (not its group) to stop: SIGTERM on Unix. Windows
/// has no such request for a process without a console group of its own,
/// so there it is ended (the Job objects of the programs it started end
/// with it, see [`ProcessGroup`]).
pub fn terminate_process(pid: u32) {
    os::terminate_process(pid);
}

/// Catches a request to stop from now on, for [`stop_requested`] to see
/// once a runtime waits for one: before, a Ctrl-C or SIGTERM ended the
/// process at once, and left behind what it had made (a child grader's
/// private folder, a grade going on without its command). Inherited by a
/// fork (a stop asked before it is the child's too), undone by an exec.
/// Nothing to catch early on Windows, where a console event is only
/// handled once asked for.
pub fn catch_stop_signals() {
    os::catch_stop_signals();
}

/// Runs `handler` on SIGINT and SIGTERM from now on. It may do only what
/// a signal handler may: store to an atomic, call `kill`.
#[cfg(unix)]
pub fn on_stop_signals(handler: extern "C" fn(libc::c_int)) {
    os::on_stop_signals(handler);
}

/// Waits for a request to stop: Ctrl-C, and SIGTERM on Unix or Ctrl-Break
/// on Windows; at once if one came since [`catch_stop_signals`].
pub async fn stop_requested() {
    os::stop_requested().await;
}

/// The signal that ended a process, where the OS has signals.
pub fn exit_signal(status: ExitStatus) -> Option<i32> {
    os::exit_signal(status)
}

/// How a process ended, in the report's terms.
pub fn exit_info(status: ExitStatus, killed_by_grader: bool) -> ExitInfo {
    ExitInfo {
        code: status.code(),
        signal: exit_signal(status),
        killed_by_grader,
    }
}

/// Whether a program could not start for the machine's reasons, not its
/// own: its file still open for writing somewhere, or no process, memory
/// or descriptor to be had for the start. Such a start is tried again.
pub fn is_transient_start_failure(error: &io::Error) -> bool {
    os::is_transient_start_failure(error)
}

/// The variables a program inherits from the grader, when it inherits
/// only those (Unix: everything else it gets is set by the grader, and a
/// CI's tokens never reach it); `None` where programs need the grader's
/// environment to start at all (Windows: `SystemRoot`, `PATHEXT` and more).
pub const INHERITED_ENV: Option<&[&str]> = os::INHERITED_ENV;

/// The command line that runs `command` with the system's shell
/// (`sh -c` on Unix, `cmd /C` on Windows).
pub fn shell_command(command: &str) -> Vec<OsString> {
    os::shell_command(command)
}

/// Whether `path` is a file this OS runs as a program: one with an execute
/// bit on Unix; any file on Windows, which runs files by their extension.
pub fn is_executable(path: &Path) -> bool {
    os::is_executable(path)
}

/// Whether `user` (uid, gid) may execute `path`: the file and every folder
/// above it must grant it, as owner, group or other. Always true where
/// files have no Unix owners.
pub fn executable_by(path: &Path, user: (u32, u32)) -> bool {
    os::executable_by(path, user)
}

/// Unix permission bits as std's permissions; `None` where there are none.
pub fn permissions(mode: u32) -> Option<std::fs::Permissions> {
    os::permissions(mode)
}

/// Sets the permission bits of `path` (nothing where there are none).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    match permissions(mode) {
        Some(permissions) => std::fs::set_permissions(path, permissions),
        None => Ok(()),
    }
}

/// Sets the permission bits of an open file (nothing where there are none).
pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    match permissions(mode) {
        Some(permissions) => file.set_permissions(permissions),
        None => Ok(()),
    }
}

/// Makes `options` create its file with the permission bits `mode` (less
/// the umask); nothing where there are none.
pub fn create_with_mode(options: &mut OpenOptions, mode: u32) {
    os::create_with_mode(options, mode);
}

/// Makes `options` open the entry itself, never what a link names (an
/// open of a link then fails, see [`is_link_loop`], or opens the link on
/// Windows), never wait for a FIFO's writer, and never take a terminal.
pub fn open_without_following(options: &mut OpenOptions) {
    os::open_without_following(options);
}

/// Whether `error` says a path met a symbolic link it would not follow,
/// or links in a loop (`ELOOP`).
pub fn is_link_loop(error: &io::Error) -> bool {
    os::is_link_loop(error)
}

/// A new temporary folder (in `TMPDIR`) that only this user may enter:
/// mode 0700 from the moment it exists. Give it 0711 with [`set_mode`]
/// where the programs' user must cross it.
pub fn private_tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    if let Some(private) = permissions(0o700) {
        builder.permissions(private);
    }
    builder.tempdir()
}

/// Creates the symbolic link `link` to `target`.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    os::symlink(target, link)
}

/// Gives the entry `path` itself (a link, not what it names) to `owner`
/// (uid, gid). Only ever asked where programs run as another user, which
/// is Unix only.
pub fn set_link_owner(path: &Path, owner: (u32, u32)) -> io::Result<()> {
    os::set_link_owner(path, owner)
}

/// What an entry is, as `lstat` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Folder,
    File,
    Link,
    Fifo,
    Socket,
    Device,
}

/// The facts of an entry that decide whether it is the submission's own.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta {
    pub kind: FileKind,
    /// The owner's uid (0 where files have no Unix owner).
    pub uid: u32,
    /// Type and permission bits (0o644 for a file where there are none:
    /// readable, not marked executable).
    pub mode: u32,
    /// Hard links to it (1 where the OS does not count them here).
    pub nlink: u64,
    pub size: u64,
}

impl FileMeta {
    /// From std's metadata (of an open file, or `symlink_metadata`).
    pub fn of(metadata: &Metadata) -> FileMeta {
        os::file_meta(metadata)
    }
}

/// The kind of an entry that std's portable predicates do not name.
fn file_kind(kind: &std::fs::FileType) -> FileKind {
    if kind.is_symlink() {
        FileKind::Link
    } else if kind.is_dir() {
        FileKind::Folder
    } else if kind.is_file() {
        FileKind::File
    } else {
        os::special_kind(kind)
    }
}

/// A folder of a submission, open: its entries are opened relative to it
/// and never through a link (on Unix, where descriptors allow it), so that
/// a folder swapped for a link while it is read leads nowhere.
pub struct Folder(os::Folder);

impl Folder {
    /// The submission's own folder, as the user named it.
    pub fn open_root(path: &Path) -> io::Result<Folder> {
        os::Folder::open_root(path).map(Folder)
    }

    /// Its owner's user id (0 where files have no Unix owner).
    pub fn owner(&self) -> io::Result<u32> {
        self.0.owner()
    }

    /// Its first `most` entries, as `lstat` sees them.
    pub fn entries(&self, most: u64) -> io::Result<Vec<(OsString, FileMeta)>> {
        self.0.entries(most)
    }

    /// The folder `name` in it, if it is one (never through a link).
    pub fn folder(&self, name: &OsString) -> io::Result<Folder> {
        self.0.folder(name).map(Folder)
    }

    /// The file `name` in it, open for reading, and what it is. Never
    /// through a link, and without waiting: a FIFO opens at once (and is
    /// then refused for what it is).
    pub fn file(&self, name: &OsString) -> io::Result<(File, FileMeta)> {
        self.0.file(name)
    }

    /// Where the link `name` in it points.
    pub fn link(&self, name: &OsString) -> io::Result<PathBuf> {
        self.0.link(name)
    }
}

/// The unit a path is spelled in: bytes on Unix, UTF-16 units on Windows.
pub type PathUnit = os::PathUnit;

/// `path` as the OS spells it, unit for unit (a path need not be UTF-8).
pub fn path_units(path: &Path) -> Vec<PathUnit> {
    os::path_units(path)
}

/// The path spelled by `units` (see [`path_units`]).
pub fn path_from_units(units: Vec<PathUnit>) -> PathBuf {
    os::path_from_units(units)
}

/// CPU time (user and system, ms) of this process so far, and of the
/// processes it started and waited for (its children and what they
/// waited for): the grader's own work, and its programs'. `None` where
/// the OS does not say.
pub fn cpu_time_ms() -> Option<(u64, u64)> {
    os::cpu_time_ms()
}

/// The peak resident memory of this process so far, in KiB; `None` where
/// the OS does not say.
pub fn peak_rss_kib() -> Option<u64> {
    os::peak_rss_kib()
}

/// How many bytes the socket bound to `local` and connected to `remote`
/// (the other end of one of the grader's connections) has received and
/// its program not yet read; `None` where the kernel does not say (not
/// Linux, or no such socket in this network namespace).
pub fn unread_bytes(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Option<u32> {
    kernel::unread_bytes(local, remote)
}

/// The machine's host name, as a student's `socket.gethostname()` sees it.
pub fn hostname() -> String {
    gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|_| "localhost".to_string())
}

/// The TCP ports that processes of the session led by `sid` listen on;
/// `None` where that cannot be read (not Linux, or a /proc that belongs
/// to another PID namespace).
pub fn listening_ports_of_session(sid: u32) -> Option<Vec<u16>> {
    kernel::listening_ports_of_session(sid)
}

/// How long each thread of the session led by `sid` has waited for a CPU
/// while runnable (its run-queue wait, from `/proc/PID/task/TID/schedstat`),
/// by thread ID; `None` where the kernel does not say (not Linux, or no
/// scheduler statistics).
pub fn runqueue_waits_of_session(
    sid: u32,
) -> Option<std::collections::HashMap<u32, std::time::Duration>> {
    kernel::runqueue_waits_of_session(sid)
}

/// [`runqueue_waits_of_session`] for the threads whose IDs a cgroup's
/// `list` file holds (`tasks`, `cgroup.threads`): one read instead of a
/// scan of `/proc`, and the files kept open between readings.
/// `ListedThreadWaits::open` is `None` where the list or the waits cannot
/// be read; `read` is `None` once the list cannot be.
pub use kernel::ListedThreadWaits;

/// Whether some thread of the session led by `sid` is running, waiting
/// for a CPU, or in an uninterruptible wait (loading its files): a program
/// that is none of these is waiting for something, done starting. `None`
/// where the kernel does not say.
pub fn session_is_busy(sid: u32) -> Option<bool> {
    kernel::session_is_busy(sid)
}

/// The kernel's count of microseconds during which some runnable task
/// waited for a CPU (`some total` of `/proc/pressure/cpu`); `None` where
/// the kernel keeps no pressure figures.
pub fn cpu_pressure_total() -> Option<u64> {
    kernel::cpu_pressure_total()
}

/// Asks, as often as needed, whether a connection to a port on loopback
/// would find a socket listening there in this network namespace
/// (`anything_listens_on`, IPv4 or IPv6; `None` where the kernel does not
/// say). `ListenerProbe::open` is `None` where the kernel is not asked
/// (not Linux, or netlink refused).
pub use kernel::ListenerProbe;

/// Names the process listening on TCP `port` ("python3 server.py (pid 42)"),
/// where the system lets us find out.
pub fn port_holder(port: u16) -> Option<String> {
    kernel::port_holder(port)
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

    #[test]
    fn the_host_name_is_the_one_gethostname_gives_a_student() {
        let mut name = [0u8; 256];
        // SAFETY: gethostname writes at most the length given.
        let got = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
        assert_eq!(got, 0);
        let end = name.iter().position(|&b| b == 0).unwrap();
        assert_eq!(hostname(), String::from_utf8_lossy(&name[..end]));
    }
}
