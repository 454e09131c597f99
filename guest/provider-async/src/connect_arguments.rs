//! `open-connection`'s arguments checked as asyncio checks them before connecting (the
//! TLS ones: given without `ssl`, or zero), with its words.

use wasio::tls::arguments;

use crate::convert;
use crate::wit;

/// asyncio's checks of the TLS arguments (given without `ssl`, or zero).
pub(crate) fn check(host: &str, options: Option<&wit::ConnectOptions>) -> Result<(), wit::Error> {
    let Some(o) = options else { return Ok(()) };
    let has_ssl = o.ssl.is_some();
    tls_timeouts(has_ssl, o.ssl_handshake_timeout_ms, o.ssl_shutdown_timeout_ms)?;
    arguments::server_hostname(has_ssl, o.server_hostname.as_deref(), host).map_err(convert::error)?;
    Ok(())
}

/// asyncio's checks of `ssl_handshake_timeout` / `ssl_shutdown_timeout` (milliseconds).
fn tls_timeouts(has_ssl: bool, handshake: Option<u32>, shutdown: Option<u32>) -> Result<(), wit::Error> {
    let millis = wasio::tls::wit_records::millis;
    arguments::timeouts(has_ssl, millis(handshake), millis(shutdown)).map(drop).map_err(convert::error)
}
