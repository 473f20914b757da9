//! The system calls a confined program is refused (a seccomp filter built
//! with `seccompiler`), for what no other layer of the sandbox covers:
//! pathname Unix sockets and datagram pairs (the network namespace has no say over them, so a
//! database, dbus, X11 or an agent socket of the host would be reachable),
//! the kernel keyrings (shared by every program of one user, so they would
//! carry data between submissions and outlive the grade), typing into a
//! terminal (TIOCSTI, TIOCLINUX), and, where no IPC namespace can be made,
//! System V and POSIX IPC. Everything else is allowed: the filter is a
//! deny list, so that every runtime students use keeps working.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::io;

/// The terminal requests that push input or run console commands, as
/// numbered on every architecture the filter compiler knows (x86_64,
/// aarch64, riscv64 share the generic ioctl numbers).
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;

/// The filter for one program, compiled for this machine; `None` on an
/// architecture the filter compiler does not know.
pub fn refused_calls(ipc_namespace: bool) -> io::Result<Option<BpfProgram>> {
    let Ok(arch) = TargetArch::try_from(std::env::consts::ARCH) else {
        return Ok(None);
    };
    let unix = || equal(0, libc::AF_UNIX as u64);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_socket, vec![rule(vec![unix()?])?]);
    // A connected stream or seqpacket pair cannot reach anything else (the
    // kernel ignores an address given to either; Rust's own process spawn
    // uses a seqpacket pair); a datagram one can still send to a path.
    let kind = |kind: i32| {
        SeccompCondition::new(
            1,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(0xf),
            kind as u64,
        )
        .map_err(to_io)
    };
    rules.insert(
        libc::SYS_socketpair,
        vec![rule(vec![unix()?, kind(libc::SOCK_DGRAM)?])?],
    );
    for keyring in [libc::SYS_add_key, libc::SYS_request_key, libc::SYS_keyctl] {
        rules.insert(keyring, Vec::new());
    }
    rules.insert(
        libc::SYS_ioctl,
        vec![
            rule(vec![equal(1, TIOCSTI)?])?,
            rule(vec![equal(1, TIOCLINUX)?])?,
        ],
    );
    if !ipc_namespace {
        for ipc in [
            libc::SYS_shmget,
            libc::SYS_semget,
            libc::SYS_msgget,
            libc::SYS_mq_open,
        ] {
            rules.insert(ipc, Vec::new());
        }
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(to_io)?;
    BpfProgram::try_from(filter).map(Some).map_err(to_io)
}

/// Installs `program` on the calling thread (between fork and exec).
pub fn enforce(program: &BpfProgram) -> io::Result<()> {
    seccompiler::apply_filter(program).map_err(|error| match error {
        seccompiler::Error::Seccomp(os) | seccompiler::Error::Prctl(os) => os,
        _ => io::Error::from_raw_os_error(libc::EINVAL),
    })
}

/// Argument `index` equals `value` (compared as 32 bits, as the kernel
/// passes ints).
fn equal(index: u8, value: u64) -> io::Result<SeccompCondition> {
    SeccompCondition::new(index, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value).map_err(to_io)
}

fn rule(conditions: Vec<SeccompCondition>) -> io::Result<SeccompRule> {
    SeccompRule::new(conditions).map_err(to_io)
}

fn to_io(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(error)
}
