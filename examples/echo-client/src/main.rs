//! TCP echo client (the asyncio docs' example): connect, send a message, print what
//! comes back, close.
//!
//! Usage: echo-client [HOST] [PORT] [MESSAGE]   (default 127.0.0.1 8888 "Hello World!")

use std::process::ExitCode;

use wasio::{open_connection, runtime};

async fn tcp_echo_client(host: &str, port: u16, message: &str) -> wasio::Result<()> {
    let (reader, writer) = open_connection(host, port).await?;

    println!("Send: {message:?}");
    writer.write(message.as_bytes())?;
    writer.drain().await?;

    let data = reader.read(100).await?;
    println!("Received: {:?}", String::from_utf8_lossy(&data));

    println!("Close the connection");
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
            eprintln!("usage: echo-client [HOST] [PORT] [MESSAGE]");
            return ExitCode::from(2);
        }
    };
    let message = args.next().unwrap_or_else(|| "Hello World!".to_string());
    match runtime::block_on(tcp_echo_client(&host, port, &message)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo-client: {error}");
            ExitCode::FAILURE
        }
    }
}
