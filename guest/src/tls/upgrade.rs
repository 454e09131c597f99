//! What `StreamWriter::start_tls` upgrades a live connection with. asyncio picks the
//! side from whether the connection was accepted; here the configuration says it (a
//! server side needs its certificate anyway).

use std::time::Duration;

use super::{TlsClientConfig, TlsServerConfig, TlsSession};
use crate::error::{Error, Result};
use crate::transport::TlsLayer;

/// The TLS side and configuration for [`StreamWriter::start_tls`](crate::StreamWriter::start_tls).
pub enum TlsUpgrade {
    /// Upgrade as the client (the connection was opened here).
    Client(TlsClientConfig),
    /// Upgrade as the server (the connection was accepted here).
    Server(TlsServerConfig),
}

impl From<TlsClientConfig> for TlsUpgrade {
    fn from(config: TlsClientConfig) -> Self {
        TlsUpgrade::Client(config)
    }
}

impl From<TlsServerConfig> for TlsUpgrade {
    fn from(config: TlsServerConfig) -> Self {
        TlsUpgrade::Server(config)
    }
}

/// The keyword arguments of asyncio's `start_tls` besides the context (3.12): all
/// optional, asyncio's defaults when `None`.
#[derive(Debug, Clone, Default)]
pub struct StartTlsOptions {
    /// The name the peer's certificate must carry (and the SNI sent). A client needs it;
    /// a server takes none.
    pub server_hostname: Option<String>,
    /// How long the handshake may take (default 60 s); then [`Error::Ssl`] with
    /// [`SslErrorKind::HandshakeTimeout`](crate::SslErrorKind::HandshakeTimeout).
    pub ssl_handshake_timeout: Option<Duration>,
    /// How long the peer has to answer our close_notify once the connection closes
    /// (default 30 s); then the connection is dropped with [`Error::TimedOut`].
    pub ssl_shutdown_timeout: Option<Duration>,
}

impl TlsUpgrade {
    /// The session to hand the connection to, with asyncio's checks: a client needs the
    /// name to verify (`check_hostname requires server_hostname`), a server takes none;
    /// zero timeouts are refused.
    pub(crate) fn session_with(&self, options: &StartTlsOptions) -> Result<Box<dyn TlsLayer>> {
        let (handshake, shutdown) =
            super::arguments::timeouts(true, options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
        let mut session = self.session(options.server_hostname.as_deref(), handshake)?;
        session.set_shutdown_timeout(shutdown);
        Ok(session)
    }

    /// [`session_with`](Self::session_with) with the default shutdown timeout.
    pub(crate) fn session(
        &self,
        server_hostname: Option<&str>,
        handshake_timeout: Duration,
    ) -> Result<Box<dyn TlsLayer>> {
        match self.side(server_hostname)? {
            Side::Client(config, name) => config.session(name, handshake_timeout),
            Side::Server(config) => config.session(handshake_timeout),
        }
    }

    /// The sans-I/O session for a transport of its own (the WASI 0.3 provider), with
    /// the same checks as [`session_with`](Self::session_with).
    pub fn new_session(&self, options: &StartTlsOptions) -> Result<TlsSession> {
        let (handshake, shutdown) =
            super::arguments::timeouts(true, options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
        let mut session = match self.side(options.server_hostname.as_deref())? {
            Side::Client(config, name) => TlsSession::client(config, name, handshake)?,
            Side::Server(config) => TlsSession::server(config, handshake)?,
        };
        session.set_shutdown_timeout(shutdown);
        Ok(session)
    }

    /// asyncio's check of `server_hostname` against the side.
    fn side<'a>(&'a self, server_hostname: Option<&'a str>) -> Result<Side<'a>> {
        match (self, server_hostname) {
            (TlsUpgrade::Client(config), Some(name)) => Ok(Side::Client(config, name)),
            (TlsUpgrade::Client(_), None) => {
                Err(Error::invalid_argument("check_hostname requires server_hostname"))
            }
            (TlsUpgrade::Server(config), None) => Ok(Side::Server(config)),
            (TlsUpgrade::Server(_), Some(_)) => {
                Err(Error::invalid_argument("Server side SSL needs no server_hostname"))
            }
        }
    }
}

enum Side<'a> {
    Client(&'a TlsClientConfig, &'a str),
    Server(&'a TlsServerConfig),
}
