//! The WIT's TLS records (`tls-client-config`, `tls-server-config`, `tls-upgrade`,
//! `tls-info`) as wasio's TLS types, for either streams package: each generated module has
//! its own types, so the conversions are written once here and expanded in each provider.

/// Defines `client_config`, `server_config`, `upgrade` and `info` in the calling module for
/// the generated `types` module at `$wit`.
#[macro_export]
#[doc(hidden)]
macro_rules! wit_tls_conversions {
    ($($wit:ident)::+) => {
        /// `tls-client-config` as asyncio's client `SSLContext`: `create_default_context()`
        /// (the bundled roots), or `cadata=` when CA certificates are given.
        pub(crate) fn client_config(
            config: &$($wit)::+::TlsClientConfig,
        ) -> Result<$crate::TlsClientConfig, $crate::Error> {
            let mut result = match &config.ca_certificates {
                Some(pem) => $crate::TlsClientConfig::with_ca_pem(pem)?,
                None => $crate::TlsClientConfig::new(),
            };
            if let Some(verify) = config.verify {
                result.set_verify(verify);
            }
            if let Some(check) = config.check_hostname {
                result.set_check_hostname(check);
            }
            if !config.alpn_protocols.is_empty() {
                result.set_alpn_protocols(&$crate::tls::wit_records::strs(&config.alpn_protocols));
            }
            if let Some(version) = config.minimum_version {
                result.set_minimum_version(version_of(version));
            }
            Ok(result)
        }

        /// `tls-server-config` as asyncio's server `SSLContext` after `load_cert_chain`.
        pub(crate) fn server_config(
            config: &$($wit)::+::TlsServerConfig,
        ) -> Result<$crate::TlsServerConfig, $crate::Error> {
            let minimum = config.minimum_version.map_or($crate::TlsVersion::Tls12, version_of);
            let mut result = $crate::TlsServerConfig::from_pem_with_minimum_version(
                &config.certificate_chain,
                &config.private_key,
                minimum,
            )?;
            if !config.alpn_protocols.is_empty() {
                result.set_alpn_protocols(&$crate::tls::wit_records::strs(&config.alpn_protocols));
            }
            Ok(result)
        }

        pub(crate) fn upgrade(
            config: &$($wit)::+::TlsUpgrade,
        ) -> Result<$crate::TlsUpgrade, $crate::Error> {
            use $($wit)::+::TlsUpgrade as Wit;
            Ok(match config {
                Wit::Client(config) => $crate::TlsUpgrade::Client(client_config(config)?),
                Wit::Server(config) => $crate::TlsUpgrade::Server(server_config(config)?),
            })
        }

        pub(crate) fn info(info: $crate::TlsInfo) -> $($wit)::+::TlsInfo {
            $($wit)::+::TlsInfo {
                peer_certificate: info.peer_certificate,
                cipher: info.cipher,
                version: info.version,
                alpn_protocol: info.alpn_protocol,
            }
        }

        fn version_of(version: $($wit)::+::TlsVersion) -> $crate::TlsVersion {
            use $($wit)::+::TlsVersion as Wit;
            match version {
                Wit::Tls12 => $crate::TlsVersion::Tls12,
                Wit::Tls13 => $crate::TlsVersion::Tls13,
            }
        }
    };
}

/// The ALPN names as `&str`s.
#[doc(hidden)]
pub fn strs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}

/// A WIT timeout in milliseconds (`none`: the default) as a `Duration`.
pub fn millis(ms: Option<u32>) -> Option<std::time::Duration> {
    ms.map(|ms| std::time::Duration::from_millis(ms.into()))
}
