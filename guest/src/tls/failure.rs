//! Why a TLS connection failed, named as Python's `ssl` module names it, from rustls'
//! errors.

use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use crate::error::Error;

/// The reason carried by [`Error::Ssl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslErrorKind {
    /// `ssl.SSLCertVerificationError`: the peer's certificate is not trusted (unknown
    /// issuer, expired, not yet valid, revoked, bad signature, ...).
    CertificateVerifyFailed,
    /// `ssl.SSLCertVerificationError` "Hostname mismatch": the certificate is valid, but
    /// not for `server_hostname`.
    HostnameMismatch,
    /// asyncio's "SSL handshake is taking longer than N seconds": `ssl_handshake_timeout`
    /// passed before the handshake completed.
    HandshakeTimeout,
    /// The peer sent a TLS alert (e.g. it did not trust our certificate).
    PeerAlert,
    /// The peer sent something that is not TLS, or broke the protocol
    /// (`ssl.SSLError` "wrong version number", "decode error", ...).
    Protocol,
}

/// A rustls failure as an [`Error::Ssl`], with Python's wording where it has one.
pub(crate) fn from_rustls(error: &rustls::Error) -> Error {
    use rustls::Error as E;
    let (kind, message) = match error {
        E::InvalidCertificate(certificate) => certificate_failure(certificate),
        E::AlertReceived(alert) => {
            (SslErrorKind::PeerAlert, format!("peer sent alert: {}", alert_name(*alert)))
        }
        other => (SslErrorKind::Protocol, format!("TLS protocol error: {other}")),
    };
    Error::Ssl { kind, message }
}

fn certificate_failure(error: &CertificateError) -> (SslErrorKind, String) {
    use CertificateError as C;
    let reason = match error {
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            return (
                SslErrorKind::HostnameMismatch,
                format!("certificate verify failed: Hostname mismatch, certificate is not valid for the server name ({error})"),
            )
        }
        C::UnknownIssuer => "unable to get local issuer certificate".to_string(),
        C::Expired | C::ExpiredContext { .. } => "certificate has expired".to_string(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate is not yet valid".to_string(),
        C::BadSignature => "certificate signature failure".to_string(),
        C::Revoked => "certificate revoked".to_string(),
        other => format!("{other}"),
    };
    (SslErrorKind::CertificateVerifyFailed, format!("certificate verify failed: {reason}"))
}

fn alert_name(alert: AlertDescription) -> String {
    format!("{alert:?}")
}

/// asyncio's message for a handshake that took too long.
/// asyncio's error when `ssl_handshake_timeout` (`limit`) passed.
pub fn handshake_timeout(limit: Duration) -> Error {
    Error::Ssl {
        kind: SslErrorKind::HandshakeTimeout,
        message: format!(
            "SSL handshake is taking longer than {} seconds: aborting the connection",
            limit.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_certificate_failures() {
        let unknown = from_rustls(&rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert_eq!(
            unknown,
            Error::Ssl {
                kind: SslErrorKind::CertificateVerifyFailed,
                message: "certificate verify failed: unable to get local issuer certificate".into()
            }
        );
        let Error::Ssl { kind, .. } =
            from_rustls(&rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
        else {
            panic!()
        };
        assert_eq!(kind, SslErrorKind::HostnameMismatch);
        let Error::Ssl { kind, .. } =
            from_rustls(&rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
        else {
            panic!()
        };
        assert_eq!(kind, SslErrorKind::Protocol);
    }

    #[test]
    fn handshake_timeout_says_what_asyncio_says() {
        assert_eq!(
            handshake_timeout(Duration::from_millis(500)).to_string(),
            "SSL handshake is taking longer than 0.5 seconds: aborting the connection"
        );
    }
}
