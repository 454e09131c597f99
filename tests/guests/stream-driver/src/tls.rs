//! TLS for the driver's connections (the PEM files read through the host's `--dir`):
//! `connect ... cafile=PEM [server_hostname=NAME] [handshake_ms=N] [shutdown_ms=N]`,
//! `listen ... cert=PEM key=PEM [handshake_ms=N] [shutdown_ms=N]`, and
//! `start_tls client CAFILE HOSTNAME [handshake_ms=N] [shutdown_ms=N]` /
//! `start_tls server CERT KEY [...]`, which upgrades the current connection and answers
//! with the TLS version.

use wasio::{
    ConnectOptions, Error, ServerOptions, StartTlsOptions, StreamWriter, TlsClientConfig, TlsServerConfig,
};

use crate::{millis, option};

/// `cafile=` makes the connection TLS (verifying against that CA).
pub fn connect_options(args: &[&str], options: &mut ConnectOptions) -> Result<(), Error> {
    if let Some(cafile) = option(args, "cafile") {
        options.ssl = Some(TlsClientConfig::with_ca_pem(&read(cafile)?)?);
    }
    options.server_hostname = option(args, "server_hostname").map(str::to_string);
    options.ssl_handshake_timeout = millis(args, "handshake_ms")?;
    options.ssl_shutdown_timeout = millis(args, "shutdown_ms")?;
    Ok(())
}

/// `cert=` and `key=` make the server serve TLS.
pub fn server_options(args: &[&str], options: &mut ServerOptions) -> Result<(), Error> {
    if let (Some(cert), Some(key)) = (option(args, "cert"), option(args, "key")) {
        options.ssl = Some(TlsServerConfig::from_pem(&read(cert)?, &read(key)?)?);
    }
    options.ssl_handshake_timeout = millis(args, "handshake_ms")?;
    options.ssl_shutdown_timeout = millis(args, "shutdown_ms")?;
    Ok(())
}

fn read(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|error| Error::InvalidArgument(format!("driver: cannot read {path}: {error}")))
}

pub async fn start_tls(writer: &StreamWriter, args: &[&str]) -> Result<String, Error> {
    let (positional, keywords): (Vec<&str>, Vec<&str>) = args.iter().partition(|arg| !arg.contains('='));
    let mut options = StartTlsOptions {
        ssl_handshake_timeout: millis(&keywords, "handshake_ms")?,
        ssl_shutdown_timeout: millis(&keywords, "shutdown_ms")?,
        ..StartTlsOptions::default()
    };
    match positional[..] {
        ["client", cafile, hostname] => {
            let config = TlsClientConfig::with_ca_pem(&read(cafile)?)?;
            options.server_hostname = Some(hostname.to_string());
            writer.start_tls_with(config, &options).await?
        }
        ["server", cert, key] => {
            let config = TlsServerConfig::from_pem(&read(cert)?, &read(key)?)?;
            writer.start_tls_with(config, &options).await?
        }
        _ => {
            return Err(Error::InvalidArgument(
                "driver: start_tls client CAFILE HOSTNAME | server CERT KEY [handshake_ms=N] [shutdown_ms=N]"
                    .into(),
            ))
        }
    }
    Ok(writer.tls_info().map(|info| info.version.to_string()).unwrap_or_default())
}
