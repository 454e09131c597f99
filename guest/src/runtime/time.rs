//! Sleeping and timeouts on `wasi:clocks/monotonic-clock` (asyncio's `sleep` and
//! `wait_for`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use wasip2::clocks::monotonic_clock;

use super::reactor::{Registration, WaitState};
use crate::error::Error;

/// Completes after `duration` (asyncio.sleep).
pub fn sleep(duration: Duration) -> Sleep {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    Sleep {
        timer: Registration::new(monotonic_clock::subscribe_duration(nanos)),
        state: WaitState::default(),
    }
}

/// The future returned by [`sleep`].
pub struct Sleep {
    // Dropped with the Sleep: the reactor forgets the timer and its waker together.
    timer: Registration,
    state: WaitState,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.timer.poll_wait(&mut this.state, cx)
    }
}

/// Runs `future`, giving up after `duration` with [`Error::TimedOut`] (asyncio.wait_for).
/// On timeout the future is dropped, which cancels it.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Error> {
    let mut future = std::pin::pin!(future);
    let mut timer = sleep(duration);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
