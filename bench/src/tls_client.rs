//! The load generator's side of the `tls` scenario: rustls (ring) trusting the bench CA,
//! verifying `localhost`, with session resumption off so every connection is a full
//! handshake on every server alike.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::certs::SERVER_NAME;
use crate::deadline::within;

/// Opens verified TLS connections to the servers under test.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl TlsClient {
    /// A client trusting only `ca_pem`, offering rustls' cipher suites in its order, or only
    /// `only_suite` (e.g. `TLS13_CHACHA20_POLY1305_SHA256`) when given.
    pub fn new(ca_pem: &str, only_suite: Option<&str>) -> Result<TlsClient> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(certificate.context("reading the CA PEM")?).context("adding the CA")?;
        }
        let mut provider = rustls::crypto::ring::default_provider();
        if let Some(only) = only_suite {
            let known: Vec<String> =
                provider.cipher_suites.iter().map(|suite| format!("{:?}", suite.suite())).collect();
            provider.cipher_suites.retain(|suite| format!("{:?}", suite.suite()) == only);
            if provider.cipher_suites.is_empty() {
                bail!("unknown cipher suite {only}; rustls (ring) has {}", known.join(", "));
            }
        }
        let provider = Arc::new(provider);
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        Ok(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
            server_name: ServerName::try_from(SERVER_NAME)?,
        })
    }

    /// Connects to `address` (TCP_NODELAY, as the other scenarios) and completes the handshake;
    /// `what` names the connection in errors.
    pub async fn connect(
        &self,
        address: SocketAddr,
        what: impl Fn() -> String,
        io_timeout: Duration,
    ) -> Result<TlsStream<TcpStream>> {
        let tcp = within(
            io_timeout,
            || format!("{}: connecting to {address}", what()),
            TcpStream::connect(address),
        )
        .await?;
        tcp.set_nodelay(true)?;
        let handshake = self.connector.connect(self.server_name.clone(), tcp);
        within(io_timeout, || format!("{}: TLS handshake", what()), handshake).await
    }
}
