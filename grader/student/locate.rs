//! The submission contract: finding the program for an exercise in a
//! submission folder, from its manifest or from a file named after the
//! exercise, and the interpreter that runs it.

use super::copy::{Meta, Type, refusal};
use crate::platform;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The optional manifest in a submission folder.
pub const MANIFEST: &str = "sockgrade.json";

/// `sockgrade.json`: commands per exercise, and a build run once first.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    /// A shell command run once in the submission's copy before grading.
    #[serde(default)]
    pub build: Option<String>,
    /// The command for each exercise id, split like a shell would
    /// (`"./solution client-1"`); the exercise's arguments are appended.
    #[serde(default)]
    pub exercises: BTreeMap<String, String>,
}

/// Why a manifest cannot be used.
#[derive(Debug)]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// What is wrong, with line and column when it is a syntax error.
    pub problem: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for ManifestError {}

/// The largest manifest read: a manifest is a few lines, and a link to
/// `/dev/zero` must not fill the grader's memory.
pub const MANIFEST_LIMIT: u64 = 64 << 10;

impl Manifest {
    /// Reads the manifest of `folder`, if it has one. It is read only when
    /// it is the submission's own regular file: never through a link,
    /// never a FIFO (which would block) or a device, never another user's
    /// file (whose text a syntax error would quote), and at most
    /// [`MANIFEST_LIMIT`] bytes.
    pub fn read(folder: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = folder.join(MANIFEST);
        let problem = |problem: String| ManifestError {
            path: path.clone(),
            problem,
        };
        let Some(text) = read_own_file(folder, &path).map_err(problem)? else {
            return Ok(None);
        };
        // The student's own file: quoting it in an error is fine.
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| problem(format!("line {} column {}: {e}", e.line(), e.column())))?;
        for (id, command) in &manifest.exercises {
            if shell_words::split(command).map_or(true, |words| words.is_empty()) {
                return Err(problem(format!(
                    "the command for `{id}` is empty or has unbalanced quotes"
                )));
            }
        }
        Ok(Some(manifest))
    }
}

/// The text of `path` in the submission `folder`, or `None` when there is
/// no such entry; the error never holds any of the file's content.
fn read_own_file(folder: &Path, path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot be read: {e}");
    let owner = Meta::of(&std::fs::metadata(folder).map_err(cannot)?).uid;
    let listed = match std::fs::symlink_metadata(path) {
        Ok(metadata) => Meta::of(&metadata),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    check_own_file(&listed, owner)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO opens at once, and is refused below.
    platform::open_without_following(&mut options);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if platform::is_link_loop(&e) => return Err(SYMLINK.to_string()),
        Err(e) => return Err(cannot(e)),
    };
    // Checked again on what was opened: it may have been swapped since.
    check_own_file(&Meta::of(&file.metadata().map_err(cannot)?), owner)?;
    let mut bytes = Vec::new();
    file.take(MANIFEST_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MANIFEST_LIMIT {
        return Err(format!(
            "is larger than the limit of {} KiB for a manifest: it only needs a command per exercise",
            MANIFEST_LIMIT >> 10
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "is not UTF-8 text: save it as UTF-8 JSON".to_string())
}

const SYMLINK: &str =
    "is a symbolic link, which is not read: commit the manifest itself, as a regular file";

/// Refuses anything but the submission's own regular file.
fn check_own_file(meta: &Meta, owner: u32) -> Result<(), String> {
    match meta.kind {
        Type::File => match refusal(meta, owner) {
            Some(reason) => Err(format!(
                "is not read: it is {reason}; commit a manifest of your own"
            )),
            None => Ok(()),
        },
        Type::Link => Err(SYMLINK.to_string()),
        Type::Folder => Err("is a folder: make it a JSON file".to_string()),
        _ => Err(format!(
            "is not read: it is {}; make it a JSON file",
            refusal(meta, owner).unwrap_or("not a regular file")
        )),
    }
}

/// An interpreter that runs a kind of script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interpreter {
    /// Python 3, for `.py`.
    Python,
    /// bash, for `.sh`.
    Bash,
    /// Node.js, for `.js`.
    Node,
}

impl Interpreter {
    /// The language, as the contract's description names it.
    pub fn language(self) -> &'static str {
        match self {
            Interpreter::Python => "Python 3",
            Interpreter::Bash => "bash",
            Interpreter::Node => "Node.js",
        }
    }

    /// The command name students know it by.
    pub fn name(self) -> &'static str {
        match self {
            Interpreter::Python => "python3",
            Interpreter::Bash => "bash",
            Interpreter::Node => "node",
        }
    }

    /// Finds the interpreter on this machine. Python is asked for its own
    /// executable where `python3` on PATH may be a version manager's shim
    /// (pyenv, asdf: scripts; mise: a link to mise) that costs tens of
    /// milliseconds per start: paying that once instead of once per
    /// exercise is most of a grade's time. Asking starts a process, one
    /// Python start before the first program can start, so it is skipped
    /// where PATH leads to an interpreter itself ([`is_an_interpreter`]).
    /// Call this once, and only when a program needs it.
    ///
    /// With a `user` (programs run as another user when sockgrade is
    /// root), only an interpreter that user may execute counts: a Python
    /// installed under /root is skipped for a system one.
    pub fn find(self, user: Option<(u32, u32)>) -> Option<PathBuf> {
        let usable = |path: &PathBuf| user.is_none_or(|user| platform::executable_by(path, user));
        let mut on_path = all_on_path(self.name());
        // Asking Python for its real executable costs a start (and a
        // shim's): worth it only when the one on PATH is usable at all, and
        // may be a shim.
        if self == Interpreter::Python
            && on_path
                .first()
                .is_some_and(|first| usable(first) && !is_an_interpreter(first))
        {
            on_path.splice(0..0, resolve_python());
        }
        if let Some(found) = on_path.iter().find(|p| usable(p)) {
            return Some(found.clone());
        }
        // Installed, but where the programs' user cannot reach it (pyenv
        // under /root): the system's own, if it has one.
        let fallbacks = ["/usr/bin", "/usr/local/bin"].map(|dir| Path::new(dir).join(self.name()));
        let reachable = |p: &PathBuf| platform::is_executable(p) && usable(p);
        (user.is_some() && !on_path.is_empty())
            .then(|| fallbacks.into_iter().find(reachable))
            .flatten()
    }
}

/// The interpreters of this machine, each looked up the first time a
/// program needs it (a C submission never pays for finding Python), then
/// shared by every exercise and every clone.
#[derive(Debug, Clone, Default)]
pub struct Interpreters {
    found: Arc<[OnceCell<Option<PathBuf>>; 3]>,
    user: Option<(u32, u32)>,
}

impl Interpreters {
    /// Interpreters that `user` (the user programs run as, if not us) may
    /// execute.
    pub fn for_user(user: Option<(u32, u32)>) -> Interpreters {
        Interpreters {
            found: Arc::default(),
            user,
        }
    }

    /// The path of `interpreter`, or `None` when this machine lacks it.
    pub async fn get(&self, interpreter: Interpreter) -> Option<PathBuf> {
        let cell = &self.found[interpreter as usize];
        let user = self.user;
        let lookup = || async move {
            tokio::task::spawn_blocking(move || interpreter.find(user))
                .await
                .ok()
                .flatten()
        };
        cell.get_or_init(lookup).await.clone()
    }
}

/// Whether `path` leads to a Python interpreter itself rather than to a
/// shim that starts one: its real file (links followed) is named for a
/// version, as installed interpreters are (`python3.11`, `python3.13t`:
/// Debian's, Homebrew's, conda's, a venv's link), and is no script. A
/// shim is a script (pyenv, asdf), a link to another program (mise), or a
/// stub named plainly `python3` (macOS's /usr/bin/python3, which asks
/// xcrun each time).
fn is_an_interpreter(path: &Path) -> bool {
    use std::io::Read;
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    let versioned = real.file_name().is_some_and(|name| {
        name.to_string_lossy()
            .strip_prefix("python3.")
            .is_some_and(|minor| minor.starts_with(|c: char| c.is_ascii_digit()))
    });
    let mut head = [0; 2];
    let binary = std::fs::File::open(&real)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| &head != b"#!");
    versioned && binary
}

fn resolve_python() -> Option<PathBuf> {
    let found = ["python3", "python"]
        .iter()
        .find_map(|name| find_on_path(name))?;
    let output = std::process::Command::new(&found)
        .args([
            "-c",
            "import sys; print(sys.version_info[0]); print(sys.executable)",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    if lines.next() != Some("3") {
        return None;
    }
    let real = lines.next().map(PathBuf::from).filter(|p| p.is_file());
    Some(real.unwrap_or(found))
}

/// Every executable called `name` on PATH, in PATH order.
fn all_on_path(name: &str) -> Vec<PathBuf> {
    std::env::var_os("PATH").map_or_else(Vec::new, |path| all_in(name, path))
}

/// The first executable called `name` on PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    all_on_path(name).into_iter().next()
}

/// Every executable called `name` in the folders of `path` (a PATH
/// value), in order, as the OS looks for programs: a file with an execute
/// bit on Unix, a file named with one of PATHEXT's extensions on Windows
/// (`python3` is `python3.exe` there).
fn all_in(name: &str, path: OsString) -> Vec<PathBuf> {
    which::WhichConfig::new()
        .binary_name(name.into())
        .custom_path_list(path)
        .all_results()
        .map_or_else(|_| Vec::new(), Iterator::collect)
}

/// The program found for one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The interpreter to run `argv` with, for a script.
    pub interpreter: Option<Interpreter>,
    /// The command to run (after the interpreter, if any), before the
    /// exercise's own arguments.
    pub argv: Vec<OsString>,
    /// The command as a student would type it, for reports.
    pub display: String,
    /// The student's file that is run, relative to the submission (none
    /// for a manifest's command).
    pub file: Option<String>,
}

/// The outcome of looking for an exercise's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// Found and runnable.
    Found(Program),
    /// No program: the file names that were tried, and the files named
    /// after the exercise that are there but that the contract does not
    /// run (`client-1.rb`, a `client-1` without its execute bit).
    Missing {
        tried: Vec<String>,
        unrunnable: Vec<String>,
    },
}

/// The most entries of a submission folder looked through for a file
/// named after a missing exercise: a folder of a million files must not
/// make every missing exercise slow.
const UNRUNNABLE_SCAN_LIMIT: usize = 10_000;

/// Files in `folder` named after the exercise (either spelling), with an
/// extension the contract does not run or no execute bit: what the
/// student meant as the program.
fn unrunnable_files(folder: &Path, stems: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .take(UNRUNNABLE_SCAN_LIMIT)
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| {
            let stem = name.split_once('.').map_or(name.as_str(), |(stem, _)| stem);
            stems.iter().any(|wanted| wanted == stem)
        })
        .collect();
    found.sort();
    found
}

/// How to make `file`, found for `exercise_id` but not run by the
/// contract, run: a manifest naming its command, or an executable named
/// after the exercise with a `#!` line.
pub fn how_to_run(exercise_id: &str, file: &str) -> String {
    let Some((_, extension)) = file.rsplit_once('.') else {
        return format!(
            "{file} is here but not executable: make it executable (chmod +x {file}) and start it with a \
             #! line naming its interpreter (such as #!/usr/bin/env python3)"
        );
    };
    let known = SCRIPT_KINDS
        .iter()
        .map(|(extension, _)| format!(".{extension}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (command, shebang) = match extension {
        "rb" => (format!("ruby {file}"), Some("ruby")),
        "pl" => (format!("perl {file}"), Some("perl")),
        "php" => (format!("php {file}"), Some("php")),
        "lua" => (format!("lua {file}"), Some("lua")),
        "tcl" => (format!("tclsh {file}"), Some("tclsh")),
        "java" => (format!("java {file}"), None),
        "go" => (format!("go run {file}"), None),
        _ => ("the command that runs it".to_string(), None),
    };
    let manifest = format!(
        "add a manifest {MANIFEST} naming its command, {{\"exercises\": {{\"{exercise_id}\": \"{command}\"}}}}"
    );
    match shebang {
        Some(interpreter) => format!(
            "{file} is here, but only {known} files (or an executable {exercise_id}) run by their name: {manifest}, \
             or rename it {exercise_id}, start it with #!/usr/bin/env {interpreter} and make it executable \
             (chmod +x {exercise_id})"
        ),
        None => format!(
            "{file} is here, but only {known} files (or an executable {exercise_id}) run by their name: {manifest}"
        ),
    }
}

/// The kinds of script the contract knows, by extension, in the order
/// they are looked for; the first is the notebook's own (Python). Every
/// description of the contract (`explain`, the terminal's missing line)
/// is made from this table, so it cannot drift from what is looked for.
pub const SCRIPT_KINDS: &[(&str, Interpreter)] = &[
    ("py", Interpreter::Python),
    ("sh", Interpreter::Bash),
    ("js", Interpreter::Node),
];

pub use crate::exercise::underscored;

/// Names of a program for `exercise_id`, for a message that shows what to
/// call it: the first script kind under both spellings, then the other
/// kinds (`client-5.py, client_5.py, client-5.sh, client-5.js`).
pub fn example_names(exercise_id: &str) -> Vec<String> {
    let (first, others) = SCRIPT_KINDS
        .split_first()
        .expect("the contract knows a script kind");
    let mut names = vec![format!("{exercise_id}.{}", first.0)];
    if underscored(exercise_id) != exercise_id {
        names.push(format!("{}.{}", underscored(exercise_id), first.0));
    }
    names.extend(
        others
            .iter()
            .map(|(extension, _)| format!("{exercise_id}.{extension}")),
    );
    names
}

/// Finds the program for `exercise_id` in `folder`. Paths in the command
/// are relative to the folder, which is the program's working directory.
pub fn locate(folder: &Path, exercise_id: &str, manifest: Option<&Manifest>) -> Located {
    if let Some(command) = manifest.and_then(|m| m.exercises.get(exercise_id)) {
        // Validated when the manifest was read.
        let words = shell_words::split(command).unwrap_or_default();
        return Located::Found(Program {
            interpreter: None,
            argv: words.into_iter().map(OsString::from).collect(),
            display: command.clone(),
            file: None,
        });
    }
    let stems = [exercise_id.to_string(), underscored(exercise_id)];
    let mut tried = Vec::new();
    for stem in &stems {
        for (extension, interpreter) in SCRIPT_KINDS {
            let file = format!("{stem}.{extension}");
            tried.push(file.clone());
            if folder.join(&file).is_file() {
                return Located::Found(Program {
                    interpreter: Some(*interpreter),
                    argv: vec![file.clone().into()],
                    display: format!("{} {file}", interpreter.name()),
                    file: Some(file.clone()),
                });
            }
        }
    }
    for stem in &stems {
        tried.push(stem.clone());
        if platform::is_executable(&folder.join(stem)) {
            return Located::Found(Program {
                interpreter: None,
                argv: vec![format!("./{stem}").into()],
                display: format!("./{stem}"),
                file: Some(stem.clone()),
            });
        }
    }
    if stems[0] == stems[1] {
        tried.dedup();
    }
    Located::Missing {
        tried,
        unrunnable: unrunnable_files(folder, &stems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn python_on_path_is_asked_for_its_executable_only_where_it_may_be_a_shim() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let interpreter = file("python3.11", b"\x7fELF\x02\x01");
        let free_threaded = file("python3.13t", b"\x7fELF\x02\x01");
        let script = file(
            "python3.12",
            b"#!/usr/bin/env bash\nexec pyenv exec python3",
        );
        let plain_stub = file("python3", b"\xcf\xfa\xed\xfe");
        let manager = file("mise", b"\x7fELF\x02\x01");
        let venv_link = dir.path().join("venv-python3");
        symlink(&interpreter, &venv_link).unwrap();
        let manager_link = dir.path().join("shim-python3");
        symlink(&manager, &manager_link).unwrap();
        assert!(is_an_interpreter(&interpreter));
        assert!(is_an_interpreter(&free_threaded));
        assert!(is_an_interpreter(&venv_link));
        assert!(!is_an_interpreter(&script), "a script shim");
        assert!(!is_an_interpreter(&plain_stub), "a stub named python3");
        assert!(
            !is_an_interpreter(&manager_link),
            "a link to a version manager"
        );
        assert!(!is_an_interpreter(&dir.path().join("missing")));
    }

    #[test]
    fn the_names_messages_suggest_are_names_that_are_looked_for() {
        assert_eq!(
            example_names("client-5"),
            ["client-5.py", "client_5.py", "client-5.sh", "client-5.js"]
        );
        let empty = tempfile::tempdir().unwrap();
        for id in ["client-5", "server-demo"] {
            let Located::Missing { tried, .. } = locate(empty.path(), id, None) else {
                panic!("found a program in an empty folder");
            };
            for name in example_names(id) {
                assert!(
                    tried.contains(&name),
                    "{name} is suggested but not looked for: {tried:?}"
                );
            }
        }
    }

    #[test]
    fn finds_scripts_by_dash_or_underscore_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("client_1.py"), "").unwrap();
        let found = locate(dir.path(), "client-1", None);
        assert_eq!(
            found,
            Located::Found(Program {
                interpreter: Some(Interpreter::Python),
                argv: vec!["client_1.py".into()],
                display: "python3 client_1.py".into(),
                file: Some("client_1.py".into()),
            })
        );
    }

    #[test]
    fn lists_what_it_tried_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let Located::Missing { tried, unrunnable } = locate(dir.path(), "server-2", None) else {
            panic!("expected missing");
        };
        assert!(tried.contains(&"server-2.py".to_string()));
        assert!(tried.contains(&"server_2.sh".to_string()));
        assert!(tried.contains(&"server-2".to_string()));
        assert!(unrunnable.is_empty());
    }

    #[test]
    fn names_files_meant_as_the_program_that_do_not_run_by_their_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "client-1.rb",
            "client_1.notes.txt",
            "client-10.rb",
            "server-2",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let Located::Missing { unrunnable, .. } = locate(dir.path(), "client-1", None) else {
            panic!("expected missing");
        };
        assert_eq!(unrunnable, ["client-1.rb", "client_1.notes.txt"]);
        let ruby = how_to_run("client-1", "client-1.rb");
        assert!(
            ruby.contains(r#"{"exercises": {"client-1": "ruby client-1.rb"}}"#),
            "{ruby}"
        );
        assert!(
            ruby.contains("#!/usr/bin/env ruby") && ruby.contains("chmod +x client-1"),
            "{ruby}"
        );
        let Located::Missing { unrunnable, .. } = locate(dir.path(), "server-2", None) else {
            panic!("a file without its execute bit is not run");
        };
        assert_eq!(unrunnable, ["server-2"]);
        assert!(how_to_run("server-2", "server-2").contains("chmod +x server-2"));
    }

    #[test]
    fn the_manifest_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("client-1.py"), "").unwrap();
        let manifest: Manifest =
            serde_json::from_str(r#"{"exercises": {"client-1": "./solution 'client 1'"}}"#)
                .unwrap();
        let Located::Found(program) = locate(dir.path(), "client-1", Some(&manifest)) else {
            panic!("expected found");
        };
        assert_eq!(program.argv, ["./solution", "client 1"]);
    }

    #[test]
    fn broken_manifests_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(MANIFEST),
            "{\n \"exercises\": {\"a\": 1}\n}",
        )
        .unwrap();
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("sockgrade.json: line 2 column"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn path_lookup_skips_what_is_not_an_executable_file_and_keeps_path_order() {
        use std::os::unix::fs::PermissionsExt;
        let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let put = |dir: &tempfile::TempDir, mode: u32| {
            let file = dir.path().join("python3");
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            file
        };
        put(&dirs[0], 0o644);
        std::fs::create_dir(dirs[1].path().join("python3")).unwrap();
        let first = put(&dirs[2], 0o755);
        let second = put(&dirs[3], 0o700);
        let path = std::env::join_paths(dirs.iter().map(|dir| dir.path())).unwrap();
        assert_eq!(all_in("python3", path), [first, second]);
    }

    #[cfg(windows)]
    #[test]
    fn path_lookup_finds_a_program_by_its_windows_extension() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("python3.exe");
        std::fs::write(&exe, "").unwrap();
        let found = all_in("python3", dir.path().as_os_str().to_owned());
        assert_eq!(found, [exe]);
    }

    #[cfg(unix)]
    #[test]
    fn a_manifest_that_is_a_link_is_refused_without_reading_its_target() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("token");
        std::fs::write(&secret, "{\"exercises\": {\"ghp_secret_token\": 1}}").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join(MANIFEST)).unwrap();
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is a symbolic link"), "{error}");
        assert!(!error.contains("ghp_secret_token"), "{error}");
        std::fs::remove_file(dir.path().join(MANIFEST)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(MANIFEST)).unwrap();
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is a symbolic link"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn a_manifest_that_is_a_fifo_or_a_folder_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Reading the FIFO would block this test forever.
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("FIFO"), "{error}");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is a folder"), "{error}");
    }

    #[test]
    fn a_manifest_over_the_limit_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let padding = " ".repeat(MANIFEST_LIMIT as usize);
        std::fs::write(dir.path().join(MANIFEST), format!("{{{padding}}}")).unwrap();
        let error = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("limit of 64 KiB"), "{error}");
        std::fs::write(dir.path().join(MANIFEST), format!("{{{}}}", &padding[2..])).unwrap();
        assert!(Manifest::read(dir.path()).unwrap().is_some());
    }
}
