//! Unpacking a student's `.zip` or `.tar.gz` into a private folder so that a
//! batch can grade it like any other submission folder. The archives are
//! untrusted: nothing is written outside the folder, links and special files
//! are skipped, and the bytes and entries unpacked are limited.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use super::tar_guard::{GuardLimits, Refusal, TarGuard};
use super::zip_directory;
use crate::text::{escape_bytes, truncate_chars};

/// The most bytes one archive may unpack to, counted as they are written.
const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

/// The most entries (files, folders, skipped links) one archive may hold.
const MAX_ENTRIES: usize = 10_000;

/// How much of a `.tar.gz` after the end of the tar is read to reach the
/// gzip trailer; tools pad the tar to a 10 KiB record, so this is plenty.
const MAX_TAR_TAIL_BYTES: u64 = 1024 * 1024;

/// The most bytes of one GNU long name, long link or PAX header: real ones
/// hold a path and a few attributes, and the tar reader keeps each whole in
/// memory.
const MAX_TAR_EXTENSION_BYTES: u64 = 1024 * 1024;

/// The most GNU sparse extension blocks of one entry (21 chunks each).
const MAX_TAR_SPARSE_BLOCKS: usize = 64;

/// Tar stream a `.tar.gz` may hold beyond its unpacked bytes: headers,
/// padding, extension records and the data of skipped entries.
const MAX_TAR_OVERHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// Entry names longer than this are cut in error messages.
const MAX_SHOWN_NAME_CHARS: usize = 120;

/// The archive kinds sockgrade unpacks, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// A `.zip` file.
    Zip,
    /// A gzip-compressed tar file: `.tar.gz` or `.tgz`.
    TarGz,
}

impl ArchiveKind {
    /// The kind of archive `path` names by its extension (`.zip`, `.tar.gz`,
    /// `.tgz`, in any case), or `None` for any other file.
    pub fn of(path: &Path) -> Option<ArchiveKind> {
        split_extension(path.file_name()?).map(|(_, kind)| kind)
    }
}

/// The submission name of an archive: its file name without the archive
/// extension (`alice.tar.gz` → `alice`). `None` when `path` is not an
/// archive sockgrade unpacks or nothing is left of its name.
pub fn submission_name(path: &Path) -> Option<String> {
    let (stem, _) = split_extension(path.file_name()?)?;
    // Platform exports name files in UTF-8; a stray byte only needs to show.
    (!stem.is_empty()).then(|| String::from_utf8_lossy(stem).into_owned())
}

/// Splits a file name into the name before the archive extension and the kind.
fn split_extension(file_name: &OsStr) -> Option<(&[u8], ArchiveKind)> {
    const EXTENSIONS: &[(&str, ArchiveKind)] = &[
        (".zip", ArchiveKind::Zip),
        (".tar.gz", ArchiveKind::TarGz),
        (".tgz", ArchiveKind::TarGz),
    ];
    // Bytes, not str: a name that is not UTF-8 still has an ASCII extension.
    let name = file_name.as_encoded_bytes();
    EXTENSIONS.iter().find_map(|&(extension, kind)| {
        let cut = name.len().checked_sub(extension.len())?;
        name[cut..]
            .eq_ignore_ascii_case(extension.as_bytes())
            .then(|| (&name[..cut], kind))
    })
}

/// Unpacks `archive` into the empty folder `into` and returns the folder to
/// grade: `into` itself, or, when everything in the archive is inside one
/// top-level folder (the usual shape of an export: `alice/client-1.py`), that
/// folder. macOS junk (`__MACOSX/`, `.DS_Store`, `._*`) and other dotfiles
/// are unpacked but ignored when deciding that.
///
/// Only regular files and folders are created; links, devices and fifos
/// are skipped. An entry that would land outside `into` (`..`, an absolute
/// path), more than 256 MiB unpacked, more than 10 000 entries, a tar
/// long name, long link or PAX header over 1 MiB, a tar stream more than
/// 64 MiB longer than what it unpacks to, or a corrupt or truncated archive
/// is an error, after which `into` may hold part of the archive: the caller
/// removes it. Whatever the archive holds, unpacking it keeps no more than
/// a few MiB in memory.
pub fn unpack(archive: &Path, into: &Path) -> Result<PathBuf, ArchiveError> {
    let limits = Limits {
        bytes: MAX_UNPACKED_BYTES,
        entries: MAX_ENTRIES,
    };
    unpack_within(archive, into, limits)
}

/// What one archive may unpack to; a parameter so that tests can use small
/// limits.
#[derive(Debug, Clone, Copy)]
struct Limits {
    bytes: u64,
    entries: usize,
}

fn unpack_within(archive: &Path, into: &Path, limits: Limits) -> Result<PathBuf, ArchiveError> {
    unpack_checked(archive, into, limits).map_err(|problem| ArchiveError {
        archive: archive.to_path_buf(),
        what: problem.what,
        source: problem.source,
    })
}

fn unpack_checked(archive: &Path, into: &Path, limits: Limits) -> Result<PathBuf, Problem> {
    let kind = ArchiveKind::of(archive).ok_or_else(|| {
        Problem::new("it is not a .zip, .tar.gz or .tgz file; rename it or unpack it by hand")
    })?;
    check_empty(into)?;
    let file = File::open(archive)
        .map_err(|e| Problem::new("cannot open it; check that it is readable").source(e))?;
    let mut budget = Budget::new(limits);
    match kind {
        ArchiveKind::Zip => unpack_zip(file, into, &mut budget)?,
        ArchiveKind::TarGz => unpack_tar_gz(file, into, &mut budget)?,
    }
    folder_to_grade(into).map_err(|e| {
        Problem::new(format!("cannot list {} after unpacking", into.display())).source(e)
    })
}

/// An archive that could not be unpacked, and why.
#[derive(Debug)]
pub struct ArchiveError {
    archive: PathBuf,
    what: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot unpack {}: {}", self.archive.display(), self.what)
    }
}

impl std::error::Error for ArchiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// An [`ArchiveError`] before the archive's path is attached.
struct Problem {
    what: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Problem {
    fn new(what: impl Into<String>) -> Problem {
        Problem {
            what: what.into(),
            source: None,
        }
    }

    fn source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Problem {
        self.source = Some(Box::new(source));
        self
    }

    fn corrupt(source: impl std::error::Error + Send + Sync + 'static) -> Problem {
        Problem::new("the archive is corrupt or truncated; download it again").source(source)
    }

    /// A failed read: what the tar guard refused, or a corrupt archive.
    fn reading(error: io::Error) -> Problem {
        match Refusal::of(&error) {
            Some(refusal) => Problem::new(refusal.0.clone()),
            None => Problem::corrupt(error),
        }
    }

    fn unsafe_name(name: &[u8]) -> Problem {
        Problem::new(format!(
            "entry \"{}\" would be written outside the folder; ask the student for an archive made with an ordinary tool",
            shown(name)
        ))
    }

    fn cannot_write(name: &[u8], into: &Path, source: io::Error) -> Problem {
        Problem::new(format!(
            "cannot write entry \"{}\" into {}",
            shown(name),
            into.display()
        ))
        .source(source)
    }
}

/// An entry name made safe to show in a message.
fn shown(name: &[u8]) -> String {
    truncate_chars(&escape_bytes(name), MAX_SHOWN_NAME_CHARS)
}

/// An empty `into` is what makes the top-level folder decision sound.
fn check_empty(into: &Path) -> Result<(), Problem> {
    let not_readable = |e| {
        Problem::new(format!(
            "cannot read the folder {}; create it empty first",
            into.display()
        ))
        .source(e)
    };
    match fs::read_dir(into).map_err(not_readable)?.next() {
        None => Ok(()),
        Some(_) => Err(Problem::new(format!(
            "the folder {} is not empty; unpack into a new folder",
            into.display()
        ))),
    }
}

/// What is left of the limits while unpacking one archive.
struct Budget {
    limits: Limits,
    bytes_left: u64,
    entries_left: usize,
}

impl Budget {
    fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            bytes_left: limits.bytes,
            entries_left: limits.entries,
        }
    }

    /// Counts one more entry, whatever it is: skipped entries cost work too.
    fn take_entry(&mut self) -> Result<(), Problem> {
        self.entries_left = self
            .entries_left
            .checked_sub(1)
            .ok_or_else(|| self.too_many_entries())?;
        Ok(())
    }

    fn too_many_entries(&self) -> Problem {
        Problem::new(format!(
            "it holds more than {} entries, the limit for one submission; remove generated files or grade it by hand",
            self.limits.entries
        ))
    }

    fn too_large(&self) -> Problem {
        Problem::new(format!(
            "it unpacks to more than {}, the limit for one submission; remove large files or grade it by hand",
            size(self.limits.bytes)
        ))
    }
}

/// A byte count for a message, in the largest unit that divides it.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const KIB: u64 = 1024;
    match bytes {
        0 => "0 bytes".to_string(),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// What an archive entry becomes.
enum Kind {
    Folder,
    /// A regular file, with its Unix mode when the archive records one.
    File(Option<u32>),
    /// Links, devices, fifos and metadata entries: never created, because a
    /// link could point anywhere and the others are not part of a program.
    Skipped,
}

fn unpack_zip(mut file: File, into: &Path, budget: &mut Budget) -> Result<(), Problem> {
    // The zip reader indexes the whole central directory in memory: a
    // count over the limit is refused from the end records, before that.
    let declared = zip_directory::declared_entries(&mut file)
        .map_err(|e| Problem::new("cannot read it; check that it is readable").source(e))?;
    if declared.is_some_and(|count| count > budget.entries_left as u64) {
        return Err(budget.too_many_entries());
    }
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(Problem::corrupt)?;
    // The central directory says how many entries there are: refuse before
    // writing anything.
    if zip.len() > budget.entries_left {
        return Err(budget.too_many_entries());
    }
    for index in 0..zip.len() {
        budget.take_entry()?;
        let mut entry = zip.by_index(index).map_err(Problem::corrupt)?;
        let name = entry.name_raw().to_vec();
        let relative = zip_entry_path(&entry).ok_or_else(|| Problem::unsafe_name(&name))?;
        match zip_entry_kind(&entry) {
            Kind::Skipped => {}
            Kind::Folder => create_folder(into, &relative, &name)?,
            Kind::File(mode) => write_file(into, &relative, &name, &mut entry, mode, budget)?,
        }
    }
    Ok(())
}

/// The path of a zip entry inside the folder, or `None` when it is not safe.
fn zip_entry_path<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> Option<PathBuf> {
    // enclosed_name() resolves `a/../b` and refuses what leaves the folder,
    // but quietly makes an absolute name relative: refuse that too.
    let name = entry.name_raw();
    let absolute = matches!(name.first(), Some(b'/' | b'\\'))
        || (name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':');
    if absolute {
        return None;
    }
    relative_inside(&entry.enclosed_name()?)
}

fn zip_entry_kind<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> Kind {
    const TYPE_MASK: u32 = 0o170_000;
    const REGULAR: u32 = 0o100_000;
    const FOLDER: u32 = 0o040_000;
    if entry.is_symlink() {
        return Kind::Skipped;
    }
    if entry.is_dir() {
        return Kind::Folder;
    }
    match entry.unix_mode() {
        // Archives made on Windows record no type: a plain file.
        None => Kind::File(None),
        Some(mode) if mode & TYPE_MASK == REGULAR || mode & TYPE_MASK == 0 => {
            Kind::File(Some(mode))
        }
        Some(mode) if mode & TYPE_MASK == FOLDER => Kind::Folder,
        Some(_) => Kind::Skipped,
    }
}

fn unpack_tar_gz(file: File, into: &Path, budget: &mut Budget) -> Result<(), Problem> {
    // The guard sees every byte before the tar reader does: without it, a
    // few MB of gzip announcing a long name of many GiB is read into memory
    // before the first entry, where no budget applies.
    let limits = GuardLimits {
        extension_bytes: MAX_TAR_EXTENSION_BYTES,
        sparse_blocks: MAX_TAR_SPARSE_BLOCKS,
        stream_bytes: budget
            .limits
            .bytes
            .saturating_add(MAX_TAR_OVERHEAD_BYTES)
            .saturating_add(MAX_TAR_TAIL_BYTES),
    };
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut tar = tar::Archive::new(TarGuard::new(gz, limits));
    // Walk the entries and write them here: tar's own unpack() would create
    // links, and a link can point outside the folder.
    for entry in tar.entries().map_err(Problem::reading)? {
        budget.take_entry()?;
        let mut entry = entry.map_err(Problem::reading)?;
        let name = entry.path_bytes().into_owned();
        let path = entry.path().map_err(Problem::reading)?;
        let relative = relative_inside(&path).ok_or_else(|| Problem::unsafe_name(&name))?;
        match tar_entry_kind(&entry, &name) {
            Kind::Skipped => {}
            Kind::Folder => create_folder(into, &relative, &name)?,
            Kind::File(mode) => write_file(into, &relative, &name, &mut entry, mode, budget)?,
        }
    }
    // Reading on to the end checks gzip's checksum and length, so that a
    // damaged archive is refused rather than graded.
    let mut tail = tar.into_inner().take(MAX_TAR_TAIL_BYTES);
    io::copy(&mut tail, &mut io::sink()).map_err(Problem::reading)?;
    Ok(())
}

fn tar_entry_kind<R: Read>(entry: &tar::Entry<'_, R>, name: &[u8]) -> Kind {
    use tar::EntryType;
    match entry.header().entry_type() {
        EntryType::Directory => Kind::Folder,
        // Pre-POSIX tars mark folders as regular entries ending in a slash.
        EntryType::Regular if name.ends_with(b"/") => Kind::Folder,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            Kind::File(entry.header().mode().ok())
        }
        _ => Kind::Skipped,
    }
}

/// `path` as a relative path of plain names, or `None` when it is absolute
/// or climbs with `..`. `.` components are dropped.
fn relative_inside(path: &Path) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => relative.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(relative)
}

fn create_folder(into: &Path, relative: &Path, name: &[u8]) -> Result<(), Problem> {
    fs::create_dir_all(into.join(relative)).map_err(|e| Problem::cannot_write(name, into, e))
}

/// Writes one regular file, counting the bytes actually read: the sizes an
/// archive declares can lie.
fn write_file(
    into: &Path,
    relative: &Path,
    name: &[u8],
    contents: &mut impl Read,
    mode: Option<u32>,
    budget: &mut Budget,
) -> Result<(), Problem> {
    if relative.as_os_str().is_empty() {
        return Err(Problem::unsafe_name(name));
    }
    let target = into.join(relative);
    let cannot_write = |e| Problem::cannot_write(name, into, e);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(cannot_write)?;
    }
    // A later entry of the same name replaces the earlier one, as tar does.
    // create_new never follows a link, though none is ever created here.
    if fs::symlink_metadata(&target).is_ok_and(|m| m.is_file()) {
        fs::remove_file(&target).map_err(cannot_write)?;
    }
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(cannot_write)?;
    // One byte more than the budget tells "exactly the limit" from "over it".
    let mut limited = contents.take(budget.bytes_left.saturating_add(1));
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match limited.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Problem::reading(e)),
        };
        budget.bytes_left = budget
            .bytes_left
            .checked_sub(u64::try_from(read).unwrap_or(u64::MAX))
            .ok_or_else(|| budget.too_large())?;
        file.write_all(&buffer[..read]).map_err(cannot_write)?;
    }
    drop(file);
    set_mode(&target, mode).map_err(cannot_write)
}

/// Keeps the permission bits of a file (students ship executables), but
/// never setuid, setgid or sticky, never writable by others, and always
/// readable and writable by the grader.
fn set_mode(target: &Path, mode: Option<u32>) -> io::Result<()> {
    match mode {
        Some(mode) => crate::platform::set_mode(target, (mode & 0o755) | 0o600),
        None => Ok(()),
    }
}

/// `into`, or the one folder that holds everything but junk (see
/// `student::the_one_folder_in`).
fn folder_to_grade(into: &Path) -> io::Result<PathBuf> {
    Ok(crate::student::the_one_folder_in(into)?.unwrap_or_else(|| into.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// One entry of a test archive; names are bytes so that a tar entry can
    /// be named anything, including what tar's own builder refuses.
    struct Item<'a> {
        name: &'a [u8],
        kind: ItemKind<'a>,
    }

    enum ItemKind<'a> {
        File(&'a [u8], u32),
        Dir,
        Symlink(&'a str),
        Hardlink(&'a str),
    }

    fn file<'a>(name: &'a str, data: &'a [u8]) -> Item<'a> {
        file_with_mode(name, data, 0o644)
    }

    fn file_with_mode<'a>(name: &'a str, data: &'a [u8], mode: u32) -> Item<'a> {
        Item {
            name: name.as_bytes(),
            kind: ItemKind::File(data, mode),
        }
    }

    fn dir(name: &str) -> Item<'_> {
        Item {
            name: name.as_bytes(),
            kind: ItemKind::Dir,
        }
    }

    fn symlink<'a>(name: &'a str, target: &'a str) -> Item<'a> {
        Item {
            name: name.as_bytes(),
            kind: ItemKind::Symlink(target),
        }
    }

    fn hardlink<'a>(name: &'a str, target: &'a str) -> Item<'a> {
        Item {
            name: name.as_bytes(),
            kind: ItemKind::Hardlink(target),
        }
    }

    fn write_zip(path: &Path, items: &[Item<'_>]) {
        use zip::write::SimpleFileOptions;
        let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
        for item in items {
            let name = std::str::from_utf8(item.name).unwrap();
            let options = SimpleFileOptions::default();
            match item.kind {
                ItemKind::File(data, mode) => {
                    zip.start_file(name, options.unix_permissions(mode))
                        .unwrap();
                    zip.write_all(data).unwrap();
                }
                ItemKind::Dir => zip.add_directory(name, options).unwrap(),
                ItemKind::Symlink(target) => zip.add_symlink(name, target, options).unwrap(),
                ItemKind::Hardlink(_) => panic!("zip has no hard links"),
            }
        }
        zip.finish().unwrap();
    }

    fn write_tar_gz(path: &Path, items: &[Item<'_>]) {
        let gz = flate2::write::GzEncoder::new(
            File::create(path).unwrap(),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(gz);
        for item in items {
            let mut header = tar::Header::new_gnu();
            // The raw name field: set_path() refuses `..` and absolute names.
            header.as_old_mut().name[..item.name.len()].copy_from_slice(item.name);
            let data: &[u8] = match item.kind {
                ItemKind::File(data, mode) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(mode);
                    data
                }
                ItemKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    &[]
                }
                ItemKind::Symlink(target) | ItemKind::Hardlink(target) => {
                    let kind = match item.kind {
                        ItemKind::Symlink(_) => tar::EntryType::Symlink,
                        _ => tar::EntryType::Link,
                    };
                    header.set_entry_type(kind);
                    header.set_mode(0o777);
                    header.set_link_name_literal(target).unwrap();
                    &[]
                }
            };
            header.set_size(data.len() as u64);
            header.set_cksum();
            tar.append(&header, data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    /// A temporary folder holding the archive and an empty `out` to unpack into.
    struct Scene {
        root: tempfile::TempDir,
    }

    impl Scene {
        fn new() -> Scene {
            let root = tempfile::tempdir().unwrap();
            fs::create_dir(root.path().join("out")).unwrap();
            Scene { root }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.root.path().join(name)
        }

        fn out(&self) -> PathBuf {
            self.path("out")
        }

        fn zip(&self, items: &[Item<'_>]) -> PathBuf {
            let path = self.path("alice.zip");
            write_zip(&path, items);
            path
        }

        fn tar_gz(&self, items: &[Item<'_>]) -> PathBuf {
            let path = self.path("alice.tar.gz");
            write_tar_gz(&path, items);
            path
        }
    }

    /// Both kinds of archive made from the same items, each with its own scene.
    fn both(items: &[Item<'_>]) -> [(Scene, PathBuf); 2] {
        let zip = Scene::new();
        let zip_path = zip.zip(items);
        let tar = Scene::new();
        let tar_path = tar.tar_gz(items);
        [(zip, zip_path), (tar, tar_path)]
    }

    fn small_limits() -> Limits {
        Limits {
            bytes: 1024,
            entries: 3,
        }
    }

    /// Bytes that deflate cannot shrink much, so that half an archive cuts
    /// into the data.
    fn noise(len: usize) -> Vec<u8> {
        let mut state: u32 = 0x2545_f491;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn kinds_are_known_by_extension_in_any_case() {
        let of = |name: &str| ArchiveKind::of(Path::new(name));
        assert_eq!(of("alice.zip"), Some(ArchiveKind::Zip));
        assert_eq!(of("subs/Alice.ZIP"), Some(ArchiveKind::Zip));
        assert_eq!(of("alice.tar.gz"), Some(ArchiveKind::TarGz));
        assert_eq!(of("alice.TAR.GZ"), Some(ArchiveKind::TarGz));
        assert_eq!(of("alice.tgz"), Some(ArchiveKind::TarGz));
        assert_eq!(of("alice.gz"), None);
        assert_eq!(of("alice.tar"), None);
        assert_eq!(of("alice.rar"), None);
        assert_eq!(of("alice"), None);
        assert_eq!(of("zip"), None);
        assert_eq!(of("alice.zip/"), Some(ArchiveKind::Zip));
    }

    #[test]
    fn submission_names_drop_the_archive_extension() {
        let name = |path: &str| submission_name(Path::new(path));
        assert_eq!(name("subs/alice.zip").as_deref(), Some("alice"));
        assert_eq!(name("alice.tar.gz").as_deref(), Some("alice"));
        assert_eq!(name("alice.TGZ").as_deref(), Some("alice"));
        assert_eq!(name("alice.v2.zip").as_deref(), Some("alice.v2"));
        assert_eq!(
            name("Alice Smith_1234_file.zip").as_deref(),
            Some("Alice Smith_1234_file")
        );
        assert_eq!(name("backup.tar.gz.zip").as_deref(), Some("backup.tar.gz"));
        assert_eq!(name(".zip"), None);
        assert_eq!(name("alice.gz"), None);
        assert_eq!(name("alice"), None);
    }

    #[cfg(unix)]
    #[test]
    fn submission_names_that_are_not_utf8_still_have_a_name() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(OsStr::from_bytes(b"caf\xe9.zip"));
        assert_eq!(ArchiveKind::of(path), Some(ArchiveKind::Zip));
        assert_eq!(submission_name(path).as_deref(), Some("caf\u{fffd}"));
    }

    #[test]
    fn one_top_level_folder_is_the_folder_to_grade() {
        let items = [
            dir("alice/"),
            file("alice/client-1.py", b"print('hi')\n"),
            file("alice/lib/util.py", b"x = 1\n"),
        ];
        for (scene, archive) in both(&items) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            assert_eq!(graded, scene.out().join("alice"), "{}", archive.display());
            assert_eq!(
                fs::read(graded.join("client-1.py")).unwrap(),
                b"print('hi')\n"
            );
            assert_eq!(fs::read(graded.join("lib/util.py")).unwrap(), b"x = 1\n");
        }
    }

    #[test]
    fn a_top_level_folder_without_its_own_entry_is_still_found() {
        for (scene, archive) in both(&[file("alice/client-1.py", b"1")]) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            assert_eq!(graded, scene.out().join("alice"), "{}", archive.display());
        }
    }

    #[test]
    fn files_at_the_root_make_the_whole_folder_the_one_to_grade() {
        let items = [file("client-1.py", b"1"), file("server-1.py", b"2")];
        for (scene, archive) in both(&items) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            assert_eq!(graded, scene.out(), "{}", archive.display());
            assert_eq!(fs::read(graded.join("server-1.py")).unwrap(), b"2");
        }
    }

    #[test]
    fn a_single_file_or_two_folders_make_the_whole_folder_the_one_to_grade() {
        for items in [
            vec![file("client-1.py", b"1")],
            vec![file("a/client-1.py", b"1"), file("b/server-1.py", b"2")],
            vec![file("alice/client-1.py", b"1"), file("README", b"2")],
        ] {
            for (scene, archive) in both(&items) {
                assert_eq!(unpack(&archive, &scene.out()).unwrap(), scene.out());
            }
        }
    }

    #[test]
    fn macos_junk_beside_the_top_level_folder_is_ignored() {
        let items = [
            file("alice/client-1.py", b"1"),
            file("__MACOSX/alice/._client-1.py", b"junk"),
            file(".DS_Store", b"junk"),
            file("._alice", b"junk"),
        ];
        for (scene, archive) in both(&items) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            assert_eq!(graded, scene.out().join("alice"), "{}", archive.display());
        }
    }

    #[test]
    fn an_entry_climbing_out_of_the_folder_is_refused() {
        for (scene, archive) in both(&[file("alice/ok.py", b"1"), file("../evil", b"x")]) {
            let error = unpack(&archive, &scene.out()).unwrap_err();
            assert!(error.to_string().contains("\"../evil\""), "{error}");
            assert!(!scene.path("evil").exists(), "{}", archive.display());
        }
    }

    #[test]
    fn an_entry_climbing_out_from_inside_a_folder_is_refused() {
        for (scene, archive) in both(&[file("alice/../../evil", b"x")]) {
            assert!(unpack(&archive, &scene.out()).is_err());
            assert!(!scene.path("evil").exists(), "{}", archive.display());
        }
    }

    #[test]
    fn an_absolute_entry_is_refused() {
        let probe = Scene::new();
        let target = probe.path("absolute-evil");
        let name = target.to_str().unwrap().to_string();
        for (scene, archive) in both(&[file(&name, b"x")]) {
            let error = unpack(&archive, &scene.out()).unwrap_err();
            assert!(error.to_string().contains("outside the folder"), "{error}");
            assert!(!target.exists(), "{}", archive.display());
            assert_eq!(fs::read_dir(scene.out()).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_symlink_entry_is_not_created() {
        let items = [
            file("alice/client-1.py", b"1"),
            symlink("alice/passwd", "/etc/passwd"),
        ];
        for (scene, archive) in both(&items) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            assert!(graded.join("client-1.py").is_file());
            assert!(fs::symlink_metadata(graded.join("passwd")).is_err());
        }
    }

    #[test]
    fn a_hard_link_entry_is_not_created() {
        let scene = Scene::new();
        let archive = scene.tar_gz(&[
            file("alice/client-1.py", b"1"),
            hardlink("alice/passwd", "/etc/passwd"),
            hardlink("alice/up", "../../outside"),
        ]);
        let graded = unpack(&archive, &scene.out()).unwrap();
        assert!(fs::symlink_metadata(graded.join("passwd")).is_err());
        assert!(fs::symlink_metadata(graded.join("up")).is_err());
    }

    #[test]
    fn a_file_beneath_a_skipped_link_stays_inside_the_folder() {
        let scene = Scene::new();
        let outside = scene.root.path().to_str().unwrap().to_string();
        let archive = scene.tar_gz(&[
            symlink("alice/link", &outside),
            file("alice/link/planted", b"x"),
        ]);
        let graded = unpack(&archive, &scene.out()).unwrap();
        assert!(!scene.path("planted").exists());
        assert!(fs::symlink_metadata(graded.join("link")).unwrap().is_dir());
        assert_eq!(fs::read(graded.join("link/planted")).unwrap(), b"x");
    }

    #[test]
    fn an_entry_larger_than_the_limit_is_an_error() {
        let big = vec![0; 4096];
        for (scene, archive) in both(&[file("alice/big.bin", &big)]) {
            let error = unpack_within(&archive, &scene.out(), small_limits()).unwrap_err();
            assert!(error.to_string().contains("more than 1 KiB"), "{error}");
            let written = fs::metadata(scene.out().join("alice/big.bin"))
                .unwrap()
                .len();
            assert!(written <= 1024, "{written} bytes written");
        }
    }

    #[test]
    fn entries_adding_up_past_the_limit_are_an_error() {
        let part = vec![7; 500];
        let items = [
            file("a.bin", &part),
            file("b.bin", &part),
            file("c.bin", &part),
        ];
        for (scene, archive) in both(&items) {
            let error = unpack_within(&archive, &scene.out(), small_limits()).unwrap_err();
            assert!(error.to_string().contains("more than 1 KiB"), "{error}");
        }
    }

    #[test]
    fn exactly_the_byte_limit_is_allowed() {
        let half = vec![7; 512];
        for (scene, archive) in both(&[file("a.bin", &half), file("b.bin", &half)]) {
            assert!(unpack_within(&archive, &scene.out(), small_limits()).is_ok());
        }
    }

    #[test]
    fn more_entries_than_the_limit_are_an_error() {
        let items = [
            file("a", b""),
            file("b", b""),
            symlink("c", "a"),
            file("d", b""),
        ];
        for (scene, archive) in both(&items) {
            let error = unpack_within(&archive, &scene.out(), small_limits()).unwrap_err();
            assert!(error.to_string().contains("more than 3 entries"), "{error}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_executable_bit_is_kept_and_setuid_is_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let items = [
            file_with_mode("alice/client-2", b"#!/bin/sh\n", 0o755),
            file_with_mode("alice/server-2", b"#!/bin/sh\n", 0o4755),
            file_with_mode("alice/shared", b"x", 0o6777),
            file_with_mode("alice/notes.txt", b"x", 0o644),
            file_with_mode("alice/locked.txt", b"x", 0o000),
        ];
        for (scene, archive) in both(&items) {
            let graded = unpack(&archive, &scene.out()).unwrap();
            let mode = |name: &str| {
                fs::metadata(graded.join(name))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o7777
            };
            let shown = archive.display();
            assert_eq!(mode("client-2"), 0o755, "{shown}");
            assert_eq!(mode("server-2"), 0o755, "{shown}");
            assert_eq!(mode("shared"), 0o755, "{shown}");
            assert_eq!(mode("notes.txt"), 0o644, "{shown}");
            assert_eq!(mode("locked.txt"), 0o600, "{shown}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_unpacked() {
        use std::os::unix::ffi::OsStrExt;
        let scene = Scene::new();
        let archive = scene.path("alice.tgz");
        let name = b"alice/caf\xe9.py";
        write_tar_gz(
            &archive,
            &[Item {
                name,
                kind: ItemKind::File(b"1", 0o644),
            }],
        );
        let graded = unpack(&archive, &scene.out()).unwrap();
        assert_eq!(graded, scene.out().join("alice"));
        let file = graded.join(OsStr::from_bytes(b"caf\xe9.py"));
        assert_eq!(fs::read(file).unwrap(), b"1");
    }

    #[test]
    fn a_truncated_archive_is_an_error_naming_it() {
        let data = noise(64 * 1024);
        for (scene, archive) in both(&[file("alice/a.bin", &data), file("alice/b.bin", &data)]) {
            let whole = fs::read(&archive).unwrap();
            fs::write(&archive, &whole[..whole.len() / 2]).unwrap();
            let error = unpack(&archive, &scene.out()).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with("cannot unpack "), "{message}");
            assert!(
                message.contains(&archive.display().to_string()),
                "{message}"
            );
            assert!(message.contains("corrupt or truncated"), "{message}");
            assert!(std::error::Error::source(&error).is_some());
        }
    }

    #[test]
    fn a_damaged_archive_is_an_error() {
        let data = noise(8 * 1024);
        for (scene, archive) in both(&[file("alice/a.bin", &data)]) {
            let mut bytes = fs::read(&archive).unwrap();
            let middle = bytes.len() / 2;
            for byte in &mut bytes[middle - 16..middle + 16] {
                *byte ^= 0x5a;
            }
            fs::write(&archive, &bytes).unwrap();
            let error = unpack(&archive, &scene.out()).unwrap_err();
            assert!(error.to_string().contains("corrupt"), "{error}");
        }
    }

    #[test]
    fn a_tar_gz_whose_gzip_checksum_is_wrong_is_an_error() {
        let scene = Scene::new();
        let archive = scene.tar_gz(&[file("alice/client-1.py", b"1")]);
        let mut bytes = fs::read(&archive).unwrap();
        // The gzip trailer: CRC-32 then length, after the end of the tar.
        let crc = bytes.len() - 8;
        bytes[crc] ^= 0xff;
        fs::write(&archive, &bytes).unwrap();
        let error = unpack(&archive, &scene.out()).unwrap_err();
        assert!(error.to_string().contains("corrupt"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_an_archive_is_an_error() {
        let scene = Scene::new();
        for name in ["alice.zip", "alice.tar.gz"] {
            let archive = scene.path(name);
            fs::write(&archive, b"this is not an archive").unwrap();
            let error = unpack(&archive, &scene.out()).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn an_empty_file_is_an_error() {
        let scene = Scene::new();
        for name in ["alice.zip", "alice.tgz"] {
            let archive = scene.path(name);
            File::create(&archive).unwrap();
            assert!(unpack(&archive, &scene.out()).is_err(), "{name}");
        }
    }

    #[test]
    fn an_unknown_extension_is_an_error() {
        let scene = Scene::new();
        let archive = scene.path("alice.rar");
        fs::write(&archive, b"x").unwrap();
        let error = unpack(&archive, &scene.out()).unwrap_err();
        assert!(
            error.to_string().contains("not a .zip, .tar.gz or .tgz"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_archive_is_an_error_with_its_cause() {
        let scene = Scene::new();
        let error = unpack(&scene.path("gone.zip"), &scene.out()).unwrap_err();
        assert!(error.to_string().contains("gone.zip"), "{error}");
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn a_folder_that_is_not_empty_is_refused() {
        let scene = Scene::new();
        let archive = scene.zip(&[file("alice/client-1.py", b"1")]);
        fs::write(scene.out().join("left-over"), b"x").unwrap();
        let error = unpack(&archive, &scene.out()).unwrap_err();
        assert!(error.to_string().contains("is not empty"), "{error}");
    }

    #[test]
    fn a_long_name_header_over_the_limit_is_refused_before_it_is_read() {
        let scene = Scene::new();
        let archive = scene.path("alice.tar.gz");
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::GNULongName);
        header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        header.set_size(4 << 30);
        header.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(header.as_bytes()).unwrap();
        gz.write_all(&vec![b'n'; 1 << 20]).unwrap();
        gz.finish().unwrap();
        let error = unpack(&archive, &scene.out()).unwrap_err().to_string();
        assert!(error.contains("alice.tar.gz"), "{error}");
        assert!(
            error.contains("extended name or attributes of 4294967296 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_zip_declaring_too_many_entries_is_refused_before_its_directory_is_read() {
        let scene = Scene::new();
        let archive = scene.zip(&[
            file("a", b"1"),
            file("b", b"2"),
            file("c", b"3"),
            file("d", b"4"),
        ]);
        // Break the central directory: only the end record is left to read.
        let mut bytes = fs::read(&archive).unwrap();
        let directory = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[directory] = b'X';
        fs::write(&archive, &bytes).unwrap();
        let error = unpack_within(&archive, &scene.out(), small_limits()).unwrap_err();
        assert!(error.to_string().contains("more than 3 entries"), "{error}");
    }

    #[test]
    fn a_later_entry_of_the_same_name_wins() {
        let scene = Scene::new();
        let archive = scene.tar_gz(&[file("a.py", b"old"), file("a.py", b"new")]);
        unpack(&archive, &scene.out()).unwrap();
        assert_eq!(fs::read(scene.out().join("a.py")).unwrap(), b"new");
    }
}
