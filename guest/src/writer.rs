//! `StreamWriter`: asyncio's writing API over a connection (or stdout).

use std::net::SocketAddr;

use crate::error::{Error, Result};
use crate::extra_info::{self, ExtraInfo};
use crate::transport::SharedTransport;

/// Writes to a connection with asyncio's semantics: `write` never blocks, `drain`
/// waits while the queue is over the high-water mark, `write_eof` half-closes,
/// `close` delivers what is queued and then closes.
///
/// Dropping the writer closes the connection (as asyncio 3.13 does when a writer is
/// garbage-collected); queued bytes get [`ABANDONED_FLUSH_TIMEOUT`] to be delivered.
///
/// [`ABANDONED_FLUSH_TIMEOUT`]: crate::transport::ABANDONED_FLUSH_TIMEOUT
pub struct StreamWriter {
    transport: SharedTransport,
}

impl StreamWriter {
    pub(crate) fn new(transport: SharedTransport) -> Self {
        StreamWriter { transport }
    }

    pub(crate) fn transport_rc(&self) -> SharedTransport {
        std::rc::Rc::clone(&self.transport)
    }

    /// Queues `data` and sends what the host accepts now. Never waits. After the
    /// connection was lost (or closed with nothing queued) the data is dropped silently,
    /// as asyncio does; after `write_eof` it fails with [`Error::Closed`].
    pub fn write(&self, data: &[u8]) -> Result<()> {
        self.transport.write(data)
    }

    /// Queues several buffers at once.
    pub fn writelines<I, B>(&self, lines: I) -> Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.transport.writelines(lines)
    }

    /// Waits until the queue is at or below the low-water mark, if it went over the
    /// high-water mark. Fails with the connection's error, or with "Connection lost"
    /// ([`Error::ConnectionReset`]) once the connection is gone.
    pub async fn drain(&self) -> Result<()> {
        self.transport.drain().await
    }

    /// asyncio's `start_tls` (3.11+): upgrades this live plain connection to TLS, as the
    /// client ([`TlsClientConfig`](crate::TlsClientConfig), verifying `server_hostname`)
    /// or as the server ([`TlsServerConfig`](crate::TlsServerConfig), no host name), and
    /// returns once the handshake completed (within asyncio's 60 s
    /// `ssl_handshake_timeout`). What was written before goes out first, in plaintext;
    /// bytes the reader holds unread go to the handshake (the peer's first records may
    /// arrive right behind its last plaintext line). The reader and this writer then
    /// read and write through TLS. Call it with no read pending. On failure the
    /// connection is closed and the error (e.g. [`Error::Ssl`]) returned.
    pub async fn start_tls(
        &self,
        config: impl Into<crate::TlsUpgrade>,
        server_hostname: Option<&str>,
    ) -> Result<()> {
        let options = crate::StartTlsOptions {
            server_hostname: server_hostname.map(str::to_owned),
            ..Default::default()
        };
        self.start_tls_with(config, &options).await
    }

    /// [`start_tls`](Self::start_tls) with asyncio 3.12's keyword arguments:
    /// `server_hostname`, `ssl_handshake_timeout` and `ssl_shutdown_timeout` (`None`:
    /// asyncio's 60 s and 30 s; zero is refused with asyncio's message).
    pub async fn start_tls_with(
        &self,
        config: impl Into<crate::TlsUpgrade>,
        options: &crate::StartTlsOptions,
    ) -> Result<()> {
        self.transport.start_tls(config.into().session_with(options)?).await
    }

    /// Non-waiting `drain`: true once the queue is at or below the low-water mark.
    pub fn try_drain(&self) -> Result<bool> {
        self.transport.try_drain()
    }

    /// A `wasi:io` pollable that is ready when `try_drain` or `try_wait_closed` may make
    /// progress (possibly spuriously). Drop it before the last handle to the connection.
    pub fn subscribe(&self) -> wasip2::io::poll::Pollable {
        self.transport.writer_pollable()
    }

    /// Half-closes: the peer sees EOF after the queued bytes, and can still send. Over
    /// TLS it fails with [`Error::NotImplemented`], as asyncio's SSL transport does.
    pub fn write_eof(&self) -> Result<()> {
        self.transport.write_eof()
    }

    /// True for TCP connections; false over TLS, which cannot half-close.
    pub fn can_write_eof(&self) -> bool {
        self.transport.can_write_eof()
    }

    /// Delivers what is queued, then closes. Never waits; see [`wait_closed`](Self::wait_closed).
    pub fn close(&self) {
        self.transport.close()
    }

    /// Closes at once, dropping what is queued (asyncio's `transport.abort()`).
    pub fn abort(&self) {
        self.transport.abort()
    }

    /// True once `close` or `abort` was called or the connection was lost.
    pub fn is_closing(&self) -> bool {
        self.transport.is_closing()
    }

    /// Waits until the connection is closed; fails with the error it was lost with.
    pub async fn wait_closed(&self) -> Result<()> {
        self.transport.wait_closed().await
    }

    /// Non-waiting `wait_closed`: true once closed.
    pub fn try_wait_closed(&self) -> Result<bool> {
        self.transport.try_wait_closed()
    }

    /// Bytes queued in the guest and not yet handed to the host.
    pub fn get_write_buffer_size(&self) -> usize {
        self.transport.write_buffer_size()
    }

    /// `(low, high)` water marks, as asyncio's `get_write_buffer_limits()`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.transport.write_buffer_limits()
    }

    /// Sets the water marks with asyncio's rules: only `high` → `low = high / 4`; only
    /// `low` → `high = 4 × low`; `high < low` is an [`Error::InvalidArgument`].
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        self.transport.set_write_buffer_limits(high, low)
    }

    /// The TLS session's details (`get_extra_info('peercert')`, `'cipher'`, the version
    /// and ALPN); `None` for plain TCP.
    pub fn tls_info(&self) -> Option<crate::tls::TlsInfo> {
        self.transport.tls_info()
    }

    /// The peer's address (known even after the connection closed).
    pub fn peername(&self) -> Result<SocketAddr> {
        self.transport.peername().ok_or_else(|| Error::invalid_argument("not a socket"))
    }

    /// This end's address (known even after the connection closed).
    pub fn sockname(&self) -> Result<SocketAddr> {
        self.transport.sockname().ok_or_else(|| Error::invalid_argument("not a socket"))
    }

    /// asyncio's `get_extra_info(name)`: `'peername'`, `'sockname'`; `None` (asyncio's
    /// `default`) for any other name or when the transport has no such detail.
    pub fn get_extra_info(&self, name: &str) -> Option<ExtraInfo> {
        extra_info::lookup(&self.transport, name)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.transport.abandon();
    }
}
