//! The TLS layer of a connection: ciphertext from the input stream goes through rustls
//! and its plaintext into the same read buffer a plain connection fills; plaintext from
//! the write queue goes through rustls and its ciphertext to the output stream. The
//! reader's and writer's semantics (limits, pausing, watermarks) stay the core's.

use std::io::{self, Read, Write};
use std::time::Duration;

use wasip2::io::streams::OutputStream;

use crate::core::ReadBuffer;
use crate::error::{Error, Result};
use crate::net;
use crate::tls::{self as config, TlsInfo};

/// asyncio's default `ssl_handshake_timeout` (`constants.SSL_HANDSHAKE_TIMEOUT`).
pub const DEFAULT_SSL_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// asyncio's default `ssl_shutdown_timeout` (`constants.SSL_SHUTDOWN_TIMEOUT`).
pub const DEFAULT_SSL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the transport asks of its TLS layer. A trait object, so that only a component
/// that makes a TLS configuration links rustls (every call here is behind it).
pub(crate) trait TlsLayer {
    /// The `ssl_handshake_timeout` the handshake must finish within.
    fn handshake_timeout(&self) -> Duration;
    /// The `ssl_shutdown_timeout` the peer has to answer our close_notify within.
    fn shutdown_timeout(&self) -> Duration;
    fn set_shutdown_timeout(&mut self, limit: Duration);
    /// The peer ended the session: its close_notify arrived, or its FIN after the
    /// handshake (asyncio then shuts the connection down itself).
    fn peer_closed(&self) -> bool;
    fn is_handshaking(&self) -> bool;
    /// The session's details, once the handshake completed.
    fn info(&mut self) -> Option<&TlsInfo>;
    /// Takes ciphertext from the host and decrypts what it can into `read`.
    fn receive(&mut self, ciphertext: Vec<u8>, read: &mut ReadBuffer) -> Result<()>;
    /// The host reported the end of the input.
    fn receive_eof(&mut self, read: &mut ReadBuffer) -> Result<()>;
    /// Decrypts ciphertext left over (while the reader was paused) into `read`.
    fn decrypt_into(&mut self, read: &mut ReadBuffer) -> Result<()>;
    /// True while ciphertext waits to go to the host.
    fn wants_write(&self) -> bool;
    /// Encrypts and sends what it can of `plaintext`: how many plaintext bytes it took.
    fn send(&mut self, output: &OutputStream, plaintext: &[u8]) -> Result<usize>;
    /// Hands pending ciphertext to the host as far as its permits allow.
    fn flush(&mut self, output: &OutputStream) -> Result<()>;
    /// Queues close_notify; false if it already was. From then on, application data
    /// from the peer is dropped (asyncio's SSL protocol delivers none once shutting down).
    fn start_close(&mut self) -> bool;
    /// close_notify was queued ([`start_close`](Self::start_close)).
    fn shutting_down(&self) -> bool;
}

pub(crate) struct TlsSession {
    connection: rustls::Connection,
    /// Ciphertext taken from the host that rustls has not taken in yet: it takes at most
    /// its own buffer's worth while decrypted bytes wait, and none while the reader is
    /// paused. `incoming[taken..]` is what is left.
    incoming: Vec<u8>,
    taken: usize,
    /// The host reported the input's end; rustls is told once `incoming` is used up.
    eof_received: bool,
    eof_delivered: bool,
    close_notify_sent: bool,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
    info: Option<TlsInfo>,
}

impl TlsSession {
    /// A client session (reached only through [`TlsClientConfig`](config::TlsClientConfig),
    /// so a component that never makes one links no rustls).
    pub(crate) fn client(
        config: &config::TlsClientConfig,
        server_hostname: &str,
        handshake_timeout: Duration,
    ) -> Result<Box<dyn TlsLayer>> {
        let name = rustls::pki_types::ServerName::try_from(server_hostname.to_string())
            .map_err(|_| Error::invalid_argument(format!("invalid server_hostname {server_hostname:?}")))?;
        let connection = rustls::ClientConnection::new(config.rustls_config()?, name)
            .map_err(|error| config::from_rustls(&error))?;
        Ok(Box::new(Self::new(connection.into(), handshake_timeout)))
    }

    pub(crate) fn server(
        config: &config::TlsServerConfig,
        handshake_timeout: Duration,
    ) -> Result<Box<dyn TlsLayer>> {
        let connection = rustls::ServerConnection::new(config.rustls_config())
            .map_err(|error| config::from_rustls(&error))?;
        Ok(Box::new(Self::new(connection.into(), handshake_timeout)))
    }

    fn new(connection: rustls::Connection, handshake_timeout: Duration) -> Self {
        TlsSession {
            connection,
            incoming: Vec::new(),
            taken: 0,
            eof_received: false,
            eof_delivered: false,
            close_notify_sent: false,
            handshake_timeout,
            shutdown_timeout: DEFAULT_SSL_SHUTDOWN_TIMEOUT,
            info: None,
        }
    }
    fn deliver_eof(&mut self, read: &mut ReadBuffer) -> Result<()> {
        if !self.eof_delivered && !read.is_eof() {
            read.feed_eof();
        }
        self.eof_delivered = true;
        self.incoming = Vec::new();
        self.taken = 0;
        Ok(())
    }
}

impl TlsLayer for TlsSession {
    fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    fn set_shutdown_timeout(&mut self, limit: Duration) {
        self.shutdown_timeout = limit;
    }

    fn peer_closed(&self) -> bool {
        self.eof_delivered
    }

    fn is_handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    /// The session's details, once the handshake completed.
    fn info(&mut self) -> Option<&TlsInfo> {
        if self.info.is_none() && !self.connection.is_handshaking() {
            self.info = Some(TlsInfo::of(&self.connection));
        }
        self.info.as_ref()
    }

    /// Takes ciphertext from the host and decrypts what it can into `read`.
    fn receive(&mut self, ciphertext: Vec<u8>, read: &mut ReadBuffer) -> Result<()> {
        if self.taken == self.incoming.len() {
            self.incoming = ciphertext;
            self.taken = 0;
        } else {
            self.incoming.extend_from_slice(&ciphertext);
        }
        self.decrypt_into(read)
    }

    /// The host reported the end of the input.
    fn receive_eof(&mut self, read: &mut ReadBuffer) -> Result<()> {
        self.eof_received = true;
        self.decrypt_into(read)
    }

    /// Moves plaintext into `read` until it pauses or the ciphertext taken in is used
    /// up; then, if the input ended, the reader gets EOF (after the peer's close_notify,
    /// or without it once the handshake is done, as asyncio reads a ragged end) or an
    /// error (the input ended in the middle of the handshake). Once our close_notify is
    /// queued, plaintext is dropped and the reader's pausing no longer holds the
    /// ciphertext back: the peer's close_notify must be seen.
    fn decrypt_into(&mut self, read: &mut ReadBuffer) -> Result<()> {
        let mut buffer_was_full = false;
        loop {
            let state = self.connection.process_new_packets().map_err(|error| config::from_rustls(&error))?;
            let plaintext = state.plaintext_bytes_to_read();
            if plaintext > 0 {
                let mut bytes = vec![0; plaintext];
                self.connection
                    .reader()
                    .read_exact(&mut bytes)
                    .map_err(|error| Error::Other(format!("TLS: {error}")))?;
                if !self.close_notify_sent {
                    read.feed_vec(bytes);
                }
            }
            if state.peer_has_closed() {
                return self.deliver_eof(read);
            }
            if read.is_paused() && !self.close_notify_sent {
                return Ok(());
            }
            if self.taken == self.incoming.len() {
                if !self.eof_received {
                    return Ok(());
                }
                if self.connection.is_handshaking() {
                    return Err(Error::ConnectionReset(
                        "the peer closed the connection during the TLS handshake".into(),
                    ));
                }
                // A ragged end (no close_notify): EOF, as asyncio's SSL protocol reads it.
                return self.deliver_eof(read);
            }
            let mut rest = &self.incoming[self.taken..];
            match self.connection.read_tls(&mut rest) {
                Ok(count) => {
                    self.taken += count;
                    buffer_was_full = false;
                }
                // rustls' buffer is full of records still to process: the loop does, once.
                Err(error) if error.kind() == io::ErrorKind::Other && !buffer_was_full => {
                    buffer_was_full = true
                }
                Err(error) => return Err(Error::Other(format!("TLS: {error}"))),
            }
        }
    }

    /// True while ciphertext waits to go to the host (handshake messages, records,
    /// alerts, close_notify).
    fn wants_write(&self) -> bool {
        self.connection.wants_write()
    }

    /// Encrypts as much of `plaintext` as rustls takes once earlier ciphertext is out,
    /// and sends it: how many plaintext bytes were taken (0 while the host is still busy
    /// with earlier ciphertext).
    fn send(&mut self, output: &OutputStream, plaintext: &[u8]) -> Result<usize> {
        self.flush(output)?;
        if self.connection.wants_write() || self.connection.is_handshaking() {
            return Ok(0);
        }
        let taken = self
            .connection
            .writer()
            .write(plaintext)
            .map_err(|error| Error::Other(format!("TLS: {error}")))?;
        self.flush(output)?;
        Ok(taken)
    }

    /// Hands pending ciphertext to the host as far as its permits allow.
    fn flush(&mut self, output: &OutputStream) -> Result<()> {
        let mut host = HostOutput { output, failure: None };
        while self.connection.wants_write() {
            match self.connection.write_tls(&mut host) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    return Err(host.failure.take().unwrap_or_else(|| Error::Other(format!("TLS: {error}"))))
                }
            }
        }
        Ok(())
    }

    fn shutting_down(&self) -> bool {
        self.close_notify_sent
    }

    /// Queues the close_notify alert (once); [`flush`](Self::flush) sends it.
    fn start_close(&mut self) -> bool {
        if self.close_notify_sent {
            return false;
        }
        self.close_notify_sent = true;
        self.connection.send_close_notify();
        true
    }
}

/// The output stream as rustls' `io::Write`: what the host's permit allows, or
/// `WouldBlock`.
struct HostOutput<'a> {
    output: &'a OutputStream,
    failure: Option<Error>,
}

impl HostOutput<'_> {
    fn fail(&mut self, error: wasip2::io::streams::StreamError) -> io::Error {
        let error = net::stream_error(error);
        let text = error.to_string();
        self.failure = Some(error);
        io::Error::other(text)
    }
}

impl Write for HostOutput<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(bytes)])
    }

    /// As much of the buffers as the host takes now, in one write: the host takes one
    /// write per permit (wasmtime has one write in flight per stream), so records are
    /// gathered into one buffer when there are several.
    fn write_vectored(&mut self, buffers: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let permit = self.output.check_write().map_err(|error| self.fail(error))?;
        let room = usize::try_from(permit).unwrap_or(usize::MAX);
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut buffers = buffers.iter().filter(|buffer| !buffer.is_empty());
        let Some(first) = buffers.next() else { return Ok(0) };
        if first.len() >= room || buffers.clone().next().is_none() {
            let part = &first[..first.len().min(room)];
            self.output.write(part).map_err(|error| self.fail(error))?;
            return Ok(part.len());
        }
        let mut gathered = Vec::with_capacity(room.min(256 * 1024));
        for buffer in std::iter::once(first).chain(buffers) {
            let take =
                buffer.len().min(room - gathered.len()).min(256 * 1024 - gathered.len().min(256 * 1024));
            gathered.extend_from_slice(&buffer[..take]);
            if take < buffer.len() || gathered.len() >= room.min(256 * 1024) {
                break;
            }
        }
        self.output.write(&gathered).map_err(|error| self.fail(error))?;
        Ok(gathered.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
