//! `writer.start-tls` and `writer.tls-info`: TLS on a live connection. (TLS from the
//! start is `ConnectOptions::ssl` / `ServerOptions::ssl`.)

use super::{Error, Provider, TlsInfo, TlsUpgrade, WriterHandle};

impl Provider {
    /// `writer.start-tls(config, server-hostname, ssl-handshake-timeout-ms,
    /// ssl-shutdown-timeout-ms)`: asyncio's `StreamWriter.start_tls`; returns once the
    /// handshake completed (a blocking call).
    pub async fn start_tls(
        &mut self,
        w: &WriterHandle,
        config: &TlsUpgrade,
        server_hostname: Option<&str>,
        ssl_handshake_timeout_ms: Option<u32>,
        ssl_shutdown_timeout_ms: Option<u32>,
    ) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_start_tls(
            store,
            w.resource,
            config,
            server_hostname,
            ssl_handshake_timeout_ms,
            ssl_shutdown_timeout_ms
        ))
    }

    /// `writer.tls-info`: the TLS session's details; `None` for a plain connection.
    pub async fn tls_info(&mut self, w: &WriterHandle) -> wasmtime::Result<Option<TlsInfo>> {
        call!(self, |api, store| api.writer().call_tls_info(store, w.resource))
    }
}
