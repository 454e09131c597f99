//! TCP echo server using `StreamServer`, the asyncio 3.8 document's example line for
//! line: each client's handler gets one `Stream`, reads up to 100 bytes, sends them back
//! and closes; the server runs in a scope (`async with`) and serves forever.
//!
//! Usage: stream-echo-server [HOST] [PORT]   (default 127.0.0.1 8888; port 0 picks a free one)
//! Prints `Serving on HOST:PORT` when ready.

use std::process::ExitCode;

use wasio::{repr_address, repr_str, runtime, Stream, StreamServer};

async fn handle_echo(stream: Stream) -> wasio::Result<()> {
    let data = stream.read(100).await?;
    let message = String::from_utf8_lossy(&data);
    let addr = stream.get_extra_info("peername").and_then(|info| info.as_address());
    let addr = addr.map_or_else(|| "None".to_string(), repr_address);

    println!("Received {} from {addr}", repr_str(&message));

    println!("Send: {}", repr_str(&message));
    stream.write(&data).await?;

    println!("Close the connection");
    stream.close().await
}

async fn serve(host: &str, port: u16) -> wasio::Result<()> {
    StreamServer::new(handle_echo, host, port)
        .scope(async |server| {
            let addr = server.sockets()[0];
            println!("Serving on {addr}");
            server.serve_forever().await
        })
        .await
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match args.next().map(|p| p.parse::<u16>()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: stream-echo-server [HOST] [PORT]");
            return ExitCode::from(2);
        }
    };
    match runtime::block_on(serve(&host, port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-echo-server: {error}");
            ExitCode::FAILURE
        }
    }
}
