//! The `tls` scenario's certificates, made at run time: a CA and a leaf it signs for
//! `localhost` and `127.0.0.1` (ECDSA P-256), as `ca.pem`, `cert.pem` and `key.pem` in a
//! temporary directory every server can read (ours through `host --dir`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The name the load generator verifies the servers' certificate against.
pub const SERVER_NAME: &str = "localhost";

/// A CA and a server certificate, as PEM files; the directory goes when this is dropped.
#[derive(Debug)]
pub struct BenchPki {
    dir: tempfile::TempDir,
    pub ca_pem: String,
}

impl BenchPki {
    pub fn new() -> Result<BenchPki> {
        let ca_key = KeyPair::generate().context("making the CA key")?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "wasio bench CA");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_pem = ca_params.self_signed(&ca_key).context("signing the CA")?.pem();

        let leaf_key = KeyPair::generate().context("making the server key")?;
        let mut leaf = CertificateParams::new(vec![SERVER_NAME.to_string(), "127.0.0.1".to_string()])?;
        leaf.distinguished_name.push(DnType::CommonName, SERVER_NAME);
        // CPython 3.13's default verification (VERIFY_X509_STRICT) requires it.
        leaf.use_authority_key_identifier_extension = true;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let cert_pem = leaf.signed_by(&leaf_key, &issuer).context("signing the server certificate")?.pem();

        let dir = tempfile::Builder::new().prefix("wasio-bench-tls").tempdir()?;
        for (name, text) in
            [("ca.pem", &ca_pem), ("cert.pem", &cert_pem), ("key.pem", &leaf_key.serialize_pem())]
        {
            let path = dir.path().join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(BenchPki { dir, ca_pem })
    }

    /// The directory holding the three files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's certificate chain (the leaf).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server's private key.
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}
