//! Defaults for the WIT's option records, so callers name only what they set
//! (`ConnectOptions { ssl: Some(..), ..Default::default() }`): every `option` field
//! `None` means asyncio's default.

use super::{ConnectOptions, ServerOptions, TlsClientConfig, TlsServerConfig};

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            limit: None,
            local_address: None,
            happy_eyeballs_delay_ms: None,
            timeout_ms: None,
            ssl: None,
            server_hostname: None,
            ssl_handshake_timeout_ms: None,
            ssl_shutdown_timeout_ms: None,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limit: None,
            backlog: None,
            start_serving: None,
            ssl: None,
            ssl_handshake_timeout_ms: None,
            ssl_shutdown_timeout_ms: None,
        }
    }
}

/// `ssl.create_default_context()`: the provider's bundled webpki roots, certificate and
/// host-name verification on, TLS 1.2 at least, no ALPN.
impl Default for TlsClientConfig {
    fn default() -> Self {
        TlsClientConfig {
            ca_certificates: None,
            verify: None,
            check_hostname: None,
            alpn_protocols: Vec::new(),
            minimum_version: None,
        }
    }
}

impl TlsClientConfig {
    /// `ssl.create_default_context(cadata=pem)`: trusts exactly the CA certificates in `pem`.
    pub fn with_ca_pem(pem: impl Into<Vec<u8>>) -> Self {
        TlsClientConfig { ca_certificates: Some(pem.into()), ..TlsClientConfig::default() }
    }
}

impl TlsServerConfig {
    /// `load_cert_chain`: the certificate chain (leaf first) and its key, both PEM; no
    /// ALPN, TLS 1.2 at least.
    pub fn from_pem(certificate_chain: impl Into<Vec<u8>>, private_key: impl Into<Vec<u8>>) -> Self {
        TlsServerConfig {
            certificate_chain: certificate_chain.into(),
            private_key: private_key.into(),
            alpn_protocols: Vec::new(),
            minimum_version: None,
        }
    }
}
