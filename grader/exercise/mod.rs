//! An exercise as data: who the student is, which port, the timeouts, the
//! random values, and the conversation as a list of [`Step`]s. The notebook's
//! exercises are embedded in the binary; `--exercises FILE` loads others in
//! the same format, so an instructor changes an exercise without recompiling.

mod load;
mod numbers;
mod pattern;
mod robustness;
mod template;
mod values;

pub use load::{EMBEDDED_SOURCE, ExerciseSet, LoadError, UnknownExercise};
pub use numbers::{MAX_POINTS, MAX_TIMEOUT_SECONDS};
pub use pattern::Pattern;
pub use robustness::{CoalescedPair, Variant, coalesced_pair};
pub use template::{Piece, Template};
pub use values::{Builtin, Rng, Values, ValuesError, exercise_seed};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One exercise of the notebook (or of an instructor's file).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Exercise {
    /// The id students and files use, such as `client-1`.
    pub id: String,
    /// A short title.
    pub title: String,
    /// What the student is asked to do, in the notebook's words.
    pub instructions: String,
    /// Whether the student writes the client or the server.
    pub role: Role,
    /// The port of the conversation; absent when any free port will do (the
    /// program then learns it from `args` and `SOCKGRADE_PORT`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Arguments given to the student's program; `{host}` and `{port}` are
    /// filled in.
    #[serde(default)]
    pub args: Vec<Template>,
    /// Points for passing, from 0 to [`MAX_POINTS`].
    #[serde(default = "default_points", deserialize_with = "numbers::points")]
    pub points: f64,
    /// Appended to every message the grader sends (netcat sends `\n`).
    #[serde(default = "default_line_ending")]
    pub line_ending: String,
    /// How long each phase may take.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Named random or derived values, used in steps as `{name}`.
    #[serde(default)]
    pub values: BTreeMap<String, ValueSpec>,
    /// The conversation, played in order.
    pub steps: Vec<Step>,
    /// Hints for mistakes that show in what the student sent, tried in
    /// order when a step fails.
    #[serde(default)]
    pub hints: Vec<HintSpec>,
    /// When the student may see this exercise's result on Gradescope (the
    /// other reports always show it).
    #[serde(default, skip_serializing_if = "Visibility::is_visible")]
    pub visibility: Visibility,
    /// The robustness tier's variants to replay this exercise in after it
    /// passed (see [`Variant`]); none by default, all with `--robust`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub robustness: Vec<Variant>,
}

/// When a student may see an exercise's result, in Gradescope's terms
/// (its test `visibility`): a course keeps some tests back until the
/// deadline, or for good.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// As soon as the grade is done.
    #[default]
    Visible,
    /// Never (the instructor sees it).
    Hidden,
    /// Once the assignment's due date has passed.
    AfterDueDate,
    /// Once the instructor publishes the grades.
    AfterPublished,
}

impl Visibility {
    /// Whether it is the default, shown at once.
    pub fn is_visible(&self) -> bool {
        *self == Visibility::Visible
    }
}

/// A known mistake: when the message the student sent at a failed step
/// matches `when`, the report shows `hint` (placeholders filled).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HintSpec {
    /// What the wrong message looks like.
    pub when: Matcher,
    /// What to tell the student.
    pub hint: Template,
}

fn default_points() -> f64 {
    1.0
}

fn default_line_ending() -> String {
    "\n".to_string()
}

/// The student's side of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The student writes a client; the grader listens.
    Client,
    /// The student writes a server; the grader connects.
    Server,
}

impl Role {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// Deadlines of one exercise, in seconds (scaled by `--timeout-scale`),
/// each from 0 to [`MAX_TIMEOUT_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Timeouts {
    /// From launch until a client connects or a server accepts.
    #[serde(deserialize_with = "numbers::start")]
    pub start: f64,
    /// For each step that waits on the student.
    #[serde(deserialize_with = "numbers::step")]
    pub step: f64,
    /// For the whole exercise, launch to verdict.
    #[serde(deserialize_with = "numbers::total")]
    pub total: f64,
    /// After the conversation, for a client to print and exit.
    #[serde(deserialize_with = "numbers::exit_grace")]
    pub exit_grace: f64,
    /// Silence after which a message without a newline counts as complete.
    #[serde(deserialize_with = "numbers::quiet")]
    pub quiet: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            start: 5.0,
            step: 3.0,
            total: 20.0,
            exit_grace: 2.0,
            quiet: 0.3,
        }
    }
}

impl Timeouts {
    /// These timeouts multiplied by `scale`, as durations.
    pub fn scaled(&self, scale: f64) -> Deadlines {
        let seconds = |value: f64| Duration::from_secs_f64((value * scale).max(0.001));
        Deadlines {
            start: seconds(self.start),
            step: seconds(self.step),
            total: seconds(self.total),
            exit_grace: seconds(self.exit_grace),
            quiet: seconds(self.quiet),
        }
    }
}

/// [`Timeouts`] after scaling, ready to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// See [`Timeouts::start`].
    pub start: Duration,
    /// See [`Timeouts::step`].
    pub step: Duration,
    /// See [`Timeouts::total`].
    pub total: Duration,
    /// See [`Timeouts::exit_grace`].
    pub exit_grace: Duration,
    /// See [`Timeouts::quiet`].
    pub quiet: Duration,
}

/// A named value of an exercise, drawn from the run's seed or derived from
/// other values. Text fields may use `{name}` placeholders.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ValueSpec {
    /// A random lowercase word from a built-in list.
    RandomWord,
    /// A random phrase of several words, with spaces and punctuation.
    RandomPhrase,
    /// A random integer in `[min, max]`.
    RandomNumber {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// A random token of 16 hexadecimal digits.
    RandomToken,
    /// Text built from other values, such as `doubled:{word}{word}`.
    Format(Template),
    /// The number of alphabetic characters in a text.
    LetterCount(Template),
    /// The number of characters in a text (spaces and punctuation too).
    Length(Template),
    /// The sum of the numbers in a list of texts.
    Sum(Vec<Template>),
}

/// The kinds of random value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RandomKind {
    Word,
    Phrase,
    Number,
    Token,
}

impl RandomKind {
    /// The noun a student reads for it: `the word`, `the second number`.
    pub fn noun(self) -> &'static str {
        match self {
            RandomKind::Word => "word",
            RandomKind::Phrase => "phrase",
            RandomKind::Number => "number",
            RandomKind::Token => "token",
        }
    }
}

/// How a derived value is made from the texts it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivation<'a> {
    Format(&'a Template),
    LetterCount(&'a Template),
    Length(&'a Template),
    Sum(&'a [Template]),
}

/// Where a value comes from: drawn at random, or derived from others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    Drawn(RandomKind),
    Derived(Derivation<'a>),
}

/// One step of the conversation, from the grader's side.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Send a message (placeholders filled, the line ending appended).
    Send(Template),
    /// Read until a message matches, or fail on a mismatch, close or deadline.
    Expect(Matcher),
    /// Accept a message matching this if one comes within the quiet gap.
    ExpectOptional(Matcher),
    /// Expect the student to close the connection.
    ExpectClose,
    /// Expect the program's standard output to match (before it exits).
    ExpectOutput(Matcher),
    /// Expect the program to exit by itself with this status.
    ExpectExit(i32),
    /// Play a web server for one HTTP/1.0 request, then close.
    HttpExchange(HttpExchange),
    /// Close the grader's side of the connection gracefully.
    Close,
}

impl Step {
    /// True for a step in which the grader sends on the connection.
    pub fn sends(&self) -> bool {
        matches!(self, Step::Send(_) | Step::HttpExchange(_))
    }
}

/// The grader's side of one HTTP exchange (client-5).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpExchange {
    /// The request line the student must send, such as `GET / HTTP/1.0`.
    pub request_line: Template,
    /// The body of the `200 OK` response (placeholders filled).
    pub body: Template,
}

/// What counts as a right message. Text is compared after trimming
/// surrounding whitespace and line endings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Matcher {
    /// The message is exactly this text.
    Exact(Template),
    /// The message contains this text.
    Contains(Template),
    /// The message matches this regular expression (compiled as the file
    /// is read; placeholders are filled in escaped).
    Regex(Pattern),
    /// The message contains a number equal to this value (`42`, `42.0` and
    /// `The sum is 42` all match 42).
    Number(Template),
    /// Any message with some text in it (a prompt).
    AnyText,
    /// Every one of these matches the text received in this step.
    AllOf(Vec<Matcher>),
    /// At least one of these matches.
    AnyOf(Vec<Matcher>),
    /// This does not match (server-4: a prompt that is not the echo `exit`).
    Not(Box<Matcher>),
}

/// A problem with an exercise that parses but cannot be played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Where: `exercise client-1, step 3`.
    pub place: String,
    /// What is wrong and what to do.
    pub problem: String,
}

/// The other spelling of an exercise's names the contract accepts:
/// `client_1` for `client-1` (Python modules cannot hold a `-`).
pub fn underscored(exercise_id: &str) -> String {
    exercise_id.replace('-', "_")
}

impl Exercise {
    /// Whether `name` names this exercise: its id, or its id's other
    /// spelling (`client_1`), as on the command line.
    pub fn answers_to(&self, name: &str) -> bool {
        self.id == name || underscored(&self.id) == name
    }

    /// Checks what serde cannot: placeholders name known values, value
    /// names are placeholder names, no value depends on itself, no text can
    /// expand past 64 Ki characters (`MAX_EXPANDED_CHARS`), regexes (of steps
    /// and hints) compile, a client
    /// exercise has a port or arguments to carry one. (Numbers are checked
    /// as they are read, in `numbers`.)
    pub fn validate(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        let mut complain =
            |place: String, problem: String| problems.push(Invalid { place, problem });
        let here = |what: &str| format!("exercise {}, {what}", self.id);

        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            complain(
                here("id"),
                "ids use letters, digits and `-` only (they name the student's files)".to_string(),
            );
        }
        if self.steps.is_empty() {
            complain(
                here("steps"),
                "an exercise needs at least one step".to_string(),
            );
        }
        if self.role == Role::Server && self.port.is_none() {
            complain(
                here("port"),
                "a server exercise needs a `port` to connect to".to_string(),
            );
        }
        let passes_port = |arg: &Template| arg.names().any(|name| name == Builtin::Port.name());
        if self.port.is_none() && !self.args.iter().any(passes_port) {
            complain(
                here("port"),
                "without a fixed `port`, `args` must pass `{port}` to the program".to_string(),
            );
        }
        // Every text that may hold placeholders, with where it is.
        let mut texts: Vec<(String, &Template)> = Vec::new();
        for (name, spec) in &self.values {
            texts.extend(
                spec.texts()
                    .into_iter()
                    .map(|t| (here(&format!("value `{name}`")), t)),
            );
        }
        texts.extend(self.args.iter().map(|a| (here("args"), a)));
        for (index, step) in self.steps.iter().enumerate() {
            let place = here(&format!("step {}", index + 1));
            texts.extend(step.texts().into_iter().map(|t| (place.clone(), t)));
            for problem in step
                .matcher()
                .map(Matcher::regex_problems)
                .unwrap_or_default()
            {
                complain(place.clone(), problem.to_string());
            }
        }
        for (index, hint) in self.hints.iter().enumerate() {
            for problem in hint.when.regex_problems() {
                complain(here(&format!("hint {}", index + 1)), problem.to_string());
            }
        }
        let known = |name: &str| Builtin::named(name).is_some() || self.values.contains_key(name);
        for (place, text) in &texts {
            for name in text.names().filter(|name| !known(name)) {
                complain(
                    place.clone(),
                    format!("`{{{name}}}` names no value; define it under `values`"),
                );
            }
        }
        for name in self.values.keys().filter(|name| !template::is_name(name)) {
            complain(
                here(&format!("value `{name}`")),
                "value names start with a letter and use letters, digits, `-` and `_` only"
                    .to_string(),
            );
        }
        match values::longest(&self.values) {
            Err(cycle) => complain(here("values"), cycle),
            Ok(longest) => {
                // Hints are filled too; their placeholders need not name a
                // value, but they must not expand without bound either.
                for hint in &self.hints {
                    let place = here("hints");
                    texts.push((place.clone(), &hint.hint));
                    texts.extend(hint.when.texts().into_iter().map(|t| (place.clone(), t)));
                }
                let most = |name: &str| longest.get(name).copied();
                let max = values::MAX_EXPANDED_CHARS;
                // Only where the growth starts: a text over the limit whose
                // every input is within it.
                for (place, text) in texts {
                    let inputs_fit = text.names().all(|p| most(p).unwrap_or(0) <= max);
                    if inputs_fit && values::expanded_len(text, most) > max {
                        complain(
                            place,
                            format!(
                                "this text can expand to more than {max} characters; shorten it or the values it uses"
                            ),
                        );
                    }
                }
            }
        }
        problems
    }
}

impl ValueSpec {
    /// Where the value comes from.
    pub fn origin(&self) -> Origin<'_> {
        match self {
            ValueSpec::RandomWord => Origin::Drawn(RandomKind::Word),
            ValueSpec::RandomPhrase => Origin::Drawn(RandomKind::Phrase),
            ValueSpec::RandomNumber { .. } => Origin::Drawn(RandomKind::Number),
            ValueSpec::RandomToken => Origin::Drawn(RandomKind::Token),
            ValueSpec::Format(text) => Origin::Derived(Derivation::Format(text)),
            ValueSpec::LetterCount(text) => Origin::Derived(Derivation::LetterCount(text)),
            ValueSpec::Length(text) => Origin::Derived(Derivation::Length(text)),
            ValueSpec::Sum(items) => Origin::Derived(Derivation::Sum(items)),
        }
    }

    /// The texts a derived value is made from; none for a random one.
    pub fn texts(&self) -> Vec<&Template> {
        match self.origin() {
            Origin::Drawn(_) => Vec::new(),
            Origin::Derived(
                Derivation::Format(text) | Derivation::LetterCount(text) | Derivation::Length(text),
            ) => vec![text],
            Origin::Derived(Derivation::Sum(items)) => items.iter().collect(),
        }
    }
}

impl Step {
    /// The matcher of an expecting step.
    pub fn matcher(&self) -> Option<&Matcher> {
        match self {
            Step::Expect(m) | Step::ExpectOptional(m) | Step::ExpectOutput(m) => Some(m),
            _ => None,
        }
    }

    /// The texts that may hold placeholders, in reading order.
    pub fn texts(&self) -> Vec<&Template> {
        match self {
            Step::Send(text) => vec![text],
            Step::HttpExchange(http) => vec![&http.request_line, &http.body],
            step => step.matcher().map(Matcher::texts).unwrap_or_default(),
        }
    }
}

impl Matcher {
    /// The texts that may hold placeholders, in reading order.
    pub fn texts(&self) -> Vec<&Template> {
        match self {
            Matcher::Exact(t) | Matcher::Contains(t) | Matcher::Number(t) => vec![t],
            Matcher::Regex(pattern) => vec![pattern.template()],
            Matcher::AnyText => Vec::new(),
            Matcher::AllOf(all) | Matcher::AnyOf(all) => {
                all.iter().flat_map(Matcher::texts).collect()
            }
            Matcher::Not(inner) => inner.texts(),
        }
    }

    /// Why its regexes cannot be used, one problem per broken pattern.
    fn regex_problems(&self) -> Vec<&str> {
        match self {
            Matcher::Regex(pattern) => pattern.problem().into_iter().collect(),
            Matcher::AllOf(all) | Matcher::AnyOf(all) => {
                all.iter().flat_map(Matcher::regex_problems).collect()
            }
            Matcher::Not(inner) => inner.regex_problems(),
            _ => Vec::new(),
        }
    }
}
