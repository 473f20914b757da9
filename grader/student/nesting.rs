//! A submission one level down: an upload of a zipped folder (`alice/`,
//! `python/`) unpacks with everything inside one folder, often beside
//! macOS's junk (`__MACOSX/`, `.DS_Store`, `._name`) or dotfiles
//! (`.git/`, `.vscode/`). Both `grade` and `batch` then grade that folder.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// Names that never make a folder more than "one folder and junk".
fn is_junk(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name == b"__MACOSX" || name.starts_with(b".")
}

/// The one folder (not a link) that `folder` holds besides junk, if that
/// is all it holds.
pub fn the_one_folder_in(folder: &Path) -> io::Result<Option<PathBuf>> {
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        if !is_junk(&entry.file_name()) {
            kept.push(entry);
            if kept.len() > 1 {
                return Ok(None);
            }
        }
    }
    match kept.as_slice() {
        [only] if only.file_type()?.is_dir() => Ok(Some(only.path())),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_folder_beside_junk_is_the_one_and_anything_more_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("python");
        std::fs::create_dir(&inner).unwrap();
        std::fs::create_dir(dir.path().join("__MACOSX")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".DS_Store"), "junk").unwrap();
        std::fs::write(dir.path().join("._python"), "junk").unwrap();
        assert_eq!(the_one_folder_in(dir.path()).unwrap(), Some(inner.clone()));

        std::fs::write(dir.path().join("README.txt"), "notes").unwrap();
        assert_eq!(
            the_one_folder_in(dir.path()).unwrap(),
            None,
            "a file beside it"
        );
        std::fs::remove_file(dir.path().join("README.txt")).unwrap();
        std::fs::create_dir(dir.path().join("rust")).unwrap();
        assert_eq!(the_one_folder_in(dir.path()).unwrap(), None, "two folders");

        let only_a_file = tempfile::tempdir().unwrap();
        std::fs::write(only_a_file.path().join("client-1.py"), "x").unwrap();
        assert_eq!(the_one_folder_in(only_a_file.path()).unwrap(), None);
        #[cfg(unix)]
        {
            let only_a_link = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(&inner, only_a_link.path().join("python")).unwrap();
            assert_eq!(
                the_one_folder_in(only_a_link.path()).unwrap(),
                None,
                "a link is not followed"
            );
        }
    }
}
