//! The threads of a program's session, read from `/proc`: every program
//! starts a session of its own, so its session ID names everything it
//! started, children and threads included.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Calls `visit` with the `/proc/PID/task/TID` folder and the ID of every
/// thread of every process in the session `sid`; `None` when `/proc`
/// cannot be read.
fn for_each_thread(sid: u32, mut visit: impl FnMut(&Path, u32)) -> Option<()> {
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let is_process = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_process {
            continue;
        }
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if fields_after_name(&stat)
            .nth(3)
            .and_then(|s| s.parse::<u32>().ok())
            != Some(sid)
        {
            continue;
        }
        // Every thread: a runtime's main thread often waits on its
        // workers (a JVM's compiler and loader threads), which are the
        // ones that queue for a CPU.
        let Ok(tasks) = fs::read_dir(entry.path().join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Some(tid) = task.file_name().to_str().and_then(|n| n.parse().ok()) {
                visit(&task.path(), tid);
            }
        }
    }
    Some(())
}

/// The fields of a `stat` line after the command name, which may hold
/// spaces and parentheses: they start after the last `)`. The first is
/// the state, the fourth the session.
fn fields_after_name(stat: &str) -> std::str::SplitWhitespace<'_> {
    stat.rsplit_once(')')
        .map_or("", |(_, fields)| fields)
        .split_whitespace()
}

/// See [`super::runqueue_waits_of_session`].
pub fn runqueue_waits(sid: u32) -> Option<HashMap<u32, Duration>> {
    fs::metadata("/proc/self/schedstat").ok()?;
    let mut waits = HashMap::new();
    for_each_thread(sid, |task, tid| {
        let waited = fs::read_to_string(task.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok());
        if let Some(nanoseconds) = waited {
            waits.insert(tid, Duration::from_nanos(nanoseconds));
        }
    })?;
    Some(waits)
}

/// See [`super::session_is_busy`].
pub fn is_busy(sid: u32) -> Option<bool> {
    let mut busy = false;
    let mut seen = false;
    for_each_thread(sid, |task, _| {
        if let Ok(stat) = fs::read_to_string(task.join("stat")) {
            seen = true;
            busy |= matches!(fields_after_name(&stat).next(), Some("R" | "D"));
        }
    })?;
    // A session with no thread left has ended: nothing of it is busy.
    Some(busy && seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_of(child: &std::process::Child) -> u32 {
        let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        fields_after_name(&stat).nth(3).unwrap().parse().unwrap()
    }

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1";
        let mut fields = fields_after_name(stat);
        assert_eq!(fields.next(), Some("S"));
        assert_eq!(fields.nth(2), Some("42"));
    }

    #[test]
    fn a_sleeping_program_is_idle_and_a_computing_one_busy() {
        use std::os::unix::process::CommandExt;
        let spawn = |script: &str| {
            let mut command = std::process::Command::new("sh");
            command.args(["-c", script]);
            // SAFETY: setsid is async-signal-safe.
            unsafe {
                command.pre_exec(|| {
                    libc::setsid();
                    Ok(())
                });
            }
            command.spawn().unwrap()
        };
        let mut sleeping = spawn("exec sleep 5");
        let mut computing = spawn("while :; do :; done");
        std::thread::sleep(Duration::from_millis(200));
        let (idle, busy) = (session_of(&sleeping), session_of(&computing));
        assert_eq!(is_busy(idle), Some(false));
        assert_eq!(is_busy(busy), Some(true));
        assert!(runqueue_waits(busy).is_some_and(|w| !w.is_empty()));
        for child in [&mut sleeping, &mut computing] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
