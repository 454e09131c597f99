//! Keeps wasmtime 48 from leaking the task of a call that returns at once.
//!
//! When an `async func` completes in the callee's first turn, before its caller resumes,
//! the caller gets no subtask handle to drop, and the callee's exit found its `Returned`
//! event still pending, so nothing deletes the task: about 400 bytes of host memory per
//! call, until the store traps ("resource table has no free keys") after a million of
//! them, some 330,000 lines of a composed echo whose `readline`s find their line
//! buffered. A task that exits after its caller took the result is deleted then. So an
//! export that completes in its first poll keeps its task one turn longer (a spawned
//! yield): that turn is the whole cost. It runs when the consumer next waits or yields; a
//! consumer that calls in a loop and never does holds them until then (as it holds every
//! other task). The reproduction and the one-hunk wasmtime fix are in
//! `bench/call-floor/README.md`; the test is `wit_provider_async::returned_calls`.
//!
//! This is sound only while this component never blocks. A call that arrives while one of
//! its tasks blocks (a sync cancel of a host stream's read, say) waits to start, so its
//! caller holds a subtask handle; wasmtime 48 deletes the task when it exits after its
//! result was delivered, and a caller that drops the handle after that traps ("resource
//! not present"). So nothing here cancels a read of the host's ([`crate::pumps`]).

use std::future::{poll_fn, Future};
use std::pin::pin;

/// Runs an export's body; if it completes in its first poll, the task lingers one turn.
pub(crate) async fn guard<F: Future>(body: F) -> F::Output {
    let mut body = pin!(body);
    let mut waited = false;
    let output = poll_fn(|cx| {
        let poll = body.as_mut().poll(cx);
        waited |= poll.is_pending();
        poll
    })
    .await;
    if !waited {
        drop(wasip3::spawn_local(wit_bindgen::yield_async()));
    }
    output
}
