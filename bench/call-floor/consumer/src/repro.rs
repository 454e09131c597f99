//! `--repro started-late`, a wasmtime 48 bug (not a measurement): a call that had to wait
//! to start gets a subtask handle; if its task exits after its result was delivered,
//! wasmtime deletes the task while the caller still holds the handle, and the caller's
//! `subtask.drop` traps "resource not present". provider-async's guard against the other
//! bug (`returned_at_once`: a task kept one turn after its result) exits that way, so the
//! provider must never block while calls come in (see bench/call-floor/README.md).

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;

use crate::bindings::wasio::call_floor::calls;

/// Prints `started-late: survived` if the runtime keeps the task until it is dropped.
pub async fn started_late() {
    let mut hold = pin!(calls::hold(50));
    assert!(poll_once(hold.as_mut()).await.is_none(), "hold returned before blocking");
    // Made while the provider is blocked in `hold`: it waits to start.
    let mut add = pin!(calls::add_async_lingering(1));
    assert!(poll_once(add.as_mut()).await.is_none(), "add-async-lingering was not held up");
    hold.await;
    // The provider now runs the call, which returns and then exits a turn later; its
    // result reaches this task, which does not look at it (or drop the subtask) yet.
    for _ in 0..16 {
        wit_bindgen::yield_async().await;
    }
    assert_eq!(add.await, 2);
    println!("started-late: survived");
}

/// Polls `future` once: its output, or `None` if it is still pending.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Option<F::Output> {
    poll_fn(|cx| {
        Poll::Ready(match future.as_mut().poll(cx) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        })
    })
    .await
}
