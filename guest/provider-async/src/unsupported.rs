//! What this first 0.2.0 provider does not do yet: named, as `not-implemented`, never a
//! silent difference from 0.1.0.

use crate::wit;

/// `not-implemented` naming the operation.
pub(crate) fn not_yet(what: &str) -> wit::Error {
    wit::Error::NotImplemented(format!("{what} is not implemented by the 0.2.0 provider yet"))
}

/// Connect options other than `limit`, `local-address` and `timeout-ms` are not
/// supported yet.
pub(crate) fn connect_options(options: Option<&wit::ConnectOptions>) -> Result<(), wit::Error> {
    let Some(o) = options else { return Ok(()) };
    let unsupported = [
        (o.happy_eyeballs_delay_ms.is_some(), "connect-options.happy-eyeballs-delay-ms"),
        (o.ssl.is_some(), "connect-options.ssl"),
        (o.server_hostname.is_some(), "connect-options.server-hostname"),
    ];
    match unsupported.iter().find(|(set, _)| *set) {
        Some((_, what)) => Err(not_yet(what)),
        None => Ok(()),
    }
}
