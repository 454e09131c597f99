//! TLS as asyncio's `ssl=` has it, done inside the component with rustls and ring, so it
//! runs on any WASI 0.2 host with no new imports.
//!
//! [`TlsClientConfig`] is asyncio's client `SSLContext` (`ssl.create_default_context()`),
//! [`TlsServerConfig`] its server one (`load_cert_chain`); pass them as
//! [`ConnectOptions::ssl`](crate::ConnectOptions::ssl) and
//! [`ServerOptions::ssl`](crate::ServerOptions::ssl). The reader and writer keep every
//! asyncio semantic over TLS: only where the bytes come from and go to changes.
//!
//! Crypto inside wasm has no constant-time guarantee (the wasm engine decides what
//! instructions run); weigh that before using it against a local attacker.

/// asyncio's checks of the TLS keyword arguments, shared with the WASI 0.3 provider.
pub mod arguments;
mod chacha20_poly1305;
mod client_config;
mod failure;
mod info;
mod server_config;
mod session;
mod upgrade;
mod verifier;
#[doc(hidden)]
pub mod wit_records;

pub use client_config::{TlsClientConfig, TlsVersion};
pub use failure::SslErrorKind;
pub use info::TlsInfo;
pub use server_config::TlsServerConfig;
pub use session::{TlsSession, DEFAULT_SSL_HANDSHAKE_TIMEOUT, DEFAULT_SSL_SHUTDOWN_TIMEOUT};
pub use upgrade::{StartTlsOptions, TlsUpgrade};

pub(crate) use failure::from_rustls;
pub use failure::handshake_timeout;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::SupportedProtocolVersion;

/// ring's suites (the provider that builds for wasm32-wasip2), ChaCha20-Poly1305 first,
/// TLS 1.3's with our SIMD ChaCha20 ([`chacha20_poly1305`]; 1.35× ring's bulk echo).
///
/// WebAssembly has no AES instructions, so AES-GCM runs as ring's constant-time software
/// AES, at about a fifth of ChaCha20-Poly1305's speed in wasm (bulk echo: 23 vs 89-102
/// MiB/s, `./scripts/bench --scenario tls`). ChaCha20-Poly1305 is the suite TLS offers for
/// machines without AES hardware; peers that have it (OpenSSL, rustls) support both. So
/// our client offers it first and our server picks it whenever the client offers it
/// ([`TlsServerConfig`] ignores the client's order).
fn provider() -> Arc<CryptoProvider> {
    use rustls::CipherSuite;
    let mut provider = rustls::crypto::ring::default_provider();
    let is_chacha = |suite: &rustls::SupportedCipherSuite| {
        matches!(
            suite.suite(),
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        )
    };
    // Stable: the rest keep ring's order (TLS 1.3 before 1.2, AES-256 before AES-128).
    provider.cipher_suites.sort_by_key(|suite| !is_chacha(suite));
    // TLS 1.3's ChaCha20-Poly1305 with our SIMD ChaCha20 in place of ring's scalar one.
    for suite in &mut provider.cipher_suites {
        if suite.suite() == CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 {
            *suite = *chacha20_poly1305::TLS13_CHACHA20_POLY1305_SHA256;
        }
    }
    Arc::new(provider)
}

/// The protocol versions at or above `minimum`.
fn versions(minimum: TlsVersion) -> &'static [&'static SupportedProtocolVersion] {
    static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match minimum {
        TlsVersion::Tls12 => rustls::ALL_VERSIONS,
        TlsVersion::Tls13 => &TLS13_ONLY,
    }
}

/// Reads every certificate in a PEM text (`ssl`'s `cadata` / a certificate chain file).
fn certificates_from_pem(
    pem: &[u8],
    what: &str,
) -> crate::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certificates = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| crate::Error::invalid_argument(format!("{what}: {error}")))?;
    if certificates.is_empty() {
        return Err(crate::Error::invalid_argument(format!("{what}: no PEM certificate found")));
    }
    Ok(certificates)
}
