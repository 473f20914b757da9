//! Property tests: the exercise loader and the message matcher, fed what
//! no example list would think of, never panic and keep their promises.

use proptest::prelude::*;
use sockgrade::exercise::{ExerciseSet, Matcher, Pattern, Values};
use sockgrade::peer::matching::{find_match, matches};
use sockgrade::text::{escape_bytes, escape_output};
use std::collections::BTreeMap;

const NOTEBOOK: &str = include_str!("../fixtures/exercises/notebook.json");

fn values() -> Values {
    Values::resolve(&BTreeMap::new(), 0, &[]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text is an exercise set or an error that names a place.
    #[test]
    fn the_loader_never_panics_on_any_text(text in ".{0,400}") {
        if let Err(error) = ExerciseSet::parse(&text, "any.json") {
            let message = error.to_string();
            prop_assert!(message.starts_with("any.json"), "{}", message);
        }
    }

    /// The real file cut anywhere before its end is a syntax error with a
    /// position (cutting only trailing whitespace leaves it whole).
    #[test]
    fn a_truncated_exercise_file_is_a_positioned_error(cut in 0usize..NOTEBOOK.trim_end().len()) {
        let cut = (0..=cut).rev().find(|&i| NOTEBOOK.is_char_boundary(i)).unwrap_or(0);
        let error = ExerciseSet::parse(&NOTEBOOK[..cut], "cut.json").unwrap_err().to_string();
        prop_assert!(error.starts_with("cut.json:"), "{}", error);
    }

    /// The real file with one byte changed loads or fails cleanly.
    #[test]
    fn a_corrupted_exercise_file_never_panics(at in 0usize..NOTEBOOK.len(), byte in any::<u8>()) {
        let mut bytes = NOTEBOOK.as_bytes().to_vec();
        bytes[at] = byte;
        let text = String::from_utf8_lossy(&bytes);
        let _ = ExerciseSet::parse(&text, "corrupt.json");
    }

    /// Whatever arrives, matching never panics and never consumes more
    /// than it was given.
    #[test]
    fn matching_any_bytes_never_overruns(buffer in proptest::collection::vec(any::<u8>(), 0..300),
                                          expected in "[ -~]{0,20}", complete in any::<bool>()) {
        let v = values();
        for matcher in [
            Matcher::Exact(expected.as_str().into()),
            Matcher::Contains(expected.as_str().into()),
            Matcher::Number(expected.as_str().into()),
            Matcher::Regex(Pattern::new(regex::escape(&expected))),
            Matcher::AnyText,
        ] {
            if let Some(end) = find_match(&matcher, &v, &buffer, complete) {
                prop_assert!(end <= buffer.len());
            }
        }
    }

    /// A right answer matches however it is framed: any line ending, any
    /// surrounding blanks.
    #[test]
    fn a_right_answer_matches_in_any_framing(answer in "[!-~]([ -~]{0,30}[!-~])?",
                                             before in "[ \t\r\n]{0,3}", after in prop_oneof!["", "\n", "\r\n", " \n"]) {
        let v = values();
        let framed = [before.as_str(), answer.as_str(), after.as_str()].concat();
        prop_assert!(find_match(&Matcher::Exact(answer.as_str().into()), &v, framed.as_bytes(), false).is_some());
    }

    /// A different answer never matches exactly.
    #[test]
    fn a_wrong_answer_never_matches(answer in "[a-z]{1,12}", wrong in "[a-z]{1,12}") {
        prop_assume!(answer != wrong);
        let v = values();
        let line = [wrong.as_str(), "\n"].concat();
        prop_assert!(find_match(&Matcher::Exact(answer.into()), &v, line.as_bytes(), true).is_none());
    }

    /// A number matches in a sentence, and its neighbours do not.
    #[test]
    fn numbers_match_exactly_in_sentences(n in -100_000i64..100_000) {
        let v = values();
        let matcher = Matcher::Number(n.to_string().into());
        let (sentence, decimal) = (format!("The sum is {n}"), format!("{n}.0"));
        let (next, longer) = ((n + 1).to_string(), format!("{n}7"));
        prop_assert!(matches(&matcher, &v, &sentence, true));
        prop_assert!(matches(&matcher, &v, &decimal, true));
        prop_assert!(!matches(&matcher, &v, &next, true));
        prop_assert!(!matches(&matcher, &v, &longer, true));
    }

    /// Escaped text has no control characters left, so no report format
    /// and no terminal can be broken by it.
    #[test]
    fn escaping_leaves_no_control_characters(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert!(!escape_bytes(&bytes).chars().any(char::is_control));
        prop_assert!(!escape_output(&bytes).chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    }
}
