//! One member of the room: its connection's writer and how far behind it may fall.

use std::cell::Cell;
use std::time::Duration;

use wasio::runtime::{self, Notify};
use wasio::StreamWriter;

/// The most a member may leave unread in its queue: a line that would take it past
/// this drops the member at once, so a flood costs the server at most this per member.
pub const MAX_QUEUED: usize = 1024 * 1024;

pub struct Member {
    pub id: u64,
    pub name: String,
    pub writer: StreamWriter,
    /// Set while the member is behind: its queue went over the high-water mark and one
    /// task waits for it to drain.
    behind: Cell<bool>,
    /// Set once a sender waited for it as long as senders wait, until it catches up.
    waited_out: Cell<bool>,
    caught_up: Notify,
}

/// What [`Member::send`] did with a line.
pub enum Sent {
    /// Queued.
    Queued,
    /// Queued, and the member just fell behind: start a task that waits for it.
    FellBehind,
    /// Not queued: it would have taken the queue past [`MAX_QUEUED`].
    Overflow { queued: usize },
}

impl Member {
    pub fn new(id: u64, writer: StreamWriter) -> Self {
        let name = format!("guest{id}");
        let (behind, waited_out) = (Cell::new(false), Cell::new(false));
        Member { id, name, writer, behind, waited_out, caught_up: Notify::new() }
    }

    pub fn send(&self, line: &[u8]) -> Sent {
        let queued = self.writer.get_write_buffer_size();
        if queued + line.len() > MAX_QUEUED {
            return Sent::Overflow { queued };
        }
        // Fails only once this member's handler is closing: the line is not needed.
        let _ = self.writer.write(line);
        let (_, high) = self.writer.get_write_buffer_limits();
        if self.writer.get_write_buffer_size() > high && !self.behind.replace(true) {
            Sent::FellBehind
        } else {
            Sent::Queued
        }
    }

    /// For the one task that waits for a member that fell behind: waits until its queue
    /// is back at the low-water mark (`drain`); false if that took longer than `limit`.
    /// A lost connection counts as caught up: it is not slowness, and the member's
    /// handler sees it and leaves.
    pub async fn catch_up_within(&self, limit: Duration) -> bool {
        let drained = runtime::timeout(limit, self.writer.drain()).await;
        self.behind.set(false);
        self.waited_out.set(false);
        self.caught_up.notify_all();
        drained.is_ok()
    }

    /// For senders: waits while the member is behind, `patience` at most each time it
    /// falls behind. A member that reads catches up within it; one that does not is
    /// no longer waited for, and is left to its queue limit and timeout.
    pub async fn keep_pace(&self, patience: Duration) {
        if !self.behind.get() || self.waited_out.get() || self.writer.is_closing() {
            return;
        }
        let caught_up = async {
            while self.behind.get() {
                self.caught_up.notified().await;
            }
        };
        if runtime::timeout(patience, caught_up).await.is_err() {
            self.waited_out.set(true);
        }
    }
}
