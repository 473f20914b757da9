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
}

impl Workspace {
    /// Copies `submission` into a new temporary folder.
    pub fn prepare(submission: &Path) -> io::Result<Workspace> {
        let root = tempfile::Builder::new().prefix("sockgrade-").tempdir()?;
        let base = root.path().join("submission");
        copy_tree(submission, &base)?;
        Ok(Workspace { root, base })
    }

    /// The built copy, from which exercise copies are made.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// A fresh copy of the built submission for one exercise.
    pub fn exercise_copy(&self, exercise_id: &str) -> io::Result<PathBuf> {
        let copy = self.root.path().join(format!("run-{exercise_id}"));
        copy_tree(&self.base, &copy)?;
        Ok(copy)
    }
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
        let workspace = Workspace::prepare(submission.path()).unwrap();
        let copy = workspace.exercise_copy("client-1").unwrap();
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
