//! The server side's `SSLContext`: the certificate chain and key it presents, and ALPN.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::ServerConfig;

use super::TlsVersion;
use crate::error::{Error, Result};
use crate::transport::{self, TlsLayer};

/// asyncio's server `SSLContext` after `load_cert_chain(certfile, keyfile)`. No client
/// certificates are asked for. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
    /// Makes a session (see `TlsClientConfig`'s: rustls only where it is used).
    accept: fn(&TlsServerConfig, Duration) -> Result<Box<dyn TlsLayer>>,
}

impl TlsServerConfig {
    /// `load_cert_chain`: `cert_chain_pem` holds the server's certificate first, then
    /// its intermediates; `key_pem` its private key (PKCS#8, PKCS#1 or SEC1). Fails with
    /// [`Error::InvalidArgument`] when either does not parse or they do not match.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        Self::build(cert_chain_pem, key_pem, TlsVersion::Tls12)
    }

    /// Like [`from_pem`](Self::from_pem), accepting no version below `minimum`.
    pub fn from_pem_with_minimum_version(
        cert_chain_pem: &[u8],
        key_pem: &[u8],
        minimum: TlsVersion,
    ) -> Result<Self> {
        Self::build(cert_chain_pem, key_pem, minimum)
    }

    fn build(cert_chain_pem: &[u8], key_pem: &[u8], minimum: TlsVersion) -> Result<Self> {
        let chain = super::certificates_from_pem(cert_chain_pem, "certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|error| Error::invalid_argument(format!("private key: {error}")))?;
        let mut config = ServerConfig::builder_with_provider(super::provider())
            .with_protocol_versions(super::versions(minimum))
            .map_err(|error| Error::invalid_argument(format!("TLS versions: {error}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| Error::invalid_argument(format!("certificate and key: {error}")))?;
        // Our order (ChaCha20-Poly1305 first: see `provider`), not the client's.
        config.ignore_client_order = true;
        Ok(TlsServerConfig { config: Arc::new(config), accept: transport::tls_server })
    }

    /// `set_alpn_protocols`: the protocols the server accepts, in order of preference.
    pub fn set_alpn_protocols(&mut self, protocols: &[&str]) {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.iter().map(|protocol| protocol.as_bytes().to_vec()).collect();
    }

    /// A server session for a newly accepted client.
    pub(crate) fn session(&self, handshake_timeout: Duration) -> Result<Box<dyn TlsLayer>> {
        (self.accept)(self, handshake_timeout)
    }

    pub(crate) fn rustls_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }
}
