//! Copying a submission into a private folder, as root when programs run
//! as another user. Only what is plainly the submission is copied: folders
//! and regular files that its owner could read themselves, and symbolic
//! links that lead to something copied. Nothing is followed and nothing
//! but a regular file is opened while copying (opening a FIFO blocks), and
//! the limits are checked on the whole tree before a byte is copied.

use crate::platform;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Folders never copied: version-control history is large and irrelevant.
const SKIPPED: &[&str] = &[".git", ".hg", ".svn"];

/// What copying one submission may cost; it is copied once, then once per
/// exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total apparent size of the files: a sparse file counts in full,
    /// because that is what a copy of it may cost.
    pub bytes: u64,
    /// Files, folders and links.
    pub entries: u64,
    /// How deeply folders may nest.
    pub depth: usize,
}

impl Limits {
    /// Far above what a socket exercise needs (a built Rust solution is a
    /// few MiB and about a hundred files), far below what fills a disk or
    /// takes seconds when copied once per exercise.
    pub const SUBMISSION: Limits = Limits {
        bytes: 64 << 20,
        entries: 10_000,
        depth: 32,
    };
}

/// An entry of the submission that was not copied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path inside the submission.
    pub path: PathBuf,
    /// Why, as a fragment: "a FIFO (named pipe)".
    pub reason: &'static str,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.reason)
    }
}

/// Why a submission cannot be copied.
#[derive(Debug)]
pub enum CopyError {
    /// Its files add up to more than the limit.
    TooLarge(Limits),
    /// It has more entries than the limit.
    TooMany(Limits),
    /// Its folders nest deeper than the limit.
    TooDeep(Limits),
    /// Reading the submission or writing the copy failed.
    Io(io::Error),
}

impl CopyError {
    /// True when the submission is over a limit (the student's to fix),
    /// not when the machine failed.
    pub fn is_limit(&self) -> bool {
        !matches!(self, CopyError::Io(_))
    }
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::TooLarge(limits) => write!(
                f,
                "the submission's files add up to more than the limit of {} MiB (a sparse file counts at its \
                 full size): remove data files, build outputs and dependencies from it and grade again",
                limits.bytes >> 20
            ),
            CopyError::TooMany(limits) => write!(
                f,
                "the submission has more than the limit of {} files and folders: remove build outputs and \
                 dependencies (node_modules, venv, target) from it and grade again",
                limits.entries
            ),
            CopyError::TooDeep(limits) => write!(
                f,
                "the submission has folders nested more than the limit of {} deep: flatten it and grade again",
                limits.depth
            ),
            CopyError::Io(e) => write!(f, "cannot copy the submission: {e}"),
        }
    }
}

impl std::error::Error for CopyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CopyError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for CopyError {
    fn from(e: io::Error) -> CopyError {
        CopyError::Io(e)
    }
}

/// What an entry is and the facts the rules read, as `lstat` sees them.
pub(super) use crate::platform::{FileKind as Type, FileMeta as Meta};

/// Why an entry of a submission owned by `owner` must not be handed to
/// its programs, if it must not: only what the owner could read (their
/// own, or another's open to everyone) and never a hard link to another
/// user's file, which is how a student reaches a file they cannot read
/// where the kernel does not protect hard links.
pub(super) fn refusal(meta: &Meta, owner: u32) -> Option<&'static str> {
    match meta.kind {
        Type::Fifo => Some("a FIFO (named pipe)"),
        Type::Socket => Some("a socket"),
        Type::Device => Some("a device node"),
        // Where a link leads is checked once the copy is complete.
        Type::Link => None,
        _ if meta.uid == owner => None,
        Type::File if meta.nlink > 1 => Some("a hard link to another user's file"),
        Type::File if meta.mode & 0o004 == 0 => {
            Some("another user's file, which its owner cannot read")
        }
        Type::Folder if meta.mode & 0o005 != 0o005 => {
            Some("another user's folder, which its owner cannot read")
        }
        Type::File | Type::Folder => None,
    }
}

/// One entry to copy, found by the walk.
#[derive(Debug)]
enum Node {
    Folder(OsString, Vec<Node>),
    File(OsString, u64),
    Link(OsString),
}

/// Running totals of the walk, against the limits.
struct Budget {
    limits: Limits,
    bytes: u64,
    entries: u64,
}

impl Budget {
    fn take(&mut self, bytes: u64) -> Result<(), CopyError> {
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.entries > self.limits.entries {
            return Err(CopyError::TooMany(self.limits));
        }
        if self.bytes > self.limits.bytes {
            return Err(CopyError::TooLarge(self.limits));
        }
        Ok(())
    }
}

/// Copies the submission folder `from` into `to` (a new folder, whose
/// parent exists), and says what was left out. The rules are read
/// against the owner of `from`.
pub fn copy_submission(from: &Path, to: &Path, limits: Limits) -> Result<Vec<Skipped>, CopyError> {
    let root = source::Folder::open_root(from)?;
    let owner = root.owner()?;
    let mut skipped = Vec::new();
    let mut budget = Budget {
        limits,
        bytes: 0,
        entries: 0,
    };
    let tree = walk(&root, owner, Path::new(""), 0, &mut budget, &mut skipped)?;
    std::fs::create_dir(to)?;
    let mut links = Vec::new();
    copy(
        &root,
        &tree,
        to,
        Path::new(""),
        owner,
        &mut skipped,
        &mut links,
    )?;
    check_links(to, links, &mut skipped)?;
    Ok(skipped)
}

/// Lists what will be copied, checking the limits and the rules on the
/// way, without opening anything but folders.
fn walk(
    folder: &source::Folder,
    owner: u32,
    at: &Path,
    depth: usize,
    budget: &mut Budget,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Node>, CopyError> {
    if depth > budget.limits.depth {
        return Err(CopyError::TooDeep(budget.limits));
    }
    let mut nodes = Vec::new();
    // One more than the budget allows is enough to know it is over.
    let room = budget.limits.entries.saturating_sub(budget.entries) + 1;
    for (name, meta) in folder.entries(room)? {
        // Every entry listed counts, copied or not, so that a listing cut
        // short at `room` always ends over the limit.
        let size = if meta.kind == Type::File {
            meta.size
        } else {
            0
        };
        if SKIPPED.iter().any(|s| name == *s) {
            budget.take(0)?;
            continue;
        }
        let path = at.join(&name);
        if let Some(reason) = refusal(&meta, owner) {
            budget.take(0)?;
            skipped.push(Skipped { path, reason });
            continue;
        }
        budget.take(size)?;
        match meta.kind {
            Type::Folder => {
                let Some(inner) = source::opened(folder.folder(&name), &path, skipped)? else {
                    continue;
                };
                let children = walk(&inner, owner, &path, depth + 1, budget, skipped)?;
                nodes.push(Node::Folder(name, children));
            }
            Type::File => nodes.push(Node::File(name, meta.size)),
            _ => nodes.push(Node::Link(name)),
        }
    }
    Ok(nodes)
}

/// Copies what the walk found. An entry that changed since (a file
/// swapped for a link or a FIFO) is checked again as it is opened, and
/// a file copies no more than the size the walk counted.
fn copy(
    folder: &source::Folder,
    nodes: &[Node],
    to: &Path,
    at: &Path,
    owner: u32,
    skipped: &mut Vec<Skipped>,
    links: &mut Vec<PathBuf>,
) -> Result<(), CopyError> {
    for node in nodes {
        match node {
            Node::Folder(name, children) => {
                let path = at.join(name);
                let Some(inner) = source::opened(folder.folder(name), &path, skipped)? else {
                    continue;
                };
                std::fs::create_dir(to.join(name))?;
                copy(
                    &inner,
                    children,
                    &to.join(name),
                    &path,
                    owner,
                    skipped,
                    links,
                )?;
            }
            Node::File(name, size) => {
                let path = at.join(name);
                let Some((file, meta)) = source::opened(folder.file(name), &path, skipped)? else {
                    continue;
                };
                let changed = (meta.kind != Type::File).then_some("changed while it was copied");
                if let Some(reason) = changed.or_else(|| refusal(&meta, owner)) {
                    skipped.push(Skipped { path, reason });
                    continue;
                }
                let mut target = create_file(&to.join(name), meta.mode)?;
                // copy_file_range underneath (std specialises File to File).
                io::copy(&mut file.take(*size), &mut target)?;
            }
            Node::Link(name) => {
                let Some(target) = source::opened(folder.link(name), &at.join(name), skipped)?
                else {
                    continue;
                };
                if platform::symlink(&target, &to.join(name)).is_err() {
                    skipped.push(Skipped {
                        path: at.join(name),
                        reason: "a symbolic link this system cannot copy",
                    });
                    continue;
                }
                links.push(at.join(name));
            }
        }
    }
    Ok(())
}

/// Removes every copied link that does not lead to something in the copy:
/// to outside the submission, to something not copied, or in a loop. The
/// copy is the grader's own until it is handed over, so nothing can
/// change under this check.
fn check_links(
    to: &Path,
    links: Vec<PathBuf>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), CopyError> {
    let root = to.canonicalize()?;
    // Every link is judged before any is removed, so that the reason is
    // what the student made (a loop), not what removing its other half left.
    let mut refused = Vec::new();
    for path in links {
        let reason = match to.join(&path).canonicalize() {
            Ok(target) if target.starts_with(&root) => continue,
            Ok(_) => "a symbolic link to outside the submission",
            Err(e) if platform::is_link_loop(&e) => "a symbolic link loop",
            Err(_) => "a symbolic link to nothing in the submission",
        };
        refused.push(Skipped { path, reason });
    }
    for link in refused {
        std::fs::remove_file(to.join(&link.path))?;
        skipped.push(link);
    }
    Ok(())
}

/// A new file with the permission bits of the original, but never set-id
/// or sticky bits.
fn create_file(path: &Path, mode: u32) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    platform::create_with_mode(&mut options, mode & 0o777);
    options.open(path)
}

/// The submission's side: entries opened relative to their folder and
/// never through a link, so that a folder swapped for a link while it is
/// copied leads nowhere.
mod source {
    use super::{CopyError, Skipped};
    pub use crate::platform::Folder;
    use std::io;
    use std::path::Path;

    /// The result of opening an entry: skipped (and noted) when it is no
    /// longer what the walk saw or cannot be read; other failures are the
    /// machine's.
    pub fn opened<T>(
        result: io::Result<T>,
        path: &Path,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Option<T>, CopyError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                let reason = match e.kind() {
                    io::ErrorKind::PermissionDenied => "cannot be read by the grader",
                    io::ErrorKind::NotFound => "removed while it was copied",
                    _ if is_swapped(&e) => "changed while it was copied",
                    _ => return Err(e.into()),
                };
                skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason,
                });
                Ok(None)
            }
        }
    }

    /// A link where a file or folder was (`O_NOFOLLOW`), or a file where
    /// a folder was.
    fn is_swapped(e: &io::Error) -> bool {
        crate::platform::is_link_loop(e) || e.kind() == io::ErrorKind::NotADirectory
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn skipped_names(skipped: &[Skipped]) -> Vec<String> {
        let mut names: Vec<String> = skipped
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn copies_files_folders_and_inside_links_and_skips_version_control() {
        let from = tempfile::tempdir().unwrap();
        std::fs::write(from.path().join("a.py"), "x").unwrap();
        std::fs::create_dir_all(from.path().join("lib/.git")).unwrap();
        std::fs::create_dir_all(from.path().join(".git")).unwrap();
        std::fs::write(from.path().join("lib/b.py"), "y").unwrap();
        mode(&from.path().join("a.py"), 0o4755);
        std::os::unix::fs::symlink("lib/b.py", from.path().join("c.py")).unwrap();
        std::os::unix::fs::symlink("../a.py", from.path().join("lib/up.py")).unwrap();
        let to = tempfile::tempdir().unwrap();
        let copy = to.path().join("copy");
        let skipped = copy_submission(from.path(), &copy, Limits::SUBMISSION).unwrap();
        assert_eq!(skipped, []);
        assert_eq!(std::fs::read_to_string(copy.join("c.py")).unwrap(), "y");
        assert_eq!(
            std::fs::read_to_string(copy.join("lib/up.py")).unwrap(),
            "x"
        );
        assert!(!copy.join(".git").exists() && !copy.join("lib/.git").exists());
        let copied_mode = copy.join("a.py").metadata().unwrap().permissions().mode();
        assert_eq!(copied_mode & 0o7777, 0o755, "set-id bits are dropped");
    }

    #[test]
    fn links_leading_outside_nowhere_or_in_a_loop_are_not_copied() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "secret").unwrap();
        let from = tempfile::tempdir().unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, from.path().join(name)).unwrap()
        };
        link(&outside.path().join("secret"), "absolute.py");
        link(
            Path::new("../../../../../../../../etc/passwd"),
            "relative.py",
        );
        link(Path::new("loop-b"), "loop-a");
        link(Path::new("loop-a"), "loop-b");
        link(Path::new("missing.py"), "dangling.py");
        link(Path::new(".git/config"), "history");
        link(outside.path(), "folder");
        std::fs::create_dir(from.path().join(".git")).unwrap();
        std::fs::write(from.path().join(".git/config"), "").unwrap();
        let to = tempfile::tempdir().unwrap();
        let copy = to.path().join("copy");
        let skipped = copy_submission(from.path(), &copy, Limits::SUBMISSION).unwrap();
        assert_eq!(
            skipped_names(&skipped),
            [
                "absolute.py",
                "dangling.py",
                "folder",
                "history",
                "loop-a",
                "loop-b",
                "relative.py"
            ]
        );
        let loop_reason = skipped
            .iter()
            .find(|s| s.path == Path::new("loop-a"))
            .unwrap();
        assert_eq!(loop_reason.reason, "a symbolic link loop");
        assert_eq!(std::fs::read_dir(&copy).unwrap().count(), 0);
    }

    #[test]
    fn fifos_are_skipped_without_being_opened() {
        let from = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(
            &from.path().join("client-1.py"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        let to = tempfile::tempdir().unwrap();
        // Opening the FIFO would block this test forever.
        let skipped =
            copy_submission(from.path(), &to.path().join("copy"), Limits::SUBMISSION).unwrap();
        assert_eq!(skipped[0].reason, "a FIFO (named pipe)");
    }

    #[test]
    fn the_rules_hand_over_only_what_the_owner_could_read() {
        let meta = |kind, uid, mode, nlink| Meta {
            kind,
            uid,
            mode,
            nlink,
            size: 0,
        };
        let student = 1000;
        assert_eq!(refusal(&meta(Type::File, student, 0o600, 2), student), None);
        assert_eq!(refusal(&meta(Type::File, 0, 0o644, 1), student), None);
        assert!(refusal(&meta(Type::File, 0, 0o644, 2), student).is_some());
        assert!(refusal(&meta(Type::File, 0, 0o640, 1), student).is_some());
        assert!(refusal(&meta(Type::Folder, 0, 0o750, 2), student).is_some());
        assert!(refusal(&meta(Type::Fifo, student, 0o644, 1), student).is_some());
        assert!(refusal(&meta(Type::Device, student, 0o666, 1), student).is_some());
    }

    #[test]
    fn limits_are_checked_before_anything_is_copied() {
        let from = tempfile::tempdir().unwrap();
        std::fs::create_dir(from.path().join("data")).unwrap();
        std::fs::File::create(from.path().join("data/sparse"))
            .unwrap()
            .set_len(3 << 20)
            .unwrap();
        let to = tempfile::tempdir().unwrap();
        let small = Limits {
            bytes: 2 << 20,
            ..Limits::SUBMISSION
        };
        let error = copy_submission(from.path(), &to.path().join("a"), small).unwrap_err();
        assert!(matches!(error, CopyError::TooLarge(_)), "{error}");
        assert!(error.to_string().contains("limit of 2 MiB"), "{error}");
        assert!(!to.path().join("a").exists(), "nothing copied");
        let few = Limits {
            entries: 1,
            ..Limits::SUBMISSION
        };
        let error = copy_submission(from.path(), &to.path().join("b"), few).unwrap_err();
        assert!(matches!(error, CopyError::TooMany(_)), "{error}");
        let shallow = Limits {
            depth: 0,
            ..Limits::SUBMISSION
        };
        let error = copy_submission(from.path(), &to.path().join("c"), shallow).unwrap_err();
        assert!(matches!(error, CopyError::TooDeep(_)), "{error}");
        // Entries that are not copied count too: a listing cut short at
        // the limit must never pass for the whole folder.
        let fifos = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let fifo = fifos.path().join(format!("fifo-{i}"));
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        }
        std::fs::write(fifos.path().join("client-1.py"), "").unwrap();
        let three = Limits {
            entries: 3,
            ..Limits::SUBMISSION
        };
        let error = copy_submission(fifos.path(), &to.path().join("d"), three).unwrap_err();
        assert!(matches!(error, CopyError::TooMany(_)), "{error}");
    }
}
