//! Between the Rust API's types and the WIT's.

use std::net::SocketAddr;

use super::bindings::exports::wasio::streams::types as wit;
use super::tls::{self, millis};
use crate::error::Error;
use crate::{net, ConnectOptions, ServerOptions, DEFAULT_LIMIT};

impl From<Error> for wit::Error {
    fn from(error: Error) -> Self {
        crate::wit_error!(super::bindings::exports::wasio::streams::types, error)
    }
}

/// A WIT size as a Rust one; too large for this address space is a bad argument.
pub(super) fn size(value: u64, what: &str) -> Result<usize, Error> {
    usize::try_from(value).map_err(|_| Error::invalid_argument(format!("{what} is too large")))
}

/// A WIT byte count as the signed size asyncio's read functions take.
pub(super) fn signed(value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::invalid_argument("size is too large"))
}

pub(super) fn limit(value: Option<u64>) -> Result<usize, Error> {
    value.map_or(Ok(DEFAULT_LIMIT), |limit| size(limit, "limit"))
}

pub(super) fn address(addr: SocketAddr) -> wit::IpSocketAddress {
    net::to_wasi(addr)
}

pub(super) fn connect_options(options: Option<wit::ConnectOptions>) -> Result<ConnectOptions, Error> {
    let Some(options) = options else { return Ok(ConnectOptions::default()) };
    Ok(ConnectOptions {
        limit: limit(options.limit)?,
        local_addr: options.local_address.map(net::from_wasi),
        happy_eyeballs_delay: millis(options.happy_eyeballs_delay_ms),
        timeout: millis(options.timeout_ms),
        ssl: options.ssl.as_ref().map(tls::client_config).transpose()?,
        server_hostname: options.server_hostname,
        ssl_handshake_timeout: millis(options.ssl_handshake_timeout_ms),
        ssl_shutdown_timeout: millis(options.ssl_shutdown_timeout_ms),
    })
}

pub(super) fn server_options(options: Option<wit::ServerOptions>) -> Result<ServerOptions, Error> {
    let mut result = ServerOptions::default();
    if let Some(options) = options {
        result.limit = limit(options.limit)?;
        if let Some(backlog) = options.backlog {
            result.backlog = backlog;
        }
        if let Some(start) = options.start_serving {
            result.start_serving = start;
        }
        result.ssl = options.ssl.as_ref().map(tls::server_config).transpose()?;
        result.ssl_handshake_timeout = millis(options.ssl_handshake_timeout_ms);
        result.ssl_shutdown_timeout = millis(options.ssl_shutdown_timeout_ms);
    }
    Ok(result)
}
