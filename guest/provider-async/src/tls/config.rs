//! Between the 0.2.0 WIT's TLS records and wasio's TLS types (as the 0.1.0 provider's
//! `provider/tls.rs` does for 0.1.0's generated types).

use std::time::Duration;

use wasio::error::Error;
use wasio::{TlsClientConfig, TlsInfo, TlsServerConfig, TlsUpgrade, TlsVersion};

use crate::wit;

/// `tls-client-config` as asyncio's client `SSLContext`: `create_default_context()`
/// (the bundled roots), or `cadata=` when CA certificates are given.
pub(crate) fn client_config(config: &wit::TlsClientConfig) -> Result<TlsClientConfig, Error> {
    let mut result = match &config.ca_certificates {
        Some(pem) => TlsClientConfig::with_ca_pem(pem)?,
        None => TlsClientConfig::new(),
    };
    if let Some(verify) = config.verify {
        result.set_verify(verify);
    }
    if let Some(check) = config.check_hostname {
        result.set_check_hostname(check);
    }
    if !config.alpn_protocols.is_empty() {
        result.set_alpn_protocols(&strs(&config.alpn_protocols));
    }
    if let Some(version) = config.minimum_version {
        result.set_minimum_version(version_of(version));
    }
    Ok(result)
}

/// `tls-server-config` as asyncio's server `SSLContext` after `load_cert_chain`.
pub(crate) fn server_config(config: &wit::TlsServerConfig) -> Result<TlsServerConfig, Error> {
    let minimum = config.minimum_version.map_or(TlsVersion::Tls12, version_of);
    let mut result = TlsServerConfig::from_pem_with_minimum_version(
        &config.certificate_chain,
        &config.private_key,
        minimum,
    )?;
    if !config.alpn_protocols.is_empty() {
        result.set_alpn_protocols(&strs(&config.alpn_protocols));
    }
    Ok(result)
}

pub(crate) fn upgrade(config: &wit::TlsUpgrade) -> Result<TlsUpgrade, Error> {
    Ok(match config {
        wit::TlsUpgrade::Client(config) => TlsUpgrade::Client(client_config(config)?),
        wit::TlsUpgrade::Server(config) => TlsUpgrade::Server(server_config(config)?),
    })
}

pub(crate) fn info(info: TlsInfo) -> wit::TlsInfo {
    wit::TlsInfo {
        peer_certificate: info.peer_certificate,
        cipher: info.cipher,
        version: info.version,
        alpn_protocol: info.alpn_protocol,
    }
}

/// A WIT timeout in milliseconds, as wasio's.
pub(crate) fn millis(ms: Option<u32>) -> Option<Duration> {
    ms.map(|ms| Duration::from_millis(ms.into()))
}

fn version_of(version: wit::TlsVersion) -> TlsVersion {
    match version {
        wit::TlsVersion::Tls12 => TlsVersion::Tls12,
        wit::TlsVersion::Tls13 => TlsVersion::Tls13,
    }
}

fn strs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}
