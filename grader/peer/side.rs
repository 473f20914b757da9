//! The grader's side of one exercise, whoever runs the student's program:
//! `grade` starts it itself, `sockgrade peer` waits for a person to. Both
//! make the side ready the same way ([`Side::prepare`]: where the grader
//! stands, the values of this run, the deadlines), meet the program the
//! same way ([`meet`]: accept its connection or connect to it) and play
//! the same conversation ([`converse`]). Only what surrounds them differs:
//! starting and watching the program, and how the outcome is told.

use super::{Connection, Conversation, Failure, FailureKind, Listening, Shaping};
use crate::exercise::{Builtin, Deadlines, Exercise, Role, Values, exercise_seed};
use crate::platform;
use crate::student::{Deadline, Observer};
use crate::transcript::Recorder;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The host students connect to and listen on.
pub const HOST: &str = "127.0.0.1";

/// Past the exit grace, how long ending the connection may take at most
/// (it is a few system calls; this only bounds a stuck one).
const FINISH_MARGIN: Duration = Duration::from_secs(1);

/// Who runs the student's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The grader starts it after the side is ready: a server already
    /// listening on its port is another program, a stale one.
    Grader,
    /// A person starts it when they like, perhaps before the grader.
    Person,
}

/// Where the grader stands before the student's program is met.
#[derive(Debug)]
pub enum Setup {
    /// Listening for the student's client.
    Listening(Listening),
    /// The student's server will be on this port.
    Connecting(u16),
}

impl Setup {
    /// Binds the grader's listener for a client exercise; for a server
    /// exercise run by the grader, checks that nothing listens on its
    /// port yet, so the grader never talks to a stale server instead of
    /// the student's program. The error says what holds the port.
    pub fn prepare(exercise: &Exercise, runner: Runner) -> Result<Setup, String> {
        match (exercise.role, exercise.port) {
            (Role::Client, _) => listen_for_client(exercise).map(Setup::Listening),
            (Role::Server, Some(port)) if runner == Runner::Person || super::port_is_free(port) => {
                Ok(Setup::Connecting(port))
            }
            (Role::Server, Some(port)) => {
                let holder = platform::port_holder(port)
                    .map(|h| format!(" by {h}"))
                    .unwrap_or_else(|| " by another program".to_string());
                Err(format!(
                    "port {port} is already in use{holder}, before your server started: stop that program \
                     (an earlier run left open?) and grade again"
                ))
            }
            (Role::Server, None) => {
                Err("the exercise has no port (the exercise file is invalid)".to_string())
            }
        }
    }

    /// The exercise's port in this run.
    pub fn port(&self) -> u16 {
        match self {
            Setup::Listening(listening) => listening.port(),
            Setup::Connecting(port) => *port,
        }
    }
}

/// Listens for the student's client on the exercise's port (any free one
/// when it has none); the error names what holds the port.
fn listen_for_client(exercise: &Exercise) -> Result<Listening, String> {
    let port = exercise.port.unwrap_or(0);
    Listening::bind(port).map_err(|e| {
        let holder = platform::port_holder(port).map(|h| format!(" by {h}")).unwrap_or_default();
        format!("the grader cannot listen on port {port} ({e}): it is in use{holder}; stop that program and try again")
    })
}

/// The grader's side of one exercise, ready for the program.
#[derive(Debug)]
pub struct Side {
    pub setup: Setup,
    /// The exercise's values in this run.
    pub values: Values,
    /// The exercise's deadlines, scaled.
    pub deadlines: Deadlines,
}

impl Side {
    /// Makes the side of `exercise` ready: where the grader stands, the
    /// values drawn from `seed` (the run's seed: each exercise draws its
    /// own from it), the deadlines times `timeout_scale`.
    pub fn prepare(
        exercise: &Exercise,
        runner: Runner,
        seed: u64,
        hostname: &str,
        timeout_scale: f64,
    ) -> Result<Side, String> {
        let mut deadlines = exercise.timeouts.scaled(timeout_scale);
        if runner == Runner::Person {
            // After a conversation that went right, the grader waits the
            // exit grace for the student's side to close: a person's
            // netcat closes only when told to, and a verdict that comes
            // ten grades' graces later looks like a hang.
            deadlines.exit_grace = exercise.timeouts.scaled(1.0).exit_grace;
        }
        let setup = Setup::prepare(exercise, runner)?;
        let builtins = builtin_values(setup.port(), hostname);
        let values = Values::resolve(
            &exercise.values,
            exercise_seed(seed, &exercise.id),
            &builtins,
        )
        .map_err(|e| format!("the exercise's values cannot be computed: {}", e.0))?;
        Ok(Side {
            setup,
            values,
            deadlines,
        })
    }

    /// The exercise's port in this run.
    pub fn port(&self) -> u16 {
        self.setup.port()
    }

    /// The program's arguments in this run, filled in.
    pub fn args(&self, exercise: &Exercise) -> Vec<String> {
        exercise.args.iter().map(|a| self.values.fill(a)).collect()
    }
}

/// The values the grader fills in itself, for a conversation on `port`.
pub fn builtin_values(port: u16, hostname: &str) -> [(&'static str, String); 4] {
    Builtin::ALL.map(|builtin| {
        let value = match builtin {
            Builtin::Host => HOST.to_string(),
            Builtin::Port => port.to_string(),
            Builtin::Hostname => hostname.to_string(),
            // The grader connects from loopback; corrected once connected.
            Builtin::ClientIp => HOST.to_string(),
        };
        (builtin.name(), value)
    })
}

/// Meets the student's program: accepts its connection, or connects to
/// its server, by `start`; fails early when the program exits first or,
/// for a server, listens on another port.
pub async fn meet(
    setup: Setup,
    start: &Deadline,
    observer: &mut Observer,
) -> Result<TcpStream, Failure> {
    match setup {
        Setup::Listening(listening) => {
            let port = listening.port();
            tokio::select! {
                stream = listening.accept(start.latest(), observer) => stream,
                () = start.reached() => Err(Failure::new(
                    FailureKind::Timeout,
                    format!("the program did not connect to port {port} in time"),
                )),
            }
        }
        Setup::Connecting(port) => {
            let program = observer.pid;
            tokio::select! {
                stream = super::connect(port, || start.now_due(), observer) => stream,
                failure = super::wrong_port(program, port) => Err(failure),
            }
        }
    }
}

/// How a conversation went.
#[derive(Debug)]
pub struct Conversed {
    /// `Ok` when every step passed.
    pub outcome: Result<(), Failure>,
    /// What the program sent that the grader did not accept: the
    /// evidence hints are read from.
    pub unaccepted: String,
}

/// Plays `exercise` over `stream`, then ends the connection: after a pass
/// the program has the exit grace to read to the end; after a failure it
/// is ended next, so there is no need to wait. `values` learns the
/// address the grader connected from.
pub async fn converse(
    exercise: &Exercise,
    values: &mut Values,
    deadlines: Deadlines,
    stream: TcpStream,
    recorder: &Recorder,
    observer: Observer,
    shaping: Shaping,
) -> Conversed {
    recorder.event(match exercise.role {
        Role::Client => "the program connected",
        Role::Server => "connected to the program",
    });
    let mut connection = Connection::new(stream, recorder.clone());
    connection.watch_program(observer.pid);
    if exercise.role == Role::Server
        && let Some(ip) = connection.local_ip()
    {
        values.set(Builtin::ClientIp.name(), ip.to_string());
    }
    let (outcome, connection) =
        Conversation::new(exercise, values, deadlines, connection, observer, shaping)
            .play()
            .await;
    let unaccepted = String::from_utf8_lossy(connection.buffered()).into_owned();
    let grace = if outcome.is_ok() {
        deadlines.exit_grace
    } else {
        Duration::ZERO
    };
    let _ = timeout(grace + FINISH_MARGIN, connection.finish(grace)).await;
    Conversed {
        outcome,
        unaccepted,
    }
}
