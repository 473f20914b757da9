//! The texts of an exercise that hold `{name}` placeholders (messages,
//! matchers, hints, arguments, derived values), each read once, as the
//! exercise is loaded, into a [`Template`] that filling, validating and
//! explaining all walk: a placeholder is `{name}` where the name starts
//! with a letter, so regex repetitions such as `{2,3}` and any other brace
//! stay literal text.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'t> {
    /// Text taken as it is.
    Literal(&'t str),
    /// A `{name}` placeholder: the name, without its braces.
    Value(&'t str),
}

/// A text as the exercise wrote it, with its pieces: literals and
/// placeholders, in order; two literals never follow each other and none
/// is empty. It is written (and compared) as its source, so an exercise
/// set sent to a child grader reads back the same.
#[derive(Clone, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub struct Template {
    source: String,
    /// Where each piece is in `source`: ranges rather than borrowed
    /// slices, so the template can own its source.
    spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    Literal(Range<usize>),
    /// The name only, without its braces.
    Value(Range<usize>),
}

/// Whether `name` can be a placeholder: a letter, then letters, digits,
/// `-` and `_`. Value names must be, so that every `{name}` filled in is
/// one that validation has seen.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The one reading of a text: where its literals and placeholders are.
fn parse(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut literal_from = 0;
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('{') {
        let open = search_from + offset;
        let after = &text[open + 1..];
        let name = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|name| is_name(name));
        match name {
            Some(name) => {
                if literal_from < open {
                    spans.push(Span::Literal(literal_from..open));
                }
                spans.push(Span::Value(open + 1..open + 1 + name.len()));
                literal_from = open + name.len() + 2;
                search_from = literal_from;
            }
            None => search_from = open + 1,
        }
    }
    if literal_from < text.len() {
        spans.push(Span::Literal(literal_from..text.len()));
    }
    spans
}

impl Template {
    /// Reads `source` into its pieces.
    pub fn new(source: impl Into<String>) -> Template {
        let source = source.into();
        let spans = parse(&source);
        Template { source, spans }
    }

    /// The text as the exercise wrote it, placeholders unfilled.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literals and placeholders, in order.
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        self.spans.iter().map(|span| match span {
            Span::Literal(range) => Piece::Literal(&self.source[range.clone()]),
            Span::Value(range) => Piece::Value(&self.source[range.clone()]),
        })
    }

    /// The pieces of the text without its surrounding whitespace, which
    /// matching ignores: what a student reads as the message.
    pub fn trimmed_pieces(&self) -> Vec<Piece<'_>> {
        let mut pieces: Vec<Piece<'_>> = self.pieces().collect();
        if let Some(Piece::Literal(first)) = pieces.first_mut() {
            *first = first.trim_start();
        }
        if let Some(Piece::Literal(last)) = pieces.last_mut() {
            *last = last.trim_end();
        }
        pieces.retain(|piece| *piece != Piece::Literal(""));
        pieces
    }

    /// The placeholder names, in order, repeats included.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pieces().filter_map(|piece| match piece {
            Piece::Value(name) => Some(name),
            Piece::Literal(_) => None,
        })
    }

    /// The text with each placeholder replaced by what `value` gives for
    /// its name; a name it gives nothing for stays as written.
    pub fn substitute(&self, mut value: impl FnMut(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.source.len());
        for piece in self.pieces() {
            match piece {
                Piece::Literal(literal) => out.push_str(literal),
                Piece::Value(name) => match value(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

impl From<String> for Template {
    fn from(source: String) -> Template {
        Template::new(source)
    }
}

impl From<&str> for Template {
    fn from(source: &str) -> Template {
        Template::new(source)
    }
}

impl From<Template> for String {
    /// A template is written as its source, as the exercise wrote it.
    fn from(template: Template) -> String {
        template.source
    }
}

/// Two templates are the same when they are written the same.
impl PartialEq for Template {
    fn eq(&self, other: &Template) -> bool {
        self.source == other.source
    }
}

impl Eq for Template {}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of `source` read into a template, as owned text.
    fn pieces(source: &str) -> Vec<(bool, String)> {
        owned(Template::new(source).pieces())
    }

    /// Pieces as (is a placeholder, text), to compare across templates.
    fn owned<'t>(pieces: impl IntoIterator<Item = Piece<'t>>) -> Vec<(bool, String)> {
        pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Literal(text) => (false, text.to_string()),
                Piece::Value(name) => (true, name.to_string()),
            })
            .collect()
    }

    fn literal(text: &str) -> (bool, String) {
        (false, text.to_string())
    }

    fn value(name: &str) -> (bool, String) {
        (true, name.to_string())
    }

    #[test]
    fn splits_placeholders_but_not_regex_repetitions() {
        assert_eq!(
            pieces("a{2,3}{word}{word}b"),
            [
                literal("a{2,3}"),
                value("word"),
                value("word"),
                literal("b")
            ]
        );
        let template = Template::new("a{2,3} {word} {x1} {}");
        assert_eq!(template.names().collect::<Vec<_>>(), ["word", "x1"]);
    }

    #[test]
    fn a_brace_that_opens_no_name_stays_literal() {
        assert_eq!(
            pieces("{{word}} {x{y} {"),
            [
                literal("{"),
                value("word"),
                literal("} {x"),
                value("y"),
                literal(" {")
            ]
        );
        assert_eq!(pieces(""), []);
        assert_eq!(
            pieces("héllo {wörd} {wort}"),
            [literal("héllo {wörd} "), value("wort")]
        );
    }

    #[test]
    fn names_start_with_a_letter() {
        assert!(is_name("client-ip"));
        assert!(is_name("x_1"));
        assert!(!is_name("1x"));
        assert!(!is_name(""));
        assert!(!is_name("a b"));
    }

    #[test]
    fn a_template_read_from_json_keeps_its_pieces_and_is_written_back_as_it_was() {
        let json = r#""^{word}\\d{2,3} {n}$""#;
        let read: Template = serde_json::from_str(json).unwrap();
        assert_eq!(read.as_str(), r"^{word}\d{2,3} {n}$");
        assert_eq!(
            owned(read.pieces()),
            [
                literal("^"),
                value("word"),
                literal(r"\d{2,3} "),
                value("n"),
                literal("$")
            ]
        );
        assert_eq!(owned(read.pieces()), pieces(read.as_str()));
        assert_eq!(read.names().collect::<Vec<_>>(), ["word", "n"]);
        assert_eq!(serde_json::to_string(&read).unwrap(), json);
        assert_eq!(read.to_string(), read.as_str());
        let again: Template = serde_json::from_str(&serde_json::to_string(&read).unwrap()).unwrap();
        assert_eq!(again, read);
        assert_eq!(owned(again.pieces()), owned(read.pieces()));
    }

    #[test]
    fn placeholders_given_no_value_are_written_back_as_they_were() {
        for source in [
            "",
            "plain",
            "{word}",
            "{{word}}",
            "a{2,3}{w}{w}b",
            "{1} {x{y} {",
        ] {
            assert_eq!(Template::new(source).substitute(|_| None), source);
        }
        let one = |name: &str| (name == "a").then(|| "1".to_string());
        assert_eq!(Template::new("{a}-{b}-{a}").substitute(one), "1-{b}-1");
    }

    #[test]
    fn trimmed_pieces_are_the_pieces_of_the_trimmed_text() {
        for source in [
            "",
            "   ",
            " a ",
            " {w} ",
            "  x {w} y  ",
            "{w}  ",
            "\t{w}{w}\n",
            " {2,3} ",
            " {",
        ] {
            let template = Template::new(source);
            assert_eq!(
                owned(template.trimmed_pieces()),
                pieces(source.trim()),
                "{source:?}"
            );
        }
    }
}
