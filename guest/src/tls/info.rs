//! What asyncio's `get_extra_info` tells about a TLS connection.

/// A TLS session's details, known once its handshake completed
/// (`get_extra_info('peercert' / 'cipher' / 'ssl_object')`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The peer's end-entity certificate, DER-encoded (`getpeercert(binary_form=True)`);
    /// `None` when it sent none (a client, with no client authentication).
    pub peer_certificate: Option<Vec<u8>>,
    /// The negotiated cipher suite's IANA name, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// `TLSv1.2` or `TLSv1.3`, as `SSLObject.version()` says.
    pub version: String,
    /// The protocol both sides chose by ALPN (`selected_alpn_protocol()`).
    pub alpn_protocol: Option<String>,
}

impl TlsInfo {
    pub(crate) fn of(connection: &rustls::Connection) -> TlsInfo {
        let version = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        let cipher = connection
            .negotiated_cipher_suite()
            .map(|suite| {
                suite.suite().as_str().map_or_else(|| format!("{:?}", suite.suite()), str::to_string)
            })
            .unwrap_or_default();
        TlsInfo {
            peer_certificate: connection
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| der.to_vec()),
            cipher,
            version,
            alpn_protocol: connection
                .alpn_protocol()
                .map(|protocol| String::from_utf8_lossy(protocol).into_owned()),
        }
    }
}
