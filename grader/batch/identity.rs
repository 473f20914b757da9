//! What makes batch runs parts of one gradebook: the same sockgrade, the
//! same seed, the same exercises (their content, not only their file's
//! name), the same exercise selection and the same robustness tier. A batch writes it as
//! `batch.json` in its output before it grades; `--resume` and `merge`
//! refuse outputs whose identities differ, since their scores would mix
//! two gradings without a word, and `merge` refuses an incomplete set of
//! shards unless told otherwise.

use super::Shard;
use crate::error::Error;
use crate::exercise::{ExerciseSet, Variant};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file in a batch output that holds its identity.
pub const FILE: &str = "batch.json";

/// The identity of one batch run (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// The sockgrade version that graded.
    pub tool_version: String,
    /// The batch's seed, as a string: a random seed may exceed 2^53, which
    /// common JSON tools round.
    pub seed: String,
    /// Where the exercises came from (`embedded`, or a file's path).
    pub exercises_source: String,
    /// The exercises themselves, as graded.
    pub exercises: serde_json::Value,
    /// The exercises chosen with `-e` (empty: all).
    pub only: Vec<String>,
    /// The robustness tier's variants asked with `--robust` (`None`: not
    /// asked; absent from identities written before the tier existed).
    /// The scores do not depend on it, but the feedback and a summary's
    /// robustness counts do.
    #[serde(default)]
    pub robust: Option<Vec<String>>,
    /// `K/N` when the run was one shard.
    pub shard: Option<String>,
    /// The submissions this run grades (its shard's), by name.
    pub submissions: Vec<String>,
}

impl RunIdentity {
    /// The identity of a run of `set` with `seed`, choosing `only`, with
    /// the robustness tier `robust` asked.
    pub fn new(
        set: &ExerciseSet,
        seed: u64,
        only: &[String],
        robust: Option<&[Variant]>,
        shard: Option<Shard>,
        submissions: Vec<String>,
    ) -> RunIdentity {
        RunIdentity {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: seed.to_string(),
            exercises_source: set.source.clone(),
            exercises: serde_json::to_value(&set.exercises).unwrap_or_default(),
            only: only.to_vec(),
            // The variants as a set, in the tier's own order: the order
            // and repeats of --robust's list change nothing graded.
            robust: robust.map(|asked| {
                Variant::ALL
                    .into_iter()
                    .filter(|variant| asked.contains(variant))
                    .map(|variant| variant.as_str().to_string())
                    .collect()
            }),
            shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
            submissions,
        }
    }

    /// The seed, if the recorded one is a number.
    pub fn seed(&self) -> Option<u64> {
        self.seed.parse().ok()
    }

    /// The shard as `(index, count)`, if the run was one.
    pub fn shard(&self) -> Option<(usize, usize)> {
        let (k, n) = self.shard.as_deref()?.split_once('/')?;
        Some((k.parse().ok()?, n.parse().ok()?))
    }

    /// What differs between this run and `other`, each said in a few
    /// words (`the seed (7 here, 3 there)`); the shard and the submissions
    /// are not compared.
    pub fn differences(&self, other: &RunIdentity) -> Vec<String> {
        let mut differ = Vec::new();
        if self.tool_version != other.tool_version {
            differ.push(format!(
                "the sockgrade version ({} here, {} there)",
                self.tool_version, other.tool_version
            ));
        }
        if self.seed != other.seed {
            differ.push(format!(
                "the seed ({} here, {} there)",
                self.seed, other.seed
            ));
        }
        if self.exercises != other.exercises {
            differ.push(format!(
                "the exercises ({} here, {} there, or the same file changed)",
                self.exercises_source, other.exercises_source
            ));
        }
        // A selection, whatever order the -e options came in.
        let selection = |only: &[String]| {
            let mut ids = only.to_vec();
            ids.sort();
            ids.dedup();
            ids
        };
        if selection(&self.only) != selection(&other.only) {
            let chosen = |only: &[String]| {
                if only.is_empty() {
                    "all".to_string()
                } else {
                    only.join(", ")
                }
            };
            differ.push(format!(
                "the exercises chosen with -e ({} here, {} there)",
                chosen(&self.only),
                chosen(&other.only)
            ));
        }
        if self.robust != other.robust {
            let tier = |robust: &Option<Vec<String>>| match robust {
                Some(variants) => variants.join(", "),
                None => "not asked".to_string(),
            };
            differ.push(format!(
                "the robustness tier asked with --robust ({} here, {} there)",
                tier(&self.robust),
                tier(&other.robust)
            ));
        }
        differ
    }
}

/// The identity recorded in the batch output `out`: `None` when it has
/// none (no batch ran there yet, or one older than `batch.json`).
pub fn read(out: &Path) -> Result<Option<RunIdentity>, Error> {
    let path = out.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::bad_input(format!(
                "cannot read {}: check that it is readable",
                path.display()
            ))
            .with_source(e));
        }
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a batch identity sockgrade {} can read ({e}): grade into a new folder",
            path.display(),
            env!("CARGO_PKG_VERSION")
        ))
    })
}

/// Writes `identity` into `out` (atomically: a crash leaves the old one
/// or the new one, never half of one).
pub fn write(out: &Path, identity: &RunIdentity) -> std::io::Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(out)?;
    std::io::Write::write_all(&mut file, &crate::report::json::pretty(identity))?;
    file.persist(out.join(FILE)).map_err(|e| e.error)?;
    Ok(())
}

/// The error for a `--resume` into an output graded otherwise.
pub fn resume_mismatch(out: &Path, differences: &[String]) -> Error {
    Error::bad_input(format!(
        "--resume into {} would mix two gradings: this run differs from the one there in {}. \
         Resume with the first run's options, or grade into a new folder",
        out.display(),
        differences.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(seed: u64, only: &[&str]) -> RunIdentity {
        let set = ExerciseSet::embedded().unwrap();
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        RunIdentity::new(&set, seed, &only, None, None, vec!["alice".to_string()])
    }

    #[test]
    fn the_robustness_tier_is_part_of_a_run_in_any_order_and_old_identities_asked_none() {
        let set = ExerciseSet::embedded().unwrap();
        let robust = RunIdentity::new(
            &set,
            7,
            &[],
            Some(&[Variant::Split, Variant::SlowStart]),
            None,
            vec!["alice".to_string()],
        );
        assert_eq!(
            robust.differences(&identity(7, &[])),
            ["the robustness tier asked with --robust (split, slow-start here, not asked there)"]
        );
        let reordered = RunIdentity::new(
            &set,
            7,
            &[],
            Some(&[Variant::SlowStart, Variant::Split, Variant::SlowStart]),
            None,
            vec!["alice".to_string()],
        );
        assert!(reordered.differences(&robust).is_empty());
        // An identity written before the tier existed has no `robust`.
        let mut old = serde_json::to_value(identity(7, &[])).unwrap();
        old.as_object_mut().unwrap().remove("robust");
        let old: RunIdentity = serde_json::from_value(old).unwrap();
        assert!(old.differences(&identity(7, &[])).is_empty());
    }

    #[test]
    fn runs_alike_have_no_differences_and_others_name_each() {
        assert!(identity(7, &[]).differences(&identity(7, &[])).is_empty());
        let differ = identity(7, &[]).differences(&identity(3, &["client-1"]));
        assert_eq!(
            differ,
            [
                "the seed (7 here, 3 there)",
                "the exercises chosen with -e (all here, client-1 there)"
            ]
        );
        let mut changed = identity(7, &[]);
        changed.exercises[0]["points"] = 2.into();
        assert!(changed.differences(&identity(7, &[]))[0].starts_with("the exercises ("));
    }

    #[test]
    fn the_same_exercises_chosen_in_another_order_are_the_same_run() {
        let differ = identity(7, &["client-2", "client-1"])
            .differences(&identity(7, &["client-1", "client-2", "client-1"]));
        assert!(differ.is_empty(), "{differ:?}");
    }

    #[test]
    fn a_seed_beyond_two_to_the_53_survives_as_a_string() {
        let seed = u64::MAX - 1;
        let written = crate::report::json::pretty(&identity(seed, &[]));
        let value: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(value["seed"], seed.to_string());
        let back: RunIdentity = serde_json::from_slice(&written).unwrap();
        assert_eq!(back.seed(), Some(seed));
    }

    #[test]
    fn writes_and_reads_back() {
        let out = tempfile::tempdir().unwrap();
        assert_eq!(read(out.path()).unwrap(), None);
        write(out.path(), &identity(7, &[])).unwrap();
        assert_eq!(read(out.path()).unwrap(), Some(identity(7, &[])));
        std::fs::write(out.path().join(FILE), "{").unwrap();
        assert!(read(out.path()).is_err());
    }
}
