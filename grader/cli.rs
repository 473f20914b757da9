//! The command line: arguments (clap), what each command does, and where
//! its outputs go. This is the one place that decides file or stdout.

use crate::batch::{BatchOptions, ShardRequest};
use crate::child::{self, ChildFailure, ChildGrade, Reply};
use crate::error::{Error, exit_code};
use crate::exercise::{ExerciseSet, LoadError, Variant};
use crate::grade::{Environment, GradeOptions, grade_submission};
use crate::outcome::SubmissionReport;
use crate::platform;
use crate::practice::{self, PracticeOptions};
use crate::report;
use crate::sandbox::{self, CgroupSource, Isolation, IsolationRequest, SandboxConfig};
use crate::student;
use crate::summary::Summary;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// The exit statuses, shown under `--help` (DESIGN.md's promise).
const EXIT_STATUS: &str = "\
Exit status:
  0    every exercise passed (batch, merge: in every submission)
  1    some exercise did not pass
  2    bad usage or bad input: a missing folder, a broken exercise file or manifest
  3    an internal fault of sockgrade (please report it)
  130  interrupted by Ctrl-C or SIGTERM (batch keeps what is done)";

/// `gradebook` grades nothing: its statuses say whether the file is written.
const GRADEBOOK_EXIT_STATUS: &str = "\
Exit status:
  0    the filled gradebook is written (students and submissions that did not meet are listed on stderr)
  2    bad usage or bad input: an unreadable export, roster or batch output, an unknown column
  3    an internal fault of sockgrade (please report it)";

/// Grades TCP socket-programming exercises by playing the other side of
/// every conversation.
#[derive(Debug, Parser)]
#[command(name = "sockgrade", version, about, max_term_width = 100, after_help = EXIT_STATUS)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grade the submission in a folder (default: the current folder).
    #[command(after_help = EXIT_STATUS)]
    Grade(GradeArgs),
    /// Grade every submission in a folder (a subfolder, .zip or .tar.gz each)
    /// into a gradebook.
    #[command(after_help = EXIT_STATUS)]
    Batch(BatchArgs),
    /// Merge the output folders of sharded batch runs into one.
    #[command(after_help = EXIT_STATUS)]
    Merge(MergeArgs),
    /// Fill an assignment's column of the gradebook exported from Canvas or
    /// Moodle with a batch's scores, ready to import.
    #[command(after_help = GRADEBOOK_EXIT_STATUS)]
    Gradebook(crate::gradebook::GradebookArgs),
    /// Play the grader's side of one exercise, live, while you run your
    /// program by hand (instead of netcat).
    Peer(PeerArgs),
    /// Say in plain words what the grader does and accepts in an exercise.
    Explain(ExplainArgs),
    /// List the exercises: id, role, port and points.
    List(ListArgs),
    /// Print the JSON Schema of a JSON file sockgrade writes: a submission's
    /// results.json, a batch's summary.json, or Gradescope's results.json.
    Schema {
        /// Which file's schema.
        #[arg(value_enum)]
        document: report::schema::Document,
    },
    /// Print a completion script for SHELL: `sockgrade completions bash >
    /// ~/.local/share/bash-completion/completions/sockgrade`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, for `man -l -`), or with --out write one
    /// page per command into a folder (sockgrade.1, sockgrade-grade.1, ...).
    Man {
        /// The folder to write every page into.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Internal: grade as a child of sockgrade, reading the request on
    /// stdin (see `child`).
    #[command(name = "__child-grade", hide = true)]
    ChildGrade,
    /// Internal: run `sockgrade ARGS` as PID 1 of new namespaces.
    #[command(name = "__isolated", hide = true)]
    Isolated {
        /// The sockgrade command to run inside.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

#[derive(Debug, Args)]
struct GradeArgs {
    /// The submission folder, holding client-1.py, server-1.py, ...
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Grade only this exercise (repeat for several).
    #[arg(long = "exercise", short = 'e', value_name = "ID")]
    exercise: Vec<String>,
    /// Also write the results as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the results as JUnit XML to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write Gradescope's results.json to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    gradescope: Option<PathBuf>,
    /// Also write a self-contained HTML page of the results to FILE (`-`
    /// for stdout): each exercise's verdict, hint and conversation.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// How the JUnit report shows a missing exercise: a failure (a grade),
    /// or skipped (a student's own CI, before every exercise is started).
    #[arg(long, value_enum, value_name = "AS", default_value_t = report::junit::MissingAs::Failure)]
    missing: report::junit::MissingAs,
    /// Namespaces for the student's programs: `auto` uses them where the
    /// kernel allows (Linux), so fixed ports are private to this grade.
    #[arg(long, value_enum, default_value_t = IsolationRequest::Auto)]
    isolation: IsolationRequest,
    #[command(flatten)]
    sandbox: SandboxArgs,
    /// Seed for the random values; a report's seed replays its run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=MAX_SEED))]
    seed: Option<u64>,
    #[command(flatten)]
    exercises: ExercisesArg,
    /// Multiply every timeout by F (for a slow machine, or a debugger).
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = parse_scale)]
    timeout_scale: f64,
    #[command(flatten)]
    robust: RobustArg,
    /// How many exercises run at once (default: twice the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Show the transcript of every exercise, passed ones too.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    verbose: bool,
    /// Show only the summary line.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    color: ColorArg,
}

/// The robustness tier, asked for on the command line.
#[derive(Debug, Args)]
struct RobustArg {
    /// Replay every exercise that passes with the grader's side changed
    /// as a real network changes TCP: `split` (messages in small
    /// segments), `coalesce` (two messages in one), `slow-start` (a pause
    /// before the first); all three when none is named. Feedback beside
    /// the score: scores, grades.csv and the exit code stay the normal
    /// tier's. Without it, each exercise's own `robustness` applies.
    #[arg(
        long,
        value_enum,
        value_name = "VARIANTS",
        num_args = 0..=1,
        require_equals = true,
        value_delimiter = ',',
        default_missing_value = "split,coalesce,slow-start"
    )]
    robust: Option<Vec<Variant>>,
}

#[derive(Debug, Args)]
struct BatchArgs {
    /// The folder holding one subfolder (or .zip, .tar.gz) per submission.
    dir: PathBuf,
    /// The output folder: per-submission results, grades.csv, summary.json.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Most submissions graded at once (default: eight per CPU, since
    /// grading is mostly waiting; a new one starts only while the machine
    /// has CPU to spare).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Grade only part K of N of the submissions (sorted by name); needs --seed
    /// so that every shard draws the same values. `auto` (or `auto/N`) takes
    /// K and N from a Slurm job array, a Kubernetes Indexed Job or
    /// SOCKGRADE_SHARD_INDEX and SOCKGRADE_SHARD_COUNT.
    #[arg(long, value_name = "K/N", requires = "seed")]
    shard: Option<ShardRequest>,
    /// Seed of the random values (each submission's is derived from it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=MAX_SEED))]
    seed: Option<u64>,
    /// Grade only this exercise (repeat for several).
    #[arg(long = "exercise", short = 'e', value_name = "ID")]
    exercise: Vec<String>,
    #[command(flatten)]
    exercises: ExercisesArg,
    /// Multiply every timeout by F.
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = parse_scale)]
    timeout_scale: f64,
    #[command(flatten)]
    robust: RobustArg,
    /// Namespaces per submission: `auto` where the kernel allows, else one
    /// submission at a time.
    #[arg(long, value_enum, default_value_t = IsolationRequest::Auto)]
    isolation: IsolationRequest,
    #[command(flatten)]
    sandbox: SandboxArgs,
    /// Keep the submissions already graded in OUT; grade only the rest.
    #[arg(long)]
    resume: bool,
    /// No line per submission and no table at the end: only notes,
    /// problems and one closing line.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    color: ColorArg,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// The output folders of the shards.
    #[arg(required = true, value_name = "SHARD_OUT")]
    inputs: Vec<PathBuf>,
    /// Where to write the merged gradebook, summary and JUnit.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Merge the shards given even if some of the run's shards are not
    /// among them (said on stderr), instead of refusing.
    #[arg(long)]
    allow_partial: bool,
    /// Only one closing line, no table.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    color: ColorArg,
}

#[derive(Debug, Args)]
struct PeerArgs {
    /// The exercise to practise, such as client-1.
    exercise: String,
    /// Keep going: a new conversation each time you rerun your program.
    #[arg(long)]
    repeat: bool,
    /// Seed for the random values.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(..=MAX_SEED))]
    seed: Option<u64>,
    /// Multiply every timeout by F (default 10: people type, debuggers pause).
    #[arg(long, value_name = "F", default_value_t = 10.0, value_parser = parse_scale)]
    timeout_scale: f64,
    /// Send as a real network delivers TCP: `split` (each message in small
    /// segments), `coalesce` (two messages in one) or `slow-start` (a pause
    /// before the first), as `grade --robust` does.
    #[arg(long, value_enum, value_name = "VARIANT")]
    variant: Option<Variant>,
    #[command(flatten)]
    exercises: ExercisesArg,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The exercise, such as server-3.
    exercise: String,
    #[command(flatten)]
    exercises: ExercisesArg,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    exercises: ExercisesArg,
}

#[derive(Debug, Args)]
struct ColorArg {
    /// When to colour the report: auto (on a terminal, unless NO_COLOR is
    /// set or TERM is dumb; CLICOLOR_FORCE forces it), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = report::colour::ColorChoice::Auto)]
    color: report::colour::ColorChoice,
}

#[derive(Debug, Args)]
struct SandboxArgs {
    /// Memory limit of each student program, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = sandbox::DEFAULT_MEMORY_MIB,
          value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    memory: u64,
    /// When sockgrade runs as root, the user student programs run as (a
    /// name or a numeric uid).
    #[arg(long, value_name = "USER", default_value = sandbox::DEFAULT_RUN_AS)]
    run_as: String,
}

impl SandboxArgs {
    fn config(&self) -> SandboxConfig {
        SandboxConfig {
            memory_mib: self.memory,
            run_as: self.run_as.clone(),
        }
    }
}

#[derive(Debug, Args)]
struct ExercisesArg {
    /// Use the exercises in FILE instead of the notebook's embedded ones.
    #[arg(long = "exercises", value_name = "FILE")]
    file: Option<PathBuf>,
}

impl ExercisesArg {
    fn load(&self) -> Result<ExerciseSet, Error> {
        let loaded = match &self.file {
            Some(path) => ExerciseSet::from_file(path),
            None => ExerciseSet::embedded(),
        };
        loaded.map_err(|e| {
            let message = e.to_string();
            match (&self.file, e) {
                // The message already says all the load error says; only
                // a read failure has a cause of its own to show.
                (Some(_), LoadError::Read { source, .. }) => {
                    Error::bad_input(message).with_source(source)
                }
                (Some(_), _) => Error::bad_input(message),
                (None, _) => {
                    Error::internal(format!("the embedded exercises are broken: {message}"))
                }
            }
        })
    }
}

/// The largest seed: 2^53 - 1, the largest integer every JSON reader
/// (JavaScript's numbers among them) holds exactly, so a seed read back
/// from a report replays the same run.
const MAX_SEED: u64 = (1 << 53) - 1;

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 && scale <= 100.0 => Ok(scale),
        _ => Err(format!(
            "`{text}` is not a number between 0 and 100 (1 = the exercise's own timeouts)"
        )),
    }
}

/// Runs the parsed command and says on stderr what went wrong, if
/// anything; returns the process exit code. A panic is a bug in sockgrade,
/// said as such, never a backtrace for the student to decode.
pub fn run_and_report(cli: Cli) -> u8 {
    outcome_of(|| run(cli))
}

/// Runs `work` and says on stderr what went wrong, if anything; the
/// process exit code.
fn outcome_of(work: impl FnOnce() -> Result<u8, Error>) -> u8 {
    // Nothing of `work` is used after a panic: the process ends.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            // Messages quote names and files from outside: no escape
            // sequence in them may reach the terminal live.
            let shown = |text: String| crate::text::escape_output(text.as_bytes());
            let mut lines = error.lines().into_iter();
            if let Some(message) = lines.next() {
                eprintln!("sockgrade: {}", shown(message));
            }
            for cause in lines {
                eprintln!("  caused by: {}", shown(cause));
            }
            error.exit_code()
        }
        Err(_) => {
            eprintln!(
                "sockgrade: internal error (a bug in sockgrade): please report it with the command you ran"
            );
            exit_code::INTERNAL
        }
    }
}

/// What PID 1 of the namespaces runs: `sockgrade ARGS`, parsed and run
/// as if it had been exec'd.
fn run_in_namespaces(args: &[std::ffi::OsString]) -> u8 {
    let argv = std::iter::once(std::ffi::OsString::from("sockgrade")).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(cli) => run_and_report(cli),
        Err(e) => {
            eprintln!("sockgrade: the isolated command is not one sockgrade knows: {e}");
            exit_code::INTERNAL
        }
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::List(args) => list(&args),
        Command::Grade(args) => grade(&args),
        Command::Batch(args) => batch(&args),
        Command::Peer(args) => peer(&args),
        Command::Explain(args) => {
            let set = args.exercises.load()?;
            let exercise = set.find(&args.exercise)?;
            print_stdout(&crate::explain::explain(exercise));
            Ok(exit_code::ALL_PASSED)
        }
        Command::Merge(args) => merge(&args),
        Command::Gradebook(args) => crate::gradebook::run(&args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut public_command(), "sockgrade", &mut script);
            print_stdout(&String::from_utf8_lossy(&script));
            Ok(exit_code::ALL_PASSED)
        }
        Command::Man { out } => man(out.as_deref()),
        Command::Schema { document } => {
            print_stdout(&String::from_utf8_lossy(&report::schema::render(document)));
            Ok(exit_code::ALL_PASSED)
        }
        Command::ChildGrade => child_grade(),
        Command::Isolated { args } => Ok(sandbox::run_isolated(&args, run_in_namespaces)),
    }
}

fn list(args: &ListArgs) -> Result<u8, Error> {
    let set = args.exercises.load()?;
    print_stdout(&report::listing::render(&set));
    Ok(exit_code::ALL_PASSED)
}

fn grade(args: &GradeArgs) -> Result<u8, Error> {
    // Before anything is made that a stop would leave behind.
    platform::catch_stop_signals();
    if formats_to_stdout(args) > 1 {
        return Err(Error::bad_input(
            "only one of --json, --junit, --gradescope and --html can be `-` (stdout): give the others a file",
        ));
    }
    let set = args.exercises.load()?;
    let folder = folder_to_grade(&args.dir);
    let options = GradeOptions {
        seed: args.seed.unwrap_or_else(random_seed),
        timeout_scale: args.timeout_scale,
        exercises_at_once: args.jobs.map(usize::from).unwrap_or_else(|| {
            // Twice the CPUs: a program mostly waits (on the grader, on
            // its interpreter's start), and its deadlines run on its own
            // clock, so a wider grade is quicker and no less fair.
            EXERCISES_PER_CPU * std::thread::available_parallelism().map_or(2, |n| n.get())
        }),
        only: args.exercise.clone(),
        sandbox: args.sandbox.config(),
        robust: args.robust.robust.clone(),
    };
    // What grading here needs, and what this machine cannot give.
    let (environment, missing) =
        Environment::discover(&options.sandbox, Isolation::None, None, CgroupSource::Probe)?;
    say_missing_protections(&missing);
    let try_namespaces = match args.isolation {
        IsolationRequest::None => false,
        IsolationRequest::Auto => sandbox::NAMESPACES_EXIST,
        IsolationRequest::Namespace => true,
    };
    // Straight into a child in namespaces, with no probe first (a probe
    // is a process of its own, a sixth of a quick grade): a child that
    // cannot enter them says so before anything runs. Forked here, before
    // the async runtime starts, while this process has one thread.
    let in_namespaces = if try_namespaces {
        let cgroups = environment.protections.cgroup.as_ref();
        let child = ChildGrade::new(
            &folder,
            &set,
            &options,
            Isolation::Namespaces,
            None,
            cgroups,
        )
        .map_err(ChildFailure::into_error)?;
        let forked = child
            .fork(grade_request)
            .map_err(ChildFailure::into_error)?;
        Some((child, forked))
    } else {
        None
    };
    let grade_here = || until_stopped(grade_submission(&folder, &set, &options, &environment));
    let graded = match in_namespaces {
        Some((child, forked)) => match until_child_ends(child, forked)? {
            Err(ChildFailure::Cancelled) => None,
            Err(ChildFailure::NamespacesRefused(why)) => {
                if args.isolation == IsolationRequest::Namespace {
                    return Err(Error::bad_input(format!(
                        "--isolation namespace is not possible here: {why}"
                    )));
                }
                eprintln!(
                    "sockgrade: note: grading without namespaces ({why}); the exercises' ports are shared with this machine"
                );
                grade_here()?
            }
            graded => Some(graded.map_err(ChildFailure::into_error)),
        },
        None => grade_here()?,
    };
    let Some(report) = graded else {
        return Ok(exit_code::INTERRUPTED);
    };
    let report = report?;

    write_outputs(args, &report)?;
    Ok(if report.all_passed() {
        exit_code::ALL_PASSED
    } else {
        exit_code::NOT_ALL_PASSED
    })
}

/// `dir`, or the one folder inside it when that is all it holds besides
/// junk (an unzipped upload: `python/`, `alice/`, beside `__MACOSX/`), as
/// `batch` does for an archive; said on stderr, since the report names it.
fn folder_to_grade(dir: &Path) -> PathBuf {
    match student::the_one_folder_in(dir) {
        Ok(Some(inner)) => {
            eprintln!(
                "sockgrade: note: {} holds only the folder {}: grading that",
                crate::text::escape_output(dir.display().to_string().as_bytes()),
                crate::text::escape_output(inner.display().to_string().as_bytes()),
            );
            inner
        }
        // Not a readable folder: the grade says so, naming what was given.
        _ => dir.to_path_buf(),
    }
}

/// Runs `work` until it ends, or until a stop is asked for (Ctrl-C,
/// SIGTERM): then `None`, once the programs it started are stopped.
fn until_stopped<T>(work: impl std::future::Future<Output = T>) -> Result<Option<T>, Error> {
    // One thread: a grade's work is waiting on its programs, and two
    // workers handing each wake-up across threads cost a fifth of its own
    // CPU (reference-python: 24 -> 19 ms measured side by side). What
    // blocks (copies, cgroup removal) is on the blocking pool or comes
    // before any program starts.
    let runtime = built(tokio::runtime::Builder::new_current_thread())?;
    let done = runtime.block_on(async {
        tokio::select! {
            done = work => Some(done),
            () = platform::stop_requested() => None,
        }
    });
    if done.is_none() {
        // The programs are in process groups of their own, out of reach of
        // the terminal's Ctrl-C: end them before leaving.
        student::kill_all_running();
        sandbox::remove_all_cgroups();
    }
    // Student programs the grader ended may leave tasks behind; do not wait.
    runtime.shutdown_background();
    if done.is_none() {
        eprintln!("sockgrade: interrupted; the programs it started were stopped");
    }
    Ok(done)
}

/// Runs a child grade to its end. A stop asked for meanwhile (Ctrl-C,
/// SIGTERM) is passed on to the child, which ends its programs and
/// removes their cgroups before it exits (`Cancelled` then): dropping it
/// at once killed it in the middle of that, and left the cgroups behind.
fn until_child_ends(
    child: ChildGrade,
    forked: Option<sandbox::Forked>,
) -> Result<Result<SubmissionReport, ChildFailure>, Error> {
    let runtime = built(tokio::runtime::Builder::new_current_thread())?;
    let graded = runtime.block_on(async {
        let (stop, stopped) = watch::channel(false);
        let run = child.run(forked, stopped);
        tokio::pin!(run);
        tokio::select! {
            graded = &mut run => graded,
            () = platform::stop_requested() => {
                let _ = stop.send(true);
                run.await
            }
        }
    });
    runtime.shutdown_background();
    if matches!(graded, Err(ChildFailure::Cancelled)) {
        eprintln!("sockgrade: interrupted; the programs it started were stopped");
    }
    Ok(graded)
}

/// The hidden command a child grader runs: one request on stdin, one reply
/// in the file it names. Every failure after the request is read is a
/// reply; the exit code is 0 when a reply was written.
fn child_grade() -> Result<u8, Error> {
    platform::catch_stop_signals();
    grade_and_reply(child::read_request(std::io::stdin().lock())?)
}

/// What PID 1 of a child grade forked into namespaces runs (see
/// `child::ChildGrade::fork`): the hidden command's work on `request`,
/// its failure said on stderr; the exit code.
fn grade_request(request: child::Request) -> u8 {
    outcome_of(|| grade_and_reply(request))
}

/// Grades as `request` says and writes the reply it names.
fn grade_and_reply(request: child::Request) -> Result<u8, Error> {
    if request.isolation == Isolation::Namespaces {
        // Best effort: where the kernel refuses, a grader's socket may
        // still, rarely, take a port first (the check before a server's
        // start then names it), as without namespaces.
        let _ = sandbox::keep_ports_for_programs(&request.exercises.fixed_ports());
    }
    // The caller has already said what this machine cannot give.
    let graded = match Environment::discover(
        &request.options.sandbox,
        request.isolation,
        request.start_slots.as_deref(),
        CgroupSource::Caller(request.cgroups.clone()),
    ) {
        Ok((environment, _missing)) => {
            let work = grade_submission(
                &request.folder,
                &request.exercises,
                &request.options,
                &environment,
            );
            match until_stopped(work) {
                Ok(Some(graded)) => graded,
                Ok(None) => return Ok(exit_code::INTERRUPTED),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    let reply = match graded {
        Ok(report) => Reply::Report(Box::new(report)),
        Err(e) => Reply::from_error(&e),
    };
    child::write_reply(&request.reply, &reply)?;
    Ok(exit_code::ALL_PASSED)
}

/// Default `grade --jobs` per CPU (see `grade`).
const EXERCISES_PER_CPU: usize = 2;

/// Default `--jobs` per CPU: hanging submissions cost no CPU, so many can
/// wait at once while admission by CPU pressure keeps the machine's load
/// within what it can run.
const BATCH_JOBS_PER_CPU: usize = 8;

fn batch(args: &BatchArgs) -> Result<u8, Error> {
    // Before anything is made that a stop would leave behind.
    platform::catch_stop_signals();
    let set = args.exercises.load()?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    // A resumed run draws the values of the run it resumes, unless told
    // another seed (which the resume then refuses, naming it).
    let resumed_seed = match (args.resume, args.seed) {
        (true, None) => crate::batch::identity::read(&args.out)?.and_then(|run| run.seed()),
        _ => None,
    };
    let shard = match args.shard {
        None => None,
        Some(request) => {
            let (shard, from) = request
                .resolve(|name| std::env::var(name).ok())
                .map_err(Error::bad_input)?;
            if let Some(from) = from {
                eprintln!(
                    "sockgrade: grading shard {}/{} ({from})",
                    shard.index, shard.count
                );
            }
            Some(shard)
        }
    };
    let options = BatchOptions {
        dir: args.dir.clone(),
        out: args.out.clone(),
        // Wide, because admission by CPU pressure is what bounds the work
        // that runs; --jobs bounds what waits (memory, open files).
        submissions_at_once: args.jobs.map_or(BATCH_JOBS_PER_CPU * cpus, usize::from),
        shard,
        grade: GradeOptions {
            seed: args.seed.or(resumed_seed).unwrap_or_else(random_seed),
            timeout_scale: args.timeout_scale,
            // A submission's exercises mostly wait on deadlines: grade them
            // all at once, so a hanging submission costs its longest
            // exercise, not their sum; the batch's --jobs bounds the rest.
            exercises_at_once: set.exercises.len(),
            only: args.exercise.clone(),
            sandbox: args.sandbox.config(),
            robust: args.robust.robust.clone(),
        },
        isolation: args.isolation,
        resume: args.resume,
        progress_bar: std::io::stderr().is_terminal() && !args.quiet,
        quiet: args.quiet,
    };
    let (environment, missing) = Environment::discover(
        &options.grade.sandbox,
        Isolation::None,
        None,
        CgroupSource::Probe,
    )?;
    say_missing_protections(&missing);
    set.select(&options.grade.only)?;
    let runtime = runtime()?;
    let cgroups = environment.protections.cgroup;
    let outcome = runtime.block_on(crate::batch::run(&options, &set, cgroups))?;
    runtime.shutdown_background();
    print_batch_end(&outcome.summary, &args.out, args.quiet, &args.color);
    Ok(if outcome.interrupted {
        exit_code::INTERRUPTED
    } else {
        batch_exit_code(&outcome.reports)
    })
}

fn peer(args: &PeerArgs) -> Result<u8, Error> {
    let set = args.exercises.load()?;
    let exercise = set.find(&args.exercise)?;
    let options = PracticeOptions {
        seed: args.seed.unwrap_or_else(random_seed),
        timeout_scale: args.timeout_scale,
        repeat: args.repeat,
        variant: args.variant,
    };
    let runtime = runtime()?;
    let code = runtime.block_on(practice::practise(exercise, &options));
    runtime.shutdown_background();
    code
}

/// The command line as users see it, for completions and manual pages:
/// without the hidden internal commands, which completion scripts would
/// otherwise offer.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let public: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|command| !command.is_hide_set())
        .cloned()
        .collect();
    let mut command = clap::Command::new("sockgrade")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommands(public);
    if let Some(about) = full.get_about() {
        command = command.about(about.clone());
    }
    command
}

/// The manual page on stdout, or every command's page written into `out`.
fn man(out: Option<&Path>) -> Result<u8, Error> {
    let command = public_command();
    match out {
        Some(dir) => {
            let cannot = |e| {
                Error::bad_input(format!(
                    "cannot write the manual pages into {}: check that it is a writable folder",
                    dir.display()
                ))
                .with_source(e)
            };
            std::fs::create_dir_all(dir).map_err(cannot)?;
            clap_mangen::generate_to(command, dir).map_err(cannot)?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Error::internal("cannot render the manual page").with_source(e))?;
            print_stdout(&String::from_utf8_lossy(&page));
        }
    }
    Ok(exit_code::ALL_PASSED)
}

fn merge(args: &MergeArgs) -> Result<u8, Error> {
    let merged = crate::batch::merge(&args.inputs, &args.out, args.allow_partial)?;
    print_batch_end(&merged.summary, &args.out, args.quiet, &args.color);
    Ok(batch_exit_code(&merged.reports))
}

/// Says once, plainly, which protections this machine cannot give.
fn say_missing_protections(missing: &[String]) {
    if !missing.is_empty() {
        eprintln!("sockgrade: note: not in force here: {}", missing.join("; "));
    }
}

/// 0 when every exercise of every submission passed, as for one grade.
fn batch_exit_code(reports: &[SubmissionReport]) -> u8 {
    if reports.iter().all(SubmissionReport::all_passed) {
        exit_code::ALL_PASSED
    } else {
        exit_code::NOT_ALL_PASSED
    }
}

fn print_batch_end(summary: &Summary, out: &Path, quiet: bool, color: &ColorArg) {
    let out = crate::text::escape_output(out.display().to_string().as_bytes());
    if quiet {
        let mean = summary
            .mean_score
            .map_or_else(|| "-".to_string(), report::evidence::points);
        print_stdout(&format!(
            "{} submissions graded · mean {mean}/{} · {} need a human look · written to {out}\n",
            summary.submissions,
            report::evidence::points(summary.max_score),
            summary.needs_attention.len(),
        ));
        return;
    }
    let style = report::terminal::Style {
        color: report::colour::wanted_here(color.color, std::io::stdout().is_terminal()),
    };
    let mut text = report::summary::render_terminal(summary, style);
    text.push_str(&format!(
        "\nwritten to {out}: grades.csv, summary.json, junit.xml, report.html, and per submission results.json, junit.xml, gradescope.json, feedback.txt, report.html\n",
    ));
    print_stdout(&text);
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    built(tokio::runtime::Builder::new_multi_thread())
}

fn built(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, Error> {
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::internal("cannot start the async runtime").with_source(e))
}

/// How many of the machine-readable formats go to stdout (`-`).
fn formats_to_stdout(args: &GradeArgs) -> usize {
    [&args.json, &args.junit, &args.gradescope, &args.html]
        .iter()
        .filter(|p| p.as_deref() == Some(Path::new("-")))
        .count()
}

/// Writes the machine-readable files, then the terminal report (to stderr
/// when stdout carries a machine-readable one).
fn write_outputs(args: &GradeArgs, report: &SubmissionReport) -> Result<(), Error> {
    let stdout_taken = formats_to_stdout(args) == 1;
    if let Some(path) = &args.json {
        report::emit(path, &report::json::render(report))?;
    }
    if let Some(path) = &args.junit {
        report::emit(
            path,
            &report::junit::render(std::slice::from_ref(report), args.missing),
        )?;
    }
    if let Some(path) = &args.gradescope {
        report::emit(path, &report::gradescope::render(report))?;
    }
    if let Some(path) = &args.html {
        report::emit(path, report::html::render(report).as_bytes())?;
    }
    let to_terminal = if stdout_taken {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let style = report::terminal::Style {
        color: report::colour::wanted_here(args.color.color, to_terminal),
    };
    let detail = match (args.quiet, args.verbose) {
        (true, _) => report::terminal::Detail::Quiet,
        (_, true) => report::terminal::Detail::Verbose,
        _ => report::terminal::Detail::Normal,
    };
    let text = report::terminal::render_with(report, style, detail);
    if stdout_taken {
        eprint!("{text}");
    } else {
        print_stdout(&text);
    }
    Ok(())
}

fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// `NO_COLOR` set to anything non-empty turns colour off (no-color.org).
/// A fresh seed, small enough to read, type, and keep exact in JSON.
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
        % 1_000_000_000
}
