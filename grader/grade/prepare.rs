//! The first stage of an exercise's run: everything the program needs
//! made before it starts (the grader's side of the connection, the
//! values, the private folders, the confinement, the command). A failure
//! here is the grader's or the machine's, never the program's: it becomes
//! an `error` verdict.

use super::{Context, private_env};
use crate::exercise::Exercise;
use crate::exercise::Variant;
use crate::peer::{HOST, Runner, Shaping, Side};
use crate::sandbox::Confinement;
use crate::student::{Launch, Program, Skipped};
use crate::transcript::Recorder;

/// An exercise ready to run.
pub(super) struct Prepared {
    /// The transcript, already holding what the run should know first.
    pub recorder: Recorder,
    /// The grader's side, ready for the program.
    pub side: Side,
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
    /// How the grader's messages go out in this run.
    pub shaping: Shaping,
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

/// Makes everything `program` needs to run `exercise`, in the normal tier
/// or in one of the robustness tier's variants.
pub(super) async fn prepare(
    exercise: &Exercise,
    program: &Program,
    variant: Option<Variant>,
    context: &Context,
) -> Result<Prepared, NotPrepared> {
    let recorder = Recorder::new();
    if let Some(note) = skipped_note(context.workspace.skipped()) {
        recorder.event(note);
    }
    let side = Side::prepare(
        exercise,
        Runner::Grader,
        context.options.seed,
        &context.environment.hostname,
        context.options.timeout_scale,
    )
    .map_err(|message| NotPrepared::new(message, None))?;
    let port = side.port();
    let args = side.args(exercise);
    let mut command = program.display.clone();
    for arg in &args {
        command.push(' ');
        command.push_str(&shell_words::quote(arg));
    }
    let failed = |message: String| NotPrepared::new(message, Some(&command));

    let key = super::folders_key(&exercise.id, variant);
    let made = context
        .folders
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&key);
    let folders = made
        .unwrap_or_else(|| super::private_folders(&context.workspace, &key))
        .map_err(failed)?;
    // CPU time: the whole exercise's wall time, plus a second.
    let cpu_seconds = side.deadlines.total.as_secs() + 1;
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
        side,
        interpreted: program.interpreter.is_some(),
        confinement,
        private_path: folders.work.display().to_string(),
        launch,
        command,
        shaping: Shaping::of(variant, context.options.seed, &exercise.id),
    })
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
