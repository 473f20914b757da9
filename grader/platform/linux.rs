//! What the Linux kernel tells about a program and the machine: the
//! sessions' sockets and threads (`/proc`, sock_diag), who holds a port,
//! and the CPU pressure.

use super::listeners::listening_sockets;
use super::{procfs, session};
use std::collections::HashMap;
use std::fs;
use std::time::Duration;

pub fn listening_ports_of_session(sid: u32) -> Option<Vec<u16>> {
    session::listening_ports(sid)
}

pub fn runqueue_waits_of_session(sid: u32) -> Option<HashMap<u32, Duration>> {
    session::runqueue_waits(sid)
}

pub use session::ListedThreadWaits;

pub fn session_is_busy(sid: u32) -> Option<bool> {
    session::is_busy(sid)
}

pub fn cpu_pressure_total() -> Option<u64> {
    let text = fs::read_to_string("/proc/pressure/cpu").ok()?;
    text.lines()
        .find(|line| line.starts_with("some "))?
        .split_whitespace()
        .find_map(|field| field.strip_prefix("total="))?
        .parse()
        .ok()
}

pub fn unread_bytes(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Option<u32> {
    super::sock_diag::unread_bytes(local, remote)
}

pub use super::listeners::ListenerProbe;

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
