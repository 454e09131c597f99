//! TCP echo client (the asyncio docs' example): connect, send a message, print what
//! comes back, close.
//!
//! Usage: echo-client [--cafile PEM] [--server-hostname NAME] [--ssl-handshake-timeout SECS]
//!                    [HOST] [PORT] [MESSAGE]   (default 127.0.0.1 8888 "Hello World!")
//!   --cafile PEM  connect with TLS, trusting the CA certificates in PEM (a file the host
//!                 lets the component read: `host --dir DIR ...`)
//!   --server-hostname NAME  the name the certificate must have (default HOST)
//!   --ssl-handshake-timeout SECS  how long the handshake may take (default 60)

use std::process::ExitCode;
use std::time::Duration;

use wasio::{open_connection_with, runtime, ConnectOptions, TlsClientConfig};

async fn tcp_echo_client(host: &str, port: u16, message: &str, options: ConnectOptions) -> wasio::Result<()> {
    let (reader, writer) = open_connection_with(host, port, options).await?;
    if let Some(tls) = writer.tls_info() {
        println!("TLS: {} {}", tls.version, tls.cipher);
    }

    println!("Send: {message:?}");
    writer.write(message.as_bytes())?;
    writer.drain().await?;

    let data = reader.read(100).await?;
    println!("Received: {:?}", String::from_utf8_lossy(&data));

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

const USAGE: &str = "usage: echo-client [--cafile PEM] [--server-hostname NAME] [--ssl-handshake-timeout SECS] [HOST] [PORT] [MESSAGE]";

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut options = ConnectOptions::default();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cafile" => {
                let Some(path) = args.next() else { return usage() };
                let config = std::fs::read(&path)
                    .map_err(|error| format!("cannot read {path}: {error}"))
                    .and_then(|pem| TlsClientConfig::with_ca_pem(&pem).map_err(|error| error.to_string()));
                match config {
                    Ok(config) => options.ssl = Some(config),
                    Err(error) => {
                        eprintln!("echo-client: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            "--server-hostname" => options.server_hostname = args.next(),
            "--ssl-handshake-timeout" => match args.next().and_then(|secs| secs.parse::<f64>().ok()) {
                Some(secs) if secs >= 0.0 => {
                    options.ssl_handshake_timeout = Some(Duration::from_secs_f64(secs))
                }
                _ => return usage(),
            },
            _ if arg.starts_with("--") => return usage(),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let host = positional.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match positional.next().map(|p| p.parse::<u16>()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(_)) => return usage(),
    };
    let message = positional.next().unwrap_or_else(|| "Hello World!".to_string());
    match runtime::block_on(tcp_echo_client(&host, port, &message, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo-client: {error}");
            ExitCode::FAILURE
        }
    }
}
