//! The transcript of one exercise: who sent what and when, plus events (a
//! connection, a close, an exit), shared by the peer and the process watcher
//! so that everything lands in one timeline.

use crate::outcome::{Direction, TranscriptEntry};
use crate::text::{escape_bytes, truncate_chars};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Longest text kept for one entry; a flood is summarised, not stored.
const MAX_ENTRY_CHARS: usize = 2_000;
/// Most entries kept; later ones are counted instead.
const MAX_ENTRIES: usize = 500;

/// Called with each entry as it is recorded (live narration).
pub type Narrator = Arc<dyn Fn(&TranscriptEntry) + Send + Sync>;

/// A cheap, cloneable handle on one exercise's transcript.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    entries: Arc<Mutex<Entries>>,
    narrator: Option<Narrator>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("start", &self.start)
            .field("live", &self.narrator.is_some())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Entries {
    kept: Vec<TranscriptEntry>,
    dropped: usize,
}

impl Recorder {
    /// A new transcript whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            entries: Arc::default(),
            narrator: None,
        }
    }

    /// A transcript that also hands every entry to `narrator` as it
    /// happens (`sockgrade peer` prints them live).
    pub fn narrated(narrator: Narrator) -> Recorder {
        Recorder {
            narrator: Some(narrator),
            ..Recorder::new()
        }
    }

    /// Milliseconds since the transcript started.
    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Records bytes sent to the student.
    pub fn sent(&self, bytes: &[u8]) {
        self.push(Direction::Sent, escape_bytes(bytes));
    }

    /// Records bytes received from the student.
    pub fn received(&self, bytes: &[u8]) {
        self.push(Direction::Received, escape_bytes(bytes));
    }

    /// Records something that happened.
    pub fn event(&self, text: impl Into<String>) {
        self.push(Direction::Event, text.into());
    }

    fn push(&self, direction: Direction, text: String) {
        let entry = TranscriptEntry {
            at_ms: self.elapsed_ms(),
            direction,
            text: truncate_chars(&text, MAX_ENTRY_CHARS),
        };
        if let Some(narrator) = &self.narrator {
            narrator(&entry);
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.kept.len() < MAX_ENTRIES {
            entries.kept.push(entry);
        } else {
            entries.dropped += 1;
        }
    }

    /// The entries so far, with a last event counting any that were dropped.
    pub fn entries(&self) -> Vec<TranscriptEntry> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut kept = entries.kept.clone();
        if entries.dropped > 0 {
            kept.push(TranscriptEntry {
                at_ms: self.elapsed_ms(),
                direction: Direction::Event,
                text: format!("… {} more entries not kept", entries.dropped),
            });
        }
        kept
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}
