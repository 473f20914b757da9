//! The texts of an exercise that hold `{name}` placeholders (messages,
//! matchers, hints, derived values), and the one reading of them that
//! filling, validating and explaining all share: a placeholder is `{name}`
//! where the name starts with a letter, so regex repetitions such as
//! `{2,3}` and any other brace stay literal text.

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'t> {
    /// Text taken as it is.
    Literal(&'t str),
    /// A `{name}` placeholder: the name, without its braces.
    Value(&'t str),
}

/// Whether `name` can be a placeholder: a letter, then letters, digits,
/// `-` and `_`. Value names must be, so that every `{name}` filled in is
/// one that validation has seen.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Splits `text` into literals and placeholders, in order; two literals
/// never follow each other and none is empty.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut parts = Vec::new();
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
                    parts.push(Piece::Literal(&text[literal_from..open]));
                }
                parts.push(Piece::Value(name));
                literal_from = open + name.len() + 2;
                search_from = literal_from;
            }
            None => search_from = open + 1,
        }
    }
    if literal_from < text.len() {
        parts.push(Piece::Literal(&text[literal_from..]));
    }
    parts
}

/// The placeholder names of `text`, in order, repeats included.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    pieces(text).into_iter().filter_map(|piece| match piece {
        Piece::Value(name) => Some(name),
        Piece::Literal(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_placeholders_but_not_regex_repetitions() {
        assert_eq!(
            pieces("a{2,3}{word}{word}b"),
            [
                Piece::Literal("a{2,3}"),
                Piece::Value("word"),
                Piece::Value("word"),
                Piece::Literal("b")
            ]
        );
        let found: Vec<_> = names("a{2,3} {word} {x1} {}").collect();
        assert_eq!(found, ["word", "x1"]);
    }

    #[test]
    fn a_brace_that_opens_no_name_stays_literal() {
        assert_eq!(
            pieces("{{word}} {x{y} {"),
            [
                Piece::Literal("{"),
                Piece::Value("word"),
                Piece::Literal("} {x"),
                Piece::Value("y"),
                Piece::Literal(" {")
            ]
        );
        assert_eq!(pieces(""), []);
    }

    #[test]
    fn names_start_with_a_letter() {
        assert!(is_name("client-ip"));
        assert!(is_name("x_1"));
        assert!(!is_name("1x"));
        assert!(!is_name(""));
        assert!(!is_name("a b"));
    }
}
