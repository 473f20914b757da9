//! Starting a program without copying the grader (Linux). A fork copies
//! the grader's page tables and write-protects all of its memory, so that
//! every page its threads write afterwards faults once: with a
//! multi-threaded runtime that was the largest part of starting a program
//! (a sixth of the grader's own CPU under `perf`). As posix_spawn does, the
//! child here shares the grader's memory (`clone` with CLONE_VM and
//! CLONE_VFORK) on a stack of its own, and the calling thread waits until
//! the child has called exec or failed to. Everything the child uses is
//! prepared before the clone; between clone and exec it only makes system
//! calls: no allocation, no lock, no glibc call that acts for the other
//! threads (see `ExecSteps::run`). Signals are blocked around the clone
//! and the child resets every handler before unblocking them, so no
//! handler of the grader ever runs in it.
//!
//! The exit is watched through a pidfd (CLONE_PIDFD), which the runtime
//! polls like a socket, and the child is reaped with `waitpid` on its own
//! pid: no SIGCHLD handler, and no other child of the grader is touched.

use super::confine::ExecSteps;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// The child's stack: its code is a few frames of system calls.
const STACK_BYTES: usize = 256 * 1024;

/// Where a program with no `/` in its name is looked for when the
/// environment has no PATH (glibc's own default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// A program started, with its output pipes and its exit to wait for.
#[derive(Debug)]
pub struct Spawned {
    pub pid: u32,
    pub stdout: pipe::Receiver,
    pub stderr: pipe::Receiver,
    pub exit: Exit,
}

/// Everything the child reads between clone and exec, made beforehand.
struct ChildJob<'a> {
    /// The files to try, in PATH order.
    candidates: Vec<CString>,
    /// `argv` for each candidate, NULL-terminated (pointers into `words`).
    argv: Vec<*const libc::c_char>,
    /// For a candidate exec refuses as not a binary (ENOEXEC), the shell
    /// running it as a script, as execvp does: `/bin/sh FILE ARGS...`.
    script_argvs: Vec<Vec<*const libc::c_char>>,
    envp: Vec<*const libc::c_char>,
    cwd: CString,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    steps: Option<&'a ExecSteps>,
    /// Set by the child when it fails before exec: the errno.
    failed: std::sync::atomic::AtomicI32,
}

/// Starts `program` with `args` (argv[0] is `program` as given) in `cwd`
/// with exactly the environment `env`, its stdin `/dev/null` and its
/// output in pipes, in a session of its own with no descriptor of the
/// grader's, confined by `steps`. `Ok(None)` when this kernel cannot
/// (no CLONE_PIDFD, before Linux 5.2): the caller starts it another way.
pub(super) fn spawn(
    program: &OsStr,
    args: &[OsString],
    cwd: &Path,
    env: &[(OsString, OsString)],
    steps: Option<&ExecSteps>,
) -> io::Result<Option<Spawned>> {
    let c = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"))
    };
    let words: Vec<CString> = std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|word| c(word.as_bytes()))
        .collect::<io::Result<_>>()?;
    let path = env
        .iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value.as_os_str());
    let candidates: Vec<CString> = candidates(program, path)
        .iter()
        .map(|file| c(file.as_os_str().as_bytes()))
        .collect::<io::Result<_>>()?;
    let shell = c(b"/bin/sh")?;
    let environment: Vec<CString> = env
        .iter()
        .map(|(name, value)| {
            let mut entry = name.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            c(&entry)
        })
        .collect::<io::Result<_>>()?;
    let terminated = |items: &mut dyn Iterator<Item = *const libc::c_char>| {
        let mut pointers: Vec<*const libc::c_char> = items.collect();
        pointers.push(std::ptr::null());
        pointers
    };
    let script_argvs = candidates
        .iter()
        .map(|file| {
            terminated(
                &mut [shell.as_ptr(), file.as_ptr()]
                    .into_iter()
                    .chain(words[1..].iter().map(|w| w.as_ptr())),
            )
        })
        .collect();
    let stdin = open_dev_null()?;
    let (stdout_read, stdout_write) = pipe_pair()?;
    let (stderr_read, stderr_write) = pipe_pair()?;
    let job = ChildJob {
        argv: terminated(&mut words.iter().map(|w| w.as_ptr())),
        script_argvs,
        envp: terminated(&mut environment.iter().map(|e| e.as_ptr())),
        candidates,
        cwd: c(cwd.as_os_str().as_bytes())?,
        stdin: stdin.as_raw_fd(),
        stdout: stdout_write.as_raw_fd(),
        stderr: stderr_write.as_raw_fd(),
        steps,
        failed: std::sync::atomic::AtomicI32::new(0),
    };
    let Some((pid, pidfd)) = clone_and_exec(&job)? else {
        return Ok(None);
    };
    drop((stdin, stdout_write, stderr_write));
    let failed = job.failed.load(std::sync::atomic::Ordering::SeqCst);
    if failed != 0 {
        // The child has exited (the clone returned after its _exit): reap it.
        let mut status = 0;
        // SAFETY: waitpid on our own child's pid with a status we own.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(io::Error::from_raw_os_error(failed));
    }
    Ok(Some(Spawned {
        pid: pid as u32,
        stdout: pipe::Receiver::from_owned_fd(stdout_read)?,
        stderr: pipe::Receiver::from_owned_fd(stderr_read)?,
        exit: Exit::adopt(pid, pidfd)?,
    }))
}

/// The files an exec of `program` tries, as execvp does: the program
/// itself when its name has a `/`, else `program` in each folder of
/// `path` (an empty entry is the working folder).
fn candidates(program: &OsStr, path: Option<&OsStr>) -> Vec<std::path::PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return vec![program.into()];
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|folder| {
            let folder = if folder.is_empty() { b"." } else { folder };
            Path::new(OsStr::from_bytes(folder)).join(program)
        })
        .collect()
}

fn open_dev_null() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path; the descriptor is ours on success.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just opened, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A pipe, both ends close-on-exec (the child's copies are dup2'd into
/// 1 and 2, which clears the flag there).
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both just made, owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Clones the child onto a stack of its own and waits until it has
/// exec'd or exited: its pid and pidfd, or `None` where the kernel has
/// no CLONE_PIDFD.
fn clone_and_exec(job: &ChildJob<'_>) -> io::Result<Option<(libc::pid_t, OwnedFd)>> {
    // SAFETY: an anonymous private mapping, unmapped below.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let mut pidfd: libc::c_int = -1;
    // SAFETY: the signal sets are ours; the clone's child runs `child`
    // on the new stack (it grows down from its end) with `job`, which
    // outlives it: CLONE_VFORK returns only once the child has exec'd or
    // exited. The stack is unmapped after that.
    let (pid, error) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut previous);
        let pid = libc::clone(
            child,
            stack.cast::<u8>().add(STACK_BYTES).cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
            std::ptr::from_ref(job).cast_mut().cast(),
            &mut pidfd as *mut libc::c_int,
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        libc::munmap(stack, STACK_BYTES);
        (pid, error)
    };
    if pid < 0 {
        if error.raw_os_error() == Some(libc::EINVAL) {
            return Ok(None);
        }
        return Err(error);
    }
    // SAFETY: the kernel made this descriptor for us (CLONE_PIDFD).
    Ok(Some((pid, unsafe { OwnedFd::from_raw_fd(pidfd) })))
}

/// The child, between clone and exec. System calls only (see the module
/// doc); on any failure it records the errno for the parent and exits.
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildJob` the parent keeps alive (and does not
    // touch) until this child has exec'd or exited.
    let job = unsafe { &*(arg as *const ChildJob<'_>) };
    let fail = |errno: i32| -> ! {
        job.failed
            .store(errno.max(1), std::sync::atomic::Ordering::SeqCst);
        // SAFETY: _exit ends this child at once, running nothing of the
        // grader's (no atexit handlers, no buffers flushed).
        unsafe { libc::_exit(127) }
    };
    let errno = || {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    // SAFETY: signal and descriptor system calls on values of our own.
    unsafe {
        // Every handler of the grader back to the default (ignored
        // signals stay ignored, as exec keeps them, but SIGPIPE, which
        // Rust ignores for itself, is the program's to have).
        let mut action: libc::sigaction = std::mem::zeroed();
        for signal in 1..=libc::SIGRTMAX() {
            if libc::sigaction(signal, std::ptr::null(), &mut action) == 0
                && (action.sa_sigaction != libc::SIG_IGN || signal == libc::SIGPIPE)
                && action.sa_sigaction != libc::SIG_DFL
            {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
        }
        for (from, to) in [(job.stdin, 0), (job.stdout, 1), (job.stderr, 2)] {
            if libc::dup2(from, to) < 0 {
                fail(errno());
            }
        }
        if libc::setsid() < 0 {
            fail(errno());
        }
        crate::platform::close_inherited_descriptors();
        if libc::chdir(job.cwd.as_ptr()) != 0 {
            fail(errno());
        }
    }
    if let Some(steps) = job.steps
        && let Err(error) = steps.run()
    {
        fail(error.raw_os_error().unwrap_or(libc::EPERM));
    }
    // SAFETY: an empty signal set of our own; execve with NUL-terminated
    // arrays of NUL-terminated strings, all prepared by the parent.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        let mut denied = false;
        let mut last = libc::ENOENT;
        for (index, file) in job.candidates.iter().enumerate() {
            libc::execve(file.as_ptr(), job.argv.as_ptr(), job.envp.as_ptr());
            match errno() {
                libc::ENOEXEC => {
                    libc::execve(
                        job.script_argvs[index][0],
                        job.script_argvs[index].as_ptr(),
                        job.envp.as_ptr(),
                    );
                    fail(errno());
                }
                libc::EACCES => denied = true,
                // Not here: try the next folder, as execvp does.
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                other => fail(other),
            }
            last = errno();
        }
        fail(if denied { libc::EACCES } else { last })
    }
}

/// The end of a spawned program, awaited through its pidfd; dropping it
/// before the end kills the program (as a runtime's `kill_on_drop`).
#[derive(Debug)]
pub struct Exit {
    pidfd: AsyncFd<OwnedFd>,
    pid: libc::pid_t,
    reaped: bool,
}

impl Exit {
    /// The end of `pid`, a child of this process that `pidfd` refers to
    /// (it must not have been reaped); within the async runtime.
    pub fn adopt(pid: libc::pid_t, pidfd: OwnedFd) -> io::Result<Exit> {
        Ok(Exit {
            // SAFETY: an OwnedFd's descriptor stays open and the same for
            // as long as the AsyncFd owns it.
            pidfd: unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?,
            pid,
            reaped: false,
        })
    }

    /// Waits until the program exits; reaps it and says how it ended.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            let mut ready = self.pidfd.readable().await?;
            let mut status = 0;
            // SAFETY: waitpid on our own child with a status we own.
            let reaped = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            match reaped {
                0 => ready.clear_ready(),
                pid if pid == self.pid => {
                    self.reaped = true;
                    return Ok(ExitStatus::from_raw(status));
                }
                _ => return Err(io::Error::last_os_error()),
            }
        }
    }
}

impl Drop for Exit {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: signals and a non-blocking wait for our own unreaped
        // child (its pid cannot be reused before it is reaped).
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut status = 0;
            if libc::waitpid(self.pid, &mut status, libc::WNOHANG) == 0 {
                // Dying: whoever reaps the grader's zombies (its PID 1,
                // or the grader's own next wait) takes it; a detached
                // thread makes sure it does not linger as a zombie.
                let pid = self.pid;
                let _ = std::thread::Builder::new()
                    .name("reap".into())
                    .spawn(move || {
                        let mut status = 0;
                        libc::waitpid(pid, &mut status, 0);
                    });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect()
    }

    /// Starts `program` unconfined and returns its stdout, stderr and exit.
    async fn run(
        program: &str,
        args: &[&str],
        cwd: &Path,
        env: &[(OsString, OsString)],
    ) -> io::Result<(String, String, ExitStatus)> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let mut spawned = spawn(OsStr::new(program), &args, cwd, env, None)?
            .expect("this kernel has CLONE_PIDFD");
        let (mut out, mut err) = (String::new(), String::new());
        spawned.stdout.read_to_string(&mut out).await?;
        spawned.stderr.read_to_string(&mut err).await?;
        Ok((out, err, spawned.exit.wait().await?))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_program_gets_its_arguments_folder_and_only_the_environment_given() {
        let folder = tempfile::tempdir().unwrap();
        let (out, err, status) = run(
            "sh",
            &[
                "-c",
                "echo \"$0|$1|$(pwd)|$(env | sort | tr '\\n' ,)\"; echo oops >&2; exit 3",
                "zero",
                "one",
            ],
            folder.path(),
            &env(&[("PATH", "/usr/bin:/bin"), ("ONLY", "this")]),
        )
        .await
        .unwrap();
        let cwd = folder.path().canonicalize().unwrap();
        assert_eq!(
            out.trim_end(),
            format!(
                "zero|one|{}|ONLY=this,PATH=/usr/bin:/bin,PWD={},",
                cwd.display(),
                cwd.display()
            )
        );
        assert_eq!(err, "oops\n");
        assert_eq!(status.code(), Some(3));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_program_leads_a_session_of_its_own_with_no_descriptor_of_the_grader() {
        let folder = tempfile::tempdir().unwrap();
        // A descriptor the grader holds open, not close-on-exec.
        let held = std::fs::File::open("/dev/null").unwrap();
        let held_fd = held.as_raw_fd();
        // SAFETY: clears the flag on a descriptor this test owns.
        unsafe { libc::fcntl(held_fd, libc::F_SETFD, 0) };
        let (out, _, status) = run(
            "sh",
            &["-c", &format!("ps -o sid= -p $$; ps -o pid= -p $$; test -e /proc/self/fd/{held_fd} && echo leaked; true")],
            folder.path(),
            &env(&[("PATH", "/usr/bin:/bin")]),
        )
        .await
        .unwrap();
        let lines: Vec<&str> = out.split_whitespace().collect();
        assert!(status.success());
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0], lines[1], "the session is the program's own");
        drop(held);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_script_without_a_shebang_runs_in_the_shell_as_execvp_does() {
        let folder = tempfile::tempdir().unwrap();
        let script = folder.path().join("client-1");
        std::fs::write(&script, "echo from the shell \"$1\"\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let (out, _, status) = run("./client-1", &["x"], folder.path(), &env(&[]))
            .await
            .unwrap();
        assert_eq!(out, "from the shell x\n");
        assert!(status.success());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_program_that_cannot_start_is_an_error_naming_why() {
        let folder = tempfile::tempdir().unwrap();
        let path = env(&[("PATH", "/nonexistent:/also-not")]);
        let missing = run("no-such-program", &[], folder.path(), &path).await;
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
        let not_executable = folder.path().join("data");
        std::fs::write(&not_executable, "").unwrap();
        let denied = run("./data", &[], folder.path(), &path).await;
        assert_eq!(denied.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        let gone = run("sh", &[], &folder.path().join("gone"), &path).await;
        assert_eq!(gone.unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_exit_before_the_end_kills_and_reaps_the_program() {
        let folder = tempfile::tempdir().unwrap();
        let args = [OsString::from("60")];
        let spawned = spawn(
            OsStr::new("/bin/sleep"),
            &args,
            folder.path(),
            &env(&[]),
            None,
        )
        .unwrap()
        .unwrap();
        let pid = spawned.pid;
        drop(spawned);
        let proc_entry = format!("/proc/{pid}");
        let mut gone = false;
        for _ in 0..200 {
            if !Path::new(&proc_entry).exists() {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(gone, "{proc_entry} still there: killed but not reaped");
    }

    #[test]
    fn a_name_without_a_slash_is_looked_for_in_each_folder_of_path() {
        let found = candidates(OsStr::new("python3"), Some(OsStr::new("/a:/b::/c")));
        let found: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            found,
            ["/a/python3", "/b/python3", "./python3", "/c/python3"]
        );
        assert_eq!(
            candidates(OsStr::new("./client-1"), Some(OsStr::new("/a"))),
            [Path::new("./client-1")]
        );
        assert_eq!(
            candidates(OsStr::new("sh"), None),
            [Path::new("/bin/sh"), Path::new("/usr/bin/sh")]
        );
    }
}
