//! `--shard auto`: which part of the batch this run grades, read from the
//! environment a scheduler gives each task of an array, so no job script
//! does arithmetic on indices:
//!
//! - Slurm job arrays: `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_MIN`,
//!   `SLURM_ARRAY_TASK_MAX` and `SLURM_ARRAY_TASK_STEP` (or
//!   `SLURM_ARRAY_TASK_COUNT`), so `--array=1-8`, `0-7` and `1-15:2` all work;
//! - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (from 0), with the
//!   count from `--shard auto/N` or `SOCKGRADE_SHARD_COUNT`;
//! - anything else, GitHub Actions matrices included:
//!   `SOCKGRADE_SHARD_INDEX` (from 0) and `SOCKGRADE_SHARD_COUNT`, set from
//!   `strategy.job-index` and `strategy.job-total`.

use super::Shard;

/// What `--shard` was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardRequest {
    /// `K/N`.
    Fixed(Shard),
    /// `auto`, or `auto/N` with the count given.
    Auto { count: Option<usize> },
}

impl std::str::FromStr for ShardRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<ShardRequest, String> {
        match text.trim().strip_prefix("auto") {
            Some("") => Ok(ShardRequest::Auto { count: None }),
            Some(rest) => match rest.strip_prefix('/').map(str::parse::<usize>) {
                Some(Ok(count)) if count >= 1 => Ok(ShardRequest::Auto { count: Some(count) }),
                _ => Err(format!(
                    "`{text}` is not a shard: write auto, auto/N (N ≥ 1) or K/N"
                )),
            },
            None => text.parse().map(ShardRequest::Fixed),
        }
    }
}

impl ShardRequest {
    /// The shard this run grades, and where it came from (for a note);
    /// `env` reads a variable (the process's environment, or a test's).
    pub fn resolve(
        self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Shard, Option<String>), String> {
        match self {
            ShardRequest::Fixed(shard) => Ok((shard, None)),
            ShardRequest::Auto { count } => from_environment(&env, count),
        }
    }
}

/// A number from variable `name`, if it is set; an error if it is set to
/// something else.
fn number(env: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<usize>, String> {
    match env(name) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} is `{text}`, not a whole number")),
    }
}

fn from_environment(
    env: &impl Fn(&str) -> Option<String>,
    count_given: Option<usize>,
) -> Result<(Shard, Option<String>), String> {
    let given_count = || -> Result<Option<usize>, String> {
        Ok(count_given.or(number(env, "SOCKGRADE_SHARD_COUNT")?))
    };
    let shard = |index: usize, count: usize, from: String| {
        if count == 0 || index >= count {
            return Err(format!(
                "{from} gives shard {} of {count}, which does not exist",
                index + 1
            ));
        }
        Ok((
            Shard {
                index: index + 1,
                count,
            },
            Some(from),
        ))
    };
    if let Some(id) = number(env, "SLURM_ARRAY_TASK_ID")? {
        let min = number(env, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number(env, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let count = match (
            number(env, "SLURM_ARRAY_TASK_COUNT")?,
            number(env, "SLURM_ARRAY_TASK_MAX")?,
        ) {
            (Some(count), _) => count,
            (None, Some(max)) if max >= min => (max - min) / step + 1,
            _ => {
                return Err(
                    "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or \
                     SLURM_ARRAY_TASK_MAX: is this a job array (sbatch --array)?"
                        .to_string(),
                );
            }
        };
        if id < min || (id - min) % step != 0 {
            return Err(format!(
                "SLURM_ARRAY_TASK_ID {id} is not in the array from {min} by {step}"
            ));
        }
        let from = format!("SLURM_ARRAY_TASK_ID={id} of {count} tasks");
        return shard((id - min) / step, count, from);
    }
    if let Some(index) = number(env, "JOB_COMPLETION_INDEX")? {
        let Some(count) = given_count()? else {
            return Err(
                "JOB_COMPLETION_INDEX is set, but not how many completions the Job has: \
                 write --shard auto/N or set SOCKGRADE_SHARD_COUNT to the Job's completions"
                    .to_string(),
            );
        };
        return shard(
            index,
            count,
            format!("JOB_COMPLETION_INDEX={index} of {count}"),
        );
    }
    if let Some(index) = number(env, "SOCKGRADE_SHARD_INDEX")? {
        let Some(count) = given_count()? else {
            return Err(
                "SOCKGRADE_SHARD_INDEX is set without SOCKGRADE_SHARD_COUNT (or --shard auto/N)"
                    .to_string(),
            );
        };
        return shard(
            index,
            count,
            format!("SOCKGRADE_SHARD_INDEX={index} of {count}"),
        );
    }
    Err(
        "--shard auto found no scheduler's shard in the environment: it reads \
         SLURM_ARRAY_TASK_ID (Slurm job arrays), JOB_COMPLETION_INDEX (Kubernetes Indexed \
         Jobs) or SOCKGRADE_SHARD_INDEX and SOCKGRADE_SHARD_COUNT (anything else, such as a \
         GitHub Actions matrix); elsewhere write --shard K/N"
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(request: &str, vars: &[(&str, &str)]) -> Result<(usize, usize), String> {
        let request: ShardRequest = request.parse()?;
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        request
            .resolve(env)
            .map(|(shard, _)| (shard.index, shard.count))
    }

    #[test]
    fn slurm_arrays_from_one_from_zero_and_with_a_step() {
        let one_based = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ];
        assert_eq!(resolve("auto", &one_based), Ok((3, 8)));
        let zero_based = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
        ];
        assert_eq!(resolve("auto", &zero_based), Ok((1, 8)));
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "15"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(resolve("auto", &stepped), Ok((3, 8)));
        let not_an_array = [("SLURM_ARRAY_TASK_ID", "5")];
        assert!(
            resolve("auto", &not_an_array)
                .unwrap_err()
                .contains("job array")
        );
    }

    #[test]
    fn kubernetes_indexed_jobs_need_the_count_once() {
        let index = [("JOB_COMPLETION_INDEX", "2")];
        assert_eq!(resolve("auto/4", &index), Ok((3, 4)));
        let with_count = [
            ("JOB_COMPLETION_INDEX", "0"),
            ("SOCKGRADE_SHARD_COUNT", "4"),
        ];
        assert_eq!(resolve("auto", &with_count), Ok((1, 4)));
        assert!(resolve("auto", &index).unwrap_err().contains("completions"));
        assert!(
            resolve("auto/2", &index)
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn any_other_scheduler_sets_sockgrades_own_variables() {
        let matrix = [
            ("SOCKGRADE_SHARD_INDEX", "1"),
            ("SOCKGRADE_SHARD_COUNT", "3"),
        ];
        assert_eq!(resolve("auto", &matrix), Ok((2, 3)));
        let bad = [
            ("SOCKGRADE_SHARD_INDEX", "x"),
            ("SOCKGRADE_SHARD_COUNT", "3"),
        ];
        assert!(
            resolve("auto", &bad)
                .unwrap_err()
                .contains("not a whole number")
        );
    }

    #[test]
    fn with_no_scheduler_it_says_what_it_looked_for() {
        let error = resolve("auto", &[]).unwrap_err();
        for name in [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "SOCKGRADE_SHARD_INDEX",
        ] {
            assert!(error.contains(name), "{error}");
        }
        assert_eq!(resolve("2/5", &[]), Ok((2, 5)));
        assert!("auto/0".parse::<ShardRequest>().is_err());
        assert!("autox".parse::<ShardRequest>().is_err());
    }
}
