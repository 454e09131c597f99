//! `open_connection`: resolve, connect (trying each address, optionally staggered as
//! in happy eyeballs: [`crate::happy_eyeballs`]), and wrap the connection in a reader and
//! a writer.

use std::net::SocketAddr;
use std::time::Duration;

use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::tcp::TcpSocket;

use crate::core::DEFAULT_LIMIT;
use crate::error::{Error, Result};
use crate::reader::StreamReader;
use crate::runtime;
use crate::tls::{arguments, TlsClientConfig};
use crate::transport::{Io, Transport};
use crate::writer::StreamWriter;
use crate::{happy_eyeballs, resolve, tcp};

/// Options of [`open_connection_with`], asyncio's keyword arguments.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The reader's limit (default 64 KiB); must be > 0.
    pub limit: usize,
    /// Bind the socket to this address before connecting.
    pub local_addr: Option<SocketAddr>,
    /// Start the next address's attempt after this delay even while earlier attempts
    /// are pending (RFC 8305 happy eyeballs, the addresses interleaved by family as
    /// asyncio's default `interleave=1` does; [`happy_eyeballs`]). `None`: one address
    /// after another.
    pub happy_eyeballs_delay: Option<Duration>,
    /// Give up on the whole connect after this long ([`Error::TimedOut`]).
    pub timeout: Option<Duration>,
    /// asyncio's `ssl=`: connect with TLS, configured so. `None`: plain TCP.
    pub ssl: Option<TlsClientConfig>,
    /// The name the server's certificate must carry (and the SNI sent); default `host`.
    /// Only with `ssl`.
    pub server_hostname: Option<String>,
    /// How long the TLS handshake may take (default 60 s); then [`Error::Ssl`] with
    /// [`SslErrorKind::HandshakeTimeout`](crate::SslErrorKind::HandshakeTimeout). Only with `ssl`.
    pub ssl_handshake_timeout: Option<Duration>,
    /// asyncio's bound on the TLS shutdown (default 30 s). wasio's `close` sends
    /// close_notify and closes without waiting for the peer's; only checked here. Only
    /// with `ssl`.
    pub ssl_shutdown_timeout: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            limit: DEFAULT_LIMIT,
            local_addr: None,
            happy_eyeballs_delay: None,
            timeout: None,
            ssl: None,
            server_hostname: None,
            ssl_handshake_timeout: None,
            ssl_shutdown_timeout: None,
        }
    }
}

/// Connects to `host:port` and returns the connection's reader and writer.
/// `host` may be a name (`localhost`), an IPv4 or an IPv6 address.
pub async fn open_connection(host: &str, port: u16) -> Result<(StreamReader, StreamWriter)> {
    open_connection_with(host, port, ConnectOptions::default()).await
}

/// [`open_connection`] with options. Each resolved address is tried in turn; when all
/// fail, the last error is returned. With `ssl`, the TLS handshake completes before it
/// returns; a failed one is an [`Error::Ssl`] saying why (the connection is closed).
pub async fn open_connection_with(
    host: &str,
    port: u16,
    options: ConnectOptions,
) -> Result<(StreamReader, StreamWriter)> {
    if options.limit == 0 {
        // asyncio checks the limit before connecting.
        return Err(Error::invalid_argument("Limit cannot be <= 0"));
    }
    let has_ssl = options.ssl.is_some();
    let server_hostname = arguments::server_hostname(has_ssl, options.server_hostname.as_deref(), host)?;
    let (handshake_timeout, shutdown_timeout) =
        arguments::timeouts(has_ssl, options.ssl_handshake_timeout, options.ssl_shutdown_timeout)?;
    let tls = match &options.ssl {
        Some(config) => {
            let mut session = config.session(server_hostname, handshake_timeout)?;
            session.set_shutdown_timeout(shutdown_timeout);
            Some(session)
        }
        None => None,
    };
    let connect = async {
        let addresses = resolve::resolve(host, port).await?;
        connect_first(&addresses, &options).await
    };
    let (socket, input, output) = match options.timeout {
        Some(limit) => runtime::timeout(limit, connect).await??,
        None => connect.await?,
    };
    let transport = Transport::with_tls(Io::new(input, output, Some(socket)), options.limit, tls)?;
    transport.handshake().await?;
    Ok((StreamReader::new(transport.clone()), StreamWriter::new(transport)))
}

type Connected = (TcpSocket, InputStream, OutputStream);

/// Tries the addresses as asyncio does ([`happy_eyeballs::connect_first`]: in turn, or
/// staggered by the happy-eyeballs delay).
async fn connect_first(addresses: &[SocketAddr], options: &ConnectOptions) -> Result<Connected> {
    let local = options.local_addr;
    let no_address = Error::Other("no address to connect to".into());
    happy_eyeballs::connect_first(
        addresses,
        options.happy_eyeballs_delay,
        |address| tcp::connect(address, local),
        runtime::sleep,
        no_address,
    )
    .await
}
