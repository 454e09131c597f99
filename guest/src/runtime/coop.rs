//! A cooperative budget, as tokio's `coop`: a task that keeps making progress yields to
//! the others after a bounded amount of work.
//!
//! asyncio cannot starve its other tasks: new bytes only reach a reader when its loop
//! runs, between tasks. Here a read pulls straight from the host, and a drain below the
//! high-water mark completes at once, so a handler whose peer always has data would
//! seldom return `Pending`, and the executor would run nothing else meanwhile (one
//! flooding client stalled every other for hundreds of milliseconds).
//!
//! So each time the executor runs a task (or polls `block_on`'s main future) the task
//! gets [`BUDGET`] units. Every read, drain and accept spends one before it starts, and
//! the bytes a read returns or a write takes spend one per [`BYTES_PER_UNIT`] (a 64 KiB
//! read is much more work than a line); once the units are spent, the next operation
//! yields instead: the task is woken at once and goes to the back of the queue, after
//! the tasks that are ready and the I/O that is ready now. Nothing is consumed before the yield, so the operation stays cancel-safe
//! and asyncio's semantics are untouched: only *when* other tasks run changes, as if
//! the loop had taken one more turn.
//!
//! Code that runs outside the executor (the WIT provider's non-waiting calls, whose
//! caller runs its own loop) has no budget and is never made to yield.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations a task may complete without waiting before it yields: tokio's figure.
pub const BUDGET: u32 = 128;

/// Bytes read or written that cost one unit. A chunk echo (read 64 KiB, write it,
/// drain) then yields after each chunk, a line echo of 16 KiB lines every 4 lines, one of
/// short lines every 64 lines. With 4 KiB a unit (256 KiB a turn) a probe behind a flood
/// of 16 KiB lines waited 2.4-3.9 ms (median); with 1 KiB, 0.5 ms, as behind asyncio,
/// and the flood itself kept its speed (bench `flood`, `bulk`).
pub const BYTES_PER_UNIT: usize = 1024;

thread_local! {
    /// The running task's units left; `None` outside a task (unconstrained).
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `f` (one poll of a task) with a fresh budget, then leaves the thread
/// unconstrained again (restoring what was there: `block_on` may run inside a task's
/// poll only to panic, but a budget must never leak across).
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LEFT.with(|left| left.set(self.0));
        }
    }
    let _restore = Restore(LEFT.with(|left| left.replace(Some(BUDGET))));
    f()
}

/// Spends one unit of the running task's budget: `Ready` while some is left (and
/// always outside a task); else wakes the task and returns `Pending`, so it runs again
/// on its next turn with a fresh budget.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    LEFT.with(|left| match left.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(units) => {
            left.set(Some(units - 1));
            Poll::Ready(())
        }
    })
}

/// Spends the units for `bytes` read or written, after the fact: an operation that has
/// completed cannot yield any more, so the task's next operation does.
pub(crate) fn spend_bytes(bytes: usize) {
    let units = u32::try_from(bytes / BYTES_PER_UNIT).unwrap_or(u32::MAX);
    if units > 0 {
        LEFT.with(|left| left.set(left.get().map(|left| left.saturating_sub(units))));
    }
}

/// Spends one unit of the running task's budget, first yielding to the other tasks if
/// it is spent (tokio's `consume_budget`). For loops that make progress without
/// waiting on anything the library does (e.g. over data already in hand).
pub fn consume_budget() -> ConsumeBudget {
    ConsumeBudget
}

/// The future of [`consume_budget`].
#[must_use = "futures do nothing unless awaited"]
pub struct ConsumeBudget;

impl Future for ConsumeBudget {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_proceed(cx)
    }
}

/// The units left to the running task (`None` outside a task).
#[cfg(test)]
fn remaining() -> Option<u32> {
    LEFT.with(|left| left.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct CountWakes(std::sync::atomic::AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn outside_a_task_nothing_is_spent() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..10 * BUDGET {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        assert_eq!(remaining(), None);
    }

    #[test]
    fn a_spent_budget_yields_once_and_wakes_the_task() {
        let counter = Arc::new(CountWakes(Default::default()));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            for _ in 0..BUDGET {
                assert!(poll_proceed(&mut cx).is_ready());
            }
            assert_eq!(remaining(), Some(0));
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(counter.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        });
        // The next turn starts afresh; outside it the thread is unconstrained again.
        assert_eq!(remaining(), None);
        with_budget(|| {
            assert!(poll_proceed(&mut cx).is_ready());
            assert_eq!(remaining(), Some(BUDGET - 1));
        });
    }

    #[test]
    fn bytes_spend_units_and_the_next_operation_yields() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        spend_bytes(1 << 30);
        assert_eq!(remaining(), None, "outside a task bytes cost nothing");
        with_budget(|| {
            spend_bytes(BYTES_PER_UNIT - 1);
            assert_eq!(remaining(), Some(BUDGET));
            spend_bytes(16 * BYTES_PER_UNIT);
            assert_eq!(remaining(), Some(BUDGET - 16));
            spend_bytes(usize::MAX);
            assert_eq!(remaining(), Some(0));
            assert!(poll_proceed(&mut cx).is_pending());
        });
    }

    #[test]
    fn a_panicking_turn_leaves_no_budget_behind() {
        let result = std::panic::catch_unwind(|| with_budget(|| panic!("task panicked")));
        assert!(result.is_err());
        assert_eq!(remaining(), None);
    }
}
