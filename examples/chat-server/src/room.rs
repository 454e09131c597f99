//! The room: who is in it, and broadcasting a line to everyone else without letting
//! one member that does not read hold the others back or grow the server's memory.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use wasio::runtime;
use wasio::StreamWriter;

use crate::member::{Member, Sent, MAX_QUEUED};

/// How long a member that fell behind (its queue went over the high-water mark) may
/// take to catch up (bring it back to the low-water mark) before it is dropped.
pub const SLOW_READER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a sender waits, each time a member falls behind, for it to catch up: long
/// enough for a member that reads, short enough that one that does not holds the
/// senders back only briefly.
pub const SENDER_PATIENCE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Room {
    members: RefCell<Vec<Rc<Member>>>,
    last_id: Cell<u64>,
}

impl Room {
    pub fn join(&self, writer: StreamWriter) -> Rc<Member> {
        self.last_id.set(self.last_id.get() + 1);
        let member = Rc::new(Member::new(self.last_id.get(), writer));
        self.members.borrow_mut().push(Rc::clone(&member));
        member
    }

    /// Takes the member out of the room; false if it was not in it.
    pub fn leave(&self, id: u64) -> bool {
        let mut members = self.members.borrow_mut();
        let before = members.len();
        members.retain(|member| member.id != id);
        members.len() < before
    }

    /// Queues `line` for everyone but `from`: a member over [`MAX_QUEUED`] is dropped
    /// at once, and one that falls behind gets one task that drops it if it has not
    /// caught up within [`SLOW_READER_TIMEOUT`]. Then waits while a member is catching
    /// up ([`SENDER_PATIENCE`] at most), so a flood goes at the pace of the members
    /// that read instead of pushing them out.
    pub async fn broadcast(self: &Rc<Self>, from: u64, line: &[u8]) {
        let recipients: Vec<Rc<Member>> =
            self.members.borrow().iter().filter(|member| member.id != from).cloned().collect();
        for member in &recipients {
            let member = Rc::clone(member);
            match member.send(line) {
                Sent::Queued => {}
                Sent::FellBehind => {
                    let room = Rc::clone(self);
                    runtime::spawn(async move {
                        if !member.catch_up_within(SLOW_READER_TIMEOUT).await {
                            room.drop_member(&member, "fell behind for 5 s");
                        }
                    });
                }
                Sent::Overflow { queued } => {
                    let why = format!("{queued} bytes unread (limit {MAX_QUEUED})");
                    self.drop_member(&member, &why);
                }
            }
        }
        for member in recipients {
            member.keep_pace(SENDER_PATIENCE).await;
        }
    }

    /// Closes the member's connection without delivering its queue; its handler then
    /// sees EOF, and tells the others it left. Once only: both limits may trip.
    fn drop_member(&self, member: &Member, why: &str) {
        if self.leave(member.id) {
            eprintln!("chat-server: dropped {}: {why}", member.name);
            member.writer.abort();
        }
    }
}
