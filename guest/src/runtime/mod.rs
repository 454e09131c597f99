//! A single-threaded async runtime on `wasi:io/poll`.
//!
//! Three small parts: the [`executor`] runs tasks (a FIFO of ready tasks, so every
//! connection gets its turn), the [`reactor`] turns `wasi:io` pollables into wake-ups,
//! and [`time`] builds sleeping and timeouts on the monotonic clock. Pollables are
//! registered once per stream and kept; each wait only adds a waker.

pub mod executor;
pub mod notify;
pub mod reactor;
pub mod time;

pub use executor::{block_on, run_pending, spawn, yield_now, JoinHandle};
pub use notify::Notify;
pub use reactor::{ready_pollable, Registration};
pub use time::{sleep, timeout, Sleep};
