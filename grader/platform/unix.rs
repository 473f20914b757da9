//! The Unix side of the platform interface (Linux, macOS, the BSDs):
//! sessions and process groups, signals, modes and owners, descriptors.
//! See the parent module for what each operation promises.

use super::{FileKind, FileMeta, file_kind};
use nix::sys::signal::Signal;
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

pub fn detach_from_grader(command: &mut tokio::process::Command) {
    // SAFETY: the closure makes only async-signal-safe system calls
    // (setsid, close_range or fcntl, getrlimit) and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()?;
            close_inherited_descriptors();
            Ok(())
        });
    }
}

/// Marks every descriptor above stderr close-on-exec: they close at the
/// program's exec, while the runtime's own exec-error pipe (already
/// close-on-exec) keeps working until then.
pub fn close_inherited_descriptors() {
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

/// The process group a program leads: `setsid` made its ID the group's.
#[derive(Debug, Clone)]
pub struct Group {
    leader: u32,
}

impl Group {
    pub fn adopt(child: &tokio::process::Child) -> Group {
        // A child not yet waited for always has its ID; 0 is never signalled.
        Group {
            leader: child.id().unwrap_or(0),
        }
    }

    pub fn led_by(pid: u32) -> Group {
        Group { leader: pid }
    }

    pub fn leader(&self) -> u32 {
        self.leader
    }

    pub fn terminate(&self) {
        signal_group(self.leader, Signal::SIGTERM);
    }

    pub fn kill(&self) {
        kill_group(self.leader);
    }
}

/// Kills every process of the group led by `pid` (SIGKILL): for the Linux
/// sandbox, which knows its programs by their IDs.
pub fn kill_group(pid: u32) {
    signal_group(pid, Signal::SIGKILL);
}

fn signal_group(pid: u32, signal: Signal) {
    // 0 and 1 would name the caller's own group and init: never a student's.
    if let Some(pid) = student_pid(pid) {
        // ESRCH means the group is already gone, which is the goal.
        let _ = nix::sys::signal::killpg(pid, signal);
    }
}

fn student_pid(pid: u32) -> Option<nix::unistd::Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|&pid| pid > 1)
        .map(nix::unistd::Pid::from_raw)
}

pub fn terminate_process(pid: u32) {
    if let Some(pid) = student_pid(pid) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
    }
}

/// Set by [`catch_stop_signals`]'s handler.
static STOP_ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn catch_stop_signals() {
    extern "C" fn note(_: libc::c_int) {
        STOP_ASKED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    on_stop_signals(note);
}

pub fn on_stop_signals(handler: extern "C" fn(libc::c_int)) {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the caller's handler does only what a signal handler
        // may (see `platform::on_stop_signals`).
        let _ = unsafe { sigaction(signal, &action) };
    }
}

pub async fn stop_requested() {
    use tokio::signal::unix::{SignalKind, signal};
    // Listened for first, then the early catch asked: a stop before the
    // listening began was caught, one after it is heard.
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    if STOP_ASKED.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    match (interrupt, terminate) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
            only.recv().await;
        }
        (Err(_), Err(_)) => std::future::pending().await,
    }
}

pub fn exit_signal(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

pub fn is_transient_start_failure(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ETXTBSY | libc::EAGAIN | libc::ENOMEM | libc::ENFILE | libc::EMFILE | libc::EINTR
        )
    )
}

pub const INHERITED_ENV: Option<&[&str]> =
    Some(&["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM"]);

pub fn shell_command(command: &str) -> Vec<OsString> {
    vec!["sh".into(), "-c".into(), command.into()]
}

pub fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn executable_by(path: &Path, user: (u32, u32)) -> bool {
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    let may_enter = |meta: &Metadata| {
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

pub fn permissions(mode: u32) -> Option<std::fs::Permissions> {
    Some(std::fs::Permissions::from_mode(mode))
}

pub fn create_with_mode(options: &mut OpenOptions, mode: u32) {
    options.mode(mode);
}

pub fn open_without_following(options: &mut OpenOptions) {
    // A FIFO opens at once without O_NONBLOCK's wait.
    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
}

pub fn is_link_loop(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

pub fn set_link_owner(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
}

pub fn file_meta(metadata: &Metadata) -> FileMeta {
    FileMeta {
        kind: file_kind(&metadata.file_type()),
        uid: metadata.uid(),
        mode: metadata.mode(),
        nlink: metadata.nlink(),
        size: metadata.len(),
    }
}

pub fn special_kind(kind: &std::fs::FileType) -> FileKind {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        FileKind::Fifo
    } else if kind.is_socket() {
        FileKind::Socket
    } else {
        FileKind::Device
    }
}

/// A folder held by its descriptor; entries are opened relative to it.
pub struct Folder(std::os::fd::OwnedFd);

impl Folder {
    pub fn open_root(path: &Path) -> io::Result<Folder> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(Folder(file.into()))
    }

    pub fn owner(&self) -> io::Result<u32> {
        let stat = nix::sys::stat::fstat(&self.0)?;
        Ok(stat.st_uid)
    }

    pub fn entries(&self, most: u64) -> io::Result<Vec<(OsString, FileMeta)>> {
        use nix::fcntl::{AtFlags, OFlag};
        use std::os::unix::ffi::OsStrExt;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let mut dir = nix::dir::Dir::openat(&self.0, ".", flags, nix::sys::stat::Mode::empty())?;
        let mut entries = Vec::new();
        for entry in dir.iter() {
            if entries.len() as u64 >= most {
                break;
            }
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let stat = nix::sys::stat::fstatat(&self.0, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
            let name = OsString::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
            entries.push((name, meta_of(&stat)));
        }
        Ok(entries)
    }

    pub fn folder(&self, name: &OsString) -> io::Result<Folder> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        Ok(Folder(self.open_entry(name, flags)?))
    }

    pub fn file(&self, name: &OsString) -> io::Result<(File, FileMeta)> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC;
        let file = File::from(self.open_entry(name, flags)?);
        let meta = file_meta(&file.metadata()?);
        Ok((file, meta))
    }

    /// Opens the entry `name` of this folder, relative to it (never by a
    /// path that a rename could redirect).
    fn open_entry(
        &self,
        name: &OsString,
        flags: nix::fcntl::OFlag,
    ) -> io::Result<std::os::fd::OwnedFd> {
        Ok(nix::fcntl::openat(
            &self.0,
            name.as_os_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        )?)
    }

    pub fn link(&self, name: &OsString) -> io::Result<PathBuf> {
        Ok(nix::fcntl::readlinkat(&self.0, name.as_os_str())?.into())
    }
}

#[cfg_attr(
    target_os = "linux",
    expect(
        clippy::unnecessary_cast,
        reason = "st_mode and st_nlink are narrower on macOS and the BSDs"
    )
)]
fn meta_of(stat: &nix::sys::stat::FileStat) -> FileMeta {
    let kind = match stat.st_mode & libc::S_IFMT {
        libc::S_IFDIR => FileKind::Folder,
        libc::S_IFREG => FileKind::File,
        libc::S_IFLNK => FileKind::Link,
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFSOCK => FileKind::Socket,
        _ => FileKind::Device,
    };
    FileMeta {
        kind,
        uid: stat.st_uid,
        mode: stat.st_mode as u32,
        nlink: stat.st_nlink as u64,
        size: stat.st_size.max(0) as u64,
    }
}

pub type PathUnit = u8;

pub fn path_units(path: &Path) -> Vec<PathUnit> {
    std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()
}

pub fn path_from_units(units: Vec<PathUnit>) -> PathBuf {
    PathBuf::from(<OsString as std::os::unix::ffi::OsStringExt>::from_vec(
        units,
    ))
}

pub fn cpu_time_ms() -> Option<(u64, u64)> {
    use nix::sys::resource::{UsageWho, getrusage};
    let ms = |who| {
        let usage = getrusage(who).ok()?;
        let micros = |t: nix::sys::time::TimeVal| -> Option<u64> {
            Some(u64::try_from(t.tv_sec()).ok()? * 1_000_000 + u64::try_from(t.tv_usec()).ok()?)
        };
        Some((micros(usage.user_time())? + micros(usage.system_time())?) / 1000)
    };
    Some((ms(UsageWho::RUSAGE_SELF)?, ms(UsageWho::RUSAGE_CHILDREN)?))
}

pub fn peak_rss_kib() -> Option<u64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).ok()?;
    let max = u64::try_from(usage.max_rss()).ok()?;
    // Linux reports KiB, macOS bytes.
    Some(if cfg!(target_os = "macos") {
        max / 1024
    } else {
        max
    })
}
