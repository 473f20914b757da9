//! Deciding whether received text is the expected message: generous about
//! framing (segments, line endings, surrounding whitespace), strict about
//! content.

use crate::exercise::{Matcher, Values};

/// Characters that end a prompt written without a newline
/// (`Enter a number: `); a prompt ending otherwise may still be arriving.
const PROMPT_ENDINGS: &[char] = &[':', '?', '>', '.', '!', '$', '#'];

/// True when `text` (already trimmed) satisfies `matcher`. `complete` says
/// the message is known to be whole (a line, a close, a quiet gap): only a
/// prompt needs that, since any first fragment of one is "some text".
pub fn matches(matcher: &Matcher, values: &Values, text: &str, complete: bool) -> bool {
    match matcher {
        Matcher::Exact(expected) => text == values.fill(expected).trim(),
        Matcher::Contains(part) => text.contains(values.fill(part).trim()),
        Matcher::Regex(pattern) => pattern.is_match(values, text),
        Matcher::Number(expected) => {
            let filled = values.fill(expected);
            match filled.trim().parse::<f64>() {
                Ok(expected) => numbers_in(text).any(|n| n == expected),
                Err(_) => false,
            }
        }
        Matcher::AnyText => !text.is_empty() && (complete || text.ends_with(PROMPT_ENDINGS)),
        Matcher::AllOf(all) => all.iter().all(|m| matches(m, values, text, complete)),
        Matcher::AnyOf(any) => any.iter().any(|m| matches(m, values, text, complete)),
        Matcher::Not(inner) => !matches(inner, values, text, true),
    }
}

/// False once no bytes the program could still send after `buffer` would
/// make it a message satisfying `matcher`: an `exact` text the buffer has
/// left, a `number` whose digits so far are wrong. Anything else
/// (`contains`, `regex`, a prompt) is undecidable from a prefix, so true.
/// A quiet gap ends a message only when this is false: a right answer
/// paused halfway (a reverse lookup between its parts) is waited for.
pub fn could_still_match(matcher: &Matcher, values: &Values, buffer: &[u8]) -> bool {
    // A multi-byte character cut by a segment is not a contradiction.
    let valid = match std::str::from_utf8(buffer) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&buffer[..error.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return prefix_could_match(matcher, values, &String::from_utf8_lossy(buffer)),
    };
    prefix_could_match(matcher, values, valid)
}

fn prefix_could_match(matcher: &Matcher, values: &Values, text: &str) -> bool {
    let text = text.trim_start();
    match matcher {
        // Only trailing whitespace may follow the text itself.
        Matcher::Exact(expected) => {
            let expected = values.fill(expected);
            let expected = expected.trim();
            match text.strip_prefix(expected) {
                Some(rest) => rest.trim().is_empty(),
                None => expected.starts_with(text),
            }
        }
        Matcher::Number(expected) => {
            let filled = values.fill(expected);
            let Ok(expected) = filled.trim().parse::<f64>() else {
                return false;
            };
            if numbers_in(text).any(|n| n == expected) {
                return true;
            }
            // The last number may still be arriving ("4" of "42"); a text
            // with no number yet ("The sum is ") may still get one.
            let digits_at_end = text
                .bytes()
                .rev()
                .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-')
                .count();
            if digits_at_end == 0 {
                return numbers_in(text).next().is_none();
            }
            let last = &text[text.len() - digits_at_end..];
            let before = &text[..text.len() - digits_at_end];
            numbers_in(before).next().is_none() && filled.trim().starts_with(last)
        }
        Matcher::AllOf(all) => all.iter().all(|m| prefix_could_match(m, values, text)),
        Matcher::AnyOf(any) => any.iter().any(|m| prefix_could_match(m, values, text)),
        Matcher::Contains(_) | Matcher::Regex(_) | Matcher::AnyText | Matcher::Not(_) => true,
    }
}

/// The decimal numbers written in `text`: `42`, `-7`, `42.0`, `1e3` is not
/// one (students write sums, not scientific notation).
fn numbers_in(text: &str) -> impl Iterator<Item = f64> + '_ {
    let bytes = text.as_bytes();
    let mut index = 0;
    std::iter::from_fn(move || {
        while index < bytes.len() {
            let start = index;
            let negative = bytes[index] == b'-'
                && bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
                && (index == 0 || !bytes[index - 1].is_ascii_alphanumeric());
            if negative {
                index += 1;
            }
            if bytes[index].is_ascii_digit() {
                while index < bytes.len() && bytes[index].is_ascii_digit() {
                    index += 1;
                }
                let has_fraction = bytes.get(index) == Some(&b'.')
                    && bytes.get(index + 1).is_some_and(u8::is_ascii_digit);
                if has_fraction {
                    index += 1;
                    while index < bytes.len() && bytes[index].is_ascii_digit() {
                        index += 1;
                    }
                }
                return text[start..index].parse().ok();
            }
            index += 1;
        }
        None
    })
}

/// Where in `buffer` a message satisfying `matcher` ends, if one does.
///
/// Two readings are tried, so that every framing a student uses works: the
/// whole buffer as one message (fragments, no newline, a multi-line answer),
/// then its first complete line (an answer followed by more text).
/// `complete` says no more bytes of this message will come.
pub fn find_match(
    matcher: &Matcher,
    values: &Values,
    buffer: &[u8],
    complete: bool,
) -> Option<usize> {
    // Blank lines before a message (a late `\n` of the previous one) are
    // framing, not a message.
    let skipped = buffer
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    let (buffer, skipped) = if skipped == buffer.len() {
        (buffer, 0)
    } else {
        (&buffer[skipped..], skipped)
    };
    find_match_from(matcher, values, buffer, complete).map(|end| end + skipped)
}

fn find_match_from(
    matcher: &Matcher,
    values: &Values,
    buffer: &[u8],
    complete: bool,
) -> Option<usize> {
    let text = String::from_utf8_lossy(buffer);
    let ends_a_line = buffer.last() == Some(&b'\n');
    if matches(matcher, values, text.trim(), complete || ends_a_line) {
        return Some(buffer.len());
    }
    let first_line_end = buffer.iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(&buffer[..first_line_end]);
    matches(matcher, values, line.trim(), true).then_some(first_line_end + 1)
}

/// The expectation in words, for "expected" in reports.
pub fn describe(matcher: &Matcher, values: &Values) -> String {
    match matcher {
        Matcher::Exact(text) => format!("`{}`", values.fill(text)),
        Matcher::Contains(text) => format!("text containing `{}`", values.fill(text)),
        Matcher::Regex(pattern) => format!("text matching /{}/", pattern.filled(values)),
        Matcher::Number(number) => format!("the number {}", values.fill(number)),
        Matcher::AnyText => "any text (a prompt)".to_string(),
        Matcher::AllOf(all) => join(all, values, " and "),
        Matcher::AnyOf(any) => join(any, values, " or "),
        Matcher::Not(inner) => format!("not {}", describe(inner, values)),
    }
}

fn join(matchers: &[Matcher], values: &Values, separator: &str) -> String {
    let parts: Vec<String> = matchers
        .iter()
        .map(|m| match m {
            Matcher::AllOf(_) | Matcher::AnyOf(_) | Matcher::Not(_) => {
                format!("({})", describe(m, values))
            }
            _ => describe(m, values),
        })
        .collect();
    parts.join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::Pattern;
    use std::collections::BTreeMap;

    fn values() -> Values {
        Values::resolve(
            &BTreeMap::new(),
            0,
            &[("sum", "42".into()), ("word", "a.b".into())],
        )
        .unwrap()
    }

    fn exact(text: &str) -> Matcher {
        Matcher::Exact(text.into())
    }

    #[test]
    fn exact_ignores_framing_but_not_content() {
        let v = values();
        assert_eq!(find_match(&exact("1"), &v, b"1", false), Some(1));
        assert_eq!(find_match(&exact("1"), &v, b"1\r\n", false), Some(3));
        assert_eq!(find_match(&exact("1"), &v, b"  1 \n", false), Some(5));
        assert_eq!(find_match(&exact("1"), &v, b"11\n", false), None);
        assert_eq!(
            find_match(&exact("How do you do?"), &v, b"How do", false),
            None
        );
        assert_eq!(
            find_match(&exact("How do you do?"), &v, b"How do you do?", false),
            Some(14)
        );
    }

    #[test]
    fn the_first_line_can_match_with_more_text_after_it() {
        let v = values();
        assert_eq!(
            find_match(&exact("2"), &v, b"2\nnext prompt:", false),
            Some(2)
        );
        assert_eq!(find_match(&exact("2"), &v, b"nope\n2\n", false), None);
        assert_eq!(find_match(&exact("3"), &v, b"\n3\nmore", false), Some(3));
    }

    #[test]
    fn numbers_match_in_any_notation_and_sentence() {
        let v = values();
        let sum = Matcher::Number("{sum}".into());
        for text in ["42", "42.0", "The sum is 42", "sum=42\n", "-1 + 43 = 42"] {
            assert!(matches(&sum, &v, text, true), "{text}");
        }
        for text in ["4", "420", "4.2", "1230", "forty-two", "-42", ""] {
            assert!(!matches(&sum, &v, text, true), "{text}");
        }
    }

    #[test]
    fn negative_numbers_are_read_only_after_a_separator() {
        let numbers: Vec<f64> = numbers_in("a-5 -3 x=-2.5").collect();
        assert_eq!(numbers, [5.0, -3.0, -2.5]);
    }

    #[test]
    fn regexes_get_escaped_values() {
        let v = values();
        let re = Matcher::Regex(Pattern::new("^{word}$"));
        assert!(matches(&re, &v, "a.b", true));
        assert!(!matches(&re, &v, "axb", true));
    }

    #[test]
    fn all_of_reads_across_lines() {
        let v = values();
        let m = Matcher::AllOf(vec![
            Matcher::Contains("127.0.0.1".into()),
            Matcher::AnyOf(vec![
                Matcher::Contains("localhost".into()),
                Matcher::Contains("box".into()),
            ]),
        ]);
        assert!(find_match(&m, &v, b"127.0.0.1\nlocalhost\n", false).is_some());
        assert!(find_match(&m, &v, b"127.0.0.1 box", false).is_some());
        assert!(find_match(&m, &v, b"127.0.0.1\n", false).is_none());
        assert_eq!(
            describe(&m, &v),
            "text containing `127.0.0.1` and (text containing `localhost` or text containing `box`)"
        );
    }

    #[test]
    fn a_prefix_could_match_until_exact_text_or_digits_contradict_it() {
        let v = values();
        let greeting = exact("How do you do?");
        assert!(could_still_match(&greeting, &v, b""));
        assert!(could_still_match(&greeting, &v, b"How do "));
        assert!(could_still_match(&greeting, &v, b"\nHow do you do?\r\n"));
        assert!(!could_still_match(&greeting, &v, b"How are"));
        assert!(!could_still_match(&greeting, &v, b"How do you do?!"));
        assert!(!could_still_match(&exact("h\u{e9}"), &v, b"h\xc3\xa8"));
        assert!(could_still_match(&exact("h\u{e9}"), &v, b"h\xc3"));
        let sum = Matcher::Number("{sum}".into());
        for text in ["", "The sum is ", "4", "The sum is 4", "42"] {
            assert!(could_still_match(&sum, &v, text.as_bytes()), "{text}");
        }
        for text in ["41", "43\n", "The sum is 5", "420", "4 and 4"] {
            assert!(!could_still_match(&sum, &v, text.as_bytes()), "{text}");
        }
        let address = Matcher::AllOf(vec![
            Matcher::Contains("127.0.0.1".into()),
            Matcher::Contains("localhost".into()),
        ]);
        assert!(could_still_match(&address, &v, b"127.0.0.1\n"));
    }

    #[test]
    fn not_refuses_what_its_matcher_accepts() {
        let v = values();
        let prompt = Matcher::AllOf(vec![
            Matcher::AnyText,
            Matcher::Not(Box::new(exact("exit"))),
        ]);
        assert!(find_match(&prompt, &v, b"exit\n", false).is_none());
        assert!(find_match(&prompt, &v, b"exit", true).is_none());
        assert!(find_match(&prompt, &v, b"exit\nType exit again: ", false).is_some());
        assert!(find_match(&prompt, &v, b"Send exit again to quit\n", false).is_some());
    }

    #[test]
    fn a_prompt_is_taken_once_it_looks_finished() {
        let v = values();
        let prompt = Matcher::AnyText;
        assert!(find_match(&prompt, &v, b"Enter a phrase: ", false).is_some());
        assert!(find_match(&prompt, &v, b"Send the first number\n", false).is_some());
        // The first fragment of a prompt sent in pieces is not yet a prompt...
        assert!(find_match(&prompt, &v, b"Send the ", false).is_none());
        // ...until a quiet gap or a close says it is whole.
        assert!(find_match(&prompt, &v, b"Send the ", true).is_some());
        assert!(find_match(&prompt, &v, b"\r\n", true).is_none());
    }
}
