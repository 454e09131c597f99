//! Turns `wasi:io` pollables into task wake-ups.
//!
//! A stream's pollable is registered once ([`Registration::new`]) and kept for the
//! stream's life; waiting only adds a waker. Each turn hands `wasi:io/poll` pollables
//! that someone waits on, and wakes exactly the waiters of those that are ready.
//!
//! `wasi:io/poll` costs the host work for every pollable it is handed, so a turn hands
//! it only the *hot* ones: those ready (or registered) within the last [`HOT_WINDOW`].
//! Every waiting pollable is handed over at least every [`FULL_POLL_INTERVAL`], and
//! whenever nothing hot waits (an idle component still blocks on everything). So a busy
//! connection's turn costs the same with 10 or 10,000 idle ones, and an idle one that
//! wakes up is noticed within that interval even while others keep the reactor busy.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use slab::Slab;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

/// Every waiting pollable is polled at least this often (nanoseconds).
pub const FULL_POLL_INTERVAL: u64 = 20_000_000;
/// A pollable ready (or registered) this recently is polled every turn (nanoseconds).
pub const HOT_WINDOW: u64 = 200_000_000;

struct Source {
    pollable: Pollable,
    wakers: Vec<Waker>,
    /// Bumped each time the pollable was reported ready; a waiter that saw an older
    /// value knows its wait is over.
    readiness: u64,
    /// When it was last ready or registered (monotonic clock, ns).
    last_active: u64,
    /// Whether its key is in `Reactor::hot`.
    hot: bool,
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
    /// Keys of the sources active within `HOT_WINDOW`.
    hot: Vec<usize>,
    /// When every waiting pollable is next polled.
    next_full_poll: u64,
    /// A timer for `next_full_poll`, kept while that instant stands.
    full_poll_timer: Option<(u64, Pollable)>,
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
        // New sources start hot: a new connection's first bytes are noticed at once.
        let last_active = monotonic_clock::now();
        let key = REACTOR.with(|reactor| {
            let mut reactor = reactor.borrow_mut();
            let source = Source { pollable, wakers: Vec::new(), readiness: 0, last_active, hot: true };
            let key = reactor.sources.insert(source);
            reactor.hot.push(key);
            key
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
            let mut reactor = reactor.borrow_mut();
            let source = reactor.sources.remove(self.key);
            if source.hot {
                let key = self.key;
                reactor.hot.retain(|&hot| hot != key);
            }
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
        let now = monotonic_clock::now();
        let sources = &mut reactor.sources;
        reactor.hot.retain(|&key| {
            let source = &mut sources[key];
            source.hot = now.saturating_sub(source.last_active) <= HOT_WINDOW;
            source.hot
        });
        let waiting = |key: &usize| !sources[*key].wakers.is_empty();
        let hot_waiting: Vec<usize> = reactor.hot.iter().copied().filter(waiting).collect();
        let full = hot_waiting.is_empty() || now >= reactor.next_full_poll;
        let keys: Vec<usize> = if full {
            reactor.next_full_poll = now.saturating_add(FULL_POLL_INTERVAL);
            sources.iter().filter(|(_, s)| !s.wakers.is_empty()).map(|(k, _)| k).collect()
        } else {
            hot_waiting
        };
        if keys.is_empty() {
            return None;
        }
        let mut list: Vec<&Pollable> = keys.iter().map(|&k| &sources[k].pollable).collect();
        if without_waiting {
            list.push(reactor.ready_now.get_or_insert_with(|| monotonic_clock::subscribe_duration(0)));
        } else if !full {
            // Wake up for the next full poll even if nothing hot becomes ready.
            let at = reactor.next_full_poll;
            if reactor.full_poll_timer.as_ref().is_none_or(|(instant, _)| *instant != at) {
                reactor.full_poll_timer = Some((at, monotonic_clock::subscribe_instant(at)));
            }
            list.push(&reactor.full_poll_timer.as_ref().expect("just set").1);
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
            let key = keys[index];
            let source = &mut sources[key];
            source.readiness = source.readiness.wrapping_add(1);
            source.last_active = now;
            if !source.hot {
                source.hot = true;
                reactor.hot.push(key);
            }
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
