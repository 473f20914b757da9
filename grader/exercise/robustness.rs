//! The robustness tier: the same conversation replayed with the grader's
//! side changed the way a real network changes a TCP stream. On loopback
//! one `send` of the grader's arrives as one `recv` of the program's, so a
//! program that takes each `recv` for one whole message passes; across a
//! real network it does not, because TCP carries bytes, not messages. Each
//! [`Variant`] is one such change; [`crate::peer::Shaping`] makes it.
//!
//! Every tier, the normal one too, already half-closes as early as the
//! protocol allows: the grader shuts its sending side down as soon as it
//! has nothing more to say, as `nc` does at the end of piped input.

use super::{Exercise, Step, Template};
use serde::{Deserialize, Serialize};

/// One way the network changes what the program receives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Every message the grader sends arrives in two to four segments, the
    /// first of one to three bytes, each sent once the program has read the
    /// one before: a `recv` returns part of a message.
    Split,
    /// Two messages the grader sends with no answer between them arrive in
    /// one segment: a `recv` returns both.
    Coalesce,
    /// The grader's first message comes after a pause of 1 to 1.5 s, as
    /// across a slow network: a program must wait as long as it takes.
    SlowStart,
}

impl Variant {
    /// Every variant, in the order they are played and reported.
    pub const ALL: [Variant; 3] = [Variant::Split, Variant::Coalesce, Variant::SlowStart];

    /// The name used in exercise files, on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Split => "split",
            Variant::Coalesce => "coalesce",
            Variant::SlowStart => "slow-start",
        }
    }

    /// The name of `exercise_id`'s replay in this variant
    /// (`client-4@split`): its private folders' and its seed's.
    pub fn replay_of(self, exercise_id: &str) -> String {
        format!("{exercise_id}@{}", self.as_str())
    }

    /// What the grader did differently, for messages ("with ...").
    pub fn describe(self) -> &'static str {
        match self {
            Variant::Split => "every message split into small segments",
            Variant::Coalesce => "two messages sent in one segment",
            Variant::SlowStart => "the first message sent after a pause of over a second",
        }
    }

    /// Whether this variant changes anything in `exercise`'s conversation:
    /// splitting and a slow start need a message from the grader,
    /// coalescing two with no answer awaited between them.
    pub fn applies_to(self, exercise: &Exercise) -> bool {
        match self {
            Variant::Split | Variant::SlowStart => exercise.steps.iter().any(Step::sends),
            Variant::Coalesce => coalesced_pair(&exercise.steps).is_some(),
        }
    }
}

/// Two `send` steps that the `coalesce` variant sends in one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoalescedPair<'a> {
    /// The index of the first; the pair goes out when it is reached.
    pub first: usize,
    /// The index of the second, which is then skipped.
    pub second: usize,
    /// The two messages, in order.
    pub texts: [&'a Template; 2],
}

/// The first two `send` steps with only optional answers between them
/// (which may as well come after both): the pair the `coalesce` variant
/// sends in one segment.
pub fn coalesced_pair(steps: &[Step]) -> Option<CoalescedPair<'_>> {
    steps.iter().enumerate().find_map(|(first, step)| {
        let Step::Send(first_text) = step else {
            return None;
        };
        let (offset, next) = steps[first + 1..]
            .iter()
            .enumerate()
            .find(|(_, step)| !matches!(step, Step::ExpectOptional(_)))?;
        let Step::Send(second_text) = next else {
            return None;
        };
        Some(CoalescedPair {
            first,
            second: first + 1 + offset,
            texts: [first_text, second_text],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::ExerciseSet;

    fn notebook(id: &str) -> Exercise {
        ExerciseSet::embedded().unwrap().get(id).unwrap().clone()
    }

    #[test]
    fn every_exercise_where_the_grader_speaks_can_be_split_or_slow() {
        for exercise in ExerciseSet::embedded().unwrap().exercises {
            // server-1: the grader only listens.
            let speaks = exercise.id != "server-1";
            assert_eq!(
                Variant::Split.applies_to(&exercise),
                speaks,
                "{}",
                exercise.id
            );
            assert_eq!(
                Variant::SlowStart.applies_to(&exercise),
                speaks,
                "{}",
                exercise.id
            );
        }
    }

    #[test]
    fn only_messages_with_no_answer_awaited_between_them_coalesce() {
        // server-4: `{word}`, an optional echo of it, then `{phrase}`.
        let server_4 = notebook("server-4");
        let pair = coalesced_pair(&server_4.steps).unwrap();
        assert_eq!((pair.first, pair.second), (4, 6));
        assert_eq!(pair.texts.map(|t| t.to_string()), ["{word}", "{phrase}"]);
        for id in ["client-2", "server-3", "server-demo", "client-5"] {
            assert!(!Variant::Coalesce.applies_to(&notebook(id)), "{id}");
        }
    }

    #[test]
    fn names_are_the_ones_files_and_flags_use() {
        for variant in Variant::ALL {
            let json = serde_json::to_string(&variant).unwrap();
            assert_eq!(json, format!("\"{}\"", variant.as_str()));
            let flag = clap::ValueEnum::to_possible_value(&variant).unwrap();
            assert_eq!(flag.get_name(), variant.as_str());
        }
    }
}
