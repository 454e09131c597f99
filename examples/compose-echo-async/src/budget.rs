//! A connection's cooperative budget. The provider runs beside this component (its
//! reading and writing tasks go on while our calls run), so a busy connection's
//! `readline`, `write` and `drain` can all complete at once, call after call, and its task
//! would never give up its turn: 50 peers that keep sending starved a newcomer's first line
//! for seconds. So, as tokio's budget and the wasio runtime do, a task that spent its
//! [`BUDGET`] without waiting once yields to the others.

use std::future::{poll_fn, Future};
use std::pin::pin;

/// What a connection may spend without waiting before it yields: an echo costs one unit
/// plus one per [`BYTES_PER_UNIT`], so 16 short lines or about 64 KiB go in one turn.
const BUDGET: usize = 16;
const BYTES_PER_UNIT: usize = 4096;

pub struct Budget {
    left: usize,
}

impl Budget {
    pub fn new() -> Budget {
        Budget { left: BUDGET }
    }

    /// Awaits `call`; if it had to wait, the other tasks ran meanwhile and the budget is
    /// whole again.
    pub async fn track<F: Future>(&mut self, call: F) -> F::Output {
        let mut call = pin!(call);
        let mut waited = false;
        let output = poll_fn(|cx| {
            let poll = call.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await;
        if waited {
            self.left = BUDGET;
        }
        output
    }

    /// `bytes` echoed: yields once the budget is spent.
    pub async fn spend(&mut self, bytes: usize) {
        self.left = self.left.saturating_sub(1 + bytes / BYTES_PER_UNIT);
        if self.left == 0 {
            wit_bindgen::yield_async().await;
            self.left = BUDGET;
        }
    }
}
