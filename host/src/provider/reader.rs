//! `reader` (asyncio.StreamReader).

use super::{Error, PollableHandle, Provider, ReaderHandle};

impl Provider {
    /// `reader.read(n)`.
    pub async fn read(&mut self, r: &ReaderHandle, n: i64) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_read(store, r.resource, n))
    }

    /// `reader.readline`.
    pub async fn readline(&mut self, r: &ReaderHandle) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readline(store, r.resource))
    }

    /// `reader.readexactly(n)`.
    pub async fn readexactly(
        &mut self,
        r: &ReaderHandle,
        n: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readexactly(store, r.resource, n))
    }

    /// `reader.readuntil(separator)`.
    pub async fn readuntil(
        &mut self,
        r: &ReaderHandle,
        separator: &[u8],
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readuntil(store, r.resource, separator))
    }

    /// `reader.readuntil-any(separators)`.
    pub async fn readuntil_any(
        &mut self,
        r: &ReaderHandle,
        separators: &[Vec<u8>],
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readuntil_any(store, r.resource, separators))
    }

    /// `reader.at-eof`.
    pub async fn at_eof(&mut self, r: &ReaderHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.reader().call_at_eof(store, r.resource))
    }

    /// `reader.limit`.
    pub async fn limit(&mut self, r: &ReaderHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.reader().call_limit(store, r.resource))
    }

    /// `reader.exception`.
    pub async fn exception(&mut self, r: &ReaderHandle) -> wasmtime::Result<Option<Error>> {
        call!(self, |api, store| api.reader().call_exception(store, r.resource))
    }

    /// `reader.try-read(n)`.
    pub async fn try_read(
        &mut self,
        r: &ReaderHandle,
        n: i64,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_read(store, r.resource, n))
    }

    /// `reader.try-readline`.
    pub async fn try_readline(
        &mut self,
        r: &ReaderHandle,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readline(store, r.resource))
    }

    /// `reader.try-readexactly(n)`.
    pub async fn try_readexactly(
        &mut self,
        r: &ReaderHandle,
        n: u64,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readexactly(store, r.resource, n))
    }

    /// `reader.try-readuntil(separator)`.
    pub async fn try_readuntil(
        &mut self,
        r: &ReaderHandle,
        separator: &[u8],
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readuntil(store, r.resource, separator))
    }

    /// `reader.try-readuntil-any(separators)`.
    pub async fn try_readuntil_any(
        &mut self,
        r: &ReaderHandle,
        separators: &[Vec<u8>],
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readuntil_any(store, r.resource, separators))
    }

    /// `reader.subscribe`: ready when a `try-*` read may make progress.
    pub async fn subscribe_reader(&mut self, r: &ReaderHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.reader().call_subscribe(store, r.resource))?;
        Ok(self.pollable_handle(pollable, r.id))
    }

    /// `reader.buffer-size`.
    pub async fn buffer_size(&mut self, r: &ReaderHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.reader().call_buffer_size(store, r.resource))
    }
}
