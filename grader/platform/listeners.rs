//! Which TCP sockets listen in this network namespace, and their inodes
//! (the number `/proc/PID/fd/N` links to), so the grader can tell whose
//! socket holds a port and which ports a program listens on.
//!
//! Asked of the kernel with a sock_diag netlink dump restricted to the
//! LISTEN state, which walks only the listening table. `/proc/net/tcp`
//! gives the same facts but walks every bucket of the kernel's whole
//! established-connection table on every read (hundreds of thousands on a
//! machine with memory to spare): read every 100 ms by each server
//! exercise waiting for its program, it was half of a batch's own CPU.
//! The file remains the fallback where netlink is refused.

use super::sock_diag::{self, INODE_OFFSET, SPORT_OFFSET, TCP_LISTEN};
use std::fs;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// A listening TCP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub port: u16,
    pub inode: u64,
}

/// Every TCP socket listening here, over IPv4 and IPv6.
pub fn listening_sockets() -> Option<Vec<Listener>> {
    let from_kernel = [libc::AF_INET, libc::AF_INET6]
        .into_iter()
        .map(diag_listeners)
        .collect::<io::Result<Vec<_>>>();
    match from_kernel {
        Ok(families) => Some(families.concat()),
        Err(_) => {
            let tables: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
                .iter()
                .filter_map(|table| fs::read_to_string(table).ok())
                .collect();
            (!tables.is_empty()).then(|| tables.iter().flat_map(|t| table_listeners(t)).collect())
        }
    }
}

/// See [`super::ListenerProbe`].
#[derive(Debug)]
pub struct ListenerProbe(sock_diag::DiagSocket);

impl ListenerProbe {
    pub fn open() -> Option<ListenerProbe> {
        sock_diag::DiagSocket::open().ok().map(ListenerProbe)
    }

    /// Whether a connection to `port` on loopback, over IPv4 or IPv6,
    /// would find a socket listening (see `sock_diag::listens_at`);
    /// `None` where the kernel will not say.
    pub fn anything_listens_on(&self, port: u16) -> Option<bool> {
        let v4 = sock_diag::listens_at(&self.0, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
        if v4 {
            return Some(true);
        }
        sock_diag::listens_at(&self.0, SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
    }
}

/// The listeners of one address family, from a sock_diag dump.
fn diag_listeners(family: libc::c_int) -> io::Result<Vec<Listener>> {
    let request = sock_diag::request(
        family as u8,
        libc::NLM_F_DUMP as u16,
        1 << TCP_LISTEN,
        &[0u8; 48], // any address, any port
    );
    let mut listeners = Vec::new();
    sock_diag::query(&request, |message| {
        let port = u16::from_be_bytes([message[SPORT_OFFSET], message[SPORT_OFFSET + 1]]);
        let inode = u32::from_ne_bytes(message[INODE_OFFSET..INODE_OFFSET + 4].try_into().unwrap());
        listeners.push(Listener {
            port,
            inode: u64::from(inode),
        });
    })?;
    Ok(listeners)
}

/// TCP state LISTEN in /proc/net/tcp.
const LISTEN: &str = "0A";

/// The LISTEN sockets of a /proc/net/tcp table.
fn table_listeners(table: &str) -> Vec<Listener> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&LISTEN) {
                return None;
            }
            let port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
            let inode = fields.get(9)?.parse().ok()?;
            Some(Listener { port, inode })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn reads_the_listeners_of_a_proc_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1ED2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1\n\
           1: 0100007F:1ED2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 999 1\n";
        assert_eq!(
            table_listeners(table),
            vec![Listener {
                port: 7890,
                inode: 12345
            }]
        );
    }

    #[test]
    fn the_kernel_lists_a_listening_socket_with_its_port_and_inode_and_no_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connected = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let fd = std::path::PathBuf::from(format!("/proc/self/fd/{}", listener.as_raw_fd()));
        let inode = fs::metadata(&fd).unwrap().ino();

        let listeners = diag_listeners(libc::AF_INET).expect("sock_diag answers");
        assert!(
            listeners.contains(&Listener { port, inode }),
            "{port}/{inode} not in {listeners:?}"
        );
        let connection_port = connected.local_addr().unwrap().port();
        assert!(
            !listeners.iter().any(|l| l.port == connection_port),
            "a connection is not a listener"
        );
    }

    #[test]
    fn an_ipv6_listener_is_listed_too() {
        let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        let listeners = listening_sockets().unwrap();
        assert!(listeners.iter().any(|l| l.port == port), "{listeners:?}");
    }
}
