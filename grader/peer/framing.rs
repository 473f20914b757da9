//! When a message from the student is complete. TCP carries bytes, not
//! messages, and students frame theirs every way there is, so the grader
//! decides where one ends (DESIGN.md, "Fairness"): as soon as the bytes read
//! satisfy the expectation, at the student's close, after a quiet gap once
//! nothing still to come could make them right, or at the deadline; an
//! HTTP head at its empty line. A [`Completion`] says which of these apply
//! to a step, and [`Connection::read_message`](super::Connection::read_message)
//! reads by it, so the step interpreter only ever sees messages.

use super::http;
use super::matching::{could_still_match, find_match};
use crate::exercise::{Matcher, Values};
use std::time::Duration;

/// When the message a step waits for is complete.
#[derive(Debug, Clone, Copy)]
pub enum Completion<'a> {
    /// An answer (`expect`): whole as soon as the bytes read satisfy
    /// `matcher`, so a right answer is taken at once; otherwise read as a
    /// whole at the student's close or at the deadline, and after a quiet
    /// gap of `quiet` once no bytes still to come could make it match (a
    /// right answer paused halfway is waited for).
    Answer {
        /// What the answer must satisfy.
        matcher: &'a Matcher,
        /// The run's values, filled into the matcher.
        values: &'a Values,
        /// The silence after data that may end the answer.
        quiet: Duration,
    },
    /// A message that may come (`expect-optional`): whole as soon as the
    /// bytes read satisfy `matcher`, or read as a whole at the close. The
    /// end of the wait ends no message: what came stays for the next step.
    Optional {
        /// What the message must satisfy.
        matcher: &'a Matcher,
        /// The run's values, filled into the matcher.
        values: &'a Values,
    },
    /// An HTTP request's head: whole at its first empty line. Once a line
    /// has come, a quiet gap of `quiet` ends the head unfinished: the
    /// missing empty line is the classic mistake, and a real server would
    /// wait for it forever.
    HttpHead {
        /// The silence after data that ends an unfinished head.
        quiet: Duration,
    },
    /// Nothing but the close (`expect-close`). Words before it ("Bye!")
    /// are dropped as they come, so a program that talks until it closes
    /// never fills the buffer (a full buffer reads as the deadline).
    Close,
}

/// How reading one message ended. The bytes stay buffered either way: the
/// reader consumes a whole message once it takes it, and shows what is
/// left as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// A whole message: the first this many buffered bytes.
    Whole(usize),
    /// The student closed the connection first.
    Closed,
    /// A quiet gap came after bytes that cannot become a whole message.
    Stalled,
    /// The deadline passed first.
    Deadline,
}

impl Completion<'_> {
    /// Where the message ends in `buffer`, if it is whole already; `closed`
    /// says no more bytes will come.
    pub(super) fn end(&self, buffer: &[u8], closed: bool) -> Option<usize> {
        match *self {
            // The reading of an unfinished message first: a close does not
            // change which bytes already make an answer.
            Completion::Answer {
                matcher, values, ..
            } => find_match(matcher, values, buffer, false).or_else(|| {
                if closed {
                    find_match(matcher, values, buffer, true)
                } else {
                    None
                }
            }),
            Completion::Optional { matcher, values } => find_match(matcher, values, buffer, closed),
            Completion::HttpHead { .. } => http::head_end(buffer),
            Completion::Close => None,
        }
    }

    /// Where the message ends once silence (a quiet gap, the deadline) says
    /// that `buffer` is all of it, if it is a message then.
    pub(super) fn end_when_silent(&self, buffer: &[u8]) -> Option<usize> {
        match *self {
            Completion::Answer {
                matcher, values, ..
            } => find_match(matcher, values, buffer, true),
            Completion::Optional { .. } | Completion::HttpHead { .. } | Completion::Close => None,
        }
    }

    /// The quiet gap that may end the message now that `buffer` has come:
    /// only once something has, since silence before a message is only
    /// the program thinking.
    pub(super) fn quiet_gap(&self, buffer: &[u8]) -> Option<Duration> {
        match *self {
            Completion::Answer { quiet, .. } => {
                (!buffer.iter().all(u8::is_ascii_whitespace)).then_some(quiet)
            }
            Completion::HttpHead { quiet } => buffer.contains(&b'\n').then_some(quiet),
            Completion::Optional { .. } | Completion::Close => None,
        }
    }

    /// Whether bytes still to come after a quiet gap could make `buffer` a
    /// whole message; if not, the gap ends it.
    pub(super) fn may_still_end(&self, buffer: &[u8]) -> bool {
        match *self {
            Completion::Answer {
                matcher, values, ..
            } => could_still_match(matcher, values, buffer),
            Completion::Optional { .. } | Completion::HttpHead { .. } | Completion::Close => false,
        }
    }

    /// Whether the bytes that come are dropped instead of kept.
    pub(super) fn drops_data(&self) -> bool {
        matches!(self, Completion::Close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn values() -> Values {
        Values::resolve(&BTreeMap::new(), 0, &[]).unwrap()
    }

    const QUIET: Duration = Duration::from_millis(300);

    #[test]
    fn an_answer_ends_where_it_matches_and_a_close_reads_it_whole() {
        let (prompt, v) = (Matcher::AnyText, values());
        let answer = Completion::Answer {
            matcher: &prompt,
            values: &v,
            quiet: QUIET,
        };
        // Unfinished, the first line is the prompt; closed, it is too: the
        // bytes that made an answer before the close still do.
        assert_eq!(answer.end(b"abc\ndef", false), Some(4));
        assert_eq!(answer.end(b"abc\ndef", true), Some(4));
        assert_eq!(answer.end(b"Send the ", false), None);
        assert_eq!(answer.end(b"Send the ", true), Some(9));
        assert_eq!(answer.end_when_silent(b"Send the "), Some(9));
        // An optional message read at a close is read whole.
        let optional = Completion::Optional {
            matcher: &prompt,
            values: &v,
        };
        assert_eq!(optional.end(b"abc\ndef", true), Some(7));
        assert_eq!(optional.end_when_silent(b"Send the "), None);
    }

    #[test]
    fn a_quiet_gap_applies_once_something_came() {
        let (exact, v) = (Matcher::Exact("42".into()), values());
        let answer = Completion::Answer {
            matcher: &exact,
            values: &v,
            quiet: QUIET,
        };
        assert_eq!(answer.quiet_gap(b" \r\n"), None);
        assert_eq!(answer.quiet_gap(b"4"), Some(QUIET));
        assert!(answer.may_still_end(b"4"));
        assert!(!answer.may_still_end(b"43"));
        let head = Completion::HttpHead { quiet: QUIET };
        assert_eq!(head.quiet_gap(b"GET / HTTP/1.0"), None);
        assert_eq!(head.quiet_gap(b"GET / HTTP/1.0\r\n"), Some(QUIET));
        assert!(!head.may_still_end(b"GET / HTTP/1.0\r\n"));
        assert_eq!(head.end(b"GET / HTTP/1.0\r\n\r\n", false), Some(18));
        assert_eq!(Completion::Close.quiet_gap(b"Bye!"), None);
        assert_eq!(Completion::Close.end(b"Bye!", true), None);
        assert!(Completion::Close.drops_data());
    }
}
