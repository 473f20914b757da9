//! The Windows side of the platform interface: Job objects for process
//! trees, console control events, UTF-16 paths, and no Unix modes or
//! owners. See the parent module for what each operation promises.

use super::{FileKind, FileMeta, file_kind};
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_CANT_RESOLVE_FILENAME, ERROR_NO_PROC_SLOTS, ERROR_NOT_ENOUGH_MEMORY,
    ERROR_OUTOFMEMORY, ERROR_SHARING_VIOLATION, ERROR_TOO_MANY_OPEN_FILES, HANDLE,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, OpenProcess, PROCESS_TERMINATE, TerminateProcess,
};

/// The exit code of a process the grader ended (Windows has no signal to
/// report instead); `killed_by_grader` says who ended it.
const KILLED_EXIT_CODE: u32 = 1;

pub fn detach_from_grader(command: &mut tokio::process::Command) {
    // Its own console process group: the terminal's Ctrl-C reaches only
    // the grader, and Ctrl-Break can be sent to the program's group alone.
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

/// A Job object handle, closed when the last clone of its group goes.
#[derive(Debug)]
struct Job(HANDLE);

// SAFETY: a job handle is a kernel object handle, usable from any thread.
unsafe impl Send for Job {}
// SAFETY: as above; the job calls made with it are thread-safe.
unsafe impl Sync for Job {}

impl Job {
    /// A new job that ends its processes when its last handle closes, with
    /// the process `process` in it: what the process starts from then on
    /// is in it too. `None` when Windows refuses (a job the grader is in
    /// that forbids nesting, before Windows 8).
    fn holding(process: HANDLE) -> Option<Job> {
        // SAFETY: no security attributes and no name: an anonymous job.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return None;
        }
        let job = Job(handle);
        let mut limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: the struct is the one the information class names, and
        // lives for the call.
        let limited = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&raw const limits).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        // SAFETY: both handles are open: the job's ours, the process's the child's.
        let assigned = limited != 0 && unsafe { AssignProcessToJobObject(job.0, process) } != 0;
        assigned.then_some(job)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and closed only here.
        unsafe { CloseHandle(self.0) };
    }
}

/// A program's Job object (what it starts after it was adopted, a few
/// microseconds after its start, is in it), and its ID, which is also
/// its console process group's.
#[derive(Debug, Clone)]
pub struct Group {
    leader: u32,
    job: Option<Arc<Job>>,
}

impl Group {
    pub fn adopt(child: &tokio::process::Child) -> Group {
        let job = child
            .raw_handle()
            .and_then(|process| Job::holding(process as HANDLE));
        Group {
            leader: child.id().unwrap_or(0),
            job: job.map(Arc::new),
        }
    }

    pub fn leader(&self) -> u32 {
        self.leader
    }

    pub fn terminate(&self) {
        use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
        // 0 would be every process on the grader's console, the grader too.
        if self.leader != 0 {
            // Fails where the program shares no console with the grader:
            // the grace passes and `kill` ends it.
            // SAFETY: plain integers.
            unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.leader) };
        }
    }

    pub fn kill(&self) {
        match &self.job {
            // SAFETY: the job handle is open while we hold it.
            Some(job) => unsafe {
                TerminateJobObject(job.0, KILLED_EXIT_CODE);
            },
            None => terminate_process(self.leader),
        }
    }
}

pub fn terminate_process(pid: u32) {
    if pid == 0 {
        return;
    }
    // SAFETY: OpenProcess takes plain values; the handle it returns is
    // closed below.
    unsafe {
        let process = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if !process.is_null() {
            TerminateProcess(process, KILLED_EXIT_CODE);
            CloseHandle(process);
        }
    }
}

pub fn catch_stop_signals() {}

pub async fn stop_requested() {
    match tokio::signal::windows::ctrl_break() {
        Ok(mut ctrl_break) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = ctrl_break.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub fn exit_signal(_status: ExitStatus) -> Option<i32> {
    None
}

pub fn is_transient_start_failure(error: &io::Error) -> bool {
    // The program's file still open for writing (ETXTBSY's counterpart),
    // or no memory, process or handle to be had.
    [
        ERROR_SHARING_VIOLATION,
        ERROR_NOT_ENOUGH_MEMORY,
        ERROR_OUTOFMEMORY,
        ERROR_NO_PROC_SLOTS,
        ERROR_TOO_MANY_OPEN_FILES,
    ]
    .iter()
    .any(|&code| error.raw_os_error() == i32::try_from(code).ok())
}

pub const INHERITED_ENV: Option<&[&str]> = None;

pub fn shell_command(command: &str) -> Vec<OsString> {
    vec!["cmd".into(), "/C".into(), command.into()]
}

pub fn is_executable(path: &Path) -> bool {
    path.is_file()
}

pub fn executable_by(_path: &Path, _user: (u32, u32)) -> bool {
    true
}

pub fn permissions(_mode: u32) -> Option<std::fs::Permissions> {
    None
}

pub fn create_with_mode(_options: &mut OpenOptions, _mode: u32) {}

pub fn open_without_following(options: &mut OpenOptions) {
    use windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT;
    // Opens a link itself: its metadata then says it is a link.
    options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

pub fn is_link_loop(error: &io::Error) -> bool {
    error.raw_os_error() == i32::try_from(ERROR_CANT_RESOLVE_FILENAME).ok()
}

pub fn symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    // A Windows link is made as a file's or a folder's, which a copy in
    // progress cannot tell yet, and making one needs a privilege most
    // students' accounts lack: the link is left out, and reported so.
    Err(io::ErrorKind::Unsupported.into())
}

pub fn set_link_owner(_path: &Path, _owner: (u32, u32)) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Windows files have no Unix owner",
    ))
}

pub fn file_meta(metadata: &Metadata) -> FileMeta {
    FileMeta {
        kind: file_kind(&metadata.file_type()),
        uid: 0,
        mode: 0o644,
        nlink: 1,
        size: metadata.len(),
    }
}

pub fn special_kind(_kind: &std::fs::FileType) -> FileKind {
    FileKind::Device
}

/// A folder by its path: std opens no folder as a handle to open from.
pub struct Folder(PathBuf);

impl Folder {
    pub fn open_root(path: &Path) -> io::Result<Folder> {
        std::fs::read_dir(path)?;
        Ok(Folder(path.to_path_buf()))
    }

    pub fn owner(&self) -> io::Result<u32> {
        Ok(0)
    }

    pub fn entries(&self, most: u64) -> io::Result<Vec<(OsString, FileMeta)>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.0)?.take(most as usize) {
            let entry = entry?;
            entries.push((entry.file_name(), file_meta(&entry.metadata()?)));
        }
        Ok(entries)
    }

    pub fn folder(&self, name: &OsString) -> io::Result<Folder> {
        Ok(Folder(self.0.join(name)))
    }

    pub fn file(&self, name: &OsString) -> io::Result<(File, FileMeta)> {
        let file = File::open(self.0.join(name))?;
        let meta = file_meta(&file.metadata()?);
        Ok((file, meta))
    }

    pub fn link(&self, name: &OsString) -> io::Result<PathBuf> {
        std::fs::read_link(self.0.join(name))
    }
}

pub type PathUnit = u16;

pub fn path_units(path: &Path) -> Vec<PathUnit> {
    std::os::windows::ffi::OsStrExt::encode_wide(path.as_os_str()).collect()
}

pub fn path_from_units(units: Vec<PathUnit>) -> PathBuf {
    PathBuf::from(<OsString as std::os::windows::ffi::OsStringExt>::from_wide(
        &units,
    ))
}

pub fn cpu_time_ms() -> Option<(u64, u64)> {
    // Windows keeps no total of the children a process waited for.
    None
}

pub fn peak_rss_kib() -> Option<u64> {
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    let mut counters = PROCESS_MEMORY_COUNTERS {
        cb: size_of::<PROCESS_MEMORY_COUNTERS>() as u32,
        ..Default::default()
    };
    // SAFETY: the current process's pseudo handle, and a struct of the
    // size given.
    let read = unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut counters, counters.cb) };
    (read != 0).then(|| counters.PeakWorkingSetSize as u64 / 1024)
}
