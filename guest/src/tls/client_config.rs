//! The client side's `SSLContext`: which certificates to trust, whether to verify them
//! and the host name, ALPN and the lowest protocol version.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};

use super::verifier::LenientVerifier;
use crate::error::{Error, Result};
use crate::transport::{self, TlsLayer};

/// The lowest TLS version a connection accepts (`SSLContext.minimum_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// asyncio's client `SSLContext`. [`TlsClientConfig::new`] is
/// `ssl.create_default_context()`: the bundled webpki (Mozilla) roots, certificate and
/// host-name verification on, TLS 1.2 at least. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsClientConfig {
    roots: RootCertStore,
    verify: bool,
    check_hostname: bool,
    alpn_protocols: Vec<Vec<u8>>,
    minimum_version: TlsVersion,
    /// The rustls configuration, built on first use; any setter starts it afresh.
    built: OnceLock<Arc<ClientConfig>>,
    /// Makes a session: set only by the constructors, so rustls is linked into a
    /// component only if it makes a configuration.
    open: OpenSession,
}

type OpenSession = fn(&TlsClientConfig, &str, Duration) -> Result<Box<dyn TlsLayer>>;

impl Default for TlsClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsClientConfig {
    /// `ssl.create_default_context()`: trusts the bundled webpki roots (none without
    /// the `webpki-roots` feature), verifies the certificate and the host name.
    pub fn new() -> Self {
        let mut config = Self::trusting_nothing();
        config.load_default_certs();
        config
    }

    /// `ssl.create_default_context(cadata=pem)`: trusts exactly the CA certificates in
    /// `pem` (one or more `BEGIN CERTIFICATE` blocks).
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self> {
        let mut config = Self::trusting_nothing();
        config.load_verify_locations(pem)?;
        Ok(config)
    }

    fn trusting_nothing() -> Self {
        TlsClientConfig {
            roots: RootCertStore::empty(),
            verify: true,
            check_hostname: true,
            alpn_protocols: Vec::new(),
            minimum_version: TlsVersion::Tls12,
            built: OnceLock::new(),
            open: transport::tls_client,
        }
    }

    /// `load_default_certs()`: adds the bundled webpki roots.
    pub fn load_default_certs(&mut self) {
        #[cfg(feature = "webpki-roots")]
        self.roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        self.built = OnceLock::new();
    }

    /// `load_verify_locations(cadata=pem)`: also trusts the CA certificates in `pem`.
    pub fn load_verify_locations(&mut self, pem: &[u8]) -> Result<()> {
        for certificate in super::certificates_from_pem(pem, "CA certificates")? {
            self.roots
                .add(certificate)
                .map_err(|error| Error::invalid_argument(format!("CA certificates: {error}")))?;
        }
        self.built = OnceLock::new();
        Ok(())
    }

    /// `verify_mode = CERT_REQUIRED` (true, the default) or `CERT_NONE` (false: any
    /// certificate is accepted, and so is any host name; the handshake still checks the
    /// peer's signatures).
    pub fn set_verify(&mut self, verify: bool) {
        self.verify = verify;
        self.built = OnceLock::new();
    }

    /// `check_hostname`: whether the certificate must name `server_hostname` (default
    /// true).
    pub fn set_check_hostname(&mut self, check: bool) {
        self.check_hostname = check;
        self.built = OnceLock::new();
    }

    /// `set_alpn_protocols`: offered in order of preference (e.g. `["h2", "http/1.1"]`).
    pub fn set_alpn_protocols(&mut self, protocols: &[&str]) {
        self.alpn_protocols = protocols.iter().map(|protocol| protocol.as_bytes().to_vec()).collect();
        self.built = OnceLock::new();
    }

    /// `minimum_version` (default TLS 1.2).
    pub fn set_minimum_version(&mut self, version: TlsVersion) {
        self.minimum_version = version;
        self.built = OnceLock::new();
    }

    /// A client session checking the certificate against `server_hostname`.
    pub(crate) fn session(
        &self,
        server_hostname: &str,
        handshake_timeout: Duration,
    ) -> Result<Box<dyn TlsLayer>> {
        (self.open)(self, server_hostname, handshake_timeout)
    }

    /// The rustls configuration these settings make.
    pub(crate) fn rustls_config(&self) -> Result<Arc<ClientConfig>> {
        if let Some(config) = self.built.get() {
            return Ok(Arc::clone(config));
        }
        let provider = super::provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(super::versions(self.minimum_version))
            .map_err(|error| Error::invalid_argument(format!("TLS versions: {error}")))?;
        let builder = if self.verify && self.check_hostname {
            builder.with_root_certificates(self.roots.clone())
        } else {
            let verifier = LenientVerifier::new(self.roots.clone(), self.verify, provider)?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier))
        };
        let mut config = builder.with_no_client_auth();
        config.alpn_protocols = self.alpn_protocols.clone();
        let config = Arc::new(config);
        let _ = self.built.set(Arc::clone(&config));
        Ok(config)
    }
}
