//! Capturing a program's stdout or stderr with bounded memory: the head and
//! the tail are kept, the middle is counted, and watchers are told of every
//! change so that an expected print is noticed the moment it happens.

use crate::text::escape_output;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// Bytes kept from the start of the output.
const HEAD_BYTES: usize = 32 * 1024;
/// Bytes kept from the end of the output.
const TAIL_BYTES: usize = 32 * 1024;

#[derive(Debug, Default)]
struct Kept {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
}

impl Kept {
    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let head_room = HEAD_BYTES - self.head.len();
        if head_room > 0 {
            let take = head_room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.len() >= TAIL_BYTES {
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
        } else {
            let overflow = (self.tail.len() + bytes.len()).saturating_sub(TAIL_BYTES);
            self.tail.drain(..overflow);
            self.tail.extend_from_slice(bytes);
        }
    }

    fn skipped(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }
}

/// State of a captured stream, as watchers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes written so far.
    pub total: u64,
    /// True once the stream reached its end (every writer closed it).
    pub closed: bool,
}

/// One captured output stream; cheap to clone.
#[derive(Debug, Clone)]
pub struct Capture {
    kept: Arc<Mutex<Kept>>,
    progress: watch::Receiver<Progress>,
}

impl Capture {
    /// Starts capturing `reader` on a task of its own; the returned handle
    /// sees everything the task reads.
    pub fn start(
        reader: impl AsyncRead + Unpin + Send + 'static,
    ) -> (Capture, tokio::task::JoinHandle<()>) {
        let kept = Arc::new(Mutex::new(Kept::default()));
        let (sender, progress) = watch::channel(Progress::default());
        let task = tokio::spawn(drain(reader, Arc::clone(&kept), sender));
        (Capture { kept, progress }, task)
    }

    /// A capture of nothing, already closed (for a program with no output).
    pub fn closed() -> Capture {
        let (_, progress) = watch::channel(Progress {
            total: 0,
            closed: true,
        });
        Capture {
            kept: Arc::default(),
            progress,
        }
    }

    /// The current state.
    pub fn progress(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Waits until the output changes or closes; returns at once if closed.
    pub async fn changed(&mut self) {
        if self.progress.borrow().closed {
            // A close that came after the caller last looked is news too.
            return;
        }
        if self.progress.changed().await.is_err() {
            // The capture task is gone: nothing more will arrive.
            std::future::pending::<()>().await;
        }
    }

    /// The kept output as text, and whether the stream had ended: read in
    /// that order, closed first, so that a closed stream's text is all of
    /// it. Read the other way round, the last output and the close could
    /// both land between the two reads, and a program that printed its
    /// reply and exited would look as if it exited without printing (seen
    /// once in 440 programs of a loaded batch).
    pub fn snapshot(&self) -> (String, bool) {
        let closed = self.progress().closed;
        (self.text(), closed)
    }

    /// The kept text (head and tail), lossily decoded, for matching.
    pub fn text(&self) -> String {
        let kept = self.lock();
        let mut bytes = kept.head.clone();
        bytes.extend_from_slice(&kept.tail);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The kept output, escaped for reports, with the cut marked.
    pub fn render(&self) -> String {
        let kept = self.lock();
        let mut out = escape_output(&kept.head);
        let skipped = kept.skipped();
        if skipped > 0 {
            out.push_str(&format!("\n[… {skipped} bytes not kept …]\n"));
        }
        out.push_str(&escape_output(&kept.tail));
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn drain(
    mut reader: impl AsyncRead + Unpin,
    kept: Arc<Mutex<Kept>>,
    progress: watch::Sender<Progress>,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let total = {
                    let mut kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    kept.push(&chunk[..n]);
                    kept.total
                };
                progress.send_replace(Progress {
                    total,
                    closed: false,
                });
            }
        }
    }
    progress.send_modify(|p| p.closed = true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_head_and_tail_of_a_flood() {
        let mut kept = Kept::default();
        for _ in 0..10 {
            kept.push(&vec![b'x'; 20 * 1024]);
        }
        kept.push(b"the end");
        assert_eq!(kept.head.len(), HEAD_BYTES);
        assert_eq!(kept.tail.len(), TAIL_BYTES);
        assert!(kept.tail.ends_with(b"the end"));
        assert_eq!(
            kept.skipped(),
            10 * 20 * 1024 + 7 - (HEAD_BYTES + TAIL_BYTES) as u64
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_that_says_closed_holds_everything_written() {
        // The writer's last output and its close race the reader's two
        // reads; whenever the snapshot says closed, the text must be whole.
        for _ in 0..300 {
            let (mut writer, reader) = tokio::io::duplex(64);
            let (capture, task) = Capture::start(reader);
            let written = tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                writer.write_all(b"I'm good\n").await.unwrap();
            });
            loop {
                let (text, closed) = capture.snapshot();
                if closed {
                    assert_eq!(text, "I'm good\n");
                    break;
                }
                tokio::task::yield_now().await;
            }
            written.await.unwrap();
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn reports_text_and_close() {
        let (mut capture, task) = Capture::start(&b"hello\x1b[31m\n"[..]);
        task.await.unwrap();
        assert!(capture.progress().closed);
        assert_eq!(capture.text(), "hello\x1b[31m\n");
        assert_eq!(capture.render(), "hello\\u{1b}[31m\n");
        // A closed capture answers at once, so a waiter sees the close.
        let waited = tokio::time::timeout(std::time::Duration::from_secs(5), capture.changed());
        assert!(waited.await.is_ok());
    }
}
