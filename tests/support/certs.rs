//! Certificates made at test time: a CA, and leaves it signs (ECDSA P-256, cheap to
//! verify inside wasm), written as PEM files into a temporary directory that a component
//! can be let read (`host --dir`).

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A test CA with a leaf for `localhost` and `127.0.0.1`, as `ca.pem`, `cert.pem` and
/// `key.pem` in [`dir`](Self::dir).
pub struct TestPki {
    pub dir: tempfile::TempDir,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestPki {
    pub fn new() -> TestPki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: a verifier looks an issuer up by name, and two CAs of one
        // name would make "unknown CA" a signature failure instead.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let serial = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("wasio test CA {} {serial}", std::process::id());
        ca_params.distinguished_name.push(DnType::CommonName, name);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let dir = tempfile::tempdir().unwrap();
        let mut pki =
            TestPki { dir, ca_params, ca_key, ca_pem, cert_pem: String::new(), key_pem: String::new() };
        let (cert_pem, key_pem) = pki.leaf(&["localhost", "127.0.0.1"], false);
        (pki.cert_pem, pki.key_pem) = (cert_pem, key_pem);
        for (name, text) in [("ca.pem", &pki.ca_pem), ("cert.pem", &pki.cert_pem), ("key.pem", &pki.key_pem)]
        {
            std::fs::write(pki.dir.path().join(name), text).unwrap();
        }
        pki
    }

    /// A leaf for `names` signed by this CA, expired long ago if `expired`:
    /// (certificate PEM, key PEM). It carries the authority key identifier that
    /// CPython 3.13's strict verification requires.
    pub fn leaf(&self, names: &[&str], expired: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        (params.signed_by(&key, &issuer).unwrap().pem(), key.serialize_pem())
    }

    /// The path of a file in [`dir`](Self::dir) (written there if `text` is given).
    pub fn file(&self, name: &str, text: Option<&str>) -> String {
        let path: PathBuf = self.dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        path.to_str().unwrap().to_string()
    }

    pub fn dir_path(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    /// A native TLS server configuration presenting `cert_pem` / `key_pem`.
    pub fn server_config(cert_pem: &str, key_pem: &str) -> Arc<rustls::ServerConfig> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }

    /// A native TLS client configuration trusting this CA.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(certificate.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The DER of the first certificate in `pem`.
pub fn der(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).next().unwrap().unwrap().to_vec()
}

pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}
