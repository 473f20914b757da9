//! What a confined program may do with the file system, as a Landlock
//! ruleset built with the `landlock` crate: write (and, as root, read and
//! run) only beneath its own folders and the system's, touch only the
//! harmless device nodes, and, on ABI 6 and later, neither reach abstract
//! Unix sockets nor signal processes outside its own sandbox (the grader,
//! other programs). The ruleset is made in the parent; the child only
//! enforces it (see `confine`).

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, Scope,
};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The newest ABI whose rights were tried against the fixtures here; the
/// crate drops, best effort, what an older kernel lacks. Newer rights are
/// taken only after they are tested (the crate's compatibility advice).
const TESTED_ABI: ABI = ABI::V6;

/// System folders every program may read and run from when reads are
/// confined: programs, libraries, settings and kernel views; nothing that
/// holds users' files (`/home`, `/root`, `/tmp`, `/var`, `/srv`, `/mnt`,
/// `/media`, `/run`, `/dev/shm`, `/opt` but for runtimes on `PATH`).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys",
];

/// Device nodes a program may open: the data sources and sinks runtimes
/// use. Not `/dev/tty` or any other terminal, not `/dev/shm`.
const DEVICE_NODES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// Folders of `PATH` that are never opened to reads, however `PATH` is
/// set: they hold users' and other students' files.
const PRIVATE_TREES: &[&str] = &[
    "/home", "/root", "/tmp", "/var", "/run", "/dev", "/srv", "/mnt", "/media",
];

/// The kernel's Landlock ABI (the documented version query), if it has
/// Landlock.
pub fn kernel_abi() -> Option<u32> {
    // SAFETY: the version query: no attribute, size 0, flag
    // LANDLOCK_CREATE_RULESET_VERSION; it reads and writes no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0,
            1u32,
        )
    };
    u32::try_from(abi).ok().filter(|&abi| abi >= 1)
}

/// What one program may reach.
#[derive(Debug)]
pub struct FileRules<'a> {
    /// Its own folders: read, write, run.
    pub own: &'a [&'a Path],
    /// Whether reads and runs are confined too (when sockgrade is root:
    /// the other students' folders are readable by everyone).
    pub confine_reads: bool,
}

impl FileRules<'_> {
    /// The ruleset as a descriptor ready for `landlock_restrict_self`, or
    /// `None` where the kernel enforces nothing.
    pub fn ruleset(&self) -> io::Result<Option<OwnedFd>> {
        let write = AccessFs::from_write(TESTED_ABI);
        let read = AccessFs::from_read(TESTED_ABI);
        let handled = if self.confine_reads {
            write | read
        } else {
            write
        };
        let device: BitFlags<AccessFs> =
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate;
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(handled)
            .map_err(to_io)?
            .scope(Scope::from_all(TESTED_ABI))
            .map_err(to_io)?
            .create()
            .map_err(to_io)?;
        for dir in self.own {
            let fd = PathFd::new(dir).map_err(to_io)?;
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, handled))
                .map_err(to_io)?;
        }
        let system = system_paths()
            .as_ref()
            .map_err(|message| io::Error::other(message.clone()))?;
        let trees: &[PathFd] = if self.confine_reads {
            &system.trees
        } else {
            &[]
        };
        let grants =
            (system.devices.iter().map(|fd| (fd, device))).chain(trees.iter().map(|fd| (fd, read)));
        for (fd, access) in grants {
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd.as_fd(), access & handled))
                .map_err(to_io)?;
        }
        Ok(ruleset.into())
    }
}

/// The system's paths every ruleset grants, opened (`O_PATH`) once per
/// process: the same for every program, where opening them again for each
/// one was a tenth of a quick grade's own system calls.
struct SystemPaths {
    /// The [`DEVICE_NODES`] that exist.
    devices: Vec<PathFd>,
    /// The [`readable_trees`].
    trees: Vec<PathFd>,
}

fn system_paths() -> &'static Result<SystemPaths, String> {
    static PATHS: OnceLock<Result<SystemPaths, String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let open = |paths: Vec<PathBuf>| {
            paths
                .iter()
                .map(PathFd::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())
        };
        let devices = DEVICE_NODES
            .iter()
            .map(PathBuf::from)
            .filter(|node| node.exists())
            .collect();
        Ok(SystemPaths {
            devices: open(devices)?,
            trees: open(readable_trees())?,
        })
    })
}

/// The trees a program may read and run from: the system's, and the
/// install prefix of each runtime on `PATH` elsewhere (`/opt/jdk/bin` gives
/// `/opt/jdk`), never a tree that holds users' files.
fn readable_trees() -> Vec<PathBuf> {
    let mut trees: Vec<PathBuf> = SYSTEM_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|d| d.exists())
        .collect();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Some(tree) = runtime_tree(&dir) else {
            continue;
        };
        if tree.is_dir() && !trees.iter().any(|t| tree.starts_with(t)) {
            trees.push(tree);
        }
    }
    trees
}

/// The tree a `PATH` folder belongs to, if a program may read it.
fn runtime_tree(dir: &Path) -> Option<PathBuf> {
    if !dir.is_absolute() || dir.components().any(|c| c.as_os_str() == "..") {
        return None;
    }
    if PRIVATE_TREES.iter().any(|private| dir.starts_with(private)) || dir == Path::new("/") {
        return None;
    }
    let tree = match dir.file_name() {
        Some(name) if name == "bin" || name == "sbin" => dir.parent()?,
        _ => dir,
    };
    (tree != Path::new("/")).then(|| tree.to_path_buf())
}

fn to_io(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_on_path_are_readable_but_users_trees_never() {
        assert_eq!(
            runtime_tree(Path::new("/opt/jdk-21/bin")),
            Some(PathBuf::from("/opt/jdk-21"))
        );
        assert_eq!(
            runtime_tree(Path::new("/snap/bin")),
            Some(PathBuf::from("/snap"))
        );
        for private in [
            "/home/ada/.local/bin",
            "/root/.pyenv/shims",
            "/tmp/bin",
            "/dev/shm/x",
            "relative/bin",
            "/opt/../home/bin",
        ] {
            assert_eq!(runtime_tree(Path::new(private)), None, "{private}");
        }
        assert_eq!(runtime_tree(Path::new("/bin")), None);
    }
}
