//! Between the Rust API's TLS types and the WIT's (`tls-client-config`,
//! `tls-server-config`, `tls-upgrade`, `tls-info`): [`crate::wit_tls_conversions`] over
//! 0.1.0's generated types.

pub(super) use crate::tls::wit_records::millis;

crate::wit_tls_conversions!(super::bindings::exports::wasio::streams::types);
