//! `writer` (asyncio.StreamWriter).

use std::net::SocketAddr;

use super::{Error, PollableHandle, Provider, WriteBufferLimits, WriterHandle};

impl Provider {
    /// `writer.write(data)`.
    pub async fn write(&mut self, w: &WriterHandle, data: &[u8]) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_write(store, w.resource, data))
    }

    /// `writer.writelines(lines)`.
    pub async fn writelines(
        &mut self,
        w: &WriterHandle,
        lines: &[Vec<u8>],
    ) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_writelines(store, w.resource, lines))
    }

    /// `writer.drain`.
    pub async fn drain(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_drain(store, w.resource))
    }

    /// `writer.try-drain`: true once the queue is at or below the low mark.
    pub async fn try_drain(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<bool, Error>> {
        call!(self, |api, store| api.writer().call_try_drain(store, w.resource))
    }

    /// `writer.subscribe`: ready when `try-drain` or `try-wait-closed` may make progress.
    pub async fn subscribe_writer(&mut self, w: &WriterHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.writer().call_subscribe(store, w.resource))?;
        Ok(self.pollable_handle(pollable, w.id))
    }

    /// `writer.write-eof`.
    pub async fn write_eof(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_write_eof(store, w.resource))
    }

    /// `writer.can-write-eof`.
    pub async fn can_write_eof(&mut self, w: &WriterHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.writer().call_can_write_eof(store, w.resource))
    }

    /// `writer.close`.
    pub async fn close(&mut self, w: &WriterHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.writer().call_close(store, w.resource))
    }

    /// `writer.is-closing`.
    pub async fn is_closing(&mut self, w: &WriterHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.writer().call_is_closing(store, w.resource))
    }

    /// `writer.abort`.
    pub async fn abort(&mut self, w: &WriterHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.writer().call_abort(store, w.resource))
    }

    /// `writer.wait-closed`.
    pub async fn wait_closed(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_wait_closed(store, w.resource))
    }

    /// `writer.try-wait-closed`: true once closed.
    pub async fn try_wait_closed(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<bool, Error>> {
        call!(self, |api, store| api.writer().call_try_wait_closed(store, w.resource))
    }

    /// `writer.get-write-buffer-size`.
    pub async fn get_write_buffer_size(&mut self, w: &WriterHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.writer().call_get_write_buffer_size(store, w.resource))
    }

    /// `writer.get-write-buffer-limits`.
    pub async fn get_write_buffer_limits(&mut self, w: &WriterHandle) -> wasmtime::Result<WriteBufferLimits> {
        call!(self, |api, store| api.writer().call_get_write_buffer_limits(store, w.resource))
    }

    /// `writer.set-write-buffer-limits(high, low)`.
    pub async fn set_write_buffer_limits(
        &mut self,
        w: &WriterHandle,
        high: Option<u64>,
        low: Option<u64>,
    ) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_set_write_buffer_limits(store, w.resource, high, low))
    }

    /// `writer.peername`.
    pub async fn peername(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<SocketAddr, Error>> {
        let result = call!(self, |api, store| api.writer().call_peername(store, w.resource))?;
        Ok(result.map(SocketAddr::from))
    }

    /// `writer.sockname`.
    pub async fn sockname(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<SocketAddr, Error>> {
        let result = call!(self, |api, store| api.writer().call_sockname(store, w.resource))?;
        Ok(result.map(SocketAddr::from))
    }
}
