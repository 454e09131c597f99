//! A TLS session without I/O: ciphertext in as bytes, plaintext out into the core's
//! [`ReadBuffer`]; plaintext in as bytes, ciphertext out to whatever writes it. The
//! WASI 0.2 transport (`transport::tls`) and the WASI 0.3 provider each move the bytes;
//! when to decrypt, what a peer's close means and close_notify live here, once.

use std::io::{self, Read, Write};
use std::time::Duration;

use crate::core::ReadBuffer;
use crate::error::{Error, Result};

use super::{from_rustls, TlsClientConfig, TlsInfo, TlsServerConfig};

/// asyncio's default `ssl_handshake_timeout` (`constants.SSL_HANDSHAKE_TIMEOUT`).
pub const DEFAULT_SSL_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// asyncio's default `ssl_shutdown_timeout` (`constants.SSL_SHUTDOWN_TIMEOUT`).
pub const DEFAULT_SSL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// One connection's TLS state, between the bytes on the wire and the core's buffers.
pub struct TlsSession {
    connection: rustls::Connection,
    /// Ciphertext taken from the wire that rustls has not taken in yet: it takes at most
    /// its own buffer's worth while decrypted bytes wait, and none while the reader is
    /// paused. `incoming[taken..]` is what is left.
    incoming: Vec<u8>,
    taken: usize,
    /// The wire's input ended; rustls is told once `incoming` is used up.
    eof_received: bool,
    eof_delivered: bool,
    close_notify_sent: bool,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
    info: Option<TlsInfo>,
}

impl TlsSession {
    /// A client session checking the server's certificate for `server_hostname`.
    pub fn client(
        config: &TlsClientConfig,
        server_hostname: &str,
        handshake_timeout: Duration,
    ) -> Result<Self> {
        let name = rustls::pki_types::ServerName::try_from(server_hostname.to_string())
            .map_err(|_| Error::invalid_argument(format!("invalid server_hostname {server_hostname:?}")))?;
        let connection = rustls::ClientConnection::new(config.rustls_config()?, name)
            .map_err(|error| from_rustls(&error))?;
        Ok(Self::new(connection.into(), handshake_timeout))
    }

    /// A server session.
    pub fn server(config: &TlsServerConfig, handshake_timeout: Duration) -> Result<Self> {
        let connection =
            rustls::ServerConnection::new(config.rustls_config()).map_err(|error| from_rustls(&error))?;
        Ok(Self::new(connection.into(), handshake_timeout))
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

    /// The `ssl_handshake_timeout` the handshake must finish within.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The `ssl_shutdown_timeout` the peer has to answer our close_notify within.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    pub fn set_shutdown_timeout(&mut self, limit: Duration) {
        self.shutdown_timeout = limit;
    }

    /// The peer ended the session: its close_notify arrived, or its FIN after the
    /// handshake (asyncio then shuts the connection down itself).
    pub fn peer_closed(&self) -> bool {
        self.eof_delivered
    }

    pub fn is_handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    /// The session's details, once the handshake completed.
    pub fn info(&mut self) -> Option<&TlsInfo> {
        if self.info.is_none() && !self.connection.is_handshaking() {
            self.info = Some(TlsInfo::of(&self.connection));
        }
        self.info.as_ref()
    }

    /// Takes ciphertext from the wire and decrypts what it can into `read`.
    pub fn receive(&mut self, ciphertext: Vec<u8>, read: &mut ReadBuffer) -> Result<()> {
        if self.taken == self.incoming.len() {
            self.incoming = ciphertext;
            self.taken = 0;
        } else {
            self.incoming.extend_from_slice(&ciphertext);
        }
        self.decrypt_into(read)
    }

    /// The wire's input ended.
    pub fn receive_eof(&mut self, read: &mut ReadBuffer) -> Result<()> {
        self.eof_received = true;
        self.decrypt_into(read)
    }

    /// Ciphertext taken in is waiting for the reader to resume.
    pub fn has_pending_input(&self) -> bool {
        self.taken < self.incoming.len()
    }

    /// Moves plaintext into `read` until it pauses or the ciphertext taken in is used
    /// up; then, if the input ended, the reader gets EOF (after the peer's close_notify,
    /// or without it once the handshake is done, as asyncio reads a ragged end) or an
    /// error (the input ended in the middle of the handshake). Once our close_notify is
    /// queued, plaintext is dropped and the reader's pausing no longer holds the
    /// ciphertext back: the peer's close_notify must be seen.
    pub fn decrypt_into(&mut self, read: &mut ReadBuffer) -> Result<()> {
        let mut buffer_was_full = false;
        loop {
            let state = self.connection.process_new_packets().map_err(|error| from_rustls(&error))?;
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

    fn deliver_eof(&mut self, read: &mut ReadBuffer) -> Result<()> {
        if !self.eof_delivered && !read.is_eof() {
            read.feed_eof();
        }
        self.eof_delivered = true;
        self.incoming = Vec::new();
        self.taken = 0;
        Ok(())
    }

    /// True while ciphertext waits to go to the wire (handshake messages, records,
    /// alerts, close_notify).
    pub fn wants_write(&self) -> bool {
        self.connection.wants_write()
    }

    /// Encrypts as much of `plaintext` as rustls takes, once earlier ciphertext is out
    /// and the handshake is done: how many plaintext bytes it took (0 before then).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<usize> {
        if self.connection.wants_write() || self.connection.is_handshaking() {
            return Ok(0);
        }
        self.connection.writer().write(plaintext).map_err(|error| Error::Other(format!("TLS: {error}")))
    }

    /// Hands pending ciphertext to `wire` until it is all out or `wire` says
    /// `WouldBlock`; `wire`'s other errors are returned as they are.
    pub fn write_ciphertext(&mut self, wire: &mut dyn Write) -> io::Result<()> {
        while self.connection.wants_write() {
            match self.connection.write_tls(wire) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// All pending ciphertext, for a transport that sends whole buffers.
    pub fn take_ciphertext(&mut self) -> Vec<u8> {
        let mut ciphertext = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_ciphertext(&mut ciphertext);
        ciphertext
    }

    /// close_notify was queued ([`start_close`](Self::start_close)).
    pub fn shutting_down(&self) -> bool {
        self.close_notify_sent
    }

    /// Queues close_notify; false if it already was. From then on, application data
    /// from the peer is dropped (asyncio's SSL protocol delivers none once shutting down).
    pub fn start_close(&mut self) -> bool {
        if self.close_notify_sent {
            return false;
        }
        self.close_notify_sent = true;
        self.connection.send_close_notify();
        true
    }
}
