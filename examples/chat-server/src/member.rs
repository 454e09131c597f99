//! One member of the room: its connection's writer and how far behind it may fall.

use std::cell::Cell;
use std::time::Duration;

use wasio::{runtime, StreamWriter};

/// The most a member may leave unread in its queue: a line that would take it past
/// this drops the member at once, so a flood costs the server at most this per member.
pub const MAX_QUEUED: usize = 1024 * 1024;

pub struct Member {
    pub id: u64,
    pub name: String,
    pub writer: StreamWriter,
    /// Whether a task is already waiting for this member to drain (one at most).
    watched: Cell<bool>,
}

/// What [`Member::send`] did with a line.
pub enum Sent {
    /// Queued; the member is keeping up, or is already being watched.
    Queued,
    /// Queued, and the queue just went over the high-water mark: start watching it.
    Backlogged,
    /// Not queued: it would have taken the queue past [`MAX_QUEUED`].
    Overflow { queued: usize },
}

impl Member {
    pub fn new(id: u64, writer: StreamWriter) -> Self {
        Member { id, name: format!("guest{id}"), writer, watched: Cell::new(false) }
    }

    pub fn send(&self, line: &[u8]) -> Sent {
        let queued = self.writer.get_write_buffer_size();
        if queued + line.len() > MAX_QUEUED {
            return Sent::Overflow { queued };
        }
        // Fails only once this member's handler is closing: the line is not needed.
        let _ = self.writer.write(line);
        let (_, high) = self.writer.get_write_buffer_limits();
        if self.writer.get_write_buffer_size() > high && !self.watched.replace(true) {
            Sent::Backlogged
        } else {
            Sent::Queued
        }
    }

    /// Waits until the queue is back at the low-water mark (`drain`); false if that
    /// took longer than `limit`. A lost connection counts as drained: it is not
    /// slowness, and the member's handler sees it and leaves.
    pub async fn drained_within(&self, limit: Duration) -> bool {
        let drained = runtime::timeout(limit, self.writer.drain()).await;
        self.watched.set(false);
        drained.is_ok()
    }
}
