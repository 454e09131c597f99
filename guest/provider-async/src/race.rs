//! Giving up on a wait: after a time (asyncio's `timeout=`) or when something else
//! happens first. The operation's future is dropped, which cancels what it waits on.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use wasip3::clocks::monotonic_clock::wait_for;

/// `operation`'s output, or `None` when `stop` completed first.
pub(crate) async fn until<T>(
    operation: impl Future<Output = T>,
    stop: impl Future<Output = ()>,
) -> Option<T> {
    let mut operation = pin!(operation);
    let mut stop = pin!(stop);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = operation.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        stop.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// `operation`'s output, or `None` when `ms` milliseconds passed first.
pub(crate) async fn within<T>(ms: u32, operation: impl Future<Output = T>) -> Option<T> {
    until(operation, wait_for(u64::from(ms) * 1_000_000)).await
}
