//! Private copies of a submission: one built once (the manifest's build runs
//! there), and one per exercise made from it, so that no run of a program
//! can change the submission or another exercise's files. Where it can, an
//! exercise gets an overlay view of the one copy instead of a copy of its
//! own (see `sandbox::views`): the same files, its writes its own.

use super::copy::{CopyError, Limits, Skipped, copy_submission};
use crate::platform;
use crate::sandbox::views;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use tempfile::TempDir;

/// The temporary folders of one submission's grade; removed when dropped.
#[derive(Debug)]
pub struct Workspace {
    root: TempDir,
    base: PathBuf,
    owner: Option<(u32, u32)>,
    skipped: Vec<Skipped>,
    /// Exercises get views instead of copies (see [`Workspace::prepare`]).
    views: bool,
    /// A view was mounted: the folders are left to the namespace's end.
    mounted: AtomicBool,
}

/// The folders one exercise's program may write in.
#[derive(Debug, Clone)]
pub struct ExerciseFolders {
    /// Its private copy of the submission: the working directory.
    pub work: PathBuf,
    /// Its private temporary folder (`TMPDIR`, `HOME`).
    pub tmp: PathBuf,
}

impl Workspace {
    /// Copies `submission` into a new private temporary folder (see
    /// [`copy_submission`] for what is copied, and the limits). With an
    /// `owner` (the unprivileged user programs run as), the copies are
    /// theirs, and the root may be crossed but not listed by them.
    ///
    /// With `views`, exercises get overlay views of the copy where the
    /// kernel allows. The caller asks for them only when nothing but the
    /// grader can change the copy once programs run (Landlock keeps each
    /// program to its own folders) and no build runs in it: a per-exercise
    /// copy is what removes the links and FIFOs a build may leave.
    pub fn prepare(
        submission: &Path,
        owner: Option<(u32, u32)>,
        views: bool,
    ) -> Result<Workspace, CopyError> {
        let root = platform::private_tempdir("sockgrade-")?;
        let base = root.path().join("submission");
        let skipped = copy_submission(submission, &base, Limits::SUBMISSION)?;
        if let Some(owner) = owner {
            platform::set_mode(root.path(), 0o711)?;
            chown_tree(&base, owner)?;
        }
        Ok(Workspace {
            root,
            base,
            owner,
            skipped,
            views: views && views::available(),
            mounted: AtomicBool::new(false),
        })
    }

    /// Whether exercises get views of the copy rather than copies of
    /// their own (where the kernel refuses a view, a copy still).
    pub fn gives_views(&self) -> bool {
        self.views
    }

    /// The built copy, from which exercise copies are made.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// What the submission held that was not copied, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The folders of the manifest's build: the base copy itself, and a
    /// private temporary folder.
    pub fn build_folders(&self) -> io::Result<ExerciseFolders> {
        let tmp = self.root.path().join("tmp-build");
        std::fs::create_dir_all(&tmp)?;
        platform::set_mode(&tmp, 0o700)?;
        if let Some(owner) = self.owner {
            chown_tree(&tmp, owner)?;
        }
        Ok(ExerciseFolders {
            work: self.base.clone(),
            tmp,
        })
    }

    /// A fresh copy of the built submission, and a private temporary
    /// folder, for one exercise. The base belongs to the programs' user
    /// by now (the build ran there), so it is copied by the same rules
    /// and limits as the submission.
    pub fn exercise_folders(&self, exercise_id: &str) -> Result<ExerciseFolders, CopyError> {
        let work = self.root.path().join(format!("run-{exercise_id}"));
        let layer = self.root.path().join(format!("layer-{exercise_id}"));
        let viewed = self.views && {
            // The view's files are the copy's, already the programs' user's.
            let mounted = views::mount(&self.base, &layer, &work).is_ok();
            self.mounted.fetch_or(mounted, Ordering::Relaxed);
            mounted
        };
        if !viewed {
            // A half-made view leaves an empty folder behind at most.
            let _ = std::fs::remove_dir(&work);
            copy_submission(&self.base, &work, Limits::SUBMISSION)?;
            if let Some(owner) = self.owner {
                chown_tree(&work, owner)?;
            }
        }
        let tmp = self.root.path().join(format!("tmp-{exercise_id}"));
        std::fs::create_dir_all(&tmp)?;
        platform::set_mode(&tmp, 0o700)?;
        if let Some(owner) = self.owner {
            chown_tree(&tmp, owner)?;
        }
        Ok(ExerciseFolders { work, tmp })
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        // Removing the folders would delete through the mounted views
        // (each deletion a new whiteout); the namespace's end takes the
        // mounts and their tmpfs instead.
        if *self.mounted.get_mut() {
            self.root.disable_cleanup(true);
        }
    }
}

/// Gives a copied tree to the user programs run as (symbolic links
/// themselves, never what they point to). A folder is given away only
/// after everything in it: until then its user cannot change what is in
/// it, so cannot swap a folder for a link while this walks it.
fn chown_tree(path: &Path, owner: (u32, u32)) -> io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), owner)?;
        }
    }
    platform::set_link_owner(path, owner)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn copies_are_private_and_skip_version_control() {
        let submission = tempfile::tempdir().unwrap();
        std::fs::write(submission.path().join("a.py"), "x").unwrap();
        std::fs::create_dir_all(submission.path().join("lib/.git")).unwrap();
        std::fs::create_dir_all(submission.path().join(".git")).unwrap();
        std::fs::write(submission.path().join("lib/b.py"), "y").unwrap();
        let workspace = Workspace::prepare(submission.path(), None, true).unwrap();
        let copy = workspace.exercise_folders("client-1").unwrap().work;
        let root = copy.parent().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let root_mode = root.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(root_mode, 0o700, "the workspace is private");
        assert_eq!(std::fs::read_to_string(copy.join("lib/b.py")).unwrap(), "y");
        assert!(!copy.join(".git").exists());
        std::fs::write(copy.join("a.py"), "changed").unwrap();
        assert_eq!(
            std::fs::read_to_string(submission.path().join("a.py")).unwrap(),
            "x"
        );
        assert_eq!(
            std::fs::read_to_string(workspace.base().join("a.py")).unwrap(),
            "x"
        );
    }
}
