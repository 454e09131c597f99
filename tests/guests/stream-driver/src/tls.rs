//! `start_tls client CAFILE HOSTNAME` / `start_tls server CERT KEY`: upgrades the current
//! connection (the PEM files read through the host's `--dir`); answers with the TLS
//! version.

use wasio::{Error, StreamWriter, TlsClientConfig, TlsServerConfig};

fn read(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|error| Error::InvalidArgument(format!("driver: cannot read {path}: {error}")))
}

pub async fn start_tls(writer: &StreamWriter, args: &[&str]) -> Result<String, Error> {
    match args {
        ["client", cafile, hostname] => {
            let config = TlsClientConfig::with_ca_pem(&read(cafile)?)?;
            writer.start_tls(config, Some(hostname)).await?
        }
        ["server", cert, key] => {
            let config = TlsServerConfig::from_pem(&read(cert)?, &read(key)?)?;
            writer.start_tls(config, None).await?
        }
        _ => {
            return Err(Error::InvalidArgument(
                "driver: start_tls client CAFILE HOSTNAME | server CERT KEY".into(),
            ))
        }
    }
    Ok(writer.tls_info().map(|info| info.version.to_string()).unwrap_or_default())
}
