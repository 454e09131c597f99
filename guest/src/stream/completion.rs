//! `Completion`: the waiting half of an operation that has already started, asyncio
//! 3.8's optional await (`stream.write(data)` sends; `await stream.write(data)` also
//! drains).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, Result};

/// What is left of a `write`, `writelines`, `close` or `abort` that already took effect:
/// await it to wait for the drain or the close and to learn of an error. Dropping it
/// does not undo the operation, but loses its error (`Stream::write_nowait` queues and
/// reports its error at once).
#[must_use = "the operation already started; await it to wait for it and see its error"]
pub struct Completion<'a> {
    state: State<'a>,
}

enum State<'a> {
    Failed(Option<Error>),
    Pending(Pin<Box<dyn Future<Output = Result<()>> + 'a>>),
}

impl<'a> Completion<'a> {
    pub(crate) fn pending(wait: impl Future<Output = Result<()>> + 'a) -> Self {
        Completion { state: State::Pending(Box::pin(wait)) }
    }

    pub(crate) fn failed(error: Error) -> Self {
        Completion { state: State::Failed(Some(error)) }
    }
}

impl Future for Completion<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match &mut self.state {
            State::Failed(error) => {
                Poll::Ready(Err(error.take().expect("Completion polled after it completed")))
            }
            State::Pending(wait) => wait.as_mut().poll(cx),
        }
    }
}
