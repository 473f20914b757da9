//! The first stage of an exercise's run: everything the program needs
//! made before it starts (the grader's side of the connection, the
//! values, the private folders, the confinement, the command). A failure
//! here is the grader's or the machine's, never the program's: it becomes
//! an `error` verdict.

use super::{Context, HOST, listen_for_client, private_env};
use crate::exercise::{Deadlines, Exercise, Role, Values, exercise_seed};
use crate::peer::{self, Listening};
use crate::platform;
use crate::sandbox::Confinement;
use crate::student::{Launch, Program, Skipped};
use crate::transcript::Recorder;

/// Where the grader stands before the program starts.
pub(super) enum Setup {
    /// Listening for the student's client.
    Listening(Listening),
    /// The student's server will be on this port.
    Connecting(u16),
}

impl Setup {
    /// The exercise's port in this run.
    pub(super) fn port(&self) -> u16 {
        match self {
            Setup::Listening(listening) => listening.port(),
            Setup::Connecting(port) => *port,
        }
    }
}

/// An exercise ready to run.
pub(super) struct Prepared {
    /// The transcript, already holding what the run should know first.
    pub recorder: Recorder,
    pub deadlines: Deadlines,
    pub setup: Setup,
    /// The exercise's values in this run.
    pub values: Values,
    /// The command as the student would type it.
    pub command: String,
    /// Whether an interpreter runs the program (a start failure may be
    /// the interpreter's, then).
    pub interpreted: bool,
    pub confinement: Confinement,
    pub launch: Launch,
    /// The private copy's path, which the student's own replaces in what
    /// the program printed (tracebacks name files).
    pub private_path: String,
}

/// Why an exercise could not be made ready: the message of an `error`
/// verdict, and the command when it was known by then.
pub(super) struct NotPrepared {
    pub message: String,
    pub command: Option<String>,
}

impl NotPrepared {
    fn new(message: impl Into<String>, command: Option<&str>) -> NotPrepared {
        NotPrepared {
            message: message.into(),
            command: command.map(str::to_string),
        }
    }
}

/// Makes everything `program` needs to run `exercise`.
pub(super) async fn prepare(
    exercise: &Exercise,
    program: &Program,
    context: &Context,
) -> Result<Prepared, NotPrepared> {
    let recorder = Recorder::new();
    if let Some(note) = skipped_note(context.workspace.skipped()) {
        recorder.event(note);
    }
    let deadlines = exercise.timeouts.scaled(context.options.timeout_scale);
    let setup = prepare_peer(exercise).map_err(|message| NotPrepared::new(message, None))?;
    let port = setup.port();
    let builtins = super::builtin_values(port, &context.environment.hostname);
    let seed = exercise_seed(context.options.seed, &exercise.id);
    let values = Values::resolve(&exercise.values, seed, &builtins).map_err(|e| {
        NotPrepared::new(
            format!("the exercise's values cannot be computed: {}", e.0),
            None,
        )
    })?;
    let args: Vec<String> = exercise.args.iter().map(|a| values.fill(a)).collect();
    let mut command = program.display.clone();
    for arg in &args {
        command.push(' ');
        command.push_str(&shell_words::quote(arg));
    }
    let failed = |message: String| NotPrepared::new(message, Some(&command));

    let made = context
        .folders
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&exercise.id);
    let folders = match made {
        Some(Ok(folders)) => folders,
        Some(Err(message)) => return Err(failed(message)),
        None => {
            return Err(failed(format!(
                "no private copy was made for {}",
                exercise.id
            )));
        }
    };
    // CPU time: the whole exercise's wall time, plus a second.
    let cpu_seconds = deadlines.total.as_secs() + 1;
    let confinement = Confinement::prepare(
        &context.environment.protections,
        &folders.work,
        &folders.tmp,
        cpu_seconds,
    )
    .map_err(|e| failed(format!("cannot set up the program's confinement: {e}")))?;
    let mut argv = Vec::new();
    if let Some(interpreter) = program.interpreter {
        match context.environment.interpreters.get(interpreter).await {
            Some(path) => argv.push(path.into_os_string()),
            None => {
                return Err(failed(format!(
                    "`{command}` needs `{}`, which is not installed here (not on PATH): install it and grade again",
                    interpreter.name()
                )));
            }
        }
    }
    argv.extend(program.argv.iter().cloned());
    argv.extend(args.iter().map(Into::into));
    let launch = Launch {
        argv,
        cwd: folders.work.clone(),
        env: [
            ("SOCKGRADE_HOST".to_string(), HOST.to_string()),
            ("SOCKGRADE_PORT".to_string(), port.to_string()),
            ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
        ]
        .into_iter()
        .chain(private_env(&folders))
        .collect(),
    };
    Ok(Prepared {
        recorder,
        deadlines,
        setup,
        values,
        interpreted: program.interpreter.is_some(),
        confinement,
        private_path: folders.work.display().to_string(),
        launch,
        command,
    })
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
