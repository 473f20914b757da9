//! Grading one submission: the private copy and the optional build, then
//! every selected exercise (concurrently, since their ports differ), each
//! turned into an [`ExerciseResult`]. A batch calls [`grade_submission`]
//! once per submission.
//!
//! An exercise whose program is there runs in three stages, with a type
//! between each: [`prepare`] makes what the program needs (a failure there
//! is the grader's: `error`), [`converse`] runs it against the grader's
//! side and gathers the evidence, and [`judge`] turns the evidence into
//! the verdict, with no I/O. The result is built once, from what the
//! stage that settled it says.

mod converse;
mod judge;
mod prepare;

use crate::error::Error;
use crate::exercise::{Exercise, ExerciseSet, Variant};
use crate::outcome::{
    ExerciseResult, ExitInfo, Status, SubmissionReport, ToolInfo, TranscriptEntry, VariantResult,
};
use crate::platform;
use crate::sandbox::{
    CgroupSource, Confinement, Isolation, Protections, QuickMoves, SandboxConfig,
};
use crate::student::{
    ExerciseFolders, Finished, Interpreters, Launch, Located, Manifest, Program, Running, Skipped,
    StartSlots, Workspace, locate,
};
use converse::converse;
pub use judge::conversation_verdict;
use prepare::prepare;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::{Instant, timeout};

/// Longest a manifest's build command may run (before `--timeout-scale`).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// How to grade: shared by every exercise of a run, and sent to a child
/// grader as it is (see `child::Request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GradeOptions {
    /// The seed of every random value.
    pub seed: u64,
    /// Multiplies every timeout (slow machines, debugging).
    pub timeout_scale: f64,
    /// How many of the submission's programs run at once (`grade
    /// --jobs`; a batch's child grades them all at once).
    pub exercises_at_once: usize,
    /// Exercise ids to grade; empty means all.
    pub only: Vec<String>,
    /// Memory limit and user of the student's programs.
    pub sandbox: SandboxConfig,
    /// The robustness tier's variants for every exercise (`--robust`);
    /// `None` leaves each exercise's own `robustness`.
    pub robust: Option<Vec<Variant>>,
}

impl GradeOptions {
    /// The robustness variants `exercise` is replayed in after it passes:
    /// those asked for that change its conversation, each once, in
    /// [`Variant::ALL`]'s order.
    pub fn variants_of(&self, exercise: &Exercise) -> Vec<Variant> {
        let asked = self.robust.as_ref().unwrap_or(&exercise.robustness);
        Variant::ALL
            .into_iter()
            .filter(|variant| asked.contains(variant) && variant.applies_to(exercise))
            .collect()
    }
}

/// What grading needs from the machine and from the caller, found once
/// per run and the same for every exercise of it.
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
    /// Looks at this machine, for a grade under `isolation` that shares
    /// the start slots in `start_slots` (a batch's child) or none, with
    /// cgroups from `cgroups`; also returns the protections the machine
    /// lacks, in words. A `--run-as` user that does not exist, or slots
    /// that cannot be opened, are bad input.
    pub fn discover(
        sandbox: &SandboxConfig,
        isolation: Isolation,
        start_slots: Option<&Path>,
        cgroups: CgroupSource,
    ) -> Result<(Environment, Vec<String>), Error> {
        let (protections, missing) =
            Protections::discover(sandbox, cgroups).map_err(Error::bad_input)?;
        let start_slots = match start_slots {
            Some(dir) => Some(StartSlots::open(dir).map_err(|e| {
                Error::bad_input(format!("cannot use the start slots in {}", dir.display()))
                    .with_source(e)
            })?),
            None => None,
        };
        let environment = Environment {
            interpreters: Interpreters::for_user(protections.run_as),
            hostname: platform::hostname(),
            isolation,
            start_slots,
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
    let selected = set.select(&options.only)?;
    let manifest = Manifest::read(folder)
        .map_err(|e| Error::bad_input(format!("the submission's manifest is broken: {e}")))?;
    let owner = environment.protections.run_as;
    // Views of one copy instead of a copy per exercise, where nothing but
    // the grader can change that copy (see `Workspace::prepare`).
    let views = environment.protections.landlock_abi.is_some()
        && manifest.as_ref().is_none_or(|m| m.build.is_none());
    let exercises = match Workspace::prepare(folder, owner, views) {
        Ok(workspace) => {
            grade_exercises(
                folder,
                workspace,
                manifest.as_ref(),
                &selected,
                options,
                environment,
            )
            .await?
        }
        // Over a limit: every exercise says so, and none is blamed on the
        // program, which never ran.
        Err(e) if e.is_limit() => selected
            .iter()
            .map(|exercise| {
                Graded::verdict(Status::Error, e.to_string()).into_result(exercise, Duration::ZERO)
            })
            .collect(),
        Err(e) => {
            return Err(Error::bad_input(format!(
                "cannot copy {} to a private folder: check that it is readable",
                folder.display()
            ))
            .with_source(e));
        }
    };
    Ok(report(
        folder,
        set,
        options,
        environment,
        started,
        exercises,
    ))
}

/// Builds the submission's private copy if its manifest says how, then
/// grades every selected exercise in it.
async fn grade_exercises(
    folder: &Path,
    workspace: Workspace,
    manifest: Option<&Manifest>,
    selected: &[&Exercise],
    options: &GradeOptions,
    environment: &Environment,
) -> Result<Vec<ExerciseResult>, Error> {
    let build_failure = match manifest.and_then(|m| m.build.as_deref()) {
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

    // Each exercise's program, looked for once, after the build.
    let located: Vec<Located> = selected
        .iter()
        .map(|exercise| locate(workspace.base(), &exercise.id, manifest))
        .collect();
    let folders = match build_failure {
        Some(_) => HashMap::new(),
        None => {
            let folders = exercise_folders(&workspace, selected, &located, options);
            find_interpreters(&located, &environment.interpreters).await;
            folders
        }
    };
    // A grade alone keeps moves into cgroups quick while its programs
    // start, where a move takes the kernel's machine-wide lock (cgroup
    // v2; see `sandbox::QuickMoves`); a batch's children start programs
    // often enough as it is.
    let quick_moves = match (&environment.protections.cgroup, &environment.start_slots) {
        (Some(cgroup), None) => QuickMoves::start(cgroup),
        _ => None,
    };
    let context = Arc::new(Context {
        folder: folder.to_path_buf(),
        quick_moves,
        workspace,
        options: options.clone(),
        environment: environment.clone(),
        build_failure,
        folders: std::sync::Mutex::new(folders),
        program_turns: Arc::new(Semaphore::new(options.exercises_at_once.max(1))),
    });
    // Exercises of an instructor's file may share a port: those take turns.
    let mut port_turns: HashMap<u16, Arc<Mutex<()>>> = HashMap::new();
    let mut tasks = Vec::new();
    for (exercise, located) in selected.iter().copied().zip(located) {
        let context = Arc::clone(&context);
        let turn = exercise
            .port
            .map(|port| Arc::clone(port_turns.entry(port).or_default()));
        let exercise = exercise.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = match &turn {
                Some(turn) => Some(turn.lock().await),
                None => None,
            };
            grade_exercise(&exercise, located, &context).await
        }));
    }
    let mut exercises = Vec::new();
    for task in tasks {
        exercises.push(
            task.await
                .map_err(|e| Error::internal(format!("an exercise's task failed: {e}")))?,
        );
    }
    Ok(exercises)
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
    let cpu = platform::cpu_time_ms();
    SubmissionReport {
        schema_version: crate::outcome::SCHEMA_VERSION,
        tool: ToolInfo::default(),
        submission: name,
        path: folder.display().to_string(),
        seed: options.seed,
        graded_folder: None,
        exercises_source: set.source.clone(),
        isolation: environment.isolation,
        protections: environment.protections.in_force(),
        score: exercises.iter().map(|e| e.score).sum(),
        max_score: exercises.iter().map(|e| e.max_score).sum(),
        duration_ms: started.elapsed().as_millis() as u64,
        grader_max_rss_kib: platform::peak_rss_kib(),
        grader_cpu_ms: cpu.map(|(own, _)| own),
        programs_cpu_ms: cpu.map(|(_, programs)| programs),
        exercises,
    }
}

/// Everything an exercise's task needs.
#[derive(Debug)]
struct Context {
    /// The submission as given (for paths shown to the student).
    folder: std::path::PathBuf,
    workspace: Workspace,
    options: GradeOptions,
    environment: Environment,
    build_failure: Option<BuildFailure>,
    /// Keeps each program's move into its cgroups from waiting for the
    /// kernel, in a grade alone.
    quick_moves: Option<QuickMoves>,
    /// Each exercise's private folders where they are copies, made
    /// before any program started (see [`exercise_folders`]); taken by
    /// the run they are for. Views are made as each run is prepared.
    folders: std::sync::Mutex<HashMap<String, Result<ExerciseFolders, String>>>,
    /// Turns to run a program: `exercises_at_once` of them, each held
    /// from a run's preparation to the end of its conversation (see
    /// [`converse`]).
    program_turns: Arc<Semaphore>,
}

/// A manifest build that did not succeed.
#[derive(Debug, Clone)]
struct BuildFailure {
    message: String,
    output: Finished,
}

/// The private folders of every selected exercise whose program is there,
/// all made before any program starts, where they are copies. Made while
/// another exercise's program is between fork and exec, a copy of a built
/// binary is still open for writing in that child, and running the copy
/// fails with "Text file busy" (ETXTBSY): the harness's race, not the
/// student's crash. A view writes no file, so views are left to each
/// run's preparation ([`private_folders`]): the first program then starts
/// without waiting for every exercise's mount (2 ms of a Python grade's
/// start). Should the kernel refuse a view there, the copy made instead
/// is the rare case the start's retry of ETXTBSY covers.
fn exercise_folders(
    workspace: &Workspace,
    selected: &[&Exercise],
    located: &[Located],
    options: &GradeOptions,
) -> HashMap<String, Result<ExerciseFolders, String>> {
    if workspace.gives_views() {
        return HashMap::new();
    }
    selected
        .iter()
        .zip(located)
        .filter(|(_, located)| matches!(located, Located::Found(_)))
        .map(|(exercise, _)| exercise)
        // One run in the normal tier, and one per robustness variant.
        .flat_map(|exercise| {
            std::iter::once(None)
                .chain(options.variants_of(exercise).into_iter().map(Some))
                .map(|variant| folders_key(&exercise.id, variant))
        })
        .map(|key| {
            let folders = private_folders(workspace, &key);
            (key, folders)
        })
        .collect()
}

/// Finds the interpreters the selected exercises' programs need before
/// any run begins. Found by the first run that needed one, the others
/// went on preparing while it waited, and the first program started only
/// once four runs were prepared (some 3 ms of a Python grade's start, one
/// CPU idle meanwhile); found here, the first run prepares and starts its
/// program before the next begins.
async fn find_interpreters(located: &[Located], interpreters: &Interpreters) {
    let needed: std::collections::HashSet<_> = located
        .iter()
        .filter_map(|located| match located {
            Located::Found(program) => program.interpreter,
            Located::Missing { .. } => None,
        })
        .collect();
    for interpreter in needed {
        interpreters.get(interpreter).await;
    }
}

/// One run's private folders (`key`: see [`folders_key`]), or why they
/// could not be made.
fn private_folders(workspace: &Workspace, key: &str) -> Result<ExerciseFolders, String> {
    workspace.exercise_folders(key).map_err(|e| {
        if e.is_limit() {
            // Only the build can have made the copy grow past a limit.
            format!("after the build, {e}")
        } else {
            format!("cannot make a private copy of the submission: {e}")
        }
    })
}

/// The name of one run's private folders: the exercise's, and the
/// variant's in the robustness tier (`client-4@split`).
fn folders_key(exercise_id: &str, variant: Option<Variant>) -> String {
    match variant {
        Some(variant) => variant.replay_of(exercise_id),
        None => exercise_id.to_string(),
    }
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
    let shell = platform::shell_command(command);
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

/// Grades one exercise whose program was looked for (`located`); every
/// outcome, good or bad, is a result. Its duration is its own: the time
/// its runs waited for a turn (behind the other exercises of a grade
/// with `--jobs`) is not counted.
async fn grade_exercise(
    exercise: &Exercise,
    located: Located,
    context: &Context,
) -> ExerciseResult {
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let program_file = match &located {
        Located::Found(program) => program.file.clone(),
        Located::Missing { .. } => None,
    };
    let graded = match &located {
        Located::Missing { tried, unrunnable } => Graded::with(
            Status::Missing,
            missing_message(exercise, tried, unrunnable, context.workspace.skipped()),
            Details {
                // The file the student meant, and how to make it run.
                hint: unrunnable
                    .first()
                    .map(|file| crate::student::how_to_run(&exercise.id, file)),
                ..Details::default()
            },
        ),
        Located::Found(program) => match &context.build_failure {
            Some(build) => Graded::with(
                Status::Failed,
                build.message.clone(),
                Details {
                    stdout: build.output.stdout.clone(),
                    stderr: build.output.stderr.clone(),
                    ..Details::default()
                },
            ),
            None => {
                let (graded, waited_for_turn) = run(exercise, program, None, context).await;
                waited += waited_for_turn;
                graded
            }
        },
    };
    // The robustness tier replays a conversation that went right.
    let mut robustness = Vec::new();
    if let (Status::Passed, Located::Found(program)) = (graded.status, &located) {
        for variant in context.options.variants_of(exercise) {
            let (replayed, waited_for_turn) = run(exercise, program, Some(variant), context).await;
            waited += waited_for_turn;
            robustness.push(replayed.into_variant_result(variant, exercise, context));
        }
    }
    ExerciseResult {
        program_file,
        robustness,
        ..graded.into_result(exercise, started.elapsed().saturating_sub(waited))
    }
}

/// Why there is no program for `exercise`: the names looked for, and
/// which of them is there but was not copied.
fn missing_message(
    exercise: &Exercise,
    tried: &[String],
    unrunnable: &[String],
    skipped: &[Skipped],
) -> String {
    let mut message = format!(
        "no program for {}: looked for {}",
        exercise.id,
        tried.join(", ")
    );
    if !unrunnable.is_empty() {
        message.push_str(&format!(
            "; found {}, which does not run by its name",
            unrunnable.join(", ")
        ));
    }
    for skipped in skipped {
        if tried.iter().any(|name| skipped.path == Path::new(name)) {
            message.push_str(&format!(
                "; {} was not copied: it is {}",
                skipped.path.display(),
                skipped.reason
            ));
        }
    }
    message
}

/// What grading one exercise came to, before it is timed and scored:
/// built once, by the stage that settled it.
#[derive(Debug)]
struct Graded {
    status: Status,
    message: String,
    details: Details,
}

/// What explains a verdict, as far as the exercise got.
#[derive(Debug, Default)]
struct Details {
    hint: Option<String>,
    expected: Option<String>,
    received: Option<String>,
    command: Option<String>,
    exit: Option<ExitInfo>,
    transcript: Vec<TranscriptEntry>,
    stdout: String,
    stderr: String,
}

impl Graded {
    /// A verdict with nothing more to show.
    fn verdict(status: Status, message: String) -> Graded {
        Graded::with(status, message, Details::default())
    }

    fn with(status: Status, message: String, details: Details) -> Graded {
        Graded {
            status,
            message,
            details,
        }
    }

    fn into_result(self, exercise: &Exercise, duration: Duration) -> ExerciseResult {
        let details = self.details;
        ExerciseResult {
            id: exercise.id.clone(),
            title: exercise.title.clone(),
            status: self.status,
            score: if self.status == Status::Passed {
                exercise.points
            } else {
                0.0
            },
            max_score: exercise.points,
            duration_ms: duration.as_millis() as u64,
            message: self.message,
            hint: details.hint,
            expected: details.expected,
            received: details.received,
            command: details.command,
            exit: details.exit,
            transcript: details.transcript,
            stdout: details.stdout,
            stderr: details.stderr,
            program_file: None,
            visibility: exercise.visibility,
            robustness: Vec::new(),
        }
    }

    /// The result of a robustness variant's replay of an exercise that
    /// passed: its own verdict, with the hint the variant calls for.
    fn into_variant_result(
        self,
        variant: Variant,
        exercise: &Exercise,
        context: &Context,
    ) -> VariantResult {
        let passed = self.status == Status::Passed;
        VariantResult {
            variant,
            seed: crate::peer::shaping::seed_of(variant, context.options.seed, &exercise.id),
            status: self.status,
            message: if passed {
                format!("passed with {}", variant.describe())
            } else {
                format!("with {}: {}", variant.describe(), self.message)
            },
            hint: match self.status {
                Status::Passed | Status::Error => self.details.hint,
                _ => Some(crate::hints::robustness(variant)),
            },
            expected: self.details.expected,
            received: self.details.received,
            transcript: self.details.transcript,
        }
    }
}

/// Runs `program` on `exercise`, in the normal tier or in a robustness
/// `variant`: prepare, converse, judge; with how long the run waited for
/// its turn first.
async fn run(
    exercise: &Exercise,
    program: &Program,
    variant: Option<Variant>,
    context: &Context,
) -> (Graded, Duration) {
    let asked = Instant::now();
    // The semaphore is never closed: the turn is always there.
    let turn = Arc::clone(&context.program_turns)
        .acquire_owned()
        .await
        .ok();
    let waited = asked.elapsed();
    (
        run_in_turn(exercise, program, variant, context, turn).await,
        waited,
    )
}

/// [`run`] once the run has its turn.
async fn run_in_turn(
    exercise: &Exercise,
    program: &Program,
    variant: Option<Variant>,
    context: &Context,
    turn: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Graded {
    let prepared = match prepare(exercise, program, variant, context).await {
        Ok(prepared) => prepared,
        Err(not) => {
            let details = Details {
                command: not.command,
                ..Details::default()
            };
            return Graded::with(Status::Error, not.message, details);
        }
    };
    let command = prepared.command.clone();
    let interpreted = prepared.interpreted;
    let private_path = prepared.private_path.clone();
    let evidence = match converse(exercise, prepared, turn, context).await {
        Ok(evidence) => evidence,
        Err(failure) => {
            let (status, message) = judge::start_failure(&command, interpreted, &failure);
            let details = Details {
                command: Some(command),
                ..Details::default()
            };
            return Graded::with(status, message, details);
        }
    };
    let memory_mib = context.environment.protections.memory_bytes >> 20;
    let judgement = judge::judge(exercise, &evidence, memory_mib);
    // Tracebacks name files in the private copy; show the student's own.
    let student_path = context.folder.display().to_string();
    let details = Details {
        hint: judgement.hint,
        expected: judgement.expected,
        received: judgement.received,
        command: Some(command),
        exit: Some(evidence.finished.exit),
        transcript: evidence.transcript,
        stdout: evidence
            .finished
            .stdout
            .replace(&private_path, &student_path),
        stderr: evidence
            .finished
            .stderr
            .replace(&private_path, &student_path),
    };
    Graded::with(judgement.status, judgement.message, details)
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
