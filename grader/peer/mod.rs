//! The grader's side of one conversation: setting up the connection (a
//! listener for a client exercise, connect polling for a server exercise),
//! then the step interpreter; [`side`] puts them together for `grade` and
//! `sockgrade peer` alike. [`Connection`] owns the bytes and reads them
//! as messages by a [`Completion`] (the [`framing`]; `http` frames the
//! web server's side); the [`conversation`] interprets steps, sees only
//! messages, and never touches sockets.

mod connection;
pub mod conversation;
pub mod framing;
mod http;
pub mod matching;
pub mod shaping;
pub mod side;

pub use connection::Connection;
pub use conversation::Conversation;
pub use framing::{Completion, Message};
pub use shaping::Shaping;
pub use side::{HOST, Runner, Setup, Side};

use crate::backoff::Backoff;
use crate::outcome::ExitInfo;
use crate::student::Observer;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, sleep_until, timeout};

/// The first pause between two tries of a student's server while it
/// starts (see [`Backoff`]); the pauses grow up to
/// [`CONNECT_POLL_LONGEST`]. A compiled server listens within a
/// millisecond and is reached a median 3 ms after its start (measured on
/// the C reference's transcripts); an interpreted one, listening
/// after some 20 ms, is reached within a quarter of its start; and one that
/// never listens costs about twenty tries a second, not 250: each try is
/// two sockets, and polling every 4 ms was a tenth of a batch's CPU. (A
/// first pause of 4 ms cost the pre-built C reference a third of its
/// grade: each of its five servers waited for it.)
const CONNECT_POLL_FIRST: Duration = Duration::from_millis(1);
/// The longest pause between two tries.
const CONNECT_POLL_LONGEST: Duration = Duration::from_millis(50);
/// How often the program's listening sockets are read while it is tried.
const WRONG_PORT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The ports the program listens on, when they are known and none is
/// `port`.
fn listening_elsewhere(pid: u32, port: u16) -> Option<Vec<u16>> {
    let ports = crate::platform::listening_ports_of_session(pid)?;
    (!ports.is_empty() && !ports.contains(&port)).then_some(ports)
}

/// Watches the student's side while the grader tries to connect: a
/// server that listens on another port would only show as a timeout, so
/// the program's own sockets (the session of `pid`) are read now and
/// then, and this resolves, with the failure to report, as soon as it
/// listens elsewhere and not on `port`. Raced beside [`connect`]; without
/// a program to watch it never resolves.
pub async fn wrong_port(pid: Option<u32>, port: u16) -> Failure {
    let Some(pid) = pid else {
        return std::future::pending().await;
    };
    loop {
        sleep(WRONG_PORT_CHECK_INTERVAL).await;
        let Some(elsewhere) = listening_elsewhere(pid, port) else {
            continue;
        };
        let list = elsewhere
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Failure {
            kind: FailureKind::Mismatch,
            message: format!(
                "your server listens on port {list}, not on port {port}: use the exercise's port"
            ),
            expected: Some(format!("a server listening on port {port}")),
            received: Some(format!("listening on port {list}")),
            step: None,
        };
    }
}

/// The longest one connect attempt may take; a refusal on loopback is
/// immediate, but a full accept queue makes a SYN wait.
const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a step, or the setup, did not go as the exercise requires.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What kind of failure it is; decides the verdict.
    pub kind: FailureKind,
    /// What happened, for the student.
    pub message: String,
    /// What was expected, in words.
    pub expected: Option<String>,
    /// What arrived instead (escaped).
    pub received: Option<String>,
    /// Which step failed (0-based), when a step did.
    pub step: Option<usize>,
}

/// The kinds of failure, from which the verdict follows.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// The program sent or printed something else.
    Mismatch,
    /// The program closed the connection too early.
    Closed,
    /// A deadline passed.
    Timeout,
    /// The program exited before the conversation was over.
    Exited(ExitInfo),
    /// The grader or the machine failed.
    Harness,
}

impl Failure {
    /// A failure with only a kind and a message.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            step: None,
            kind,
            message: message.into(),
            expected: None,
            received: None,
        }
    }
}

/// The grader listening for a student's client, on IPv4 loopback and, where
/// the machine has it, IPv6 loopback too (a client may resolve `localhost`
/// to `::1`).
#[derive(Debug)]
pub struct Listening {
    listeners: Vec<TcpListener>,
    port: u16,
}

impl Listening {
    /// Listens on `port` (0: any free port).
    pub fn bind(port: u16) -> io::Result<Listening> {
        let v4 = listener(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
        let port = v4.local_addr()?.port();
        let mut listeners = vec![v4];
        if let Ok(v6) = listener(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
            listeners.push(v6);
        }
        Ok(Listening { listeners, port })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the student's client to connect, until `deadline` or until
    /// the program exits. The listeners close on return, so a second
    /// connection attempt is refused, as by a notebook server.
    pub async fn accept(
        self,
        deadline: Instant,
        observer: &mut Observer,
    ) -> Result<TcpStream, Failure> {
        let accept_any = async {
            let (v4, v6) = (&self.listeners[0], self.listeners.get(1));
            tokio::select! {
                result = v4.accept() => result,
                result = async { v6.expect("guarded").accept().await }, if v6.is_some() => result,
            }
        };
        tokio::select! {
            result = accept_any => result.map(|(stream, _)| stream).map_err(|e| {
                Failure::new(FailureKind::Harness, format!("accepting the connection failed: {e}"))
            }),
            exit = observer.wait_exit() => Err(Failure::new(
                FailureKind::Exited(exit.clone()),
                format!(
                    "the program ended ({}) without connecting to the grader ({} port {})",
                    exit.describe(),
                    HOST,
                    self.port
                ),
            )),
            () = sleep_until(deadline) => Err(Failure::new(
                FailureKind::Timeout,
                format!("the program did not connect to port {} in time", self.port),
            )),
        }
    }
}

fn listener(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // The grader may listen on this port again right away (the next run,
    // the next student): its own TIME_WAIT must not stop it.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(16)
}

/// Checks that nothing listens on `port` yet, so that the grader never
/// talks to a stale server instead of the student's program. Binding with
/// SO_REUSEADDR fails only when a socket listens there (TIME_WAIT does not
/// count), and no connection is made.
pub fn port_is_free(port: u16) -> bool {
    let Ok(socket) = TcpSocket::new_v4() else {
        return true;
    };
    let _ = socket.set_reuseaddr(true);
    socket
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .is_ok()
}

/// One round of connect attempts on `port`, with `attempt` making one
/// connection (or not). The family is never left to a race: IPv6 loopback
/// is tried only once a socket is seen listening on IPv6 and IPv4 was then
/// refused, so a dual-stack server (`::`, accepting IPv4 too) is always
/// reached over 127.0.0.1, whatever moment it starts listening at, and
/// sees the client address the exercise expects.
async fn connect_once<F, Fut>(port: u16, mut attempt: F) -> Option<TcpStream>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Option<TcpStream>>,
{
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if let Some(stream) = attempt(v4).await {
        return Some(stream);
    }
    if !listening_on_ipv6(port) {
        return None;
    }
    // The server listens on IPv6 now; if it accepts IPv4 too, this attempt
    // shows it (its socket was there before the attempt).
    if let Some(stream) = attempt(v4).await {
        return Some(stream);
    }
    attempt(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await
}

/// True when a socket listens on `port` over IPv6 (`::` or `::1`): binding
/// IPv6 loopback then fails with "address in use", and no connection is
/// made, so a server that accepts once is not spent on a probe.
fn listening_on_ipv6(port: u16) -> bool {
    let Ok(socket) = TcpSocket::new_v6() else {
        return false;
    };
    // TIME_WAIT left by an earlier conversation does not count.
    let _ = socket.set_reuseaddr(true);
    matches!(
        socket.bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse
    )
}

/// Connects to the student's server on `port`, trying at growing
/// intervals (a few milliseconds at first, see [`Backoff`]) until
/// it accepts, the program exits, or `deadline` passes (with a last try
/// then). `deadline` is asked again when it seems to have passed: the
/// program's clock may have moved it meanwhile (its waits for a CPU are
/// given back), and the tries go on at the pace they had reached.
/// The first connection that succeeds is the conversation: a notebook
/// server accepts exactly once, so there is never a probe.
pub async fn connect(
    port: u16,
    deadline: impl Fn() -> Instant,
    observer: &mut Observer,
) -> Result<TcpStream, Failure> {
    let mut due = deadline();
    let mut backoff = Backoff::new(CONNECT_POLL_FIRST, CONNECT_POLL_LONGEST);
    // Where nothing listens on the port at all, every connection would be
    // refused: the kernel is asked instead (a send and a receive on one
    // netlink socket, where a refused try was two sockets and their
    // closes: a connection refused by a reset, and an IPv6 bind check),
    // and a Python server is tried several times before it listens.
    let probe = crate::platform::ListenerProbe::open();
    loop {
        let worth_a_try = probe
            .as_ref()
            .and_then(|probe| probe.anything_listens_on(port))
            != Some(false);
        if worth_a_try
            && let Some(stream) = connect_once(port, |address| async move {
                timeout(CONNECT_ATTEMPT_TIMEOUT, TcpStream::connect(address))
                    .await
                    .ok()
                    .and_then(Result::ok)
            })
            .await
        {
            return Ok(stream);
        }
        let now = Instant::now();
        if now >= due {
            due = deadline();
        }
        if now >= due {
            return Err(Failure::new(
                FailureKind::Timeout,
                format!(
                    "nothing accepted a connection on port {port} in time: is the server listening on port {port}?"
                ),
            ));
        }
        tokio::select! {
            () = sleep(backoff.pause(due - now)) => {}
            exit = observer.wait_exit() => {
                return Err(Failure::new(
                    FailureKind::Exited(exit.clone()),
                    format!("the program ended ({}) before accepting a connection on port {port}", exit.describe()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Socket, Type};

    #[tokio::test]
    async fn a_dual_stack_server_that_starts_mid_round_is_reached_over_ipv4() {
        let socket = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        if socket.set_only_v6(false).is_err()
            || socket
                .bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)).into())
                .is_err()
        {
            eprintln!("skipped: no dual-stack IPv6 here");
            return;
        }
        socket.listen(4).unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        // The first IPv4 attempt is refused, as when the server starts
        // listening right after it: the race the family must not depend on.
        let mut refused_once = false;
        let stream = connect_once(port, |address| {
            let refuse = address.is_ipv4() && !refused_once;
            refused_once |= refuse;
            async move {
                if refuse {
                    None
                } else {
                    TcpStream::connect(address).await.ok()
                }
            }
        })
        .await
        .expect("the listening server is reached");
        assert_eq!(
            stream.local_addr().unwrap().ip(),
            std::net::IpAddr::from(Ipv4Addr::LOCALHOST)
        );
    }
}
