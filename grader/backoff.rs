//! Pauses that grow between tries of something that has no event to wait
//! on (a server that may start listening, a start slot another process
//! may free): short at first, so a quick answer is seen quickly, then
//! half as long again each time up to a longest, so a long wait costs a
//! few tries a second rather than hundreds.

use std::time::Duration;

/// The pauses between tries, from `first` up to `longest`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    longest: Duration,
}

impl Backoff {
    pub fn new(first: Duration, longest: Duration) -> Backoff {
        Backoff {
            next: first,
            longest,
        }
    }

    /// How long to wait before the next try, `left` before a deadline:
    /// never past it, so the last try is made when it passes.
    pub fn pause(&mut self, left: Duration) -> Duration {
        let pause = self.next.min(left);
        self.next = (self.next * 3 / 2).min(self.longest);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_come_quickly_at_first_then_settle_and_the_last_falls_on_the_deadline() {
        let (first, longest) = (Duration::from_millis(4), Duration::from_millis(50));
        let mut backoff = Backoff::new(first, longest);
        let plenty = Duration::from_secs(10);
        let pauses: Vec<Duration> = (0..12).map(|_| backoff.pause(plenty)).collect();
        assert_eq!(pauses[0], first);
        assert!(
            pauses.windows(2).all(|pair| pair[0] <= pair[1]),
            "{pauses:?}"
        );
        assert_eq!(pauses[11], longest, "{pauses:?}");
        // Within the first 100 ms (a slow server's start) still several tries.
        let mut elapsed = Duration::ZERO;
        let early = pauses
            .iter()
            .take_while(|pause| {
                elapsed += **pause;
                elapsed <= Duration::from_millis(100)
            })
            .count();
        assert!(early >= 5, "{pauses:?}");
        // Never a pause past the deadline: the last try is made at it.
        assert_eq!(
            backoff.pause(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
    }
}
