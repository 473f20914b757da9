//! Control groups for student programs: where this machine has them (v1
//! controllers or the unified v2 hierarchy) and whether sockgrade may
//! create its own beneath its current ones (normally only as root).

use crate::child::os_path;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The cgroups sockgrade can create here. A caller hands what it found to
/// its child graders (see `child::Request`), so they do not probe again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum CgroupKind {
    /// Separate v1 hierarchies: the folders to create groups in.
    V1 {
        /// Beneath our own memory cgroup, if that controller is mounted.
        #[serde(with = "os_path::optional")]
        memory: Option<PathBuf>,
        /// Beneath our own pids cgroup, if that controller is mounted.
        #[serde(with = "os_path::optional")]
        pids: Option<PathBuf>,
        /// Beneath our own cpu cgroup, if that controller is mounted.
        #[serde(with = "os_path::optional")]
        cpu: Option<PathBuf>,
    },
    /// The unified v2 hierarchy: our own cgroup, and which controllers its
    /// children get.
    V2 {
        /// Beneath our own cgroup.
        #[serde(with = "os_path")]
        parent: PathBuf,
        /// memory.max can be set in children.
        memory: bool,
        /// pids.max can be set in children.
        pids: bool,
        /// Children share the CPU by weight.
        cpu: bool,
    },
}

/// One of a program's cgroups, made by [`CgroupKind::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProgramCgroup {
    pub dir: PathBuf,
    pub files: CgroupFiles,
}

/// What one of a program's cgroups is joined by, counts and can do: only
/// its own files are opened (a v1 cpu cgroup has none of the counters;
/// an open that fails costs as much as one that reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CgroupFiles {
    /// The file a program's process writes "0" to, between fork and exec,
    /// to join it.
    pub join: &'static str,
    /// The file and key that count the processes the memory limit killed.
    pub oom_kills: Option<(&'static str, &'static str)>,
    /// The file and key that count the forks the process limit refused.
    pub refused_forks: Option<(&'static str, &'static str)>,
    /// `cgroup.kill` ends every member at once (v2, Linux 5.14 and later).
    pub kills_all: bool,
}

impl CgroupFiles {
    /// A v1 cgroup is joined by `tasks`, which moves the one thread that
    /// writes: the kernel then takes no lock over every thread group of
    /// the machine (`cgroup_procs_write_start` moves "current" alone
    /// without it, in every kernel since 2022, stable branches from 5.4
    /// included). A write to `cgroup.procs` takes that lock, and the first
    /// one after a quiet spell waits for an RCU grace period: see
    /// [`super::QuickMoves`]. The child is a process of one thread, so
    /// moving the thread moves the process.
    const V1: CgroupFiles = CgroupFiles {
        join: "tasks",
        oom_kills: None,
        refused_forks: None,
        kills_all: false,
    };
    const V1_MEMORY: CgroupFiles = CgroupFiles {
        oom_kills: Some(("memory.oom_control", "oom_kill")),
        ..CgroupFiles::V1
    };
    const V1_PIDS: CgroupFiles = CgroupFiles {
        refused_forks: Some(("pids.events", "max")),
        ..CgroupFiles::V1
    };

    /// A v2 cgroup with these controllers. In v2 a thread can only move
    /// alone inside a threaded subtree: a process joins by `cgroup.procs`.
    fn v2(memory: bool, pids: bool) -> CgroupFiles {
        CgroupFiles {
            join: "cgroup.procs",
            oom_kills: memory.then_some(("memory.events", "oom_kill")),
            refused_forks: pids.then_some(("pids.events", "max")),
            kills_all: true,
        }
    }
}

impl CgroupKind {
    /// Finds the cgroups this process may create children in; `None` when
    /// there are none (not root, or no cgroup file system).
    pub fn discover() -> Option<CgroupKind> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let root = Path::new("/sys/fs/cgroup");
        if root.join("cgroup.controllers").is_file() {
            let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
            let parent = root.join(path.trim_start_matches('/'));
            // Children get a controller only when it is in our
            // subtree_control; ask for it, and take what we get.
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +pids +cpu");
            let enabled =
                std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
            let kind = CgroupKind::V2 {
                memory: enabled.split_whitespace().any(|c| c == "memory"),
                pids: enabled.split_whitespace().any(|c| c == "pids"),
                cpu: enabled.split_whitespace().any(|c| c == "cpu"),
                parent,
            };
            return kind.can_create().then_some(kind);
        }
        let v1 = |controller: &str| {
            let path = own.lines().find_map(|line| {
                let mut fields = line.splitn(3, ':');
                let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
                controllers
                    .split(',')
                    .any(|c| c == controller)
                    .then_some(path)
            })?;
            let dir = root.join(controller).join(path.trim_start_matches('/'));
            dir.is_dir().then_some(dir)
        };
        let kind = CgroupKind::V1 {
            memory: v1("memory"),
            pids: v1("pids"),
            cpu: v1("cpu"),
        };
        let any = matches!(&kind, CgroupKind::V1 { memory, pids, .. } if memory.is_some() || pids.is_some());
        (any && kind.can_create()).then_some(kind)
    }

    /// The folders sockgrade creates its cgroups in.
    fn bases(&self) -> Vec<&Path> {
        match self {
            CgroupKind::V1 { memory, pids, cpu } => memory
                .iter()
                .chain(pids.iter())
                .chain(cpu.iter())
                .map(PathBuf::as_path)
                .collect(),
            CgroupKind::V2 { parent, .. } => vec![parent.as_path()],
        }
    }

    /// Removes the cgroups of graders that were killed before they could
    /// clean up (their processes with them), once they are old enough
    /// that no running grade can still own them.
    pub fn sweep_stale(&self, older_than: std::time::Duration) {
        for base in self.bases() {
            let Ok(entries) = std::fs::read_dir(base) else {
                continue;
            };
            // By name first: the hierarchy's own files outnumber ours, and
            // each look at a file's age is a system call in the grade's
            // start.
            let ours = entries.flatten().filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("sockgrade-")
            });
            for entry in ours {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > older_than));
                if stale {
                    super::confine::kill_cgroup(&entry.path());
                    let _ = std::fs::remove_dir(entry.path());
                }
            }
        }
    }

    /// Whether joining a cgroup of this kind takes the machine-wide lock
    /// whose first taking after a quiet spell is slow (see
    /// [`CgroupFiles::V1`]).
    pub(super) fn joins_take_the_global_lock(&self) -> bool {
        matches!(self, CgroupKind::V2 { .. })
    }

    /// The file that moves a process into our own cgroup (where the grader
    /// already is), in the first hierarchy we use.
    pub(super) fn own_procs_file(&self) -> Option<PathBuf> {
        self.bases().first().map(|base| base.join("cgroup.procs"))
    }

    /// Whether a child cgroup can really be made (permissions). The probe
    /// has a name of its own: the child graders of a batch probe at the
    /// same time, and with one shared name all but one would fail and
    /// grade without cgroups.
    fn can_create(&self) -> bool {
        let probe = super::confine::unique_name("sockgrade-probe");
        match self.create(&probe, 64 * 1024 * 1024) {
            Ok(cgroups) => {
                for cgroup in cgroups {
                    let _ = std::fs::remove_dir(cgroup.dir);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Creates the cgroups of one program, with its limits (one per
    /// hierarchy).
    pub(super) fn create(&self, name: &str, memory_bytes: u64) -> io::Result<Vec<ProgramCgroup>> {
        let processes = super::PROCESS_LIMIT.to_string();
        let mut made = Vec::new();
        let mut make =
            |dir: PathBuf, settings: &[(&str, String)], files: CgroupFiles| -> io::Result<()> {
                std::fs::create_dir(&dir)?;
                made.push(ProgramCgroup {
                    dir: dir.clone(),
                    files,
                });
                for (file, value) in settings {
                    std::fs::write(dir.join(file), value)?;
                }
                Ok(())
            };
        let result = match self {
            CgroupKind::V1 { memory, pids, cpu } => {
                let mut result = Ok(());
                if let Some(base) = memory {
                    result = make(
                        base.join(name),
                        &[("memory.limit_in_bytes", memory_bytes.to_string())],
                        CgroupFiles::V1_MEMORY,
                    );
                }
                if let (Ok(()), Some(base)) = (&result, pids) {
                    result = make(
                        base.join(name),
                        &[("pids.max", processes)],
                        CgroupFiles::V1_PIDS,
                    );
                }
                if let (Ok(()), Some(base)) = (&result, cpu) {
                    // A new cpu cgroup has the kernel's default weight
                    // (cpu.shares 1024), that of one ordinary process, so
                    // every program, however many processes it starts,
                    // weighs as one and none can starve the others:
                    // nothing to write.
                    result = make(base.join(name), &[], CgroupFiles::V1);
                }
                result
            }
            CgroupKind::V2 {
                parent,
                memory,
                pids,
                cpu: _,
            } => {
                let mut settings = Vec::new();
                if *memory {
                    settings.push(("memory.max", memory_bytes.to_string()));
                }
                if *pids {
                    settings.push(("pids.max", processes));
                }
                // With the cpu controller on, a new cgroup has the
                // kernel's default cpu.weight (100), as in v1.
                let result = make(
                    parent.join(name),
                    &settings,
                    CgroupFiles::v2(*memory, *pids),
                );
                if result.is_ok() && *memory {
                    // Without swap accounting this file is absent: then
                    // there is no swap to escape to either.
                    let _ = std::fs::write(parent.join(name).join("memory.swap.max"), "0");
                }
                result
            }
        };
        match result {
            Ok(()) => Ok(made),
            Err(error) => {
                for cgroup in made {
                    let _ = std::fs::remove_dir(cgroup.dir);
                }
                Err(error)
            }
        }
    }

    /// The file of a cgroup that lists the IDs of all its threads.
    pub fn thread_list_file(&self) -> &'static str {
        match self {
            CgroupKind::V1 { .. } => "tasks",
            CgroupKind::V2 { .. } => "cgroup.threads",
        }
    }

    /// Whether memory is limited by these cgroups.
    pub fn limits_memory(&self) -> bool {
        match self {
            CgroupKind::V1 { memory, .. } => memory.is_some(),
            CgroupKind::V2 { memory, .. } => *memory,
        }
    }

    /// Whether each program gets its own share of the CPU.
    pub fn shares_cpu(&self) -> bool {
        match self {
            CgroupKind::V1 { cpu, .. } => cpu.is_some(),
            CgroupKind::V2 { cpu, .. } => *cpu,
        }
    }

    /// Whether process counts are limited by these cgroups.
    pub fn limits_pids(&self) -> bool {
        match self {
            CgroupKind::V1 { pids, .. } => pids.is_some(),
            CgroupKind::V2 { pids, .. } => *pids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probes made at the same time (the child graders of a batch) all
    /// succeed: none takes another's name.
    #[test]
    fn concurrent_probes_all_find_the_cgroups() {
        let Some(kind) = CgroupKind::discover() else {
            assert!(
                !nix::unistd::Uid::effective().is_root()
                    || std::env::var_os("SOCKGRADE_STRICT_TESTS").is_none(),
                "SOCKGRADE_STRICT_TESTS is set, but root finds no cgroups"
            );
            eprintln!("skipped: no cgroups this process may create");
            return;
        };
        let barrier = std::sync::Barrier::new(16);
        let found = std::thread::scope(|scope| {
            let probes: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        (0..20).all(|_| kind.can_create())
                    })
                })
                .collect();
            probes
                .into_iter()
                .map(|probe| probe.join().unwrap())
                .filter(|&all| all)
                .count()
        });
        assert_eq!(found, 16, "every concurrent probe finds the cgroups");
    }
}
