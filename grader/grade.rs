//! Grading one submission: the private copy and the optional build, then
//! every selected exercise (concurrently, since their ports differ), each
//! turned into an [`ExerciseResult`]. A batch calls [`grade_submission`]
//! once per submission.

use crate::error::Error;
use crate::exercise::{Exercise, ExerciseSet, Role, Values, exercise_seed};
use crate::hints;
use crate::outcome::{ExerciseResult, ExitInfo, Status, SubmissionReport, ToolInfo};
use crate::peer::{self, Connection, Conversation, Failure, FailureKind, Listening};
use crate::platform;
use crate::sandbox::{Confinement, Isolation, PROCESS_LIMIT, Protections, SandboxConfig, Usage};
use crate::student::{
    ExerciseFolders, Finished, HeldSlot, Interpreters, Launch, Located, MOST_EXTENSION, Manifest,
    Program, ProgramClock, Running, START_ATTEMPTS, Skipped, StartSlots, Workspace,
    is_harness_start_failure, locate,
};
use crate::transcript::Recorder;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::{Instant, timeout};

/// The host students connect to and listen on.
pub const HOST: &str = "127.0.0.1";
/// Longest a manifest's build command may run (before `--timeout-scale`).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// After the connection closed, how long to wait for the program's exit
/// status, to tell a crash from a clean close.
const EXIT_SETTLE: Duration = Duration::from_millis(250);

/// How to grade: shared by every exercise of a run.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The seed of every random value.
    pub seed: u64,
    /// Multiplies every timeout (slow machines, debugging).
    pub timeout_scale: f64,
    /// How many exercises run at once.
    pub jobs: usize,
    /// Exercise ids to grade; empty means all.
    pub only: Vec<String>,
    /// The start slots shared by a batch's graders (see `student::StartSlots`).
    pub start_slots: Option<std::path::PathBuf>,
    /// Memory limit and user of the student's programs.
    pub sandbox: SandboxConfig,
}

/// What grading needs from the machine, found once per run.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Interpreters for `.py`, `.sh` and `.js` programs.
    pub interpreters: Interpreters,
    /// The host name a student's server may report.
    pub hostname: String,
    /// The isolation in force.
    pub isolation: Isolation,
    /// Slots bounding how many programs start at once, in a batch.
    pub start_slots: Option<StartSlots>,
    /// What confines each program.
    pub protections: Protections,
}

impl Environment {
    /// Looks at this machine; also returns the protections it lacks, in
    /// words. A `--run-as` user that does not exist is bad input.
    pub fn discover(sandbox: &SandboxConfig) -> Result<(Environment, Vec<String>), Error> {
        let (protections, missing) = Protections::discover(sandbox).map_err(Error::bad_input)?;
        let environment = Environment {
            interpreters: Interpreters::for_user(protections.run_as),
            hostname: platform::hostname(),
            isolation: Isolation::default(),
            start_slots: None,
            protections,
        };
        Ok((environment, missing))
    }
}

/// Grades the submission in `folder` on the exercises of `set`.
pub async fn grade_submission(
    folder: &Path,
    set: &ExerciseSet,
    options: &GradeOptions,
    environment: &Environment,
) -> Result<SubmissionReport, Error> {
    let started = Instant::now();
    if !folder.is_dir() {
        return Err(Error::bad_input(format!(
            "{} is not a folder: give the folder that holds the programs (client-1.py, ...)",
            folder.display()
        )));
    }
    if let Err(e) = std::fs::read_dir(folder) {
        return Err(Error::bad_input(format!(
            "cannot read the submission folder {}: check its permissions",
            folder.display()
        ))
        .with_source(e));
    }
    let selected = select(set, &options.only)?;
    let manifest = Manifest::read(folder)
        .map_err(|e| Error::bad_input(format!("the submission's manifest is broken: {e}")))?;
    let owner = environment.protections.run_as;
    let workspace = match Workspace::prepare(folder, owner) {
        Ok(workspace) => workspace,
        // Over a limit: every exercise says so, and none is blamed on the
        // program, which never ran.
        Err(e) if e.is_limit() => {
            let exercises = selected
                .iter()
                .map(|exercise| {
                    let mut result = ExerciseResult::new(
                        &exercise.id,
                        &exercise.title,
                        exercise.points,
                        Status::Error,
                        "",
                    );
                    result.message = e.to_string();
                    result
                })
                .collect();
            return Ok(report(
                folder,
                set,
                options,
                environment,
                started,
                exercises,
            ));
        }
        Err(e) => {
            return Err(Error::bad_input(format!(
                "cannot copy {} to a private folder: check that it is readable",
                folder.display()
            ))
            .with_source(e));
        }
    };

    let build_failure = match manifest.as_ref().and_then(|m| m.build.as_deref()) {
        Some(command) => {
            build(
                command,
                &workspace,
                &environment.protections,
                options.timeout_scale,
            )
            .await
        }
        None => None,
    };

    let folders = match build_failure {
        Some(_) => HashMap::new(),
        None => exercise_folders(&workspace, manifest.as_ref(), &selected),
    };
    let context = Arc::new(Context {
        folder: folder.to_path_buf(),
        workspace,
        manifest,
        options: options.clone(),
        environment: environment.clone(),
        build_failure,
        folders: std::sync::Mutex::new(folders),
    });
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    // Exercises of an instructor's file may share a port: those take turns.
    let mut port_turns: HashMap<u16, Arc<Mutex<()>>> = HashMap::new();
    let mut tasks = Vec::new();
    for exercise in selected {
        let context = Arc::clone(&context);
        let permits = Arc::clone(&permits);
        let turn = exercise
            .port
            .map(|port| Arc::clone(port_turns.entry(port).or_default()));
        let exercise = exercise.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = match &turn {
                Some(turn) => Some(turn.lock().await),
                None => None,
            };
            let _permit = permits.acquire_owned().await;
            grade_exercise(&exercise, &context).await
        }));
    }
    let mut exercises = Vec::new();
    for task in tasks {
        exercises.push(
            task.await
                .map_err(|e| Error::internal(format!("an exercise's task failed: {e}")))?,
        );
    }
    Ok(report(
        folder,
        set,
        options,
        environment,
        started,
        exercises,
    ))
}

/// The report of a submission from its exercises' results.
fn report(
    folder: &Path,
    set: &ExerciseSet,
    options: &GradeOptions,
    environment: &Environment,
    started: Instant,
    exercises: Vec<ExerciseResult>,
) -> SubmissionReport {
    let name = folder
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| folder.display().to_string());
    SubmissionReport {
        schema_version: crate::outcome::SCHEMA_VERSION,
        tool: ToolInfo::default(),
        submission: name,
        path: folder.display().to_string(),
        seed: options.seed,
        exercises_source: set.source.clone(),
        isolation: environment.isolation.as_str().to_string(),
        protections: environment.protections.describe(),
        score: exercises.iter().map(|e| e.score).sum(),
        max_score: exercises.iter().map(|e| e.max_score).sum(),
        duration_ms: started.elapsed().as_millis() as u64,
        grader_max_rss_kib: platform::peak_rss_kib(),
        exercises,
    }
}

/// The exercises named by `--exercise`, in the file's order; all if none.
fn select<'a>(set: &'a ExerciseSet, only: &[String]) -> Result<Vec<&'a Exercise>, Error> {
    if let Some(unknown) = only.iter().find(|id| set.get(id).is_none()) {
        return Err(Error::bad_input(format!(
            "there is no exercise `{unknown}`; the exercises are: {}",
            set.ids()
        )));
    }
    Ok(set
        .exercises
        .iter()
        .filter(|e| only.is_empty() || only.contains(&e.id))
        .collect())
}

/// Everything an exercise's task needs.
#[derive(Debug)]
struct Context {
    /// The submission as given (for paths shown to the student).
    folder: std::path::PathBuf,
    workspace: Workspace,
    manifest: Option<Manifest>,
    options: GradeOptions,
    environment: Environment,
    build_failure: Option<BuildFailure>,
    /// Each exercise's private folders, made before any program started
    /// (see [`exercise_folders`]); taken by the exercise that runs there.
    folders: std::sync::Mutex<HashMap<String, Result<ExerciseFolders, String>>>,
}

/// A manifest build that did not succeed.
#[derive(Debug, Clone)]
struct BuildFailure {
    message: String,
    output: Finished,
}

/// The private folders of every selected exercise whose program is there,
/// all made before any program starts. Made while another exercise's
/// program is between fork and exec, a copy of a built binary is still
/// open for writing in that child, and running the copy fails with "Text
/// file busy" (ETXTBSY): the harness's race, not the student's crash.
fn exercise_folders(
    workspace: &Workspace,
    manifest: Option<&Manifest>,
    selected: &[&Exercise],
) -> HashMap<String, Result<ExerciseFolders, String>> {
    selected
        .iter()
        .filter(|exercise| {
            matches!(
                locate(workspace.base(), &exercise.id, manifest),
                Located::Found(_)
            )
        })
        .map(|exercise| {
            let folders = workspace.exercise_folders(&exercise.id).map_err(|e| {
                if e.is_limit() {
                    // Only the build can have made the copy grow past a limit.
                    format!("after the build, {e}")
                } else {
                    format!("cannot make a private copy of the submission: {e}")
                }
            });
            (exercise.id.clone(), folders)
        })
        .collect()
}

/// Runs the manifest's build command in the submission's private copy.
async fn build(
    command: &str,
    workspace: &Workspace,
    protections: &Protections,
    scale: f64,
) -> Option<BuildFailure> {
    let failed_to_start = |why: String| BuildFailure {
        message: format!("the build command `{command}` could not start: {why}"),
        output: Finished {
            exit: ExitInfo {
                code: None,
                signal: None,
                killed_by_grader: false,
            },
            stdout: String::new(),
            stderr: String::new(),
        },
    };
    let limit = BUILD_TIMEOUT.mul_f64(scale);
    let folders = match workspace.build_folders() {
        Ok(folders) => folders,
        Err(e) => return Some(failed_to_start(e.to_string())),
    };
    let confinement = match Confinement::prepare(
        protections,
        &folders.work,
        &folders.tmp,
        limit.as_secs() + 1,
    ) {
        Ok(confinement) => confinement,
        Err(e) => return Some(failed_to_start(format!("cannot confine it: {e}"))),
    };
    let shell: Vec<std::ffi::OsString> = if cfg!(windows) {
        vec!["cmd".into(), "/C".into(), command.into()]
    } else {
        vec!["sh".into(), "-c".into(), command.into()]
    };
    let mut env = private_env(&folders);
    env.extend(toolchain_env());
    let launch = Launch {
        argv: shell,
        cwd: folders.work.clone(),
        env,
    };
    let running = match Running::spawn_retrying(&launch, Some(&confinement)).await {
        Ok(running) => running,
        Err(e) => return Some(failed_to_start(e.to_string())),
    };
    let mut observer = running.observer();
    let ended = timeout(limit, observer.wait_exit()).await;
    let output = running.stop().await;
    let _ = tokio::task::spawn_blocking(move || confinement.finish()).await;
    match ended {
        Ok(exit) if exit.is_success() => None,
        Ok(exit) => Some(BuildFailure {
            message: format!("the build command `{command}` failed ({})", exit.describe()),
            output,
        }),
        Err(_) => Some(BuildFailure {
            message: format!(
                "the build command `{command}` ran longer than {}s",
                limit.as_secs()
            ),
            output,
        }),
    }
}

/// Grades one exercise; every outcome, good or bad, is a result.
async fn grade_exercise(exercise: &Exercise, context: &Context) -> ExerciseResult {
    let started = Instant::now();
    let mut result = ExerciseResult::new(
        &exercise.id,
        &exercise.title,
        exercise.points,
        Status::Error,
        "",
    );
    let located = locate(
        context.workspace.base(),
        &exercise.id,
        context.manifest.as_ref(),
    );
    match located {
        Located::Missing(tried) => {
            result.status = Status::Missing;
            result.message = format!(
                "no program for {}: looked for {}",
                exercise.id,
                tried.join(", ")
            );
            // A program that is there but was not copied: say why.
            for skipped in context.workspace.skipped() {
                if tried.iter().any(|name| skipped.path == Path::new(name)) {
                    result.message.push_str(&format!(
                        "; {} was not copied: it is {}",
                        skipped.path.display(),
                        skipped.reason
                    ));
                }
            }
        }
        Located::Found(program) => match &context.build_failure {
            Some(build) => {
                result.status = Status::Failed;
                result.message = build.message.clone();
                result.stdout = build.output.stdout.clone();
                result.stderr = build.output.stderr.clone();
            }
            None => run(exercise, &program, context, &mut result).await,
        },
    }
    if result.status == Status::Passed {
        result.score = result.max_score;
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// How many entries that were not copied a transcript names.
const SKIPPED_SHOWN: usize = 5;

/// What of the submission was not copied, for the transcript.
fn skipped_note(skipped: &[Skipped]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let mut names: Vec<String> = skipped
        .iter()
        .take(SKIPPED_SHOWN)
        .map(ToString::to_string)
        .collect();
    if skipped.len() > SKIPPED_SHOWN {
        names.push(format!("and {} more", skipped.len() - SKIPPED_SHOWN));
    }
    Some(format!(
        "not copied from the submission: {}",
        names.join(", ")
    ))
}

/// The environment that points a program at its private folders.
fn private_env(folders: &ExerciseFolders) -> Vec<(String, String)> {
    let tmp = folders.tmp.display().to_string();
    vec![
        ("TMPDIR".to_string(), tmp.clone()),
        ("HOME".to_string(), tmp),
    ]
}

/// Where rustup and cargo keep their toolchains: a build's HOME is its
/// private folder, so without these a rustup-installed `cargo` finds none.
fn toolchain_env() -> Vec<(String, String)> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")]
        .into_iter()
        .filter_map(|(name, default)| {
            let value = std::env::var_os(name)
                .map(std::path::PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(default)))?;
            Some((name.to_string(), value.display().to_string()))
        })
        .collect()
}

/// Where the grader stands before the program starts.
enum Setup {
    /// Listening for the student's client.
    Listening(Listening),
    /// The student's server will be on this port.
    Connecting(u16),
}

/// Runs the program against the peer and fills in `result`.
async fn run(
    exercise: &Exercise,
    program: &Program,
    context: &Context,
    result: &mut ExerciseResult,
) {
    let recorder = Recorder::new();
    if let Some(note) = skipped_note(context.workspace.skipped()) {
        recorder.event(note);
    }
    let deadlines = exercise.timeouts.scaled(context.options.timeout_scale);
    let setup = match prepare_peer(exercise) {
        Ok(setup) => setup,
        Err(message) => {
            result.status = Status::Error;
            result.message = message;
            return;
        }
    };
    let port = match &setup {
        Setup::Listening(listening) => listening.port(),
        Setup::Connecting(port) => *port,
    };
    let builtins = builtin_values(port, &context.environment.hostname);
    let seed = exercise_seed(context.options.seed, &exercise.id);
    let mut values = match Values::resolve(&exercise.values, seed, &builtins) {
        Ok(values) => values,
        Err(e) => {
            result.status = Status::Error;
            result.message = format!("the exercise's values cannot be computed: {}", e.0);
            return;
        }
    };
    let args: Vec<String> = exercise.args.iter().map(|a| values.fill(a)).collect();
    let mut display = program.display.clone();
    for arg in &args {
        display.push(' ');
        display.push_str(&shell_words::quote(arg));
    }
    result.command = Some(display.clone());

    let made = context
        .folders
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&exercise.id);
    let folders = match made {
        Some(Ok(folders)) => folders,
        Some(Err(message)) => {
            result.status = Status::Error;
            result.message = message;
            return;
        }
        None => {
            result.status = Status::Error;
            result.message = format!("no private copy was made for {}", exercise.id);
            return;
        }
    };
    let cwd = folders.work.clone();
    // CPU time: the whole exercise's wall time, plus a second.
    let cpu_seconds = deadlines.total.as_secs() + 1;
    let confinement = match Confinement::prepare(
        &context.environment.protections,
        &folders.work,
        &folders.tmp,
        cpu_seconds,
    ) {
        Ok(confinement) => confinement,
        Err(e) => {
            result.status = Status::Error;
            result.message = format!("cannot set up the program's confinement: {e}");
            return;
        }
    };
    // Tracebacks name files in the private copy; show the student's own.
    let private_path = cwd.display().to_string();
    let student_path = context.folder.display().to_string();
    let mut argv = Vec::new();
    if let Some(interpreter) = program.interpreter {
        match context.environment.interpreters.get(interpreter).await {
            Some(path) => argv.push(path.into_os_string()),
            None => {
                result.status = Status::Error;
                result.message = format!(
                    "`{display}` needs `{}`, which is not installed here (not on PATH): install it and grade again",
                    interpreter.name()
                );
                return;
            }
        }
    }
    argv.extend(program.argv.iter().cloned());
    argv.extend(args.iter().map(Into::into));
    let launch = Launch {
        argv,
        cwd,
        env: [
            ("SOCKGRADE_HOST".to_string(), HOST.to_string()),
            ("SOCKGRADE_PORT".to_string(), port.to_string()),
            ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
        ]
        .into_iter()
        .chain(private_env(&folders))
        .collect(),
    };
    // In a batch, wait for a start slot first: the start deadline is only
    // fair once the program has the CPU to start.
    let slot = match &context.environment.start_slots {
        Some(slots) => slots.acquire().await,
        None => None,
    };
    let mut start_slot = HeldSlot::hold(slot);
    let running = match Running::spawn_retrying(&launch, Some(&confinement)).await {
        Ok(running) => running,
        Err(e) => {
            let denied_by_sandbox = is_marked_executable(&launch.argv[0], &launch.cwd);
            let (status, message) = spawn_failure(
                &display,
                program.interpreter.is_some(),
                denied_by_sandbox,
                &e,
            );
            result.status = status;
            result.message = message;
            return;
        }
    };
    recorder.event(format!("started `{display}`"));
    let mut observer = running.observer();
    start_slot.started(observer.pid);

    let mut unaccepted_text = String::new();
    let unaccepted = &mut unaccepted_text;
    // The start and whole-exercise deadlines run on the program's own
    // time: waits for a CPU are given back (bounded), see ProgramClock.
    let clock = observer
        .pid
        .map_or_else(ProgramClock::wall, ProgramClock::of_session);
    let total = clock.deadline(deadlines.total);
    let conversation = async {
        let start = clock.deadline(deadlines.start);
        let stream = match setup {
            Setup::Listening(listening) => {
                let port = listening.port();
                let latest = Instant::now() + deadlines.start * MOST_EXTENSION;
                tokio::select! {
                    stream = listening.accept(latest, &mut observer) => stream?,
                    () = start.reached() => return Err(Failure::new(
                        FailureKind::Timeout,
                        format!("the program did not connect to port {port} in time"),
                    )),
                }
            }
            Setup::Connecting(port) => loop {
                // Asked again while the program's waits for a CPU have
                // moved the deadline since the last attempt.
                match peer::connect(port, start.now_due(), &mut observer).await {
                    Err(failure) if failure.kind == FailureKind::Timeout && !start.has_passed() => {
                    }
                    result => break result?,
                }
            },
        };
        start_slot.release();
        recorder.event(match exercise.role {
            Role::Client => "the program connected",
            Role::Server => "connected to the program",
        });
        let connection = Connection::new(stream, recorder.clone());
        if exercise.role == Role::Server
            && let Some(ip) = connection.local_ip()
        {
            values.set("client-ip", ip.to_string());
        }
        let (outcome, connection) =
            Conversation::new(exercise, &values, deadlines, connection, observer.clone())
                .play()
                .await;
        // What the program sent and the grader did not accept: the
        // evidence hints are read from.
        *unaccepted = String::from_utf8_lossy(connection.buffered()).into_owned();
        // After a failure the program is ended next: no need to let it
        // read to the end first.
        let grace = if outcome.is_ok() {
            deadlines.exit_grace
        } else {
            Duration::ZERO
        };
        connection.finish(grace).await;
        outcome
    };
    let outcome = tokio::select! {
        outcome = conversation => outcome,
        () = total.reached() => Err(Failure::new(
            FailureKind::Timeout,
            format!(
                "the exercise took longer than its time limit of {:.1}s",
                deadlines.total.as_secs_f64()
            ),
        )),
    };
    if outcome
        .as_ref()
        .is_err_and(|f| f.kind == FailureKind::Closed)
    {
        // The close may be the first sign of a crash: let the exit status
        // arrive so the verdict can say so.
        let _ = timeout(EXIT_SETTLE, observer.wait_exit()).await;
    }
    let exited_by_itself = observer.exited();
    let finished = running.stop().await;
    let usage = tokio::task::spawn_blocking(move || confinement.finish())
        .await
        .unwrap_or_default();
    if exited_by_itself.is_none() {
        recorder.event("the grader stopped the program");
    } else {
        recorder.event(format!("the program exited ({})", finished.exit.describe()));
    }
    let (status, message) = verdict(outcome.as_ref().err(), exited_by_itself.as_ref(), &finished);
    let (status, message) = with_limits(
        status,
        message,
        usage,
        &finished.exit,
        &context.environment.protections,
    );
    result.status = status;
    result.message = message;
    result.hint = hints::hint(&hints::Evidence {
        exercise,
        values: &values,
        status,
        failed_step: outcome.as_ref().err().and_then(|f| f.step),
        received: &unaccepted_text,
        stdout: &finished.stdout,
        stderr: &finished.stderr,
        port,
    });
    if let Err(failure) = outcome {
        result.expected = failure.expected;
        result.received = failure.received;
    }
    result.exit = Some(finished.exit);
    result.stdout = finished.stdout.replace(&private_path, &student_path);
    result.stderr = finished.stderr.replace(&private_path, &student_path);
    result.transcript = recorder.entries();
}

/// Listens for the student's client on the exercise's port (any free one
/// when it has none); the error names what holds the port.
pub fn listen_for_client(exercise: &Exercise) -> Result<Listening, String> {
    let port = exercise.port.unwrap_or(0);
    Listening::bind(port).map_err(|e| {
        let holder = platform::port_holder(port).map(|h| format!(" by {h}")).unwrap_or_default();
        format!("the grader cannot listen on port {port} ({e}): it is in use{holder}; stop that program and try again")
    })
}

/// The values the grader fills in itself, for a conversation on `port`.
pub fn builtin_values(port: u16, hostname: &str) -> [(&'static str, String); 4] {
    [
        ("host", HOST.to_string()),
        ("port", port.to_string()),
        ("hostname", hostname.to_string()),
        // The grader connects from loopback; corrected once connected.
        ("client-ip", HOST.to_string()),
    ]
}

/// Binds the grader's listener, or checks the student's port is free.
fn prepare_peer(exercise: &Exercise) -> Result<Setup, String> {
    match (exercise.role, exercise.port) {
        (Role::Client, _) => listen_for_client(exercise).map(Setup::Listening),
        (Role::Server, Some(port)) => {
            if peer::port_is_free(port) {
                Ok(Setup::Connecting(port))
            } else {
                let holder = platform::port_holder(port)
                    .map(|h| format!(" by {h}"))
                    .unwrap_or_else(|| " by another program".to_string());
                Err(format!(
                    "port {port} is already in use{holder}, before your server started: stop that program \
                     (an earlier run left open?) and grade again"
                ))
            }
        }
        (Role::Server, None) => {
            Err("the exercise has no port (the exercise file is invalid)".to_string())
        }
    }
}

/// Whether the file `program` names (a path, or a name looked up on
/// `PATH`) has an execute bit: then a refusal to run it is not its mode's.
fn is_marked_executable(program: &std::ffi::OsStr, cwd: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let program = Path::new(program);
        let candidates: Vec<std::path::PathBuf> = if program.components().count() > 1 {
            vec![cwd.join(program)]
        } else {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(program))
                .collect()
        };
        candidates.iter().any(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (program, cwd);
        false
    }
}

/// The verdict when the program cannot even start.
fn spawn_failure(
    display: &str,
    interpreted: bool,
    denied_by_sandbox: bool,
    error: &std::io::Error,
) -> (Status, String) {
    use std::io::ErrorKind;
    if is_harness_start_failure(error) {
        // Already tried again (`Running::spawn_retrying`): still the
        // machine's, so an error of the grade, never the program's crash.
        return (
            Status::Error,
            format!(
                "the grader could not start `{display}` in {START_ATTEMPTS} attempts ({error}): a shortage \
                 on this machine or a fault of the grader, not of the program; grade again"
            ),
        );
    }
    match error.kind() {
        // The interpreter, not the student's file, could not be run: the
        // machine's fault (an interpreter the programs' user cannot reach).
        ErrorKind::PermissionDenied if interpreted => (
            Status::Error,
            format!(
                "`{display}` could not start: its interpreter is not executable by the user programs run as \
                 (install it system-wide, or choose another user with --run-as)"
            ),
        ),
        ErrorKind::NotFound => (
            Status::Crashed,
            format!(
                "`{display}` could not start: the program was not found (check the manifest's command)"
            ),
        ),
        // Its mode allows it, so the refusal is the sandbox's: programs
        // run only the system's programs and their own folder's files.
        ErrorKind::PermissionDenied if denied_by_sandbox => (
            Status::Crashed,
            format!(
                "`{display}` could not start: the sandbox runs only the system's programs and files in \
                 the submission, and this is neither (install it system-wide, or put it in the submission)"
            ),
        ),
        ErrorKind::PermissionDenied => (
            Status::Crashed,
            format!(
                "`{display}` could not start: the file is not executable (chmod +x, or add a #! line)"
            ),
        ),
        _ => (
            Status::Crashed,
            format!("`{display}` could not start: {error}"),
        ),
    }
}

/// The verdict and message from how the conversation and the program ended.
fn verdict(
    failure: Option<&Failure>,
    exited: Option<&ExitInfo>,
    finished: &Finished,
) -> (Status, String) {
    let Some(failure) = failure else {
        return (Status::Passed, "passed".to_string());
    };
    let crash = exited.filter(|exit| !exit.is_success());
    // The last line of a traceback names the error: put it in the message.
    let with_error = |message: String| match last_line(&finished.stderr) {
        Some(line) => format!("{message}: {line}"),
        None => message,
    };
    match (&failure.kind, crash) {
        (FailureKind::Harness, _) => (Status::Error, failure.message.clone()),
        (FailureKind::Exited(exit), _) if !exit.is_success() => {
            (Status::Crashed, with_error(failure.message.clone()))
        }
        (FailureKind::Exited(_), _) => (Status::Failed, failure.message.clone()),
        (FailureKind::Closed, Some(exit)) => (
            Status::Crashed,
            with_error(format!(
                "{} (it crashed with {})",
                failure.message,
                exit.describe()
            )),
        ),
        (FailureKind::Closed | FailureKind::Mismatch, _) => {
            (Status::Failed, failure.message.clone())
        }
        (FailureKind::Timeout, _) => (Status::Timeout, failure.message.clone()),
    }
}

/// Puts the limits that ended a program into its verdict: a program
/// killed for memory or CPU time is told so, in plain words.
fn with_limits(
    status: Status,
    message: String,
    usage: Usage,
    exit: &ExitInfo,
    protections: &Protections,
) -> (Status, String) {
    if status == Status::Passed {
        return (status, message);
    }
    let mib = protections.memory_bytes >> 20;
    let limit = if usage.out_of_memory {
        Some(format!(
            "stopped: it used more than {mib} MiB of memory (--memory)"
        ))
    } else if exit.signal == Some(24) {
        Some("it used up its CPU time (SIGXCPU): an endless loop?".to_string())
    } else if exit.signal == Some(25) {
        Some("it wrote a file larger than the 64 MiB limit (SIGXFSZ)".to_string())
    } else if usage.out_of_processes {
        Some(format!(
            "it tried to start more than {PROCESS_LIMIT} processes (a fork loop?)"
        ))
    } else {
        None
    };
    match limit {
        Some(limit) => (
            if status == Status::Failed {
                Status::Crashed
            } else {
                status
            },
            format!("{message} ({limit})"),
        ),
        None => (status, message),
    }
}

/// The last non-empty line of a program's stderr (a Python exception's
/// type and message).
fn last_line(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_start_failure_of_the_machine_is_an_error_not_a_crash() {
        for errno in [libc::ETXTBSY, libc::EAGAIN, libc::ENOMEM] {
            let error = std::io::Error::from_raw_os_error(errno);
            let (status, message) = spawn_failure("./solution client-1", false, false, &error);
            assert_eq!(status, Status::Error, "{message}");
            assert!(message.contains("grade again"), "{message}");
        }
        let missing = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(
            spawn_failure("./solution", false, false, &missing).0,
            Status::Crashed
        );
    }
}
