//! Reading `/proc`: its processes, the fields of a `stat` line, and the
//! sockets a process holds. One place for the parsing that the session
//! scans, the port holder and the memory watchdog all need.

use std::fs;
use std::path::{Path, PathBuf};

/// Every process `/proc` shows, as its ID and folder; `None` when `/proc`
/// cannot be read.
pub fn processes() -> Option<impl Iterator<Item = (u32, PathBuf)>> {
    let entries = fs::read_dir("/proc").ok()?;
    Some(entries.flatten().filter_map(|entry| {
        let pid = entry.file_name().to_str()?.parse().ok()?;
        Some((pid, entry.path()))
    }))
}

/// True when `/proc` shows this process's own PID namespace: otherwise
/// its numbers name other processes than ours.
/// Asked once: which /proc a process sees is settled before it grades
/// (PID 1 of a namespace mounts its own first), and every scan of a
/// program's session asked it again.
pub fn shows_own_pid_namespace() -> bool {
    static SHOWS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SHOWS.get_or_init(|| {
        fs::read_to_string("/proc/self/stat").is_ok_and(|stat| {
            stat.split_whitespace().next() == Some(std::process::id().to_string().as_str())
        })
    })
}

/// The fields of a `stat` line after the command name, which may hold
/// spaces and parentheses: they start after the last `)`. Index 0 is the
/// state, 1 the parent, 2 the process group, 3 the session, 19 the start
/// time (fields 3, 4, 5, 6 and 22 of proc_pid_stat(5)).
pub fn stat_fields(stat: &str) -> std::str::SplitWhitespace<'_> {
    stat.rsplit_once(')')
        .map_or("", |(_, fields)| fields)
        .split_whitespace()
}

/// The inodes of the sockets the process whose folder is `process` holds
/// (what `/proc/PID/fd/N` links to: `socket:[12345]`).
pub fn socket_inodes(process: &Path) -> Vec<u64> {
    let Ok(fds) = fs::read_dir(process.join("fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| socket_inode(&fs::read_link(fd.path()).ok()?))
        .collect()
}

fn socket_inode(link: &Path) -> Option<u64> {
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "42 (my (odd) name) S 1 42 42 0 -1";
        let mut fields = stat_fields(stat);
        assert_eq!(fields.next(), Some("S"));
        assert_eq!(fields.nth(2), Some("42"));
    }

    #[test]
    fn a_held_socket_is_found_by_its_inode() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = format!("/proc/self/fd/{}", listener.as_raw_fd());
        let inode = fs::metadata(fd).unwrap().ino();
        assert!(socket_inodes(Path::new("/proc/self")).contains(&inode));
        assert!(shows_own_pid_namespace());
    }
}
