//! `server` (asyncio.Server).

use std::net::SocketAddr;

use super::{Error, PollableHandle, Provider, ReaderHandle, ServerHandle, WriterHandle};

impl Provider {
    /// `server.accept`: waits for a client connection.
    pub async fn accept(
        &mut self,
        s: &ServerHandle,
    ) -> wasmtime::Result<Result<(ReaderHandle, WriterHandle), Error>> {
        let result = call!(self, |api, store| api.server().call_accept(store, s.resource));
        Ok(result?.map(|pair| self.pair(pair)))
    }

    /// `server.try-accept`.
    pub async fn try_accept(
        &mut self,
        s: &ServerHandle,
    ) -> wasmtime::Result<Result<Option<(ReaderHandle, WriterHandle)>, Error>> {
        let result = call!(self, |api, store| api.server().call_try_accept(store, s.resource));
        Ok(result?.map(|pair| pair.map(|pair| self.pair(pair))))
    }

    /// `server.subscribe`: ready when `try-accept` or `try-wait-closed` may make progress.
    pub async fn subscribe_server(&mut self, s: &ServerHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.server().call_subscribe(store, s.resource))?;
        Ok(self.pollable_handle(pollable, s.id))
    }

    /// `server.start-serving`.
    pub async fn start_serving(&mut self, s: &ServerHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.server().call_start_serving(store, s.resource))
    }

    /// `server.is-serving`.
    pub async fn is_serving(&mut self, s: &ServerHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.server().call_is_serving(store, s.resource))
    }

    /// `server.sockets`: the bound addresses.
    pub async fn sockets(&mut self, s: &ServerHandle) -> wasmtime::Result<Vec<SocketAddr>> {
        let addresses = call!(self, |api, store| api.server().call_sockets(store, s.resource))?;
        Ok(addresses.into_iter().map(SocketAddr::from).collect())
    }

    /// `server.close`.
    pub async fn close_server(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_close(store, s.resource))
    }

    /// `server.close-clients`.
    pub async fn close_clients(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_close_clients(store, s.resource))
    }

    /// `server.abort-clients`.
    pub async fn abort_clients(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_abort_clients(store, s.resource))
    }

    /// `server.wait-closed`.
    pub async fn wait_closed_server(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_wait_closed(store, s.resource))
    }

    /// `server.try-wait-closed`.
    pub async fn try_wait_closed_server(&mut self, s: &ServerHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.server().call_try_wait_closed(store, s.resource))
    }
}
