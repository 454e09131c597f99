//! What this first 0.2.0 provider does not do yet: named, as `not-implemented`, never a
//! silent difference from 0.1.0.

use wasio::tls::arguments;

use crate::convert;
use crate::wit;

/// `not-implemented` naming the operation.
pub(crate) fn not_yet(what: &str) -> wit::Error {
    wit::Error::NotImplemented(format!("{what} is not implemented by the 0.2.0 provider yet"))
}

/// asyncio's checks of the TLS arguments (given without `ssl`, or zero).
pub(crate) fn connect_options(host: &str, options: Option<&wit::ConnectOptions>) -> Result<(), wit::Error> {
    let Some(o) = options else { return Ok(()) };
    let has_ssl = o.ssl.is_some();
    tls_timeouts(has_ssl, o.ssl_handshake_timeout_ms, o.ssl_shutdown_timeout_ms)?;
    arguments::server_hostname(has_ssl, o.server_hostname.as_deref(), host).map_err(convert::error)?;
    Ok(())
}

/// asyncio's checks of `ssl_handshake_timeout` / `ssl_shutdown_timeout` (milliseconds).
pub(crate) fn tls_timeouts(
    has_ssl: bool,
    handshake: Option<u32>,
    shutdown: Option<u32>,
) -> Result<(), wit::Error> {
    let millis = wasio::tls::wit_records::millis;
    arguments::timeouts(has_ssl, millis(handshake), millis(shutdown)).map(drop).map_err(convert::error)
}
