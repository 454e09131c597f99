//! TCP echo server (the asyncio docs' example, serving many clients at once).
//!
//! Usage: echo-server [HOST] [PORT]   (default 127.0.0.1 8888; port 0 picks a free one)
//! Prints `Serving on HOST:PORT` when ready.

use std::process::ExitCode;

use wasio::{runtime, start_server, StreamReader, StreamWriter};

/// Sends back everything the client sends, until it closes its side.
async fn handle_echo(reader: StreamReader, writer: StreamWriter) -> wasio::Result<()> {
    loop {
        let data = reader.read(64 * 1024).await?;
        if data.is_empty() {
            break;
        }
        writer.write(&data)?;
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match args.next().map(|p| p.parse::<u16>()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: echo-server [HOST] [PORT]");
            return ExitCode::from(2);
        }
    };
    let served = runtime::block_on(async {
        let server = start_server(handle_echo, &host, port).await?;
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
