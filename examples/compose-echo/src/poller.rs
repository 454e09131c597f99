//! Waits on many pollables at a cost that follows what is active, not how many wait.
//!
//! A pollable stays here until it fires; then it is dropped and its key returned, and
//! its owner inserts a new one when it needs to wait again. But `wasi:io/poll` itself
//! costs the host work for every pollable it is handed: handing it 10,000 idle clients
//! on every round would make every round slow. So a wait hands it only the *hot* ones
//! (keys inserted within [`HOT_WINDOW`]) and a timer for the next *sweep*, which polls
//! all of them once, with an always-ready zero-duration timer in the list so that it
//! does not wait. Sweeps come every [`SWEEP_INTERVAL`], or further apart when one is
//! costly. When nothing is hot, a wait blocks on everything. The wasio runtime does the
//! same (guest/src/runtime/reactor.rs).

use std::collections::HashMap;
use std::hash::Hash;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{poll, Pollable};

/// A key inserted this recently is polled on every wait (nanoseconds).
const HOT_WINDOW: u64 = 200_000_000;
/// The others are swept this often (nanoseconds)...
const SWEEP_INTERVAL: u64 = 20_000_000;
/// ...or, when a sweep costs more than 1/20 of that, 20 × its cost apart.
const SWEEP_COST_SHARE: u64 = 20;

struct Slot {
    /// What is waited on, until it fires.
    pollable: Option<Pollable>,
    /// When the key was last inserted (monotonic clock, ns).
    inserted: u64,
    /// Whether the key is in `Poller::hot`.
    hot: bool,
}

pub struct Poller<K> {
    slots: HashMap<K, Slot>,
    /// The keys inserted within `HOT_WINDOW`.
    hot: Vec<K>,
    /// Always ready: a poll that includes it does not wait.
    ready_now: Pollable,
    /// When the next sweep is due, and a timer for that instant (made when needed).
    next_sweep: u64,
    sweep_timer: Option<(u64, Pollable)>,
    sweep_interval: u64,
    /// The clock at the last wait: what inserts count as now (one host call fewer each).
    now: u64,
    /// Where the list of ready keys starts (see `wait`).
    rotation: usize,
}

impl<K: Copy + Eq + Hash> Poller<K> {
    pub fn new() -> Self {
        let now = monotonic_clock::now();
        Poller {
            slots: HashMap::new(),
            hot: Vec::new(),
            ready_now: monotonic_clock::subscribe_duration(0),
            next_sweep: now + SWEEP_INTERVAL,
            sweep_timer: None,
            sweep_interval: SWEEP_INTERVAL,
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
    /// only the sweep timer fired). Panics when nothing waits.
    pub fn wait(&mut self) -> Vec<K> {
        let now = monotonic_clock::now();
        self.now = now;
        let slots = &mut self.slots;
        self.hot.retain(|key| {
            let slot = slots.get_mut(key).expect("hot keys have slots");
            slot.hot = now.saturating_sub(slot.inserted) <= HOT_WINDOW;
            slot.hot
        });
        let hot: Vec<K> = self.hot.iter().copied().filter(|&key| self.contains(key)).collect();
        let mut ready = Vec::new();
        if hot.is_empty() {
            // Nothing hot: wait on everything, which sweeps it too.
            let all = self.waiting();
            ready = poll_keys(&mut self.slots, &all, None);
            self.now = monotonic_clock::now();
            self.next_sweep = self.now + self.sweep_interval;
        } else if now >= self.next_sweep {
            let all = self.waiting();
            ready = poll_keys(&mut self.slots, &all, Some(&self.ready_now));
            let after = monotonic_clock::now();
            self.sweep_interval = ((after - now) * SWEEP_COST_SHARE).max(SWEEP_INTERVAL);
            self.next_sweep = after + self.sweep_interval;
        }
        if ready.is_empty() && !hot.is_empty() {
            let next_sweep = self.next_sweep;
            if self.sweep_timer.as_ref().is_none_or(|(at, _)| *at != next_sweep) {
                self.sweep_timer = Some((next_sweep, monotonic_clock::subscribe_instant(next_sweep)));
            }
            ready = poll_keys(&mut self.slots, &hot, self.sweep_timer.as_ref().map(|(_, timer)| timer));
        }
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

    /// The keys whose pollables have not fired.
    fn waiting(&self) -> Vec<K> {
        self.slots.iter().filter(|(_, slot)| slot.pollable.is_some()).map(|(key, _)| *key).collect()
    }
}

/// Polls the pollables of `keys` (which all have one) and `also`; drops the ready ones
/// and returns their keys.
fn poll_keys<K: Copy + Eq + Hash>(
    slots: &mut HashMap<K, Slot>,
    keys: &[K],
    also: Option<&Pollable>,
) -> Vec<K> {
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
