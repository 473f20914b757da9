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

use std::fs;
use std::io;
use std::os::fd::AsRawFd;

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

// From linux/sock_diag.h, linux/inet_diag.h and net/tcp_states.h.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCP_LISTEN: u32 = 10;
const NLMSG_HEADER_LEN: usize = 16;
/// inet_diag_req_v2: family, protocol, ext, pad, states, then a 48-byte id.
const REQUEST_LEN: usize = 4 + 4 + 48;
/// inet_diag_msg: family, state, timer, retrans, the 48-byte id, then
/// expires, rqueue, wqueue, uid and inode (4 bytes each).
const MESSAGE_LEN: usize = 4 + 48 + 5 * 4;
const SPORT_OFFSET: usize = 4;
const INODE_OFFSET: usize = 4 + 48 + 4 * 4;

/// The listeners of one address family, from a sock_diag dump.
fn diag_listeners(family: libc::c_int) -> io::Result<Vec<Listener>> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, send, socket,
    };
    let socket = socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )?;
    // An unbound netlink socket sends to the kernel.
    send(
        socket.as_raw_fd(),
        &dump_request(family as u8),
        MsgFlags::empty(),
    )?;
    let mut listeners = Vec::new();
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let received = match recv(socket.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
            Err(nix::errno::Errno::EINTR) => continue,
            result => result?,
        };
        match parse_messages(&buffer[..received], &mut listeners)? {
            Dump::Done => return Ok(listeners),
            Dump::More => {}
        }
    }
}

/// A request for every TCP socket of `family` in the LISTEN state.
fn dump_request(family: u8) -> Vec<u8> {
    let length = (NLMSG_HEADER_LEN + REQUEST_LEN) as u32;
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    let mut request = Vec::with_capacity(length as usize);
    request.extend_from_slice(&length.to_ne_bytes());
    request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend_from_slice(&flags.to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    request.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
    request.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    request.extend_from_slice(&[0u8; 48]); // any address, any port
    request
}

enum Dump {
    More,
    Done,
}

/// Reads the netlink messages of one datagram into `listeners`.
fn parse_messages(mut data: &[u8], listeners: &mut Vec<Listener>) -> io::Result<Dump> {
    let truncated = || io::Error::new(io::ErrorKind::InvalidData, "truncated sock_diag message");
    while data.len() >= NLMSG_HEADER_LEN {
        let length = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(data[4..6].try_into().unwrap());
        if length < NLMSG_HEADER_LEN || length > data.len() {
            return Err(truncated());
        }
        let payload = &data[NLMSG_HEADER_LEN..length];
        match kind as libc::c_int {
            libc::NLMSG_DONE => return Ok(Dump::Done),
            libc::NLMSG_ERROR => {
                let code = payload
                    .get(0..4)
                    .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                    .ok_or_else(truncated)?;
                return Err(io::Error::from_raw_os_error(-code));
            }
            _ if kind == SOCK_DIAG_BY_FAMILY => {
                if payload.len() < MESSAGE_LEN {
                    return Err(truncated());
                }
                let port = u16::from_be_bytes([payload[SPORT_OFFSET], payload[SPORT_OFFSET + 1]]);
                let inode =
                    u32::from_ne_bytes(payload[INODE_OFFSET..INODE_OFFSET + 4].try_into().unwrap());
                listeners.push(Listener {
                    port,
                    inode: u64::from(inode),
                });
            }
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        let aligned = (length + 3) & !3;
        data = data.get(aligned..).unwrap_or(&[]);
    }
    Ok(Dump::More)
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
