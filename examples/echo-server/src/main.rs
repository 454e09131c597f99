//! TCP echo server (the asyncio docs' example, serving many clients at once).
//!
//! Usage: echo-server [--chunks | --lines] [--tls-cert PEM --tls-key PEM] [HOST] [PORT]
//!   (default 127.0.0.1 8888 --chunks; port 0 picks a free one)
//!   --chunks  echo what arrives as it arrives: `read(64 KiB)`, `write`, `drain`
//!   --lines   echo line by line: `readline`, `write`, `drain` (what asyncio's example does)
//!   --tls-cert PEM --tls-key PEM  serve TLS with this certificate chain and key (files
//!             the host lets the component read: `host --dir DIR ...`)
//! Prints `Serving on HOST:PORT` when ready.

use std::process::ExitCode;

use wasio::{runtime, start_server_with, ServerOptions, StreamReader, StreamWriter, TlsServerConfig};

/// How a client's bytes are read before they are sent back.
#[derive(Clone, Copy)]
enum Echo {
    Chunks,
    Lines,
}

/// Sends back everything the client sends, until it closes its side.
async fn handle_echo(echo: Echo, reader: StreamReader, writer: StreamWriter) -> wasio::Result<()> {
    loop {
        let data = match echo {
            Echo::Chunks => reader.read(64 * 1024).await?,
            // The unterminated last line comes at EOF, so nothing sent is lost.
            Echo::Lines => reader.readline().await?,
        };
        if data.is_empty() {
            break;
        }
        writer.write(&data)?;
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

const USAGE: &str = "usage: echo-server [--chunks | --lines] [--tls-cert PEM --tls-key PEM] [HOST] [PORT]";

fn main() -> ExitCode {
    let mut echo = Echo::Chunks;
    let mut positional = Vec::new();
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--chunks" => echo = Echo::Chunks,
            "--lines" => echo = Echo::Lines,
            "--tls-cert" => tls_cert = args.next(),
            "--tls-key" => tls_key = args.next(),
            _ if arg.starts_with("--") => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let host = positional.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match positional.next().map(|p| p.parse::<u16>()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if positional.next().is_some() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut options = ServerOptions::default();
    match (tls_cert, tls_key) {
        (None, None) => {}
        (Some(cert), Some(key)) => match tls_config(&cert, &key) {
            Ok(config) => options.ssl = Some(config),
            Err(error) => {
                eprintln!("echo-server: {error}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("echo-server: --tls-cert and --tls-key go together\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let served = runtime::block_on(async {
        let handler = move |reader, writer| handle_echo(echo, reader, writer);
        let server = start_server_with(handler, &host, port, options).await?;
        for address in server.sockets() {
            println!("Serving on {address}");
        }
        server.serve_forever().await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The server's TLS configuration from its certificate chain and key files.
fn tls_config(cert: &str, key: &str) -> Result<TlsServerConfig, String> {
    let read = |path: &str| std::fs::read(path).map_err(|error| format!("cannot read {path}: {error}"));
    TlsServerConfig::from_pem(&read(cert)?, &read(key)?).map_err(|error| error.to_string())
}
