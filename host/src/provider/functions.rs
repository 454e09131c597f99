//! The interface's functions: `open-connection`, `start-server`, `stdin-reader`,
//! `stdout-writer`.

use super::{ConnectOptions, Error, Provider, ReaderHandle, ServerHandle, ServerOptions, WriterHandle};

impl Provider {
    /// `open-connection`: asyncio.open_connection.
    pub async fn open_connection(
        &mut self,
        host: &str,
        port: u16,
        options: Option<ConnectOptions>,
    ) -> wasmtime::Result<Result<(ReaderHandle, WriterHandle), Error>> {
        let result = call!(self, |api, store| api.call_open_connection(store, host, port, options.as_ref()));
        Ok(result?.map(|pair| self.pair(pair)))
    }

    /// `start-server`: asyncio.start_server.
    pub async fn start_server(
        &mut self,
        host: &str,
        port: u16,
        options: Option<ServerOptions>,
    ) -> wasmtime::Result<Result<ServerHandle, Error>> {
        let result = call!(self, |api, store| api.call_start_server(store, host, port, options.as_ref()));
        Ok(result?.map(|resource| ServerHandle { id: self.next_id(), resource }))
    }

    /// `stdin-reader`: a reader over the guest's stdin.
    pub async fn stdin_reader(
        &mut self,
        limit: Option<u64>,
    ) -> wasmtime::Result<Result<ReaderHandle, Error>> {
        let result = call!(self, |api, store| api.call_stdin_reader(store, limit));
        Ok(result?.map(|r| self.reader_handle(r)))
    }

    /// `stdout-writer`: a writer to the guest's stdout.
    pub async fn stdout_writer(&mut self) -> wasmtime::Result<Result<WriterHandle, Error>> {
        let result = call!(self, |api, store| api.call_stdout_writer(store));
        Ok(result?.map(|w| self.writer_handle(w)))
    }
}
