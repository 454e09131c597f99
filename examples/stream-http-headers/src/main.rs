//! Get HTTP headers, the asyncio 3.8 document's example line for line: `connect`, a
//! `write` that is not awaited, a `readline` loop printing `HTTP header> ...`, an
//! awaited `close`.
//!
//! Usage: stream-http-headers http://HOST[:PORT][/PATH]
//! (`https://` URLs wait for `connect`'s TLS option and are refused with a message.)

use std::process::ExitCode;

use wasio::{connect, runtime};

/// The parts of a URL this example needs (`urllib.parse.urlsplit`'s).
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    if url.starts_with("https://") {
        return Err("https:// needs TLS (connect's ssl option), which this example does not use yet".into());
    }
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, port.parse().map_err(|_| format!("bad port in {url}"))?)
        }
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Url { host, port, path: path.to_string() })
}

async fn print_http_headers(url: &Url) -> wasio::Result<()> {
    let stream = connect(&url.host, url.port).await?;

    let path = if url.path.is_empty() { "/" } else { &url.path };
    let query = format!("HEAD {path} HTTP/1.0\r\nHost: {}\r\n\r\n", url.host);

    stream.write_nowait(query.as_bytes())?;
    loop {
        let line = stream.readline().await?;
        if line.is_empty() {
            break;
        }
        // latin-1: every byte is one character.
        let line: String = line.iter().map(|&b| b as char).collect();
        let line = line.trim_end();
        if !line.is_empty() {
            println!("HTTP header> {line}");
        }
    }

    // Ignore the body, close the socket
    stream.close().await
}

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: stream-http-headers http://HOST[:PORT][/PATH]");
        return ExitCode::from(2);
    };
    let url = match parse_url(&url) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("stream-http-headers: {message}");
            return ExitCode::from(2);
        }
    };
    match runtime::block_on(print_http_headers(&url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-http-headers: {error}");
            ExitCode::FAILURE
        }
    }
}
