//! Dropping resources and pollables, pollables first (WASI requires it).

use wasmtime::component::ResourceAny;
use wasmtime_wasi::WasiView;

use super::{Id, PollableHandle, Provider, ReaderHandle, ServerHandle, WriterHandle};

impl Provider {
    /// Drops a pollable (a no-op when its resource was dropped first, which took it along).
    pub fn drop_pollable(&mut self, p: PollableHandle) -> wasmtime::Result<()> {
        match self.pollables.remove(&p.id) {
            Some(live) => {
                self.store.data_mut().ctx().table.delete(live.resource)?;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Drops the pollables still subscribed from the resource `owner`.
    fn drop_pollables_of(&mut self, owner: Id) -> wasmtime::Result<()> {
        let ids: Vec<Id> =
            self.pollables.iter().filter(|(_, live)| live.owner == owner).map(|(id, _)| *id).collect();
        for id in ids {
            self.drop_pollable(PollableHandle { id })?;
        }
        Ok(())
    }

    async fn drop_resource(&mut self, owner: Id, resource: ResourceAny) -> wasmtime::Result<()> {
        self.drop_pollables_of(owner)?;
        tokio::task::unconstrained(resource.resource_drop_async(&mut self.store)).await
    }

    /// Drops a reader (its pollables first). The writer may live on, or be gone already.
    pub async fn drop_reader(&mut self, r: ReaderHandle) -> wasmtime::Result<()> {
        self.drop_resource(r.id, r.resource).await
    }

    /// Drops a writer (its pollables first): like asyncio's, the queued data is still
    /// delivered (during later calls) and the connection closed once the reader is gone too.
    pub async fn drop_writer(&mut self, w: WriterHandle) -> wasmtime::Result<()> {
        self.drop_resource(w.id, w.resource).await
    }

    /// Drops a server (its pollables first); its client connections stay.
    pub async fn drop_server(&mut self, s: ServerHandle) -> wasmtime::Result<()> {
        self.drop_resource(s.id, s.resource).await
    }
}
