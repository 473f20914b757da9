//! Linux namespaces: unshare, the user-ID map for unprivileged use, the
//! fork that makes PID 1, the loopback interface, and a size-limited file
//! system for the submission's working copies.

use crate::error::exit_code;
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Uid, fork};
use std::ffi::OsString;
use std::path::Path;

/// The probe argument: PID 1 of the new namespace exits 0 at once.
pub const PROBE: &str = "__probe";

/// The most disk a submission's working copies and everything its
/// programs write may take together: the size of the tmpfs that holds
/// them (pages are only used as written).
pub const WORKSPACE_DISK_BYTES: u64 = 1 << 30;

/// Tries the real thing once: a child sockgrade enters namespaces and
/// exits. Cheap (a few milliseconds) and exact, unlike reading sysctls that
/// differ between distributions.
pub fn probe() -> Result<(), String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find sockgrade's own executable: {e}"))?;
    let output = std::process::Command::new(exe)
        .args([super::ISOLATED_COMMAND, "--", PROBE])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot start sockgrade to probe namespaces: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let why = String::from_utf8_lossy(&output.stderr);
        Err(why.trim().trim_start_matches("sockgrade: ").to_string())
    }
}

/// Whether a program may be given an IPC namespace of its own. Tried for
/// real, on a thread of its own: a namespace belongs to the task that
/// unshares it, so the thread takes it away when it ends and the grader
/// is not moved. What it needs (CAP_SYS_ADMIN, a seccomp profile that
/// allows unshare) differs between containers.
pub fn may_unshare_ipc() -> bool {
    std::thread::spawn(|| unshare(CloneFlags::CLONE_NEWIPC).is_ok())
        .join()
        .unwrap_or(false)
}

/// See [`super::run_isolated`].
pub fn run_isolated(args: &[OsString], inside: fn(&[OsString]) -> u8) -> u8 {
    run_in_namespaces(|| {
        if args.first().is_some_and(|a| a == PROBE) {
            0
        } else {
            inside(args)
        }
    })
}

/// Enters new namespaces and runs `inside` as their PID 1; the exit code
/// to leave with.
fn run_in_namespaces(inside: impl FnOnce() -> u8) -> u8 {
    match enter(inside) {
        Ok(code) => code,
        Err(why) => {
            eprintln!("sockgrade: {why}");
            super::NAMESPACES_REFUSED
        }
    }
}

/// A child of this process that enters namespaces (see
/// [`fork_into_namespaces`]).
#[derive(Debug)]
pub struct Forked {
    pub pid: libc::pid_t,
    pub pidfd: std::os::fd::OwnedFd,
    /// The read end of its stderr.
    pub stderr: std::os::fd::OwnedFd,
}

/// Forks a child that does what `sockgrade __isolated` does (enters the
/// namespaces, runs `inside` as their PID 1, exits with the code the
/// hidden command would), with `TMPDIR` set to `tmpdir`, its stdin and
/// stdout on /dev/null and its stderr in a pipe; `None` when this process
/// has a thread besides the caller's, where only an exec is safe, or the
/// kernel has no pidfd_open (before 5.3). As root (of the user namespace
/// that owns this PID namespace) the child is that PID 1 itself;
/// otherwise it makes the namespaces and forks it.
///
/// A fork and no exec: the child starts with the caller's memory (the
/// exercises as loaded), not as a new sockgrade to load, link, and hand
/// a request to, which was a tenth of a quick grade's own CPU.
pub fn fork_into_namespaces(
    tmpdir: &Path,
    inside: impl FnOnce() -> u8,
) -> std::io::Result<Option<Forked>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    super::quick_moves::finish_prime();
    if !single_threaded() || !has_pidfd_open() {
        return Ok(None);
    }
    let (stderr_read, stderr_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    // As root the child can be PID 1 itself: no process in between to
    // make the namespaces (one fork, run and end less: 0.9 ms of the
    // 20 ms a grade of reference-python costs sockgrade). Without root
    // the user namespace that allows the others must come first, and only
    // a process inside it can ask for the PID namespace.
    let own_pid_namespace = if Uid::effective().is_root() {
        OwnPidNamespace::leave_for_next_child()
    } else {
        None
    };
    // SAFETY: this process has one thread (checked above), so the child
    // is a faithful copy; and no async runtime has been started here.
    let forked = unsafe { fork() };
    // Threads (the runtime's) and any other child are this namespace's
    // again: a thread cannot be made until then.
    if !matches!(forked, Ok(ForkResult::Child))
        && let Some(own) = own_pid_namespace.as_ref()
        && let Err(e) = own.restore()
    {
        if let Ok(ForkResult::Parent { child }) = forked {
            kill_and_reap(child);
        }
        return Err(std::io::Error::other(format!(
            "cannot return to its own PID namespace: {e}"
        )));
    }
    match forked? {
        ForkResult::Child => {
            // SAFETY: dup2 onto the standard descriptors of this process,
            // which has one thread; set_var with no thread to read the
            // environment meanwhile.
            unsafe {
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(null.as_raw_fd(), 1);
                libc::dup2(stderr_write.as_raw_fd(), 2);
                std::env::set_var("TMPDIR", tmpdir);
            }
            let pid1 = own_pid_namespace.is_some();
            drop((null, stderr_read, stderr_write, own_pid_namespace));
            let code = if pid1 {
                run_as_pid1_of_new_namespace(tmpdir, inside)
            } else {
                run_in_namespaces(inside)
            };
            // As an exec'd image would: no destructor of the caller's.
            std::process::exit(i32::from(code));
        }
        ForkResult::Parent { child } => {
            drop(stderr_write);
            // SAFETY: pidfd_open of our own unreaped child: its pid cannot
            // be reused before we reap it.
            let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
            if pidfd < 0 {
                // Refused though it worked a moment ago: the child cannot
                // be awaited as the runtime awaits processes. It has only
                // begun; the exec does the grade instead.
                kill_and_reap(child);
                return Ok(None);
            }
            Ok(Some(Forked {
                pid: child.as_raw(),
                // SAFETY: just returned by the kernel, owned by no one else.
                pidfd: unsafe { OwnedFd::from_raw_fd(pidfd as i32) },
                stderr: stderr_read,
            }))
        }
    }
}

/// Ends a child that has only begun, and reaps it.
fn kill_and_reap(child: nix::unistd::Pid) {
    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    let _ = waitpid(child, None);
}

/// Whether the kernel has pidfd_open (Linux 5.3 and later), asked of
/// this process's own pid.
fn has_pidfd_open() -> bool {
    // SAFETY: pidfd_open of this process; the descriptor is closed at once.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if pidfd < 0 {
        return false;
    }
    // SAFETY: just returned by the kernel, owned by no one else.
    unsafe { libc::close(pidfd as i32) };
    true
}

/// Whether this process has one thread (the caller's). A thread just
/// joined is listed a moment longer (the kernel wakes the joiner before it
/// lets the thread go: seen once in 2,000 joins here), and there is no
/// event for its going: asked again a few times over a millisecond.
fn single_threaded() -> bool {
    let one = || std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1);
    (0..5).any(|attempt| {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        one()
    })
}

fn enter(inside: impl FnOnce() -> u8) -> Result<u8, String> {
    let (uid, gid) = (Uid::effective(), Gid::effective());
    let mut flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWPID;
    if !uid.is_root() {
        // Without root, a user namespace is what allows the other two.
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    unshare(flags)
        .map_err(|e| format!("the kernel does not allow new namespaces here (unshare: {e})"))?;
    if !uid.is_root() {
        map_ids(uid, gid)?;
    }
    // Where the grade's working copies go: an empty folder here, a
    // size-limited tmpfs in the namespace; removed when the grade is over.
    let workspaces = tempfile::Builder::new()
        .prefix("sockgrade-ns-")
        .tempdir()
        .map_err(|e| format!("cannot make a folder for the working copies: {e}"))?;
    // SAFETY: called from the hidden command before any thread exists, so
    // the child is a faithful single-threaded copy.
    match unsafe { fork() }.map_err(|e| format!("fork failed: {e}"))? {
        ForkResult::Child => {
            // PID 1 of the new namespace. If the parent dies (the batch
            // kills it on a deadline), take the namespace down with it.
            // SAFETY: prctl with these arguments has no memory effects.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let code = be_pid1(workspaces.path(), inside);
            // No destructor of the parent's values (the folder is theirs
            // to remove): leave as an exec'd image would have.
            std::process::exit(i32::from(code));
        }
        ForkResult::Parent { child } => {
            forward_stop_signals_to(child);
            let code = wait_for(child).unwrap_or_else(|why| {
                // The grader ran: whatever ended it, this is no refusal.
                eprintln!("sockgrade: {why}");
                exit_code::INTERNAL
            });
            drop(workspaces);
            Ok(code)
        }
    }
}

/// What PID 1 of the new namespaces does before `inside`, with the
/// working copies' tmpfs at `workspaces`; the exit code to leave with.
fn be_pid1(workspaces: &Path, inside: impl FnOnce() -> u8) -> u8 {
    // A /proc of its own: process IDs in it are the namespace's, so the
    // grader can read its programs' sockets, and programs see no process
    // outside. Without it the grade still works; only the wrong-port
    // diagnosis is skipped.
    let own_mounts = mount_own_proc();
    if own_mounts && mount_workspace_disk(workspaces) {
        // SAFETY: this process has one thread (a fork of a process that
        // had one), so nothing reads the environment while it changes.
        unsafe { std::env::set_var("TMPDIR", workspaces) };
        super::views::workspace_disk_is_private();
    }
    match bring_loopback_up() {
        Err(why) => {
            eprintln!("sockgrade: cannot bring up the namespace's loopback: {why}");
            super::NAMESPACES_REFUSED
        }
        Ok(()) => inside(),
    }
}

/// PID 1 forked straight into a new PID namespace (as root, see
/// [`fork_into_namespaces`]): makes its network namespace itself, then
/// does what PID 1 does, its working copies' tmpfs in `tmpdir` (its
/// parent's private folder, removed with it).
fn run_as_pid1_of_new_namespace(tmpdir: &Path, inside: impl FnOnce() -> u8) -> u8 {
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
        eprintln!("sockgrade: the kernel does not allow new namespaces here (unshare: {e})");
        return super::NAMESPACES_REFUSED;
    }
    let workspaces = tmpdir.join("sockgrade-ns");
    if let Err(e) = std::fs::create_dir(&workspaces) {
        eprintln!("sockgrade: cannot make a folder for the working copies: {e}");
        return super::NAMESPACES_REFUSED;
    }
    be_pid1(&workspaces, inside)
}

/// This process's own PID namespace, kept while its next child is made
/// PID 1 of a new one (see [`fork_into_namespaces`]).
struct OwnPidNamespace(std::fs::File);

impl OwnPidNamespace {
    /// Asks that this process's next child be PID 1 of a new PID
    /// namespace; `None` where the kernel refuses (the namespace maker's
    /// way then says why).
    fn leave_for_next_child() -> Option<OwnPidNamespace> {
        let own = std::fs::File::open("/proc/self/ns/pid").ok()?;
        // Coming back takes CAP_SYS_ADMIN in the user namespace that owns
        // it: root of a user namespace made below that one (`unshare
        // --user --map-root-user`) could leave but not come back.
        if !owned_by_own_user_namespace(&own) {
            return None;
        }
        unshare(CloneFlags::CLONE_NEWPID).ok()?;
        Some(OwnPidNamespace(own))
    }

    /// Makes this process's later children and threads its own
    /// namespace's again.
    fn restore(&self) -> nix::Result<()> {
        nix::sched::setns(&self.0, CloneFlags::CLONE_NEWPID)
    }
}

/// Whether the namespace `namespace` (an open `/proc/self/ns/*` file)
/// belongs to this process's own user namespace (the kernel's
/// NS_GET_USERNS, Linux 4.9 and later; `false` where it cannot say).
fn owned_by_own_user_namespace(namespace: &std::fs::File) -> bool {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    /// `_IO(0xb7, 0x1)` in linux/nsfs.h.
    const NS_GET_USERNS: u64 = 0xb701;
    // SAFETY: an ioctl on a descriptor we own; it returns a new one.
    let owner = unsafe { libc::ioctl(namespace.as_raw_fd(), NS_GET_USERNS as _) };
    if owner < 0 {
        return false;
    }
    // SAFETY: just returned by the kernel, owned by no one else.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(owner) });
    match (owner.metadata(), std::fs::metadata("/proc/self/ns/user")) {
        (Ok(owner), Ok(own)) => owner.ino() == own.ino() && owner.dev() == own.dev(),
        _ => false,
    }
}

/// The isolated grader: set once, read by the signal handler.
static ISOLATED_CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Passes SIGTERM and SIGINT on to the isolated grader (PID 1 of its
/// namespace), so it can stop its programs and remove their cgroups
/// before the namespace goes.
fn forward_stop_signals_to(child: nix::unistd::Pid) {
    extern "C" fn forward(signal: libc::c_int) {
        let child = ISOLATED_CHILD.load(std::sync::atomic::Ordering::Relaxed);
        if child > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(child, signal) };
        }
    }
    ISOLATED_CHILD.store(child.as_raw(), std::sync::atomic::Ordering::Relaxed);
    crate::platform::on_stop_signals(forward);
}

fn wait_for(child: nix::unistd::Pid) -> Result<u8, String> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => {
                return Ok(u8::try_from(code).unwrap_or(exit_code::INTERNAL));
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return Err(format!("the isolated grader was killed by {signal}"));
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("waiting for the isolated grader failed: {e}")),
        }
    }
}

/// Mounts a /proc for the new PID namespace in a mount namespace of its
/// own (private, so nothing propagates back to the machine); whether the
/// mount namespace is ours.
fn mount_own_proc() -> bool {
    use nix::mount::{MsFlags, mount};
    if unshare(CloneFlags::CLONE_NEWNS).is_err() {
        return false;
    }
    let private = mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    );
    if private.is_err() {
        return false;
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // hidepid: a program sees only its own user's processes, so not the
    // grader's command line (the submission's path, the seed) when it runs
    // as another user. Kernels before 5.8 take only the number form.
    let hidden = mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        flags,
        Some("hidepid=invisible"),
    );
    if hidden.is_err() {
        let _ = mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            flags,
            Some("hidepid=2"),
        )
        .or_else(|_| mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>));
    }
    true
}

/// Mounts the tmpfs for the working copies at `dir`, in this process's
/// own mount namespace; whether it could.
fn mount_workspace_disk(dir: &std::path::Path) -> bool {
    use nix::mount::{MsFlags, mount};
    // 0711: the programs' user crosses it to reach its own copies.
    let options = format!("size={WORKSPACE_DISK_BYTES},mode=0711");
    mount(
        Some("sockgrade"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options.as_str()),
    )
    .is_ok()
}

/// Maps the caller's user and group to root inside the user namespace, so
/// the namespace may configure its own network.
fn map_ids(uid: Uid, gid: Gid) -> Result<(), String> {
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"))
    };
    write("/proc/self/setgroups", "deny".to_string())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))
}

/// See [`super::keep_ports_for_programs`].
pub fn keep_ports_for_programs(ports: &[u16]) -> std::io::Result<()> {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    std::fs::write("/proc/sys/net/ipv4/ip_local_reserved_ports", list.join(","))
}

/// A new network namespace has a loopback interface, down: bring it up.
fn bring_loopback_up() -> Result<(), String> {
    // SAFETY: plain socket and ioctl calls on a zeroed, correctly sized
    // ifreq whose name is NUL-terminated.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let error = std::io::Error::last_os_error();
        libc::close(socket);
        if result == 0 {
            Ok(())
        } else {
            Err(error.to_string())
        }
    }
}
