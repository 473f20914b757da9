//! Finding the submissions of a batch: every folder in the batch folder is
//! one (its name is the student's id), and so is every `.zip` or `.tar.gz`
//! beside them; anything else is listed as skipped. Sharding picks a
//! deterministic part of them.

use super::archive::{ArchiveKind, submission_name};
use crate::summary::Skipped;
use std::path::{Path, PathBuf};

/// Where a submission's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder, graded as it is.
    Folder(PathBuf),
    /// An archive, unpacked into a private folder first.
    Archive(PathBuf),
}

/// One submission of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The student's id: the folder's name, or the archive's without its
    /// extension.
    pub name: String,
    /// Where its files are.
    pub source: Source,
}

/// Which part of a sorted batch this run grades: `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index of this part.
    pub index: usize,
    /// How many parts there are.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let parsed = text.split_once('/').and_then(|(k, n)| {
            Some((
                k.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        });
        match parsed {
            Some((index, count)) if count >= 1 && (1..=count).contains(&index) => {
                Ok(Shard { index, count })
            }
            _ => Err(format!(
                "`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, such as 2/4"
            )),
        }
    }
}

impl Shard {
    /// Whether the `position`-th submission (0-based, in name order)
    /// belongs to this shard. Round-robin keeps shards of similar size and
    /// the same for the same set of names on every machine.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// Lists the submissions in `folder`, sorted by name, and what was skipped.
pub fn discover(folder: &Path) -> std::io::Result<(Vec<Submission>, Vec<Skipped>)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    let mut submissions: Vec<Submission> = Vec::new();
    let mut skipped = Vec::new();
    for path in entries {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Hidden entries (.DS_Store, .git) are the machine's, not students'.
        if file_name.starts_with('.') {
            continue;
        }
        // A link would make root grade (and copy for the programs' user)
        // whatever it points to, /root included: only what is really here.
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            skipped.push(Skipped {
                path: path.display().to_string(),
                reason: "a symbolic link: only folders and archives really in the batch folder \
                         are graded (copy it in)"
                    .to_string(),
            });
            continue;
        }
        let found = if path.is_dir() {
            Some(Submission {
                name: file_name.clone(),
                source: Source::Folder(path.clone()),
            })
        } else if ArchiveKind::of(&path).is_some() {
            submission_name(&path).map(|name| Submission {
                name,
                source: Source::Archive(path.clone()),
            })
        } else {
            None
        };
        match found {
            Some(submission) if submissions.iter().any(|s| s.name == submission.name) => {
                skipped.push(Skipped {
                    path: path.display().to_string(),
                    reason: format!("another submission is already called `{}`", submission.name),
                });
            }
            Some(submission) => submissions.push(submission),
            None => skipped.push(Skipped {
                path: path.display().to_string(),
                reason: "neither a folder nor a .zip or .tar.gz archive".to_string(),
            }),
        }
    }
    submissions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((submissions, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_batch_folder_is_skipped_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/root", dir.path().join("alice")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("bob.tar.gz")).unwrap();
        let (submissions, skipped) = discover(dir.path()).unwrap();
        assert!(submissions.is_empty(), "{submissions:?}");
        assert_eq!(skipped.len(), 2);
        assert!(
            skipped
                .iter()
                .all(|s| s.reason.starts_with("a symbolic link"))
        );
    }

    #[test]
    fn folders_and_archives_are_submissions_and_the_rest_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        for folder in ["bob", "alice", ".git"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        for file in [
            "carol.zip",
            "dave.tar.gz",
            "notes.txt",
            ".DS_Store",
            "alice.zip",
        ] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        let (submissions, skipped) = discover(dir.path()).unwrap();
        let names: Vec<&str> = submissions.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave"]);
        assert_eq!(
            submissions[2].source,
            Source::Archive(dir.path().join("carol.zip"))
        );
        let reasons: Vec<String> = skipped
            .iter()
            .map(|s| format!("{} {}", s.path, s.reason))
            .collect();
        assert_eq!(skipped.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].ends_with("alice.zip another submission is already called `alice`"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("notes.txt neither a folder"),
            "{reasons:?}"
        );
    }

    #[test]
    fn shards_split_every_submission_exactly_once() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(position)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "x", "1-3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
