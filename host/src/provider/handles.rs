//! The host's handles on the provider's resources, and the pollables it holds for them.

use wasmtime::component::{Resource, ResourceAny};
use wasmtime_wasi::p2::DynPollable;

use super::Provider;

/// Which resource a handle or pollable belongs to (unique within one [`Provider`]).
pub(super) type Id = u64;

/// An `own<reader>` (asyncio.StreamReader). Drop it with [`Provider::drop_reader`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_reader"]
pub struct ReaderHandle {
    pub(super) id: Id,
    pub(super) resource: ResourceAny,
}

/// An `own<writer>` (asyncio.StreamWriter). Drop it with [`Provider::drop_writer`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_writer"]
pub struct WriterHandle {
    pub(super) id: Id,
    pub(super) resource: ResourceAny,
}

/// An `own<server>` (asyncio.Server). Drop it with [`Provider::drop_server`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_server"]
pub struct ServerHandle {
    pub(super) id: Id,
    pub(super) resource: ResourceAny,
}

/// An `own<pollable>` returned by a `subscribe`, for [`Provider::poll`]. Drop it with
/// [`Provider::drop_pollable`] (dropping its resource drops it too).
#[derive(Debug)]
#[must_use = "pollables are not dropped automatically: use Provider::drop_pollable"]
pub struct PollableHandle {
    pub(super) id: Id,
}

/// A pollable the host owns, and the resource it came from.
pub(super) struct LivePollable {
    pub(super) resource: Resource<DynPollable>,
    pub(super) owner: Id,
}

impl Provider {
    pub(super) fn reader_handle(&mut self, resource: ResourceAny) -> ReaderHandle {
        ReaderHandle { id: self.next_id(), resource }
    }

    pub(super) fn writer_handle(&mut self, resource: ResourceAny) -> WriterHandle {
        WriterHandle { id: self.next_id(), resource }
    }

    pub(super) fn pair(&mut self, (r, w): (ResourceAny, ResourceAny)) -> (ReaderHandle, WriterHandle) {
        (self.reader_handle(r), self.writer_handle(w))
    }

    pub(super) fn pollable_handle(&mut self, resource: Resource<DynPollable>, owner: Id) -> PollableHandle {
        let id = self.next_id();
        self.pollables.insert(id, LivePollable { resource, owner });
        PollableHandle { id }
    }
}
