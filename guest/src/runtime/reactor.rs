//! Turns `wasi:io` pollables into task wake-ups.
//!
//! A stream's pollable is registered once ([`Registration::new`]) and kept for the
//! stream's life; waiting only adds a waker. Each turn hands `wasi:io/poll` the
//! pollables that someone waits on, and wakes exactly the waiters of those that are
//! ready.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use slab::Slab;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

struct Source {
    pollable: Pollable,
    wakers: Vec<Waker>,
    /// Bumped each time the pollable was reported ready; a waiter that saw an older
    /// value knows its wait is over.
    readiness: u64,
}

#[derive(Default)]
struct Reactor {
    sources: Slab<Source>,
    /// Where the next turn starts waking: rotating it keeps one connection from always
    /// going last (on a host that limits how much a turn can do, last could mean never).
    rotation: usize,
    /// A pollable that is always ready, for polling without waiting. Created once: a
    /// zero-duration timer stays ready.
    ready_now: Option<Pollable>,
}

thread_local! {
    static REACTOR: RefCell<Reactor> = RefCell::new(Reactor::default());
}

/// A pollable registered with the reactor. Dropping it drops the pollable, which must
/// happen before the resource it came from is dropped (declare it before that resource
/// in a struct).
#[derive(Debug)]
pub struct Registration {
    key: usize,
}

impl Registration {
    pub fn new(pollable: Pollable) -> Self {
        let key = REACTOR.with(|reactor| {
            reactor.borrow_mut().sources.insert(Source { pollable, wakers: Vec::new(), readiness: 0 })
        });
        Registration { key }
    }

    /// Whether the pollable is ready right now (one host call, no waiting).
    pub fn is_ready(&self) -> bool {
        REACTOR.with(|reactor| reactor.borrow().sources[self.key].pollable.ready())
    }

    /// Waits until the pollable is ready. Readiness may be spurious: retry the
    /// operation and wait again if it still would block.
    pub fn wait(&self) -> Wait<'_> {
        Wait { registration: self, state: WaitState::default() }
    }

    /// The body of a wait, for futures that own their registration (see `Sleep`).
    pub(crate) fn poll_wait(&self, state: &mut WaitState, cx: &mut Context<'_>) -> Poll<()> {
        REACTOR.with(|reactor| {
            let mut reactor = reactor.borrow_mut();
            let source = &mut reactor.sources[self.key];
            match state.seen {
                Some(seen) if seen != source.readiness => {
                    state.seen = None;
                    state.waker = None;
                    Poll::Ready(())
                }
                _ => {
                    state.seen = Some(source.readiness);
                    if !source.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                        source.wakers.push(cx.waker().clone());
                    }
                    state.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    /// Forgets a pending wait's waker, so a cancelled wait leaves nothing behind and its
    /// pollable leaves the poll list when no one else waits on it.
    pub(crate) fn cancel_wait(&self, state: &mut WaitState) {
        if let Some(waker) = state.waker.take() {
            let key = self.key;
            let _ = REACTOR.try_with(|reactor| {
                if let Some(source) = reactor.borrow_mut().sources.get_mut(key) {
                    source.wakers.retain(|w| !w.will_wake(&waker));
                }
            });
        }
        state.seen = None;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // `try_with`: at thread teardown the reactor may already be gone.
        let _ = REACTOR.try_with(|reactor| {
            let source = reactor.borrow_mut().sources.remove(self.key);
            drop(source);
        });
    }
}

/// Where a pending wait stands: the readiness count it saw and the waker it left.
#[derive(Default)]
pub(crate) struct WaitState {
    seen: Option<u64>,
    waker: Option<Waker>,
}

/// The future returned by [`Registration::wait`].
pub struct Wait<'a> {
    registration: &'a Registration,
    state: WaitState,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.registration.poll_wait(&mut this.state, cx)
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.registration.cancel_wait(&mut self.state);
    }
}

/// Waits until at least one pollable with a waiter is ready, then wakes its waiters.
/// Returns false when nobody waits on anything (nothing could ever wake up).
pub(crate) fn wait_for_io() -> bool {
    poll_sources(false)
}

/// Wakes the waiters of pollables that are ready now, without waiting. Returns false
/// when nobody waits on anything.
pub(crate) fn poll_ready_now() -> bool {
    poll_sources(true)
}

/// A pollable that is ready at once (a zero-length timer), for `subscribe` calls
/// whose answer is already known.
pub fn ready_pollable() -> Pollable {
    monotonic_clock::subscribe_duration(0)
}

fn poll_sources(without_waiting: bool) -> bool {
    let to_wake = REACTOR.with(|reactor| {
        let mut reactor = reactor.borrow_mut();
        let reactor = &mut *reactor;
        let keys: Vec<usize> =
            reactor.sources.iter().filter(|(_, s)| !s.wakers.is_empty()).map(|(k, _)| k).collect();
        if keys.is_empty() {
            return None;
        }
        let mut list: Vec<&Pollable> = keys.iter().map(|&k| &reactor.sources[k].pollable).collect();
        if without_waiting {
            let now = reactor.ready_now.get_or_insert_with(|| monotonic_clock::subscribe_duration(0));
            list.push(now);
        }
        let ready = poll::poll(&list);
        drop(list);
        let mut ready: Vec<usize> =
            ready.into_iter().map(|i| i as usize).filter(|&i| i < keys.len()).collect();
        if !ready.is_empty() {
            let start = reactor.rotation % ready.len();
            ready.rotate_left(start);
            reactor.rotation = reactor.rotation.wrapping_add(1);
        }
        let mut to_wake = Vec::new();
        for index in ready {
            let source = &mut reactor.sources[keys[index]];
            source.readiness = source.readiness.wrapping_add(1);
            to_wake.append(&mut source.wakers);
        }
        Some(to_wake)
    });
    match to_wake {
        None => false,
        Some(wakers) => {
            // Woken outside the borrow: a waker may run code that registers again.
            wakers.into_iter().for_each(Waker::wake);
            true
        }
    }
}
