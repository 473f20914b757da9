//! `sockgrade explain EXERCISE`: what the grader will do and accept for one
//! exercise, in plain words a student understands. Everything is generated
//! from the exercise data, so an instructor's own exercise file is explained
//! as well as the notebook's, and the words cannot drift from the grading.

use crate::exercise::{
    Builtin, Exercise, HttpExchange, Matcher, Origin, Piece, RandomKind, Role, Step, Template,
    ValueSpec, Variant,
};
use crate::peer::HOST;
use crate::student::MANIFEST;
use crate::text::escape_bytes;
use std::collections::{HashMap, HashSet};

/// The column text is wrapped at: readable in any terminal.
const WIDTH: usize = 76;

/// Where the labels of the summary block end (`Your files: `).
const LABEL_WIDTH: usize = 12;

/// How deep derived values may refer to each other before the description
/// gives up; validation rules out cycles, but `explain` takes any exercise.
const MAX_DEPTH: usize = 8;

/// What the grader will do and accept for `exercise`, as text for a student:
/// the title and instructions, who the student writes and where it connects,
/// the points, how to check it, the file names looked for, the conversation
/// step by step (numbered as failure reports number them), the time limits,
/// and how messages are framed. Ends with a newline.
pub fn explain(exercise: &Exercise) -> String {
    let mut describer = Describer::new(exercise);
    let mut out = format!("{} · {}\n\n", exercise.id, exercise.title);
    for paragraph in exercise.instructions.split("\n\n") {
        if !paragraph.trim().is_empty() {
            out.push_str(&wrap(paragraph, "", ""));
        }
    }
    out.push('\n');
    out.push_str(&labelled("You write:", &who_you_write(exercise)));
    out.push_str(&labelled("Points:", &points(exercise.points)));
    out.push_str(&labelled(
        "Check it:",
        &format!(
            "`sockgrade grade . --exercise {}` in your folder",
            exercise.id
        ),
    ));
    out.push_str(&labelled("Your files:", &file_names(&exercise.id)));

    out.push('\n');
    out.push_str(&wrap(&conversation_opening(exercise), "", ""));
    let mut last_sent: Option<&Template> = None;
    for (index, step) in exercise.steps.iter().enumerate() {
        let line = describer.step(step, last_sent);
        let number = format!("{:>2}. ", index + 1);
        out.push_str(&wrap(&line, &number, &" ".repeat(number.len())));
        match step {
            Step::Send(text) => last_sent = Some(text),
            // Only the message just sent can be echoed back.
            Step::Expect(_) | Step::HttpExchange(_) => last_sent = None,
            _ => {}
        }
    }

    out.push('\n');
    out.push_str("Time limits (all scaled by `--timeout-scale`):\n");
    for limit in time_limits(exercise) {
        out.push_str(&wrap(&limit, "  - ", "    "));
    }

    out.push('\n');
    out.push_str(&wrap(&framing(exercise), "", ""));
    if let Some(robustness) = robustness(exercise) {
        out.push('\n');
        out.push_str(&wrap(&robustness, "", ""));
    }
    out
}

/// What the robustness tier would change in this exercise's conversation,
/// and when it is played; `None` where it changes nothing.
fn robustness(exercise: &Exercise) -> Option<String> {
    let applies: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|variant| variant.applies_to(exercise))
        .collect();
    if applies.is_empty() {
        return None;
    }
    let when = match exercise.robustness.as_slice() {
        [] => "With `--robust`".to_string(),
        asked => format!(
            "After it passes (this exercise asks for {})",
            asked
                .iter()
                .map(|v| format!("`{}`", v.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let ways: Vec<String> = applies
        .iter()
        .map(|v| format!("`{}`: {}", v.as_str(), v.describe()))
        .collect();
    Some(format!(
        "{when}, the conversation is played again as a real network delivers TCP ({}); that tier is feedback and leaves the points alone. One recv may return part of a message, or two at once: read until the newline that ends each message.",
        ways.join("; ")
    ))
}

/// The summary line saying which program the student writes and where it
/// meets the grader.
fn who_you_write(exercise: &Exercise) -> String {
    let args = arguments(&exercise.args);
    let given = |what: &str| format!("{what}: your program gets `{args}` as arguments");
    match (exercise.role, exercise.port) {
        (Role::Client, Some(port)) => {
            let mut text =
                format!("a client that connects to {HOST} port {port} (`localhost` works too)");
            if !exercise.args.is_empty() {
                text = format!("{text}; {}", given("it is started with arguments"));
            }
            format!("{text}.")
        }
        (Role::Client, None) => format!(
            "a client that connects to the host and port it is given — {} (the \
             grader picks a free port; `SOCKGRADE_HOST` and `SOCKGRADE_PORT` \
             hold them too).",
            given("any port")
        ),
        (Role::Server, Some(port)) => {
            let mut text = format!(
                "a server that listens on port {port}; the grader connects to \
                 {HOST} port {port}, once"
            );
            if !exercise.args.is_empty() {
                text = format!("{text}; {}", given("it is started with arguments"));
            }
            format!("{text}.")
        }
        // Validation refuses this; say what the grader would do anyway.
        (Role::Server, None) => {
            format!("a server on the port it is given — {}.", given("any port"))
        }
    }
}

/// The program's arguments as a student reads them: `{host} {port}` is
/// `HOST PORT`.
fn arguments(args: &[Template]) -> String {
    let shown: Vec<String> = args.iter().map(with_stand_ins).collect();
    shown.join(" ")
}

/// `template` with each value shown by its stand-in: `{host}` is `HOST`.
fn with_stand_ins(template: &Template) -> String {
    template.substitute(|name| Some(stand_in(name)))
}

/// The upper-case name that stands for a value in a pattern or a command
/// line (`client-ip` is `CLIENT_IP`).
fn stand_in(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

fn points(points: f64) -> String {
    let unit = if points == 1.0 { "point" } else { "points" };
    format!("{} {unit}, all or nothing", plain_number(points))
}

/// A number as people write it: `5`, `0.3`, `2.5`.
fn plain_number(value: f64) -> String {
    format!("{value}")
}

/// The names the submission contract looks for (see `student::locate`).
fn file_names(id: &str) -> String {
    let underscored = crate::student::underscored(id);
    let kinds: Vec<String> = crate::student::SCRIPT_KINDS
        .iter()
        .enumerate()
        .map(|(i, (extension, interpreter))| {
            let language = interpreter.language();
            if i == 0 && underscored != id {
                format!("`{id}.{extension}` or `{underscored}.{extension}` ({language})")
            } else {
                format!("`{id}.{extension}` ({language})")
            }
        })
        .collect();
    let mut text = format!("{}, or an executable `{id}`", kinds.join(", "));
    if underscored != id {
        text.push_str(" (`_` may replace `-` in every name)");
    }
    text.push_str(&format!(
        "; a command for `{id}` in a `{MANIFEST}` manifest comes first."
    ));
    text
}

/// The sentence before the numbered steps: how the conversation starts.
fn conversation_opening(exercise: &Exercise) -> String {
    let place = match exercise.port {
        Some(port) => format!("{HOST} port {port}"),
        None => format!("a free port of {HOST} (the one your program is given)"),
    };
    match exercise.role {
        Role::Client => format!(
            "The conversation, from the grader's side. The grader listens on \
             {place} and starts your program; once your client has \
             connected:"
        ),
        Role::Server => format!(
            "The conversation, from the grader's side. The grader starts your \
             program and connects to {place} as soon as your server \
             accepts; then:"
        ),
    }
}

/// One sentence per deadline: what it is and how long.
fn time_limits(exercise: &Exercise) -> Vec<String> {
    let t = &exercise.timeouts;
    let s = |value: f64| format!("{} s", plain_number(value));
    let role = exercise.role.as_str();
    let start = match exercise.role {
        Role::Client => "from the start of your program until your client connects".to_string(),
        Role::Server => "from the start of your program until your server accepts the grader's \
             connection (the grader keeps trying meanwhile)"
            .to_string(),
    };
    vec![
        format!("Start: {}, {start}.", s(t.start)),
        format!(
            "Each step: {} for each step that waits on your {role} (a message, \
             its output, its exit or its close).",
            s(t.step)
        ),
        format!(
            "Whole exercise: {}, from the start of your program to the verdict.",
            s(t.total)
        ),
        format!(
            "Quiet gap: {} of silence ends a message that has no line ending, unless it could still become the right one.",
            s(t.quiet)
        ),
    ]
}

/// The framing rules, as "How messages are read" in the README states them.
fn framing(exercise: &Exercise) -> String {
    let quiet = plain_number(exercise.timeouts.quiet);
    let mut text = format!(
        "What counts as a message: TCP carries bytes, not messages, so the \
         grader decides where each of yours ends: at a newline, when you close \
         the connection, after a quiet gap of {quiet} s with nothing new, or as \
         soon as the bytes received match what is expected, without waiting. \
         `\\n`, `\\r\\n` or no line ending at all are the same, surrounding \
         spaces are ignored, blank lines between messages are skipped, and \
         fragments are joined: `hel` then `lo` reads as `hello`. What is inside \
         must match. A quiet gap never cuts a message that could still become \
         the right one (the start of the expected text, the first digits of \
         the number, any text where the answer only has to contain something): \
         that one is judged when you close, at the step's deadline, or once it \
         can no longer be right."
    );
    let has_prompt = exercise
        .steps
        .iter()
        .filter_map(Step::matcher)
        .any(has_any_text);
    if has_prompt {
        text.push_str(
            " A prompt is complete at a newline, at an ending such as `:` or \
             `?`, or after the quiet gap, so the grader never answers half a \
             prompt.",
        );
    }
    let sends = exercise
        .steps
        .iter()
        .any(|step| matches!(step, Step::Send(_)));
    if sends {
        text.push_str(&format!(
            " The grader ends each message it sends with {}. Once it has \
             nothing more to send, it closes its sending side (a half-close, \
             as netcat does at the end of its input): a program reading until \
             the end of the stream gets there, and can still send. An answer \
             that had already arrived before the grader sent the message it \
             answers does not count: wait for (recv) the grader's message \
             before replying; only a prompt may come early.",
            line_ending_noun(&exercise.line_ending)
        ));
    }
    text
}

fn has_any_text(matcher: &Matcher) -> bool {
    match matcher {
        Matcher::AnyText => true,
        Matcher::AllOf(all) | Matcher::AnyOf(all) => all.iter().any(has_any_text),
        _ => false,
    }
}

/// The line ending the grader appends, as a noun.
fn line_ending_noun(ending: &str) -> String {
    match ending {
        "\n" => "a newline (`\\n`), as netcat does".to_string(),
        "\r\n" => "a carriage return and a newline (`\\r\\n`)".to_string(),
        "" => "nothing: no line ending".to_string(),
        other => format!("`{}`", escape_bytes(other.as_bytes())),
    }
}

/// Turns templates, values and matchers into words, remembering which
/// random values the reader has met so that later steps say "the word".
struct Describer<'a> {
    exercise: &'a Exercise,
    /// Random values already described in full.
    introduced: HashSet<String>,
    /// For random values that share their kind (two numbers): their 1-based
    /// place among that kind, in the order the conversation first uses them.
    ordinals: HashMap<String, usize>,
    /// How many random values there are of each kind.
    kind_counts: HashMap<RandomKind, usize>,
}

impl<'a> Describer<'a> {
    fn new(exercise: &'a Exercise) -> Describer<'a> {
        let mut kind_counts: HashMap<RandomKind, usize> = HashMap::new();
        for spec in exercise.values.values() {
            if let Some(kind) = random_kind(spec) {
                *kind_counts.entry(kind).or_default() += 1;
            }
        }
        let mut seen: HashMap<RandomKind, usize> = HashMap::new();
        let mut ordinals = HashMap::new();
        for name in random_values_in_order(exercise) {
            let Some(kind) = exercise.values.get(&name).and_then(random_kind) else {
                continue;
            };
            if kind_counts[&kind] > 1 {
                let place = seen.entry(kind).or_default();
                *place += 1;
                ordinals.insert(name, *place);
            }
        }
        Describer {
            exercise,
            introduced: HashSet::new(),
            ordinals,
            kind_counts,
        }
    }

    fn role(&self) -> &'static str {
        self.exercise.role.as_str()
    }

    /// One step, as a sentence. `last_sent` is the message the grader sent
    /// just before, so that an expected echo can be called one.
    fn step(&mut self, step: &Step, last_sent: Option<&Template>) -> String {
        let role = self.role();
        let echoes = |matcher: &Matcher| match (matcher, last_sent) {
            (Matcher::Exact(text), Some(sent)) => text.as_str().trim() == sent.as_str().trim(),
            _ => false,
        };
        match step {
            Step::Send(text) => self.send(text),
            Step::Expect(matcher) if echoes(matcher) => format!(
                "The grader waits for your {role} to send back {}.",
                self.matcher_noun(matcher, "a message")
            ),
            Step::Expect(matcher) => format!(
                "The grader waits for your {role} to send {}.",
                self.matcher_noun(matcher, "a message")
            ),
            Step::ExpectOptional(matcher) => {
                let what = match matcher {
                    Matcher::Exact(text) if echoes(matcher) => {
                        format!("echo {} back", self.text(text, 0))
                    }
                    _ => format!("send {}", self.matcher_noun(matcher, "a message")),
                };
                format!(
                    "Your {role} may {what} (optional): the grader takes it if it \
                     comes within the quiet gap ({} s), and otherwise goes on.",
                    plain_number(self.exercise.timeouts.quiet)
                )
            }
            Step::ExpectClose => format!(
                "The grader waits for your {role} to close the connection (what it \
                 sends before closing, such as a goodbye, is fine)."
            ),
            Step::ExpectOutput(matcher) => format!(
                "Your {role} prints {} (the grader reads its standard output).",
                self.matcher_noun(matcher, "output")
            ),
            Step::ExpectExit(code) => {
                let success = if *code == 0 { " (success)" } else { "" };
                format!("Your {role} exits by itself with status {code}{success}.")
            }
            Step::HttpExchange(http) => self.http(http),
            Step::Close => "The grader closes the connection.".to_string(),
        }
    }

    fn send(&mut self, text: &Template) -> String {
        let ending = &self.exercise.line_ending;
        if text.as_str().trim().is_empty() {
            return match ending.as_str() {
                "\n" | "\r\n" => "The grader sends an empty line.".to_string(),
                _ => format!(
                    "The grader sends an empty message followed by {}.",
                    line_ending_noun(ending)
                ),
            };
        }
        let what = self.text(text, 0);
        // A second "followed by" would read as part of the message.
        let joiner = if what.contains(" followed by ") {
            ", then"
        } else {
            " followed by"
        };
        let after = match ending.as_str() {
            "\n" => format!("{joiner} a newline"),
            "" => " with no line ending".to_string(),
            other => format!("{joiner} {}", line_ending_noun(other)),
        };
        format!("The grader sends {what}{after}.")
    }

    fn http(&mut self, http: &HttpExchange) -> String {
        let request = self.text(&http.request_line, 0);
        let body = self.text(&http.body, 0);
        format!(
            "The grader acts as a web server: it waits for the request line \
             {request} and an empty line (header lines in between are fine, and \
             lines may end in `\\n` or `\\r\\n`), answers `HTTP/1.0 200 OK` with \
             a body containing {body}, and closes the connection."
        )
    }

    /// A matcher as the thing the student sends or prints; `subject` is
    /// `a message` or `output`.
    fn matcher_noun(&mut self, matcher: &Matcher, subject: &str) -> String {
        // A prompt that must not be some text (server-4: not the echo).
        if subject != "output"
            && let Matcher::AllOf(all) = matcher
            && let [Matcher::AnyText, Matcher::Not(inner)] = all.as_slice()
        {
            return format!(
                "any text — your prompt — except a message that {} (an echo is not a prompt)",
                self.condition(inner)
            );
        }
        match matcher {
            Matcher::Exact(text) => format!(
                "exactly {} (surrounding spaces and line endings ignored)",
                self.text(text, 0)
            ),
            Matcher::Contains(text) => format!("{subject} containing {}", self.text(text, 0)),
            Matcher::Regex(pattern) => {
                format!(
                    "{subject} matching the regular expression {}",
                    self.regex(pattern.template())
                )
            }
            Matcher::Number(number) => {
                format!("{subject} containing {}", self.number(number, true))
            }
            Matcher::AnyText if subject == "output" => "any text".to_string(),
            Matcher::AnyText => "any text — your prompt".to_string(),
            Matcher::AllOf(_) | Matcher::AnyOf(_) | Matcher::Not(_) => {
                format!("{subject} that {}", self.condition(matcher))
            }
        }
    }

    /// A matcher as a condition on a text: `contains `200 OK``.
    fn condition(&mut self, matcher: &Matcher) -> String {
        match matcher {
            Matcher::Exact(text) => format!("is exactly {}", self.text(text, 0)),
            Matcher::Contains(text) => format!("contains {}", self.text(text, 0)),
            Matcher::Regex(pattern) => {
                format!(
                    "matches the regular expression {}",
                    self.regex(pattern.template())
                )
            }
            Matcher::Number(number) => format!("contains {}", self.number(number, false)),
            Matcher::AnyText => "has some text in it".to_string(),
            Matcher::AllOf(all) => {
                let parts: Vec<String> = all.iter().map(|m| self.condition(m)).collect();
                join_list(&parts, "and")
            }
            Matcher::AnyOf(any) => {
                let parts: Vec<String> = any.iter().map(|m| self.condition(m)).collect();
                format!("either {}", join_list(&parts, "or"))
            }
            Matcher::Not(inner) => format!("is not something that {}", self.condition(inner)),
        }
    }

    /// The number a `number` matcher looks for; with `examples`, the forms
    /// that count.
    fn number(&mut self, template: &Template, examples: bool) -> String {
        let parts = template.trimmed_pieces();
        if let [Piece::Literal(literal)] = parts.as_slice() {
            let literal = escape_bytes(literal.as_bytes());
            if !examples {
                return format!("the number `{literal}`");
            }
            let mut forms = vec![format!("`{literal}`")];
            if !literal.contains('.') {
                forms.push(format!("`{literal}.0`"));
            }
            forms.push(format!("`The answer is {literal}`"));
            return format!(
                "the number {literal}: {} all count",
                join_list(&forms, "and")
            );
        }
        let what = self.text(template, 0);
        if !examples {
            return what;
        }
        let sentence = match parts.as_slice() {
            [Piece::Value(name)] => match self.exercise.values.get(*name) {
                Some(ValueSpec::Sum(_)) => "The sum is 42",
                Some(ValueSpec::LetterCount(_)) => "It has 42 letters",
                _ => "The answer is 42",
            },
            _ => "The answer is 42",
        };
        format!("{what}: if that is 42, then `42`, `42.0` and `{sentence}` all count")
    }

    /// A regex, with the values in it named by stand-ins (`WORD`) and
    /// explained after it.
    fn regex(&mut self, pattern: &Template) -> String {
        let shown = with_stand_ins(pattern);
        let mut names: Vec<&str> = Vec::new();
        for name in pattern.names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return format!("`{shown}`");
        }
        let meanings: Vec<String> = names
            .iter()
            .map(|name| format!("{} for {}", stand_in(name), self.value(name, 0)))
            .collect();
        format!(
            "`{shown}` (with {}, matched literally)",
            join_list(&meanings, "and")
        )
    }

    /// A template in words: literals quoted, values described, repeats
    /// counted (`doubled:` followed by the word twice).
    fn text(&mut self, template: &Template, depth: usize) -> String {
        let parts = template.trimmed_pieces();
        if parts.is_empty() {
            return "nothing (an empty message)".to_string();
        }
        let mut described: Vec<String> = Vec::new();
        let mut index = 0;
        while index < parts.len() {
            match parts[index] {
                Piece::Literal(text) => {
                    if !text.trim().is_empty() {
                        described.push(format!("`{}`", escape_bytes(text.trim().as_bytes())));
                    }
                    index += 1;
                }
                Piece::Value(name) => {
                    let repeats = parts[index..]
                        .iter()
                        .take_while(|s| **s == Piece::Value(name))
                        .count();
                    let value = self.value(name, depth + 1);
                    described.push(match repeats {
                        1 => value,
                        2 => format!("{value} twice"),
                        n => format!("{value} {} times", count_word(n)),
                    });
                    index += repeats;
                }
            }
        }
        match described.split_first() {
            Some((first, [])) => first.clone(),
            Some((first, rest)) => format!("{first} followed by {}", rest.join(", then ")),
            None => "nothing (an empty message)".to_string(),
        }
    }

    /// A named value in words: a random one described the first time and
    /// referred to after, a derived one by its definition, a built-in by
    /// what it is.
    fn value(&mut self, name: &str, depth: usize) -> String {
        let Some(spec) = self.exercise.values.get(name) else {
            return self.builtin(name);
        };
        if depth > MAX_DEPTH {
            return format!("the value `{name}`");
        }
        if let Some(kind) = random_kind(spec) {
            let ordinal = self.ordinals.get(name).copied();
            let reference = match ordinal {
                Some(place) => format!("the {} {}", ordinal_word(place), kind.noun()),
                None => format!("the {}", kind.noun()),
            };
            if !self.introduced.insert(name.to_string()) {
                return reference;
            }
            let article = if ordinal.is_some_and(|place| place > 1) {
                "another"
            } else {
                "a"
            };
            let description = match spec {
                ValueSpec::RandomWord => "random word (lowercase letters)".to_string(),
                ValueSpec::RandomPhrase => "random phrase with spaces and punctuation".to_string(),
                ValueSpec::RandomNumber { min, max } => {
                    format!("random number between {min} and {max}")
                }
                _ => "random token of 16 hex digits".to_string(),
            };
            return match ordinal {
                Some(_) => format!("{article} {description} ({reference})"),
                None => format!("{article} {description}"),
            };
        }
        match spec {
            ValueSpec::Format(template) => self.text(template, depth),
            ValueSpec::LetterCount(template) => format!(
                "the number of letters (alphabetic characters) in {}",
                self.text(template, depth)
            ),
            ValueSpec::Length(template) => format!(
                "the number of characters (spaces and punctuation too) in {}",
                self.text(template, depth)
            ),
            ValueSpec::Sum(items) => self.sum(items, depth),
            ValueSpec::RandomWord
            | ValueSpec::RandomPhrase
            | ValueSpec::RandomNumber { .. }
            | ValueSpec::RandomToken => unreachable!("random values are described above"),
        }
    }

    fn sum(&mut self, items: &[Template], depth: usize) -> String {
        // "the sum of the two numbers" when it adds up every random number.
        let numbers = self
            .kind_counts
            .get(&RandomKind::Number)
            .copied()
            .unwrap_or(0);
        let mut named: Vec<&str> = items
            .iter()
            .filter_map(|item| match item.trimmed_pieces().as_slice() {
                [Piece::Value(name)] => Some(*name),
                _ => None,
            })
            .filter(|name| {
                matches!(
                    self.exercise.values.get(*name),
                    Some(ValueSpec::RandomNumber { .. })
                )
            })
            .collect();
        named.sort_unstable();
        named.dedup();
        if numbers >= 2 && named.len() == items.len() && named.len() == numbers {
            for name in named {
                self.introduced.insert(name.to_string());
            }
            return format!("the sum of the {} numbers", count_word(numbers));
        }
        let parts: Vec<String> = items.iter().map(|item| self.text(item, depth)).collect();
        format!("the sum of {}", join_list(&parts, "and"))
    }

    fn builtin(&self, name: &str) -> String {
        let Some(builtin) = Builtin::named(name) else {
            return format!("the value `{name}`");
        };
        match builtin {
            Builtin::Host => format!("the host address (`{HOST}`)"),
            Builtin::Port => match self.exercise.port {
                Some(port) => format!("the port number (`{port}`)"),
                None => "the port number your program was given".to_string(),
            },
            Builtin::Hostname => {
                "the machine's host name (what the `hostname` command prints)".to_string()
            }
            Builtin::ClientIp => match self.exercise.role {
                Role::Server => format!("the IP address the grader connects from (`{HOST}`)"),
                Role::Client => format!("your client's IP address (`{HOST}`)"),
            },
        }
    }
}

/// A random value's kind, or `None` for a derived value.
fn random_kind(spec: &ValueSpec) -> Option<RandomKind> {
    match spec.origin() {
        Origin::Drawn(kind) => Some(kind),
        Origin::Derived(_) => None,
    }
}

/// The random values in the order the conversation first uses them
/// (through derived values too), then any unused ones.
fn random_values_in_order(exercise: &Exercise) -> Vec<String> {
    fn visit(exercise: &Exercise, name: &str, order: &mut Vec<String>, depth: usize) {
        let Some(spec) = exercise.values.get(name) else {
            return;
        };
        if random_kind(spec).is_some() {
            if !order.iter().any(|seen| seen == name) {
                order.push(name.to_string());
            }
        } else if depth < MAX_DEPTH {
            for text in spec.texts() {
                for inner in text.names() {
                    visit(exercise, inner, order, depth + 1);
                }
            }
        }
    }
    let mut order = Vec::new();
    for step in &exercise.steps {
        for text in Step::texts(step) {
            for name in text.names() {
                visit(exercise, name, &mut order, 0);
            }
        }
    }
    for name in exercise.values.keys() {
        visit(exercise, name, &mut order, 0);
    }
    order
}

/// `a`, `a and b`, `a, b and c`.
fn join_list(parts: &[String], conjunction: &str) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

fn count_word(n: usize) -> String {
    const WORDS: [&str; 9] = [
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    match n {
        2..=10 => WORDS[n - 2].to_string(),
        n => n.to_string(),
    }
}

fn ordinal_word(n: usize) -> String {
    const WORDS: [&str; 10] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    match n {
        1..=10 => WORDS[n - 1].to_string(),
        n => format!("number {n}"),
    }
}

/// A summary line: the label, padded, then the text wrapped under itself.
fn labelled(label: &str, text: &str) -> String {
    let first = format!("{label:<LABEL_WIDTH$}");
    wrap(text, &first, &" ".repeat(LABEL_WIDTH))
}

/// `text` wrapped at [`WIDTH`], its first line after `first` and the others
/// after `rest`, ending with a newline. A `code span` is never broken, so
/// a student can copy a message whole.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut has_word = false;
    for word in words(text) {
        let width = line.chars().count();
        if has_word && width + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            has_word = false;
        }
        if has_word {
            line.push(' ');
        }
        line.push_str(word);
        has_word = true;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The words of `text`, split at whitespace outside `code spans`.
fn words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut in_code = false;
    for (index, c) in text.char_indices() {
        if c == '`' {
            in_code = !in_code;
        }
        if c.is_whitespace() && !in_code {
            if let Some(from) = start.take() {
                words.push(&text[from..index]);
            }
        } else if start.is_none() {
            start = Some(index);
        }
    }
    if let Some(from) = start {
        words.push(&text[from..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::ExerciseSet;

    /// The literal parts of every text the exercise sends or expects.
    fn literals(exercise: &Exercise) -> Vec<String> {
        exercise
            .steps
            .iter()
            .flat_map(Step::texts)
            .flat_map(Template::trimmed_pieces)
            .filter_map(|segment| match segment {
                Piece::Literal(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
                _ => None,
            })
            .collect()
    }

    /// The explanation on one line, so that phrases can be looked for
    /// wherever the wrapping broke them.
    fn flat(exercise: &Exercise) -> String {
        let text = explain(exercise);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn embedded(id: &str) -> Exercise {
        ExerciseSet::embedded().unwrap().get(id).unwrap().clone()
    }

    #[test]
    fn every_embedded_exercise_is_explained_from_its_data() {
        let set = ExerciseSet::embedded().unwrap();
        assert_eq!(set.exercises.len(), 11);
        for exercise in &set.exercises {
            let text = explain(exercise);
            let id = &exercise.id;
            assert!(
                text.starts_with(&format!("{id} · {}\n", exercise.title)),
                "{text}"
            );
            assert!(text.contains(&format!("--exercise {id}")), "{id}:\n{text}");
            match exercise.port {
                Some(port) => assert!(text.contains(&port.to_string()), "{id}:\n{text}"),
                None => assert!(text.contains("HOST PORT"), "{id}:\n{text}"),
            }
            for literal in literals(exercise) {
                assert!(
                    text.contains(&format!("`{literal}`")),
                    "{id} does not mention `{literal}`:\n{text}"
                );
            }
            let unfilled = Template::new(text.as_str());
            assert_eq!(
                unfilled.names().collect::<Vec<_>>(),
                Vec::<&str>::new(),
                "{id}:\n{text}"
            );
            assert!(text.ends_with('\n'), "{id}");
            assert!(!text.ends_with("\n\n"), "{id}");
            for line in text.lines() {
                assert!(
                    line.chars().count() <= WIDTH,
                    "{id}: a line is too long: {line}"
                );
            }
            // Numbered as failure reports number them.
            let last = format!("{:>2}. ", exercise.steps.len());
            assert!(text.contains(&last), "{id}:\n{text}");
        }
    }

    #[test]
    fn client_1_names_both_messages_and_the_printing() {
        let text = flat(&embedded("client-1"));
        assert!(
            text.contains(
                "The grader waits for your client to send exactly `How do you do?` \
             (surrounding"
            ),
            "{text}"
        );
        assert!(
            text.contains("The grader sends `I'm good, what about you?` followed by a newline."),
            "{text}"
        );
        assert!(
            text.contains("Your client prints output containing `I'm good, what about you?`"),
            "{text}"
        );
        assert!(text.contains("a client that connects to 127.0.0.1 port 5555"));
        assert!(text.contains("`client-1.py` or `client_1.py`"), "{text}");
        assert!(text.contains("`sockgrade.json`"), "{text}");
    }

    #[test]
    fn derived_values_are_described_by_their_definition() {
        let client_4 = flat(&embedded("client-4"));
        assert!(
            client_4.contains("sends a random word (lowercase letters) followed by a newline"),
            "{client_4}"
        );
        assert!(
            client_4.contains("exactly `doubled:` followed by the word twice"),
            "{client_4}"
        );

        let server_2 = flat(&embedded("server-2"));
        assert!(
            server_2.contains("the number of letters (alphabetic characters) in the phrase"),
            "{server_2}"
        );

        let server_3 = flat(&embedded("server-3"));
        assert!(
            server_3.contains("a random number between 10 and 499 (the first number)"),
            "{server_3}"
        );
        assert!(
            server_3.contains("another random number between 10 and 499 (the second number)"),
            "{server_3}"
        );
        assert!(
            server_3.contains(
                "the sum of the two numbers: if that is 42, then `42`, `42.0` and \
                 `The sum is 42` all count"
            ),
            "{server_3}"
        );
    }

    #[test]
    fn server_4_explains_the_optional_echo_and_the_close() {
        let text = flat(&embedded("server-4"));
        assert!(text.contains("to send back exactly `hello`"), "{text}");
        assert!(text.contains("may echo the word back (optional)"), "{text}");
        assert!(text.contains("to send back exactly the phrase"), "{text}");
        assert!(text.contains("any text — your prompt"), "{text}");
        assert!(text.contains("(an echo is not a prompt)"), "{text}");
        assert!(
            text.contains("for your server to close the connection"),
            "{text}"
        );
        assert!(text.contains("A prompt is complete"), "{text}");
    }

    #[test]
    fn client_5_gets_its_port_as_arguments_and_talks_http() {
        let text = flat(&embedded("client-5"));
        assert!(
            text.contains("any port: your program gets `HOST PORT` as arguments"),
            "{text}"
        );
        assert!(
            text.contains(
                "The grader acts as a web server: it waits for the request line \
                 `GET / HTTP/1.0` and an empty line"
            ),
            "{text}"
        );
        assert!(text.contains("random token of 16 hex digits"), "{text}");
        assert!(
            text.contains("contains `200 OK` and contains the token"),
            "{text}"
        );
    }

    #[test]
    fn the_robustness_tier_is_named_where_it_changes_something() {
        let server_4 = flat(&embedded("server-4"));
        assert!(server_4.contains("With `--robust`"), "{server_4}");
        assert!(
            server_4.contains("`coalesce`: two messages sent in one segment"),
            "{server_4}"
        );
        assert!(server_4.contains("read until the newline"), "{server_4}");
        // The grader never speaks in server-1: nothing to change.
        assert!(!flat(&embedded("server-1")).contains("--robust"));
        let mut asked = embedded("client-4");
        asked.robustness = vec![Variant::Split];
        let text = flat(&asked);
        assert!(
            text.contains("After it passes (this exercise asks for `split`)"),
            "{text}"
        );
    }

    #[test]
    fn server_1_names_the_built_in_values() {
        let text = flat(&embedded("server-1"));
        assert!(
            text.contains("the IP address the grader connects from (`127.0.0.1`)"),
            "{text}"
        );
        assert!(
            text.contains("either contains `localhost` or contains the machine's host name"),
            "{text}"
        );
    }

    #[test]
    fn a_hand_written_exercise_with_regex_contains_and_exit_is_explained() {
        let text = r#"{"format": 1, "exercises": [{
            "id": "client-9", "title": "Tokens", "instructions": "Say hello, then answer.",
            "role": "client", "port": 4000, "line-ending": "\r\n", "points": 2.5,
            "timeouts": {"start": 1, "step": 1.5, "total": 9, "exit-grace": 1, "quiet": 0.5},
            "values": {"word": "random-word", "n": {"random-number": {"min": 1, "max": 9}}},
            "steps": [
                {"expect": {"contains": "hello"}},
                {"send": "{word} {n}"},
                {"expect": {"regex": "^{word}-\\d{2,3}$"}},
                {"expect": {"number": "7"}},
                "close",
                {"expect-exit": 0}
            ]}]}"#;
        let set = ExerciseSet::parse(text, "test").unwrap();
        let explained = explain(&set.exercises[0]);
        let flat = flat(&set.exercises[0]);
        for wanted in [
            "client-9 · Tokens",
            "Points: 2.5 points, all or nothing",
            "a client that connects to 127.0.0.1 port 4000",
            "1. The grader waits for your client to send a message containing `hello`.",
            "2. The grader sends a random word (lowercase letters) followed by a \
             random number between 1 and 9, then a carriage return and a newline \
             (`\\r\\n`).",
            "matching the regular expression `^WORD-\\d{2,3}$` (with WORD for the \
             word, matched literally)",
            "the number 7: `7`, `7.0` and `The answer is 7` all count",
            "5. The grader closes the connection.",
            "6. Your client exits by itself with status 0 (success).",
            "Start: 1 s",
            "Each step: 1.5 s",
            "Whole exercise: 9 s",
            "Quiet gap: 0.5 s",
        ] {
            assert!(flat.contains(wanted), "missing {wanted:?} in:\n{explained}");
        }
        assert!(!flat.contains("A prompt is complete"), "{explained}");
    }

    #[test]
    fn wrapping_never_breaks_a_code_span() {
        let long = format!("start {} `a b c d e f` end", "word ".repeat(14));
        let wrapped = wrap(&long, "", "  ");
        assert!(wrapped.contains("`a b c d e f`"), "{wrapped}");
        assert!(wrapped.lines().all(|line| line.chars().count() <= WIDTH));
    }
}
