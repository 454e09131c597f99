//! A single-threaded async runtime on `wasi:io/poll`.
//!
//! Four small parts: the [`executor`] runs tasks (a FIFO of ready tasks, so every
//! connection gets its turn), [`coop`] makes a task that never has to wait yield all
//! the same after a bounded amount of work, the [`reactor`] turns `wasi:io` pollables
//! into wake-ups, and [`time`] builds sleeping and timeouts on the monotonic clock. Pollables are
//! registered once per stream and kept; each wait only adds a waker.

pub mod coop;
pub mod executor;
pub mod notify;
pub mod reactor;
pub mod time;

pub use coop::consume_budget;
pub use executor::{block_on, run_pending, spawn, yield_now, JoinHandle};
pub use notify::Notify;
pub use reactor::{ready_pollable, Registration};
pub use time::{sleep, timeout, Sleep};
