//! Waits on many pollables at a cost that follows what is active, not how many wait.
//!
//! A pollable stays here until it fires; then it is dropped and its key returned, and
//! its owner inserts a new one when it needs to wait again. But `wasi:io/poll` itself
//! costs the host work for every pollable it is handed (about a microsecond each in
//! wasmtime 48): handing it 10,000 idle clients on every wait would make every wait
//! slow, and a poll of thousands holds up the busy clients for its whole cost. So:
//! - a wait hands it the *hot* keys (inserted within [`HOT_WINDOW`]), all of them while
//!   they are few ([`HOT_EVERY_WAIT`]); beyond that only the *busy* ones (inserted within
//!   [`BUSY_WINDOW`]), plus a [`CHUNK`] of the other hot ones when their turn is due: all
//!   of them every [`WARM_INTERVAL`], or further apart when that would cost more than
//!   1/[`COST_SHARE`] of the time (2,000 clients sending a byte a second keep hundreds hot);
//! - every waiting key is *swept* (polled without waiting) a [`CHUNK`] at a time, all of
//!   them every [`SWEEP_INTERVAL`], or further apart when costly, as above;
//! - when nothing is hot, a wait blocks on everything.
//!
//! The wasio runtime does the same (guest/src/runtime/reactor.rs).

use std::collections::BTreeMap;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{poll, Pollable};

/// A key inserted this recently is hot (nanoseconds)...
const HOT_WINDOW: u64 = 200_000_000;
/// ...and polled on every wait while at most this many are hot...
const HOT_EVERY_WAIT: usize = 64;
/// ...else only those inserted this recently (nanoseconds)...
const BUSY_WINDOW: u64 = 10_000_000;
/// ...and the other hot ones a chunk at a time, all within this time (nanoseconds).
const WARM_INTERVAL: u64 = 1_000_000;
/// All the waiting keys are swept within this time (nanoseconds)...
const SWEEP_INTERVAL: u64 = 20_000_000;
/// ...but never further apart than this.
const MAX_SWEEP_INTERVAL: u64 = 500_000_000;
/// Polling the warm keys, or sweeping, takes at most 1/20 of the time.
const COST_SHARE: u64 = 20;
/// The most keys a sweep or a warm turn adds to one poll.
const CHUNK: usize = 64;

struct Slot {
    /// What is waited on, until it fires.
    pollable: Option<Pollable>,
    /// When the key was last inserted (monotonic clock, ns).
    inserted: u64,
    /// Whether the key is in `Poller::hot`.
    hot: bool,
}

/// A walk over a set of keys a chunk at a time, the whole set once per interval.
struct Rounds<K> {
    /// When the next chunk is due (monotonic clock, ns).
    next: u64,
    /// The key the last chunk ended with (`None`: start from the first).
    after: Option<K>,
}

impl<K: Copy + Ord> Rounds<K> {
    fn new(next: u64) -> Self {
        Rounds { next, after: None }
    }

    /// The next chunk of `keys` (sorted), from where the last one ended, wrapping round.
    fn chunk(&mut self, keys: &[K]) -> Vec<K> {
        let start = match self.after {
            Some(after) => keys.partition_point(|&key| key <= after),
            None => 0,
        };
        let start = if start >= keys.len() { 0 } else { start };
        let chunk = keys[start..(start + CHUNK).min(keys.len())].to_vec();
        self.after = if start + chunk.len() >= keys.len() { None } else { chunk.last().copied() };
        chunk
    }

    /// Schedules the next chunk after `now`: `total` keys take `interval` at least, or
    /// `COST_SHARE` times what polling them all costs at `cost_per_key` (at most `max`).
    fn schedule(&mut self, now: u64, total: usize, cost_per_key: u64, interval: u64, max: u64) {
        let cost = cost_per_key.saturating_mul(total as u64).saturating_mul(COST_SHARE);
        let whole = cost.clamp(interval, max);
        self.next = now.saturating_add(whole / total.div_ceil(CHUNK).max(1) as u64);
    }
}

pub struct Poller<K> {
    slots: BTreeMap<K, Slot>,
    /// The keys inserted within `HOT_WINDOW`.
    hot: Vec<K>,
    /// A timer for the instant a wait must end by, kept while that instant stands.
    timer: Option<(u64, Pollable)>,
    warm: Rounds<K>,
    sweep: Rounds<K>,
    /// What the host charged per pollable in the last sweep (ns).
    cost_per_key: u64,
    /// The clock at the last wait: what inserts count as now (one host call fewer each).
    now: u64,
    /// Where the list of ready keys starts (see `wait`).
    rotation: usize,
}

impl<K: Copy + Ord> Poller<K> {
    pub fn new() -> Self {
        let now = monotonic_clock::now();
        Poller {
            slots: BTreeMap::new(),
            hot: Vec::new(),
            timer: None,
            warm: Rounds::new(now),
            sweep: Rounds::new(now + SWEEP_INTERVAL),
            cost_per_key: 0,
            now,
            rotation: 0,
        }
    }

    /// Waits on `pollable` for `key` until it fires; the key is hot for a while.
    pub fn insert(&mut self, key: K, pollable: Pollable) {
        let now = self.now;
        let slot = self.slots.entry(key).or_insert(Slot { pollable: None, inserted: now, hot: false });
        slot.pollable = Some(pollable);
        slot.inserted = now;
        if !slot.hot {
            slot.hot = true;
            self.hot.push(key);
        }
    }

    /// Whether a pollable that has not fired yet waits for `key`.
    pub fn contains(&self, key: K) -> bool {
        self.slots.get(&key).is_some_and(|slot| slot.pollable.is_some())
    }

    /// Forgets `key`, dropping its pollable: call it before dropping the resource that
    /// pollable came from.
    pub fn remove(&mut self, key: K) {
        if self.slots.remove(&key).is_some_and(|slot| slot.hot) {
            self.hot.retain(|&hot| hot != key);
        }
    }

    /// Waits until pollables are ready, drops them and returns their keys (none when
    /// only a timer fired). Panics when nothing waits.
    pub fn wait(&mut self) -> Vec<K> {
        self.poll(true)
    }

    /// [`Poller::wait`] without waiting: what is ready now. It hands the host a fresh
    /// zero-length timer, so the host's event loop runs first and reports readiness it
    /// had not noticed (wasmtime yields to it only on a timer's first poll).
    pub fn poll_now(&mut self) -> Vec<K> {
        self.poll(false)
    }

    fn poll(&mut self, block: bool) -> Vec<K> {
        let now = monotonic_clock::now();
        self.now = now;
        let hot = self.hot_waiting(now);
        let mut ready = if !block {
            let mut keys = self.this_waits(hot, now);
            if now >= self.sweep.next {
                let all = self.waiting();
                let chunk: Vec<K> =
                    self.sweep.chunk(&all).into_iter().filter(|key| !keys.contains(key)).collect();
                keys.extend(chunk);
                self.sweep.schedule(now, all.len(), self.cost_per_key, SWEEP_INTERVAL, MAX_SWEEP_INTERVAL);
            }
            let host_turn = monotonic_clock::subscribe_duration(0);
            self.poll_keys(&keys, Some(&host_turn))
        } else if hot.is_empty() {
            // Nothing hot: wait on everything, which sweeps it too.
            let all = self.waiting();
            let ready = self.poll_keys(&all, None);
            self.sweep = Rounds::new(monotonic_clock::now() + SWEEP_INTERVAL);
            ready
        } else {
            let mut ready = Vec::new();
            if now >= self.sweep.next {
                ready = self.sweep_chunk(now);
            }
            if ready.is_empty() {
                let all_hot = hot.len();
                let keys = self.this_waits(hot, now);
                let until =
                    if keys.len() < all_hot { self.sweep.next.min(self.warm.next) } else { self.sweep.next };
                if self.timer.as_ref().is_none_or(|(at, _)| *at != until) {
                    self.timer = Some((until, monotonic_clock::subscribe_instant(until)));
                }
                let timer = self.timer.take();
                ready = self.poll_keys(&keys, timer.as_ref().map(|(_, timer)| timer));
                self.timer = timer;
            }
            ready
        };
        // Start the list at a different place each time. A runtime may let one turn do
        // only so much (stock wasmtime 48 answers "not ready" after 128 readiness checks
        // per turn, wasmtime#14174): in a fixed order the last ones would starve.
        if !ready.is_empty() {
            let start = self.rotation % ready.len();
            ready.rotate_left(start);
            self.rotation = self.rotation.wrapping_add(1);
        }
        ready
    }

    /// Drops the keys inserted longer than `HOT_WINDOW` ago from `hot`; returns the hot
    /// keys that wait.
    fn hot_waiting(&mut self, now: u64) -> Vec<K> {
        let slots = &mut self.slots;
        self.hot.retain(|key| {
            let slot = slots.get_mut(key).expect("hot keys have slots");
            slot.hot = now.saturating_sub(slot.inserted) <= HOT_WINDOW;
            slot.hot
        });
        self.hot.iter().copied().filter(|&key| self.contains(key)).collect()
    }

    /// Of the hot keys that wait, those to poll in this wait: all while they are few, else
    /// the busy ones and, when due, the next chunk of the others.
    fn this_waits(&mut self, hot: Vec<K>, now: u64) -> Vec<K> {
        if hot.len() <= HOT_EVERY_WAIT {
            return hot;
        }
        let slots = &self.slots;
        let (mut keys, mut warm): (Vec<K>, Vec<K>) =
            hot.into_iter().partition(|key| now.saturating_sub(slots[key].inserted) <= BUSY_WINDOW);
        if now >= self.warm.next && !warm.is_empty() {
            warm.sort_unstable();
            keys.extend(self.warm.chunk(&warm));
            self.warm.schedule(now, warm.len(), self.cost_per_key, WARM_INTERVAL, SWEEP_INTERVAL);
        }
        keys
    }

    /// Polls the next chunk of all the waiting keys without waiting, and learns from it
    /// what a pollable costs the host.
    fn sweep_chunk(&mut self, now: u64) -> Vec<K> {
        let all = self.waiting();
        if all.is_empty() {
            self.sweep.next = now + SWEEP_INTERVAL;
            return Vec::new();
        }
        let chunk = self.sweep.chunk(&all);
        // A fresh zero-length timer: the poll does not wait, and the host's event loop
        // gets a turn first (wasmtime only yields to it on a timer's first poll).
        let ready_now = monotonic_clock::subscribe_duration(0);
        let ready = self.poll_keys(&chunk, Some(&ready_now));
        let after = monotonic_clock::now();
        self.cost_per_key = after.saturating_sub(now) / chunk.len() as u64;
        self.sweep.schedule(after, all.len(), self.cost_per_key, SWEEP_INTERVAL, MAX_SWEEP_INTERVAL);
        ready
    }

    /// The keys whose pollables have not fired, in order.
    fn waiting(&self) -> Vec<K> {
        self.slots.iter().filter(|(_, slot)| slot.pollable.is_some()).map(|(key, _)| *key).collect()
    }

    /// Polls the pollables of `keys` (which all have one) and `also`; drops the ready
    /// ones and returns their keys.
    fn poll_keys(&mut self, keys: &[K], also: Option<&Pollable>) -> Vec<K> {
        let slots = &mut self.slots;
        let mut list: Vec<&Pollable> = keys.iter().map(|key| slots[key].pollable.as_ref().unwrap()).collect();
        list.extend(also);
        assert!(!list.is_empty(), "compose-echo: nothing to wait for");
        let ready = poll(&list);
        drop(list);
        let ready: Vec<K> = ready.into_iter().filter_map(|index| keys.get(index as usize).copied()).collect();
        for key in &ready {
            slots.get_mut(key).expect("polled keys have slots").pollable = None;
        }
        ready
    }
}
