//! Each exercise's private view of the submission without copying it: an
//! overlay mount whose lower layer is the one private copy (read-only
//! through the view) and whose upper layer takes the program's writes,
//! so no exercise sees another's changes, and a submission of 64 MiB is
//! not copied twelve times. Only where the grade runs in its own mount
//! namespace with its workspace on the namespace's own tmpfs: mounts
//! made there end with the namespace, so a view is never unmounted
//! (unmounting waits for the kernel, about 0.5 ms each, measured) and the
//! workspace is never removed file by file through one.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once, before any thread exists, when this process has a mount
/// namespace of its own and its workspace disk is mounted in it.
static PRIVATE_WORKSPACE_DISK: AtomicBool = AtomicBool::new(false);

/// Said by the namespace set-up (see `linux::enter`).
pub(super) fn workspace_disk_is_private() {
    PRIVATE_WORKSPACE_DISK.store(true, Ordering::Relaxed);
}

/// Whether views can be mounted here (see the module doc).
pub fn available() -> bool {
    PRIVATE_WORKSPACE_DISK.load(Ordering::Relaxed)
}

/// Mounts at `at` (made here) a view of `lower` whose writes go into
/// `layer` (made here, the grader's alone). The view's root has the owner
/// and mode of `lower`'s, so the program's user may write in it as in a
/// copy.
pub fn mount(lower: &Path, layer: &Path, at: &Path) -> io::Result<()> {
    use nix::mount::MsFlags;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !available() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no private mount namespace",
        ));
    }
    let upper = layer.join("upper");
    let work = layer.join("work");
    // The option string separates paths with ',' and ':'.
    let plain = |path: &Path| {
        path.to_str()
            .filter(|p| !p.contains([',', ':', '\\', '\n']))
            .map(str::to_string)
    };
    let (Some(lower_text), Some(upper_text), Some(work_text)) =
        (plain(lower), plain(&upper), plain(&work))
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a path an overlay cannot name",
        ));
    };
    std::fs::create_dir(layer)?;
    std::fs::set_permissions(layer, std::fs::Permissions::from_mode(0o700))?;
    std::fs::create_dir(&upper)?;
    std::fs::create_dir(&work)?;
    std::fs::create_dir(at)?;
    let root = std::fs::metadata(lower)?;
    std::os::unix::fs::chown(&upper, Some(root.uid()), Some(root.gid()))?;
    std::fs::set_permissions(
        &upper,
        std::fs::Permissions::from_mode(root.mode() & 0o7777),
    )?;
    let options = format!("lowerdir={lower_text},upperdir={upper_text},workdir={work_text}");
    let mount_overlay = |options: &str| {
        nix::mount::mount(
            Some("sockgrade"),
            at,
            Some("overlay"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options),
        )
    };
    // In a user namespace the overlay keeps its metadata in user.*
    // extended attributes, which it must be told.
    mount_overlay(&options)
        .or_else(|_| mount_overlay(&format!("{options},userxattr")))
        .map_err(io::Error::from)
}
