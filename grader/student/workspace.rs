//! Private copies of a submission: one built once (the manifest's build runs
//! there), and one per exercise made from it, so that no run of a program
//! can change the submission or another exercise's files.

use std::io;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Folders never copied: version-control history is large and irrelevant.
const SKIPPED: &[&str] = &[".git", ".hg", ".svn"];

/// The temporary folders of one submission's grade; removed when dropped.
#[derive(Debug)]
pub struct Workspace {
    root: TempDir,
    base: PathBuf,
    owner: Option<(u32, u32)>,
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
    /// Copies `submission` into a new temporary folder. With an `owner`
    /// (the unprivileged user programs run as), the copies are theirs, and
    /// the root may be crossed but not listed by them.
    pub fn prepare(submission: &Path, owner: Option<(u32, u32)>) -> io::Result<Workspace> {
        let root = tempfile::Builder::new().prefix("sockgrade-").tempdir()?;
        let base = root.path().join("submission");
        copy_tree(submission, &base)?;
        if let Some(owner) = owner {
            set_mode(root.path(), 0o711)?;
            chown_tree(&base, owner)?;
        }
        Ok(Workspace { root, base, owner })
    }

    /// The built copy, from which exercise copies are made.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The folders of the manifest's build: the base copy itself, and a
    /// private temporary folder.
    pub fn build_folders(&self) -> io::Result<ExerciseFolders> {
        let tmp = self.root.path().join("tmp-build");
        std::fs::create_dir_all(&tmp)?;
        set_mode(&tmp, 0o700)?;
        if let Some(owner) = self.owner {
            chown_tree(&tmp, owner)?;
        }
        Ok(ExerciseFolders {
            work: self.base.clone(),
            tmp,
        })
    }

    /// A fresh copy of the built submission, and a private temporary
    /// folder, for one exercise.
    pub fn exercise_folders(&self, exercise_id: &str) -> io::Result<ExerciseFolders> {
        let work = self.root.path().join(format!("run-{exercise_id}"));
        copy_tree(&self.base, &work)?;
        let tmp = self.root.path().join(format!("tmp-{exercise_id}"));
        std::fs::create_dir_all(&tmp)?;
        set_mode(&tmp, 0o700)?;
        if let Some(owner) = self.owner {
            chown_tree(&work, owner)?;
            chown_tree(&tmp, owner)?;
        }
        Ok(ExerciseFolders { work, tmp })
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}

/// Gives a copied tree to the user programs run as (symbolic links
/// themselves, never what they point to).
#[cfg(unix)]
fn chown_tree(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), (uid, gid))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn chown_tree(_: &Path, _: (u32, u32)) -> io::Result<()> {
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            // std::fs::copy keeps the permission bits: executables stay so.
            std::fs::copy(entry.path(), &target)?;
        } else if kind.is_symlink() {
            copy_symlink(&entry.path(), &target)?;
        }
        // Sockets, fifos and devices are not part of a submission.
    }
    Ok(())
}

#[cfg(unix)]
fn copy_symlink(link: &Path, target: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(std::fs::read_link(link)?, target)
}

#[cfg(not(unix))]
fn copy_symlink(link: &Path, target: &Path) -> io::Result<()> {
    std::fs::copy(link, target).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_private_and_skip_version_control() {
        let submission = tempfile::tempdir().unwrap();
        std::fs::write(submission.path().join("a.py"), "x").unwrap();
        std::fs::create_dir_all(submission.path().join("lib/.git")).unwrap();
        std::fs::create_dir_all(submission.path().join(".git")).unwrap();
        std::fs::write(submission.path().join("lib/b.py"), "y").unwrap();
        let workspace = Workspace::prepare(submission.path(), None).unwrap();
        let copy = workspace.exercise_folders("client-1").unwrap().work;
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
