//! How the grader's sends are shaped in one run: as they are (the normal
//! tier), or changed by one of the robustness tier's variants (see
//! [`Variant`]). Seeded: the same seed cuts the same messages at the same
//! places, so a report's seed replays a variant exactly.

use crate::exercise::{Rng, Variant, exercise_seed};
use std::time::Duration;

/// The shortest and longest pause before the first message (`slow-start`).
const SLOW_START_MS: (i64, i64) = (1000, 1500);
/// The most segments one message is split into (`split`).
const MOST_SEGMENTS: i64 = 4;
/// The longest first segment (`split`): short, so that even a program
/// that waits for a few bytes gets less than a message.
const LONGEST_FIRST_SEGMENT: i64 = 3;

/// The seed of `variant`'s cuts and pauses for `exercise_id` in the run of
/// `run_seed`: kept below 2^53, as run seeds are, so every JSON reader
/// holds it exactly.
pub fn seed_of(variant: Variant, run_seed: u64, exercise_id: &str) -> u64 {
    exercise_seed(run_seed, &variant.replay_of(exercise_id)) & ((1 << 53) - 1)
}

/// The shaping of one conversation's sends.
#[derive(Debug, Clone)]
pub struct Shaping {
    variant: Option<Variant>,
    rng: Rng,
    sent_before: bool,
}

impl Shaping {
    /// Sends as they are: one write per message.
    pub fn none() -> Shaping {
        Shaping {
            variant: None,
            rng: Rng::new(0),
            sent_before: false,
        }
    }

    /// The shaping of `variant` (none: [`Shaping::none`]) for `exercise_id`
    /// in the run of `run_seed`.
    pub fn of(variant: Option<Variant>, run_seed: u64, exercise_id: &str) -> Shaping {
        let Some(variant) = variant else {
            return Shaping::none();
        };
        let seed = seed_of(variant, run_seed, exercise_id);
        Shaping {
            variant: Some(variant),
            rng: Rng::new(seed),
            sent_before: false,
        }
    }

    /// Whether messages are split, each segment sent once the program has
    /// read what came before.
    pub fn splits(&self) -> bool {
        self.variant == Some(Variant::Split)
    }

    /// Whether two messages with no answer between them go in one segment.
    pub fn coalesces(&self) -> bool {
        self.variant == Some(Variant::Coalesce)
    }

    /// Before each message: how long to wait first (only before the first
    /// one, in `slow-start`).
    pub fn pause_before_message(&mut self) -> Option<Duration> {
        let first = !self.sent_before;
        self.sent_before = true;
        (first && self.variant == Some(Variant::SlowStart)).then(|| {
            let (low, high) = SLOW_START_MS;
            Duration::from_millis(self.rng.between(low, high) as u64)
        })
    }

    /// The lengths of the segments a message of `len` bytes goes out in:
    /// one in every tier but `split`.
    pub fn segments(&mut self, len: usize) -> Vec<usize> {
        if !self.splits() || len < 2 {
            return vec![len];
        }
        let len = len as i64;
        let first = self.rng.between(1, LONGEST_FIRST_SEGMENT.min(len - 1));
        let mut segments = vec![first as usize];
        let rest = len - first;
        let count = self.rng.between(1, (MOST_SEGMENTS - 1).min(rest));
        // Distinct cuts inside the rest, in order.
        let mut cuts: Vec<i64> = Vec::new();
        while cuts.len() < (count - 1) as usize {
            let cut = self.rng.between(1, rest - 1);
            if !cuts.contains(&cut) {
                cuts.push(cut);
            }
        }
        cuts.sort_unstable();
        let mut from = 0;
        for cut in cuts.into_iter().chain([rest]) {
            segments.push((cut - from) as usize);
            from = cut;
        }
        segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_every_message_into_a_short_first_segment_and_up_to_three_more() {
        let mut shaping = Shaping::of(Some(Variant::Split), 7, "client-4");
        for len in 2..200 {
            let segments = shaping.segments(len);
            assert_eq!(segments.iter().sum::<usize>(), len);
            assert!((2..=4).contains(&segments.len()), "{segments:?}");
            assert!((1..=3).contains(&segments[0]), "{segments:?}");
            assert!(segments.iter().all(|&s| s > 0), "{segments:?}");
        }
        assert_eq!(shaping.segments(1), vec![1]);
    }

    #[test]
    fn the_same_seed_cuts_the_same_way_and_another_exercise_differently() {
        let cuts = |seed, id| {
            let mut shaping = Shaping::of(Some(Variant::Split), seed, id);
            (0..20).map(|_| shaping.segments(40)).collect::<Vec<_>>()
        };
        assert_eq!(cuts(7, "client-4"), cuts(7, "client-4"));
        assert_ne!(cuts(7, "client-4"), cuts(7, "server-4"));
        assert_ne!(cuts(7, "client-4"), cuts(8, "client-4"));
    }

    #[test]
    fn only_slow_start_pauses_and_only_before_the_first_message() {
        let mut slow = Shaping::of(Some(Variant::SlowStart), 1, "server-2");
        let pause = slow.pause_before_message().unwrap();
        assert!((1000..=1500).contains(&pause.as_millis()), "{pause:?}");
        assert_eq!(slow.pause_before_message(), None);
        assert_eq!(slow.segments(10), vec![10]);
        let mut normal = Shaping::none();
        assert_eq!(normal.pause_before_message(), None);
        assert_eq!(normal.segments(10), vec![10]);
        assert!(!normal.coalesces() && Shaping::of(Some(Variant::Coalesce), 1, "x").coalesces());
    }
}
