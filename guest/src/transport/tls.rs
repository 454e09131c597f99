//! The TLS layer of a WASI 0.2 connection: a thin adapter over the sans-I/O
//! [`TlsSession`] (`tls::session`), whose ciphertext goes to the `wasi:io` output stream
//! as far as its permits allow. The reader's and writer's semantics (limits, pausing,
//! watermarks) stay the core's.

use std::io::{self, Write};
use std::time::Duration;

use wasip2::io::streams::OutputStream;

use crate::core::ReadBuffer;
use crate::error::{Error, Result};
use crate::net;
use crate::tls::{self as config, TlsInfo, TlsSession};

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

/// The sans-I/O session behind the WASI 0.2 streams: made only through a TLS config
/// (so a component that never makes one links no rustls).
pub(crate) fn client(
    config: &config::TlsClientConfig,
    server_hostname: &str,
    handshake_timeout: Duration,
) -> Result<Box<dyn TlsLayer>> {
    Ok(Box::new(TlsSession::client(config, server_hostname, handshake_timeout)?))
}

pub(crate) fn server(
    config: &config::TlsServerConfig,
    handshake_timeout: Duration,
) -> Result<Box<dyn TlsLayer>> {
    Ok(Box::new(TlsSession::server(config, handshake_timeout)?))
}

impl TlsLayer for TlsSession {
    fn handshake_timeout(&self) -> Duration {
        TlsSession::handshake_timeout(self)
    }

    fn shutdown_timeout(&self) -> Duration {
        TlsSession::shutdown_timeout(self)
    }

    fn set_shutdown_timeout(&mut self, limit: Duration) {
        TlsSession::set_shutdown_timeout(self, limit)
    }

    fn peer_closed(&self) -> bool {
        TlsSession::peer_closed(self)
    }

    fn is_handshaking(&self) -> bool {
        TlsSession::is_handshaking(self)
    }

    fn info(&mut self) -> Option<&TlsInfo> {
        TlsSession::info(self)
    }

    fn receive(&mut self, ciphertext: Vec<u8>, read: &mut ReadBuffer) -> Result<()> {
        TlsSession::receive(self, ciphertext, read)
    }

    fn receive_eof(&mut self, read: &mut ReadBuffer) -> Result<()> {
        TlsSession::receive_eof(self, read)
    }

    fn decrypt_into(&mut self, read: &mut ReadBuffer) -> Result<()> {
        TlsSession::decrypt_into(self, read)
    }

    fn wants_write(&self) -> bool {
        TlsSession::wants_write(self)
    }

    /// Sends earlier ciphertext, encrypts what rustls takes of `plaintext` and sends
    /// that: how many plaintext bytes were taken (0 while the host is still busy with
    /// earlier ciphertext).
    fn send(&mut self, output: &OutputStream, plaintext: &[u8]) -> Result<usize> {
        TlsLayer::flush(self, output)?;
        let taken = self.encrypt(plaintext)?;
        TlsLayer::flush(self, output)?;
        Ok(taken)
    }

    /// Hands pending ciphertext to the host as far as its permits allow.
    fn flush(&mut self, output: &OutputStream) -> Result<()> {
        let mut host = HostOutput { output, failure: None };
        self.write_ciphertext(&mut host)
            .map_err(|error| host.failure.take().unwrap_or_else(|| Error::Other(format!("TLS: {error}"))))
    }

    fn shutting_down(&self) -> bool {
        TlsSession::shutting_down(self)
    }

    fn start_close(&mut self) -> bool {
        TlsSession::start_close(self)
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
