//! TCP echo server (the asyncio docs' example, serving many clients at once).
//!
//! Usage: echo-server [HOST] [PORT] [--chunks | --lines]
//!   (default 127.0.0.1 8888 --chunks; port 0 picks a free one)
//!   --chunks  echo what arrives as it arrives: `read(64 KiB)`, `write`, `drain`
//!   --lines   echo line by line: `readline`, `write`, `drain` (what asyncio's example does)
//! Prints `Serving on HOST:PORT` when ready.

use std::process::ExitCode;

use wasio::{runtime, start_server, StreamReader, StreamWriter};

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

const USAGE: &str = "usage: echo-server [HOST] [PORT] [--chunks | --lines]";

fn main() -> ExitCode {
    let mut echo = Echo::Chunks;
    let mut positional = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--chunks" => echo = Echo::Chunks,
            "--lines" => echo = Echo::Lines,
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
    let served = runtime::block_on(async {
        let server =
            start_server(move |reader, writer| handle_echo(echo, reader, writer), &host, port).await?;
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
