//! `wasi:io/poll` on the pollables the `subscribe` calls returned.

use std::time::Duration;

use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::io::poll::Host as _;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::WasiView;

use super::{PollableHandle, Provider};

impl Provider {
    /// `wasi:io/poll.poll` on pollables from `subscribe`: waits until at least one is ready
    /// and returns the indices (into `pollables`) of the ready ones. No guest code runs while
    /// it waits. Fails for an empty list or a pollable whose resource was dropped.
    pub async fn poll(&mut self, pollables: &[&PollableHandle]) -> wasmtime::Result<Vec<u32>> {
        let mut list = Vec::with_capacity(pollables.len());
        for p in pollables {
            let live = self
                .pollables
                .get(&p.id)
                .ok_or_else(|| wasmtime::Error::msg("poll: the pollable was dropped with its resource"))?;
            list.push(Resource::<DynPollable>::new_borrow(live.resource.rep()));
        }
        let table = self.store.data_mut().ctx().table;
        tokio::task::unconstrained(table.poll(list)).await
    }

    /// [`Provider::poll`] bounded by `timeout`: `None` when nothing got ready in time. Unlike a
    /// guest call, a poll may be abandoned safely.
    pub async fn poll_for(
        &mut self,
        pollables: &[&PollableHandle],
        timeout: Duration,
    ) -> wasmtime::Result<Option<Vec<u32>>> {
        match tokio::time::timeout(timeout, self.poll(pollables)).await {
            Ok(ready) => ready.map(Some),
            Err(_elapsed) => Ok(None),
        }
    }
}
