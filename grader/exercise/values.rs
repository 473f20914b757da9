//! The values of one exercise: random ones drawn from the run's seed, derived
//! ones computed from them, and the built-ins (`{host}`, `{port}`,
//! `{hostname}`, `{client-ip}`), filled into `{name}` placeholders.

use super::{Derivation, Origin, Template, ValueSpec};
use std::collections::{BTreeMap, HashMap};

/// The values the grader fills in itself, whatever the exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `{host}`: the address students connect to and listen on.
    Host,
    /// `{port}`: the exercise's port in this run.
    Port,
    /// `{hostname}`: the machine's host name.
    Hostname,
    /// `{client-ip}`: the address the client connects from.
    ClientIp,
}

impl Builtin {
    /// Every built-in.
    pub const ALL: [Builtin; 4] = [
        Builtin::Host,
        Builtin::Port,
        Builtin::Hostname,
        Builtin::ClientIp,
    ];

    /// Its placeholder name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Host => "host",
            Builtin::Port => "port",
            Builtin::Hostname => "hostname",
            Builtin::ClientIp => "client-ip",
        }
    }

    /// The built-in called `name`, if one is.
    pub fn named(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// Words for `random-word` and `random-phrase`: common, unambiguous, and
/// lowercase ASCII, so that no student's text handling can trip on them.
const WORDS: &[&str] = &[
    "apple", "bridge", "candle", "dragon", "engine", "forest", "garden", "harbor", "island",
    "jacket", "kettle", "ladder", "magnet", "needle", "orange", "pepper", "quartz", "rabbit",
    "saddle", "tunnel", "umbrella", "velvet", "walnut", "yellow", "zipper", "socket", "packet",
    "router", "signal", "window", "pillow", "marble", "copper", "silver", "meadow", "canyon",
];

const PUNCTUATION: &[&str] = &[",", "!", "?", ".", ";", "'s", "-"];

/// A small, fast, value-stable generator (SplitMix64): the same seed gives
/// the same values in every version of sockgrade, which a crate's generator
/// does not promise across its own releases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `[min, max]`.
    pub fn between(&mut self, min: i64, max: i64) -> i64 {
        let (low, high) = if min <= max { (min, max) } else { (max, min) };
        let span = (high as i128 - low as i128 + 1) as u128;
        (low as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.between(0, items.len() as i64 - 1) as usize]
    }
}

/// The seed of one exercise, from the run's seed and the exercise id, so that
/// grading one exercise alone draws the same values as grading all of them.
pub fn exercise_seed(run_seed: u64, exercise_id: &str) -> u64 {
    // FNV-1a: stable across platforms and versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in exercise_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    run_seed ^ hash
}

/// The most characters any text may expand to once its placeholders are
/// filled: far more than a socket exercise sends, and small enough that
/// values doubling each other cannot fill the memory.
pub const MAX_EXPANDED_CHARS: usize = 64 * 1024;

/// What a built-in (host, port, host name, client address) may be at most.
const MAX_BUILTIN_CHARS: usize = 255;

/// What a count or a sum may be at most: the digits of an `i128`, signed.
const MAX_NUMBER_CHARS: usize = 40;

/// The most characters each value of `specs` can have once drawn or
/// derived, or an error naming values that depend on themselves. The walk
/// is iterative and visits each value once, so neither a long chain nor
/// values that each use another twice can make it deep or slow.
pub fn longest(specs: &BTreeMap<String, ValueSpec>) -> Result<HashMap<&str, usize>, String> {
    // `None` while a value's inputs are being visited.
    let mut longest: HashMap<&str, Option<usize>> = HashMap::new();
    for root in specs.keys() {
        if longest.contains_key(root.as_str()) {
            continue;
        }
        // The values being visited, each with the inputs still to visit.
        let mut path: Vec<(&str, Vec<&str>)> = vec![(root, inputs(&specs[root]))];
        longest.insert(root, None);
        while let Some((name, pending)) = path.last_mut() {
            let name = *name;
            match pending.pop() {
                Some(input) => match longest.get(input) {
                    Some(Some(_)) => {}
                    Some(None) => {
                        let from = path.iter().position(|(n, _)| *n == input).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(input);
                        return Err(format!(
                            "the values depend on themselves: {}",
                            cycle.join(" → ")
                        ));
                    }
                    None => {
                        if let Some((input, spec)) = specs.get_key_value(input) {
                            longest.insert(input, None);
                            path.push((input, inputs(spec)));
                        }
                    }
                },
                None => {
                    let known = |n: &str| longest.get(n).copied().flatten();
                    let own = own_longest(&specs[name], known);
                    longest.insert(name, Some(own));
                    path.pop();
                }
            }
        }
    }
    Ok(longest
        .into_iter()
        .map(|(name, most)| (name, most.unwrap_or(0)))
        .collect())
}

/// The placeholders a value is derived from.
fn inputs(spec: &ValueSpec) -> Vec<&str> {
    spec.texts().into_iter().flat_map(Template::names).collect()
}

/// The most characters `spec` can have, its inputs' most known.
fn own_longest(spec: &ValueSpec, known: impl Fn(&str) -> Option<usize>) -> usize {
    match spec {
        ValueSpec::RandomWord => WORDS.iter().map(|w| w.len()).max().unwrap_or(0),
        // Up to six words, each with a space and punctuation, and an end mark.
        ValueSpec::RandomPhrase => {
            let word = WORDS.iter().map(|w| w.len()).max().unwrap_or(0);
            let mark = PUNCTUATION.iter().map(|p| p.len()).max().unwrap_or(0);
            6 * (word + 1 + mark) + 1
        }
        ValueSpec::RandomNumber { .. } | ValueSpec::RandomToken => MAX_NUMBER_CHARS,
        ValueSpec::LetterCount(_) | ValueSpec::Length(_) | ValueSpec::Sum(_) => MAX_NUMBER_CHARS,
        ValueSpec::Format(text) => expanded_len(text, known),
    }
}

/// The most characters `text` can expand to, with `known` giving each
/// value's most; built-ins have their own bound and unknown names stay as
/// they are written.
pub fn expanded_len(text: &Template, known: impl Fn(&str) -> Option<usize>) -> usize {
    text.names().fold(text.as_str().len(), |total, name| {
        let most = known(name).unwrap_or(if Builtin::named(name).is_some() {
            MAX_BUILTIN_CHARS
        } else {
            0
        });
        total.saturating_add(most)
    })
}

/// A value that cannot be computed (a `sum` of something that is not a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesError(pub String);

/// The resolved values of one exercise run.
#[derive(Debug, Clone, Default)]
pub struct Values {
    resolved: HashMap<String, String>,
}

impl Values {
    /// Draws and derives every value of `specs` from `seed`, with `builtins`
    /// (such as `host` and `port`) already known.
    pub fn resolve(
        specs: &BTreeMap<String, ValueSpec>,
        seed: u64,
        builtins: &[(&str, String)],
    ) -> Result<Values, ValuesError> {
        let mut values = Values::default();
        for (name, value) in builtins {
            values.resolved.insert(name.to_string(), value.clone());
        }
        // Random values first, in name order, so each draws the same numbers
        // whatever the derived values look like.
        let mut rng = Rng::new(seed);
        for (name, spec) in specs {
            let drawn = match spec {
                ValueSpec::RandomWord => Some(rng.pick(WORDS).to_string()),
                ValueSpec::RandomPhrase => Some(random_phrase(&mut rng)),
                ValueSpec::RandomNumber { min, max } => Some(rng.between(*min, *max).to_string()),
                ValueSpec::RandomToken => Some(format!("{:016x}", rng.next_u64())),
                ValueSpec::Format(_)
                | ValueSpec::LetterCount(_)
                | ValueSpec::Length(_)
                | ValueSpec::Sum(_) => None,
            };
            if let Some(drawn) = drawn {
                values.resolved.insert(name.clone(), drawn);
            }
        }
        // Derived values: resolve until nothing changes; validation has ruled
        // out cycles, so this ends within `specs.len()` rounds.
        for _ in 0..=specs.len() {
            let mut progressed = false;
            for (name, spec) in specs {
                let Origin::Derived(derivation) = spec.origin() else {
                    continue;
                };
                if values.resolved.contains_key(name) {
                    continue;
                }
                let inputs_ready = spec
                    .texts()
                    .iter()
                    .all(|text| text.names().all(|p| values.resolved.contains_key(p)));
                if inputs_ready {
                    let derived = values.derive(derivation)?;
                    values.resolved.insert(name.clone(), derived);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(values)
    }

    fn derive(&self, derivation: Derivation) -> Result<String, ValuesError> {
        Ok(match derivation {
            Derivation::Format(text) => self.fill(text),
            Derivation::Length(text) => self.fill(text).chars().count().to_string(),
            Derivation::LetterCount(text) => self
                .fill(text)
                .chars()
                .filter(|c| c.is_alphabetic())
                .count()
                .to_string(),
            Derivation::Sum(items) => {
                let mut sum = 0i128;
                for item in items {
                    let filled = self.fill(item);
                    let number: i128 = filled.trim().parse().map_err(|_| {
                        ValuesError(format!(
                            "`{item}` is `{filled}`, which is not an integer to sum"
                        ))
                    })?;
                    sum = sum.checked_add(number).ok_or_else(|| {
                        ValuesError(format!(
                            "the sum of `{item}` and the numbers before it is too large"
                        ))
                    })?;
                }
                sum.to_string()
            }
        })
    }

    /// Sets a built-in learned during the run (`client-ip` once connected).
    pub fn set(&mut self, name: &str, value: String) {
        self.resolved.insert(name.to_string(), value);
    }

    /// The value called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.resolved.get(name).map(String::as_str)
    }

    /// `text` with every known `{name}` replaced by its value.
    pub fn fill(&self, text: &Template) -> String {
        self.fill_with(text, |value| value.to_string())
    }

    /// `text` with every known `{name}` replaced by `transform(value)`; used
    /// to escape values filled into a regex. Unknown names stay as written.
    pub fn fill_with(&self, text: &Template, transform: impl Fn(&str) -> String) -> String {
        text.substitute(|name| self.resolved.get(name).map(|value| transform(value)))
    }
}

fn random_phrase(rng: &mut Rng) -> String {
    let word_count = rng.between(3, 6);
    let mut phrase = String::new();
    for index in 0..word_count {
        if index > 0 {
            phrase.push(' ');
        }
        let word = rng.pick(WORDS);
        if index == 0 {
            let mut chars = word.chars();
            phrase.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            phrase.push_str(chars.as_str());
        } else {
            phrase.push_str(word);
        }
        if index + 1 < word_count && rng.between(0, 2) == 0 {
            phrase.push_str(rng.pick(PUNCTUATION));
        }
    }
    phrase.push_str(rng.pick(&["!", "?", "."]));
    phrase
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(json: &str) -> BTreeMap<String, ValueSpec> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_same_seed_draws_the_same_values() {
        let specs = specs(r#"{"w": "random-word", "n": {"random-number": {"min": 1, "max": 9}}}"#);
        let a = Values::resolve(&specs, 7, &[]).unwrap();
        let b = Values::resolve(&specs, 7, &[]).unwrap();
        assert_eq!(a.get("w"), b.get("w"));
        assert_eq!(a.get("n"), b.get("n"));
    }

    #[test]
    fn derived_values_follow_their_inputs() {
        let specs = specs(
            r#"{"w": "random-word", "d": {"format": "doubled:{w}{w}"},
                "p": {"format": "Hi, {w}!"}, "n": {"letter-count": "{p}"},
                "s": {"sum": ["{n}", "-3"]}}"#,
        );
        let values = Values::resolve(&specs, 1, &[]).unwrap();
        let word = values.get("w").unwrap().to_string();
        assert_eq!(values.get("d").unwrap(), format!("doubled:{word}{word}"));
        let letters = 2 + word.len();
        assert_eq!(values.get("n").unwrap(), letters.to_string());
        assert_eq!(values.get("s").unwrap(), (letters as i64 - 3).to_string());
    }

    #[test]
    fn fill_leaves_unknown_braces_alone() {
        let values = Values::resolve(&BTreeMap::new(), 0, &[("port", "5555".into())]).unwrap();
        let text = Template::new("port {port} {other} {");
        assert_eq!(values.fill(&text), "port 5555 {other} {");
    }

    #[test]
    fn cycles_are_reported() {
        let two = specs(r#"{"a": {"format": "{b}"}, "b": {"format": "{a}"}}"#);
        assert!(longest(&two).unwrap_err().contains("a → b → a"));
        let one = specs(r#"{"a": {"format": "x{a}"}}"#);
        assert!(longest(&one).unwrap_err().contains("a → a"));
    }

    #[test]
    fn longest_adds_up_what_each_value_uses() {
        let specs = specs(
            r#"{"w": "random-word", "d": {"format": "d:{w}{w}"},
                "h": {"format": "{host}"}, "n": {"length": "{d}"}}"#,
        );
        let most = longest(&specs).unwrap();
        let word = WORDS.iter().map(|w| w.len()).max().unwrap();
        assert_eq!(most["w"], word);
        assert_eq!(most["d"], "d:{w}{w}".len() + 2 * word);
        assert_eq!(most["h"], "{host}".len() + MAX_BUILTIN_CHARS);
        assert_eq!(most["n"], MAX_NUMBER_CHARS);
    }

    #[test]
    fn values_doubling_each_other_are_measured_at_once() {
        // 2^80 characters, and as many paths through the values.
        let mut json = String::from(r#"{"v0": "random-word""#);
        for i in 1..=80 {
            json.push_str(&format!(
                r#", "v{i}": {{"format": "{{v{j}}}{{v{j}}}"}}"#,
                j = i - 1
            ));
        }
        json.push('}');
        let specs = specs(&json);
        let most = longest(&specs).unwrap();
        assert_eq!(most["v80"], usize::MAX);
    }

    #[test]
    fn a_long_chain_of_values_does_not_overflow_the_stack() {
        let mut json = String::from(r#"{"v0": "random-word""#);
        for i in 1..=100_000 {
            json.push_str(&format!(r#", "v{i}": {{"format": "{{v{j}}}"}}"#, j = i - 1));
        }
        json.push('}');
        assert!(longest(&specs(&json)).is_ok());
    }

    #[test]
    fn a_sum_too_large_for_its_type_is_an_error() {
        let big = i128::MAX.to_string();
        let specs = specs(&format!(r#"{{"s": {{"sum": ["{big}", "1"]}}}}"#));
        let error = Values::resolve(&specs, 0, &[]).unwrap_err();
        assert!(error.0.contains("too large"), "{error:?}");
    }

    #[test]
    fn phrases_have_spaces_and_letters() {
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let phrase = random_phrase(&mut rng);
            assert!(phrase.contains(' '), "{phrase}");
            assert!(
                phrase.chars().any(|c| !c.is_alphanumeric() && c != ' '),
                "{phrase}"
            );
        }
    }

    #[test]
    fn between_covers_the_whole_range() {
        let mut rng = Rng::new(9);
        let drawn: std::collections::HashSet<_> = (0..200).map(|_| rng.between(-2, 2)).collect();
        assert_eq!(drawn.len(), 5);
    }
}
