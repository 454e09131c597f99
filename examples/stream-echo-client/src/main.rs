//! TCP echo client using streams, the asyncio 3.8 document's example line for line:
//! `connect` in a scope (`async with`), an awaited `write`, `read(100)`.
//!
//! Usage: stream-echo-client [HOST] [PORT] [MESSAGE]   (default 127.0.0.1 8888 "Hello World!")

use std::process::ExitCode;

use wasio::{connect, repr_str, runtime};

async fn tcp_echo_client(host: &str, port: u16, message: &str) -> wasio::Result<()> {
    connect(host, port)
        .await?
        .scope(async |stream| {
            println!("Send: {}", repr_str(message));
            stream.write(message.as_bytes()).await?;

            let data = stream.read(100).await?;
            println!("Received: {}", repr_str(&String::from_utf8_lossy(&data)));
            Ok(())
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
            eprintln!("usage: stream-echo-client [HOST] [PORT] [MESSAGE]");
            return ExitCode::from(2);
        }
    };
    let message = args.next().unwrap_or_else(|| "Hello World!".to_string());
    match runtime::block_on(tcp_echo_client(&host, port, &message)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-echo-client: {error}");
            ExitCode::FAILURE
        }
    }
}
