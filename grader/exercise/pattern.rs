//! A regular expression of an exercise (`{"regex": "..."}`), compiled once,
//! as the exercise file is read, so that matching never compiles and a
//! pattern that cannot compile is a load error instead of a step that no
//! student can pass.

use super::template::Template;
use super::values::Values;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// A regex as the exercise wrote it, with its compiled form.
///
/// Reading one never fails: a pattern that does not compile is kept with
/// its error, and [`Pattern::problem`] hands that to validation, which
/// reports every problem of a file at once with its place (a serde error
/// would stop at the first one and name only a line). A loaded
/// [`ExerciseSet`](super::ExerciseSet) holds no such pattern.
#[derive(Clone, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub struct Pattern {
    /// The source, read for its placeholders.
    template: Template,
    compiled: Compiled,
}

#[derive(Debug, Clone)]
enum Compiled {
    /// No placeholders: the regex itself.
    Fixed(Regex),
    /// Placeholders, filled with each run's values (escaped), which are
    /// only known once the run starts: the last filling and its regex are
    /// kept, so a conversation compiles its pattern once, not once per read.
    Filled(Arc<Mutex<Option<(String, Regex)>>>),
    /// It does not compile: why, for the load error.
    Broken(String),
}

impl Pattern {
    /// Compiles `source`; see [`Pattern::problem`] for the outcome.
    pub fn new(source: impl Into<String>) -> Pattern {
        let template = Template::new(source);
        let has_placeholders = template.names().next().is_some();
        // Placeholders are filled with escaped text at run time; any
        // literal stands in for them to check that the rest compiles.
        let checked = template.substitute(|_| Some("x".to_string()));
        let compiled = match Regex::new(&checked) {
            Err(error) => {
                Compiled::Broken(format!("the regex `{template}` does not compile: {error}"))
            }
            Ok(_) if has_placeholders => Compiled::Filled(Arc::default()),
            Ok(regex) => Compiled::Fixed(regex),
        };
        Pattern { template, compiled }
    }

    /// The pattern as the exercise wrote it, placeholders unfilled.
    pub fn as_str(&self) -> &str {
        self.template.as_str()
    }

    /// The pattern as a template: its placeholders and the regex around them.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Why the pattern cannot be used, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        match &self.compiled {
            Compiled::Broken(problem) => Some(problem),
            _ => None,
        }
    }

    /// The pattern with `values` filled in, escaped, as it is matched.
    pub fn filled(&self, values: &Values) -> String {
        values.fill_with(&self.template, regex::escape)
    }

    /// True when the pattern, filled with `values`, matches `text`. A
    /// filling that breaks the pattern (a value that reverses a range,
    /// `[a-{b}]` with `0`) matches nothing.
    pub fn is_match(&self, values: &Values, text: &str) -> bool {
        match &self.compiled {
            Compiled::Fixed(regex) => regex.is_match(text),
            Compiled::Filled(last) => {
                let filled = self.filled(values);
                let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if !matches!(last.as_ref(), Some((source, _)) if *source == filled) {
                    match Regex::new(&filled) {
                        Ok(regex) => *last = Some((filled, regex)),
                        Err(_) => return false,
                    }
                }
                last.as_ref().is_some_and(|(_, regex)| regex.is_match(text))
            }
            Compiled::Broken(_) => false,
        }
    }
}

impl From<Pattern> for String {
    /// A pattern is written as its source, as the exercise wrote it.
    fn from(pattern: Pattern) -> String {
        pattern.template.into()
    }
}

impl From<String> for Pattern {
    fn from(source: String) -> Pattern {
        Pattern::new(source)
    }
}

/// Two patterns are the same when they are written the same.
impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.template == other.template
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn values(word: &str) -> Values {
        Values::resolve(&BTreeMap::new(), 0, &[("word", word.into())]).unwrap()
    }

    #[test]
    fn a_pattern_without_placeholders_is_compiled_as_it_is_read() {
        let pattern: Pattern = serde_json::from_str(r#""^\\d+$""#).unwrap();
        assert!(matches!(pattern.compiled, Compiled::Fixed(_)));
        assert!(pattern.is_match(&values("w"), "42"));
        assert!(!pattern.is_match(&values("w"), "4 2"));
        assert_eq!(pattern.to_string(), r"^\d+$");
    }

    #[test]
    fn a_pattern_that_does_not_compile_says_why() {
        let pattern = Pattern::new("(unclosed");
        let problem = pattern.problem().expect("a broken pattern has a problem");
        assert!(
            problem.starts_with("the regex `(unclosed` does not compile: "),
            "{problem}"
        );
        assert!(!pattern.is_match(&values("w"), "(unclosed"));
        // Placeholders are not what breaks a pattern: the rest is.
        assert_eq!(Pattern::new("^{word}{2,3}$").problem(), None);
        assert!(Pattern::new("^{word}(").problem().is_some());
    }

    #[test]
    fn a_template_is_filled_escaped_and_refilled_when_its_values_change() {
        let pattern = Pattern::new("^{word}$");
        assert!(pattern.is_match(&values("a.b"), "a.b"));
        assert!(!pattern.is_match(&values("a.b"), "axb"));
        assert!(pattern.is_match(&values("c+d"), "c+d"));
        assert!(!pattern.is_match(&values("c+d"), "a.b"));
        assert_eq!(pattern.filled(&values("a.b")), r"^a\.b$");
        let range = Pattern::new("[a-{word}]");
        assert_eq!(range.problem(), None);
        assert!(range.is_match(&values("z"), "b"));
        assert!(!range.is_match(&values("0"), "b"));
    }
}
