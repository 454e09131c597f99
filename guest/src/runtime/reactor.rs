//! Turns `wasi:io` pollables into task wake-ups.
//!
//! A stream's pollable is registered once ([`Registration::new`]) and kept for the
//! stream's life; waiting only adds a waker. Each turn hands `wasi:io/poll` pollables
//! that someone waits on, and wakes exactly the waiters of those that are ready.
//!
//! `wasi:io/poll` costs the host work for every pollable it is handed, so a turn hands
//! it only the *hot* ones: those ready (or registered) within the last [`HOT_WINDOW`].
//! The others are *swept* (polled once, without waiting) every [`SWEEP_INTERVAL`], or
//! less often when a sweep is costly: sweeps take at most 1/[`SWEEP_COST_SHARE`] of the
//! time, and a sweep goes [`SWEEP_CHUNK`] sources at a time, spread over the interval,
//! so that no busy connection waits behind a poll of thousands. When nothing hot waits, a turn waits on everything
//! (an idle component still blocks on all it has). So a busy connection's turn costs the same with 10 or 10,000
//! idle ones, and an idle one that wakes up is noticed within a sweep interval even
//! while others keep the reactor busy.
//!
//! Many connections that each send now and then (2,000 at a byte a second: slowloris)
//! keep hundreds hot at a time, and every event would cost a poll of all of them. So
//! when more than [`HOT_EVERY_TURN`] are hot, a turn hands the host only those active
//! within [`BUSY_WINDOW`], and the rest of the hot ones (the *warm*) a chunk at a time,
//! all of them every [`WARM_POLL_INTERVAL`], or less often when polling them is costly,
//! as for sweeps: at most 1/[`WARM_COST_SHARE`] of the time, reckoned from what the last
//! sweep cost per pollable. A connection quiet for a while then waits a few milliseconds
//! longer to be noticed, and an event costs a poll of the busy few and at most a chunk.
//!
//! A host learns of new readiness only when it gets a turn of its own: wasmtime
//! updates a socket's readiness from its event loop, which runs while the guest waits,
//! or when a poll is handed a *fresh* zero-length timer (its first poll yields to the
//! host's loop; later ones do not). A guest that always has work would never wait, so
//! the host would go on reporting only the sockets it already knew were ready (one
//! flooding connection's), and every other connection would stall. So while the guest
//! is busy it hands the host a fresh zero-length timer at least every
//! [`HOST_TURN_INTERVAL`].

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use slab::Slab;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

/// Waiting pollables that are not hot are swept this often (nanoseconds)...
pub const SWEEP_INTERVAL: u64 = 20_000_000;
/// ...or, when a sweep costs more than 1/20 of that, 20 × its cost apart...
pub const SWEEP_COST_SHARE: u64 = 20;
/// ...but never more than this apart.
pub const MAX_SWEEP_INTERVAL: u64 = 500_000_000;
/// A sweep, or a poll of the warm sources, looks at most at this many at a time (some
/// tens of microseconds' work for the host): a busy connection that becomes ready during
/// such a poll waits for it to end.
pub const SWEEP_CHUNK: usize = 64;
/// A pollable ready (or registered) this recently is hot (nanoseconds): polled every turn
/// while few are hot (see `HOT_EVERY_TURN`).
pub const HOT_WINDOW: u64 = 200_000_000;
/// A busy guest lets the host's event loop run at least this often (nanoseconds): what a
/// connection that becomes ready waits, at most, while another keeps the guest busy.
pub const HOST_TURN_INTERVAL: u64 = 250_000;
/// Up to this many hot pollables are all polled every turn...
pub const HOT_EVERY_TURN: usize = 64;
/// ...beyond it, only those active this recently (nanoseconds)...
pub const BUSY_WINDOW: u64 = 10_000_000;
/// ...and the other hot ones (the *warm*) all within this time (nanoseconds), a
/// [`SWEEP_CHUNK`] at a time, each chunk its share of the time apart...
pub const WARM_POLL_INTERVAL: u64 = 1_000_000;
/// ...or, when polling them costs more than 1/20 of that, 20 × its cost apart (but at
/// least every `SWEEP_INTERVAL`).
pub const WARM_COST_SHARE: u64 = 20;

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
    /// When the waiting pollables that are not hot are next swept.
    next_sweep: u64,
    /// The time between sweeps, from the last one's cost.
    sweep_interval: u64,
    /// The key the sweep under way goes on from (0: a new sweep).
    sweep_from: usize,
    /// What the chunks of the sweep under way have cost so far (ns).
    sweep_cost: u64,
    /// A timer for the instant a waiting turn must end by (the next sweep, or the next
    /// poll of the warm sources), kept while that instant stands.
    timer: Option<(u64, Pollable)>,
    /// When the next chunk of the hot sources that are not busy is polled.
    next_warm_poll: u64,
    /// The key the next chunk of warm sources starts from (0: from the start).
    warm_from: usize,
    /// What the last sweep cost the host per pollable (ns).
    cost_per_pollable: u64,
    /// The clock at the start of the last turn: new sources take it as their start
    /// (one host call fewer per registration, and a turn is short).
    turn_started: u64,
    /// Counts the turns (each look at the pollables, waiting or not).
    turn: u64,
    /// When a poll was last handed a fresh zero-length timer (monotonic clock, ns). A
    /// poll that may wait does not count: it returns at once when something is ready.
    last_host_turn: u64,
}

/// What a poll hands `wasi:io/poll` besides the sources.
enum Also {
    Nothing,
    /// The always-ready pollable: the poll does not wait.
    ReadyNow,
    /// A new zero-length timer: the poll does not wait, but the host's event loop runs
    /// once first, so it reports readiness it has not yet noticed.
    HostTurn,
    /// A timer: the wait ends by that instant.
    Until(u64),
}

impl Reactor {
    /// Drops the sources that have been quiet for longer than `HOT_WINDOW` from `hot`.
    fn cool_down(&mut self, now: u64) {
        let sources = &mut self.sources;
        self.hot.retain(|&key| {
            let source = &mut sources[key];
            source.hot = now.saturating_sub(source.last_active) <= HOT_WINDOW;
            source.hot
        });
    }

    /// Keys of the hot sources someone waits on.
    fn hot_waiting(&self) -> Vec<usize> {
        self.hot.iter().copied().filter(|&key| !self.sources[key].wakers.is_empty()).collect()
    }

    /// Of the hot sources someone waits on (`hot`), those to poll this turn: all of them
    /// when they are few; else the busy ones, and, when due, the next chunk of the warm
    /// ones (a poll of hundreds would hold up every busy connection for its whole cost).
    fn this_turns(&mut self, hot: Vec<usize>, now: u64) -> Vec<usize> {
        if hot.len() <= HOT_EVERY_TURN {
            return hot;
        }
        let sources = &self.sources;
        let (mut keys, mut warm): (Vec<usize>, Vec<usize>) =
            hot.into_iter().partition(|&key| now.saturating_sub(sources[key].last_active) <= BUSY_WINDOW);
        if now >= self.next_warm_poll && !warm.is_empty() {
            warm.sort_unstable();
            let start = warm.partition_point(|&key| key < self.warm_from);
            let end = (start + SWEEP_CHUNK).min(warm.len());
            keys.extend_from_slice(&warm[start..end]);
            self.warm_from = warm.get(end).copied().unwrap_or(0);
            let cost = self.cost_per_pollable.saturating_mul(warm.len() as u64);
            let interval = cost.saturating_mul(WARM_COST_SHARE).clamp(WARM_POLL_INTERVAL, SWEEP_INTERVAL);
            let chunks = warm.len().div_ceil(SWEEP_CHUNK) as u64;
            self.next_warm_poll = now.saturating_add(interval / chunks);
        }
        keys
    }

    /// The instant a waiting turn must end by: the next sweep, or the next poll of the
    /// warm sources if some are left out.
    fn wait_until(&self, polled: usize, hot: usize) -> u64 {
        if polled < hot {
            self.next_sweep.min(self.next_warm_poll)
        } else {
            self.next_sweep
        }
    }

    /// Keys of all the sources someone waits on.
    fn all_waiting(&self) -> Vec<usize> {
        self.sources.iter().filter(|(_, source)| !source.wakers.is_empty()).map(|(key, _)| key).collect()
    }

    /// Polls the sources of `keys` (waiting unless `also` is `ReadyNow`), marks the ready
    /// ones hot and takes their wakers, in a rotating order.
    fn poll(&mut self, keys: &[usize], also: Also, now: u64) -> Vec<Waker> {
        let may_wait = !matches!(also, Also::ReadyNow | Also::HostTurn);
        let fresh_timer;
        let also: Option<&Pollable> = match also {
            Also::Nothing => None,
            Also::ReadyNow => {
                Some(self.ready_now.get_or_insert_with(|| monotonic_clock::subscribe_duration(0)))
            }
            Also::HostTurn => {
                self.last_host_turn = now;
                fresh_timer = monotonic_clock::subscribe_duration(0);
                Some(&fresh_timer)
            }
            Also::Until(at) => {
                if self.timer.as_ref().is_none_or(|(instant, _)| *instant != at) {
                    self.timer = Some((at, monotonic_clock::subscribe_instant(at)));
                }
                self.timer.as_ref().map(|(_, timer)| timer)
            }
        };
        let mut list: Vec<&Pollable> = keys.iter().map(|&key| &self.sources[key].pollable).collect();
        list.extend(also);
        let ready = poll::poll(&list);
        drop(list);
        // After a wait, `now` may be long past: what became ready is active now, and a
        // stale time would count it as cold again at once.
        let now = if may_wait { monotonic_clock::now() } else { now };
        let mut ready: Vec<usize> =
            ready.into_iter().map(|i| i as usize).filter(|&i| i < keys.len()).collect();
        if !ready.is_empty() {
            let start = self.rotation % ready.len();
            ready.rotate_left(start);
            self.rotation = self.rotation.wrapping_add(1);
        }
        let mut to_wake = Vec::new();
        for index in ready {
            let key = keys[index];
            let source = &mut self.sources[key];
            source.readiness = source.readiness.wrapping_add(1);
            source.last_active = now;
            if !source.hot {
                source.hot = true;
                self.hot.push(key);
            }
            to_wake.append(&mut source.wakers);
        }
        to_wake
    }

    /// Whether the host's loop is due a turn (see [`HOST_TURN_INTERVAL`]).
    fn host_turn_due(&self, now: u64) -> bool {
        now.saturating_sub(self.last_host_turn) >= HOST_TURN_INTERVAL
    }

    /// Gives the host's loop its turn, if due, when no source is polled. The WIT provider
    /// calls into here on every call, mostly with nobody waiting: a consumer whose own
    /// polls always find something ready (one flooding connection) would otherwise never
    /// let the host notice the other sockets.
    fn host_turn_alone_if_due(&mut self, now: u64) {
        if self.host_turn_due(now) {
            self.poll(&[], Also::HostTurn, now);
        }
    }

    /// How to poll without waiting: with a host turn when one is due.
    fn ready_now(&self, now: u64) -> Also {
        if self.host_turn_due(now) {
            Also::HostTurn
        } else {
            Also::ReadyNow
        }
    }

    /// Sweeps the next [`SWEEP_CHUNK`] of the waiting sources (`all`, in key order)
    /// without waiting. A sweep of thousands in one poll would hold every busy connection
    /// up for its whole cost, and wake all it found at once (a batch the busy ones wait
    /// behind too), so a sweep goes a chunk at a time, each chunk its share of the
    /// interval apart, that interval timed by what the last whole sweep cost the host.
    fn sweep(&mut self, all: &[usize], now: u64) -> Vec<Waker> {
        let start = all.partition_point(|&key| key < self.sweep_from);
        let end = (start + SWEEP_CHUNK).min(all.len());
        let chunk = &all[start..end];
        let to_wake = self.poll(chunk, self.ready_now(now), now);
        let after = monotonic_clock::now();
        let cost = after.saturating_sub(now);
        self.cost_per_pollable = cost / chunk.len().max(1) as u64;
        self.sweep_cost = self.sweep_cost.saturating_add(cost);
        self.sweep_from = all.get(end).copied().unwrap_or(0);
        if end == all.len() {
            let cost = std::mem::take(&mut self.sweep_cost);
            self.sweep_interval =
                cost.saturating_mul(SWEEP_COST_SHARE).clamp(SWEEP_INTERVAL, MAX_SWEEP_INTERVAL);
        }
        let share = self.sweep_interval.max(SWEEP_INTERVAL) / all.len().div_ceil(SWEEP_CHUNK).max(1) as u64;
        self.next_sweep = after.saturating_add(share);
        to_wake
    }
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
        let key = REACTOR.with(|reactor| {
            let mut reactor = reactor.borrow_mut();
            if reactor.turn_started == 0 {
                reactor.turn_started = monotonic_clock::now();
            }
            let last_active = reactor.turn_started;
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

/// Gives the host's loop a turn, and wakes the waiters of what is ready, if a turn is
/// due (see [`HOST_TURN_INTERVAL`]); for the executor between tasks that keep yielding.
/// Returns whether it polled.
pub(crate) fn host_turn_if_due() -> bool {
    let due = REACTOR.with(|reactor| reactor.borrow().host_turn_due(monotonic_clock::now()));
    due && poll_ready_now()
}

/// Which turn this is: between two turns nothing new about the pollables was learned, so
/// a caller that already looked at a stream in this turn may skip looking again.
pub(crate) fn current_turn() -> u64 {
    REACTOR.with(|reactor| reactor.borrow().turn)
}

/// A pollable that is ready at once (a zero-length timer), for `subscribe` calls
/// whose answer is already known.
pub fn ready_pollable() -> Pollable {
    monotonic_clock::subscribe_duration(0)
}

fn poll_sources(without_waiting: bool) -> bool {
    let to_wake = REACTOR.with(|reactor| {
        let mut reactor = reactor.borrow_mut();
        let now = monotonic_clock::now();
        reactor.turn_started = now;
        reactor.turn = reactor.turn.wrapping_add(1);
        reactor.cool_down(now);
        let hot = reactor.hot_waiting();
        if hot.is_empty() && !without_waiting {
            // Nothing hot: wait on everything, which also sweeps it.
            let all = reactor.all_waiting();
            if all.is_empty() {
                return None;
            }
            let to_wake = reactor.poll(&all, Also::Nothing, now);
            // That looked at everything: a sweep under way starts over.
            reactor.sweep_from = 0;
            reactor.sweep_cost = 0;
            reactor.next_sweep =
                monotonic_clock::now().saturating_add(reactor.sweep_interval.max(SWEEP_INTERVAL));
            return Some(to_wake);
        }
        if now >= reactor.next_sweep {
            let all = reactor.all_waiting();
            if all.is_empty() {
                // Nothing to sweep; the next look is a sweep interval away all the same
                // (the WIT provider calls this on every call, with no waiters: looking at
                // every source each time would make each call O(connections)).
                reactor.next_sweep = now.saturating_add(reactor.sweep_interval.max(SWEEP_INTERVAL));
                reactor.host_turn_alone_if_due(now);
                return None;
            }
            let to_wake = reactor.sweep(&all, now);
            if !to_wake.is_empty() || without_waiting {
                return Some(to_wake);
            }
            // Nothing was ready: wait for the hot ones below.
        }
        if hot.is_empty() {
            // Not waiting, and only cold sources wait: they are swept in their time.
            reactor.host_turn_alone_if_due(now);
            return Some(Vec::new());
        }
        let hot_count = hot.len();
        let keys = reactor.this_turns(hot, now);
        if without_waiting {
            let also = reactor.ready_now(now);
            return Some(reactor.poll(&keys, also, now));
        }
        if let Also::HostTurn = reactor.ready_now(now) {
            // A wait returns at once while a hot source stays ready, without the host's
            // loop running: give it its turn first.
            let to_wake = reactor.poll(&keys, Also::HostTurn, now);
            if !to_wake.is_empty() {
                return Some(to_wake);
            }
        }
        let until = reactor.wait_until(keys.len(), hot_count);
        Some(reactor.poll(&keys, Also::Until(until), now))
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
