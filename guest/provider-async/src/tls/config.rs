//! Between the 0.2.0 WIT's TLS records and wasio's TLS types: the 0.1.0 provider's
//! conversions ([`wasio::wit_tls_conversions`]) over the 0.2.0 package's generated types.

pub(crate) use wasio::tls::wit_records::millis;

wasio::wit_tls_conversions!(crate::exports::wasio::streams::types);
