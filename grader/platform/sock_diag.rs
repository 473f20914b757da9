//! Asking the kernel about TCP sockets with sock_diag netlink messages
//! (`linux/sock_diag.h`, `linux/inet_diag.h`): the requests are built and
//! the replies read here, byte for byte, so that [`super::listeners`] and
//! [`unread_bytes`] share one reader of the kernel's answer.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_HEADER_LEN: usize = 16;
/// inet_diag_req_v2: family, protocol, ext, pad, states, then a 48-byte id.
const REQUEST_LEN: usize = 4 + 4 + 48;
/// inet_diag_msg: family, state, timer, retrans, the 48-byte id, then
/// expires, rqueue, wqueue, uid and inode (4 bytes each).
const MESSAGE_LEN: usize = 4 + 48 + 5 * 4;
/// TCP's LISTEN state (`net/tcp_states.h`); a request's state mask has
/// bit N for state N.
pub(super) const TCP_LISTEN: u32 = 10;
/// Where the id's source port is in an inet_diag_msg.
pub(super) const SPORT_OFFSET: usize = 4;
/// Where the receive queue's length is in an inet_diag_msg.
const RQUEUE_OFFSET: usize = 4 + 48 + 4;
/// Where the inode is in an inet_diag_msg.
pub(super) const INODE_OFFSET: usize = 4 + 48 + 4 * 4;
/// Every TCP state but LISTEN (states 1 to 11; there is no state 0).
const CONNECTED_STATES: u32 = 0xfff & !(1 << TCP_LISTEN) & !1;
/// inet_diag_sockid's cookie when the caller does not know it.
const NO_COOKIE: u32 = !0;

/// A sock_diag request: the netlink header with `flags`, then
/// inet_diag_req_v2 for TCP of `family` in `states`, with the socket id
/// `id` (ports and addresses in network order; zeros match any).
pub(super) fn request(family: u8, flags: u16, states: u32, id: &[u8; 48]) -> Vec<u8> {
    let length = (NLMSG_HEADER_LEN + REQUEST_LEN) as u32;
    let mut request = Vec::with_capacity(length as usize);
    request.extend_from_slice(&length.to_ne_bytes());
    request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    request.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
    request.extend_from_slice(&states.to_ne_bytes());
    request.extend_from_slice(id);
    request
}

/// Sends `request` to the kernel and hands each inet_diag_msg of the
/// answer to `each`, until the answer ends.
pub(super) fn query(request: &[u8], each: impl FnMut(&[u8])) -> io::Result<()> {
    DiagSocket::open()?.query(request, each)
}

/// A netlink socket to ask sock_diag questions on, in the network
/// namespace it was opened in. Kept for a series of questions (a server's
/// readiness, asked every few milliseconds): two system calls a question
/// instead of four.
#[derive(Debug)]
pub struct DiagSocket(std::os::fd::OwnedFd);

impl DiagSocket {
    pub fn open() -> io::Result<DiagSocket> {
        use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
        Ok(DiagSocket(socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )?))
    }

    /// See [`query`]. Every answer is read to its end (a request for one
    /// socket is answered by one datagram), so the next question never
    /// reads the last one's answer.
    pub(super) fn query(&self, request: &[u8], mut each: impl FnMut(&[u8])) -> io::Result<()> {
        use nix::sys::socket::{MsgFlags, recv, send};
        // An unbound netlink socket sends to the kernel.
        send(self.0.as_raw_fd(), request, MsgFlags::empty())?;
        let dump = u16::from_ne_bytes([request[6], request[7]]) & libc::NLM_F_DUMP as u16 != 0;
        let mut buffer = vec![0u8; if dump { 32 * 1024 } else { 1024 }];
        loop {
            let received = match recv(self.0.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                result => result?,
            };
            // A request for one socket is answered by one message, a dump
            // by messages ending with NLMSG_DONE.
            if parse(&buffer[..received], &mut each)? == Answer::Done || !dump {
                return Ok(());
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Answer {
    More,
    Done,
}

/// Reads the netlink messages of one datagram.
fn parse(mut data: &[u8], each: &mut impl FnMut(&[u8])) -> io::Result<Answer> {
    let truncated = || io::Error::new(io::ErrorKind::InvalidData, "truncated sock_diag message");
    while data.len() >= NLMSG_HEADER_LEN {
        let length = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(data[4..6].try_into().unwrap());
        if length < NLMSG_HEADER_LEN || length > data.len() {
            return Err(truncated());
        }
        let payload = &data[NLMSG_HEADER_LEN..length];
        match kind as libc::c_int {
            libc::NLMSG_DONE => return Ok(Answer::Done),
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
                each(payload);
            }
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        let aligned = (length + 3) & !3;
        data = data.get(aligned..).unwrap_or(&[]);
    }
    Ok(Answer::More)
}

/// How many bytes the socket bound to `local` and connected to `remote`
/// has received and its program not yet read; `None` when there is no
/// such socket here (it closed, or it is in another network namespace).
/// An IPv4 connection accepted by a dual-stack listener is an IPv6 socket
/// with mapped addresses: both are tried.
pub fn unread_bytes(local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    let mut tries = vec![(local, remote)];
    if let (IpAddr::V4(l), IpAddr::V4(r)) = (local.ip(), remote.ip()) {
        tries.push((
            SocketAddr::new(IpAddr::V6(l.to_ipv6_mapped()), local.port()),
            SocketAddr::new(IpAddr::V6(r.to_ipv6_mapped()), remote.port()),
        ));
    }
    tries.into_iter().find_map(|(local, remote)| {
        let family = match local.ip() {
            IpAddr::V4(_) => libc::AF_INET,
            IpAddr::V6(_) => libc::AF_INET6,
        };
        let mut unread = None;
        query(
            &request(family as u8, 0, CONNECTED_STATES, &socket_id(local, remote)),
            |message| {
                unread = Some(u32::from_ne_bytes(
                    message[RQUEUE_OFFSET..RQUEUE_OFFSET + 4]
                        .try_into()
                        .unwrap(),
                ));
            },
        )
        .ok()?;
        unread
    })
}

/// Whether a connection to `address` would find a socket listening
/// there: the kernel looks it up as it does for an arriving connection
/// request (a listener bound to that address or to any address of the
/// family, a dual-stack IPv6 one included for IPv4), one look-up in its
/// hash tables rather than a walk of every listener, and no connection is
/// made. `None` where the kernel will not say.
pub fn listens_at(socket: &DiagSocket, address: SocketAddr) -> Option<bool> {
    let family = match address.ip() {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    };
    // From the same address, port 0: no connection has that end, so the
    // look-up can only find a listener.
    let from = SocketAddr::new(address.ip(), 0);
    let mut found = false;
    match socket.query(
        &request(family as u8, 0, 1 << TCP_LISTEN, &socket_id(address, from)),
        |_| found = true,
    ) {
        Ok(()) => Some(found),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(false),
        Err(_) => None,
    }
}

/// inet_diag_sockid of one connection: ports and addresses in network
/// order, any interface, no cookie.
fn socket_id(local: SocketAddr, remote: SocketAddr) -> [u8; 48] {
    let mut id = [0u8; 48];
    id[0..2].copy_from_slice(&local.port().to_be_bytes());
    id[2..4].copy_from_slice(&remote.port().to_be_bytes());
    let octets = |address: IpAddr| match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    let source = octets(local.ip());
    id[4..4 + source.len()].copy_from_slice(&source);
    let destination = octets(remote.ip());
    id[20..20 + destination.len()].copy_from_slice(&destination);
    id[40..44].copy_from_slice(&NO_COOKIE.to_ne_bytes());
    id[44..48].copy_from_slice(&NO_COOKIE.to_ne_bytes());
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Polls `unread_bytes` until it says `want` (loopback delivers at once,
    /// but a loaded machine may hand the delivery to a kernel thread).
    fn eventually(their_end: SocketAddr, our_end: SocketAddr, want: u32) -> Option<u32> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let unread = unread_bytes(their_end, our_end);
            if unread == Some(want) || std::time::Instant::now() >= deadline {
                return unread;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn the_unread_bytes_of_the_other_end_are_counted_until_it_reads_them() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut theirs, _) = listener.accept().unwrap();
        let (their_end, our_end) = (theirs.local_addr().unwrap(), ours.local_addr().unwrap());
        assert_eq!(unread_bytes(their_end, our_end), Some(0));
        ours.write_all(b"hello\n").unwrap();
        assert_eq!(eventually(their_end, our_end, 6), Some(6));
        let mut two = [0u8; 2];
        theirs.read_exact(&mut two).unwrap();
        assert_eq!(unread_bytes(their_end, our_end), Some(4));
        // Closed, the socket is gone or waits out TIME_WAIT with nothing
        // unread: either way nothing holds the grader back.
        drop(theirs);
        drop(ours);
        assert!(matches!(unread_bytes(their_end, our_end), None | Some(0)));
    }

    #[test]
    fn a_dual_stack_listeners_connection_is_found_by_its_ipv4_addresses() {
        let Ok(listener) = std::net::TcpListener::bind("[::]:0") else {
            eprintln!("skipped: no IPv6 here");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        let Ok(mut ours) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            eprintln!("skipped: the listener is IPv6 only");
            return;
        };
        let (_theirs, _) = listener.accept().unwrap();
        let their_end = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
        ours.write_all(b"hi").unwrap();
        assert_eq!(
            eventually(their_end, ours.local_addr().unwrap(), 2),
            Some(2)
        );
    }

    #[test]
    fn a_listener_is_found_where_a_connection_would_reach_it_and_nowhere_else() {
        // One socket for every question, as a server's readiness asks.
        let socket = DiagSocket::open().unwrap();
        let listens_at = |address| listens_at(&socket, address);
        let localhost = |port| SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listens_at(localhost(port)), Some(true));
        // A connection to it is not a listener on its port.
        let _connection = std::net::TcpStream::connect(localhost(port)).unwrap();
        drop(listener);
        assert_eq!(listens_at(localhost(port)), Some(false));
        // Any address of the family takes loopback's connections too.
        let any = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        assert_eq!(
            listens_at(localhost(any.local_addr().unwrap().port())),
            Some(true)
        );
        // Another loopback address does not: 127.0.0.1 is refused there.
        if let Ok(other) = std::net::TcpListener::bind("127.0.0.2:0") {
            assert_eq!(
                listens_at(localhost(other.local_addr().unwrap().port())),
                Some(false)
            );
        }
        // Over IPv6 where there is IPv6; an IPv6-only listener is no
        // IPv4 listener.
        if let Ok(v6) = std::net::TcpListener::bind("[::1]:0") {
            let port = v6.local_addr().unwrap().port();
            let loopback6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
            assert_eq!(listens_at(loopback6), Some(true));
            assert_eq!(listens_at(localhost(port)), Some(false));
        }
    }
}
