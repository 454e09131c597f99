//! asyncio's checks of the TLS keyword arguments of `open_connection` and
//! `start_server`, with its wording.

use std::time::Duration;

use super::{DEFAULT_SSL_HANDSHAKE_TIMEOUT, DEFAULT_SSL_SHUTDOWN_TIMEOUT};
use crate::error::{Error, Result};

/// The handshake and shutdown timeouts to use: asyncio's defaults (60 s, 30 s) when not
/// given; given without `ssl`, or zero, they are a `ValueError`.
pub fn timeouts(
    has_ssl: bool,
    handshake: Option<Duration>,
    shutdown: Option<Duration>,
) -> Result<(Duration, Duration)> {
    if !has_ssl {
        if handshake.is_some() {
            return Err(Error::invalid_argument("ssl_handshake_timeout is only meaningful with ssl"));
        }
        if shutdown.is_some() {
            return Err(Error::invalid_argument("ssl_shutdown_timeout is only meaningful with ssl"));
        }
    }
    let positive = |name: &str, value: Option<Duration>, default: Duration| match value {
        Some(value) if value.is_zero() => {
            Err(Error::invalid_argument(format!("{name} should be a positive number, got 0")))
        }
        Some(value) => Ok(value),
        None => Ok(default),
    };
    Ok((
        positive("ssl_handshake_timeout", handshake, DEFAULT_SSL_HANDSHAKE_TIMEOUT)?,
        positive("ssl_shutdown_timeout", shutdown, DEFAULT_SSL_SHUTDOWN_TIMEOUT)?,
    ))
}

/// The name a client checks the certificate against: `server_hostname`, else `host`.
pub fn server_hostname<'a>(
    has_ssl: bool,
    server_hostname: Option<&'a str>,
    host: &'a str,
) -> Result<&'a str> {
    match server_hostname {
        Some(_) if !has_ssl => Err(Error::invalid_argument("server_hostname is only meaningful with ssl")),
        Some(name) => Ok(name),
        None if has_ssl && host.is_empty() => {
            Err(Error::invalid_argument("You must set server_hostname when using ssl without a host"))
        }
        None => Ok(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: std::fmt::Debug>(result: Result<T>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn tls_arguments_without_ssl_are_refused_as_asyncio_does() {
        assert_eq!(
            refused(server_hostname(false, Some("a"), "h")),
            "server_hostname is only meaningful with ssl"
        );
        assert_eq!(
            refused(server_hostname(true, None, "")),
            "You must set server_hostname when using ssl without a host"
        );
        assert_eq!(server_hostname(true, None, "example.com").unwrap(), "example.com");
        let second = Some(Duration::from_secs(1));
        assert_eq!(
            refused(timeouts(false, second, None)),
            "ssl_handshake_timeout is only meaningful with ssl"
        );
        assert_eq!(
            refused(timeouts(false, None, second)),
            "ssl_shutdown_timeout is only meaningful with ssl"
        );
        assert_eq!(
            refused(timeouts(true, Some(Duration::ZERO), None)),
            "ssl_handshake_timeout should be a positive number, got 0"
        );
        assert_eq!(timeouts(true, None, None).unwrap(), (Duration::from_secs(60), Duration::from_secs(30)));
    }
}
