//! Prints an HTTP server's response headers (the asyncio docs' "Get HTTP headers"
//! example): a HEAD request, then readline over the response until EOF.
//!
//! Usage: http-headers http://HOST[:PORT][/PATH]

use std::process::ExitCode;

use wasio::{open_connection, runtime};

/// The parts of an `http://` URL this example needs.
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
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
    let (reader, writer) = open_connection(&url.host, url.port).await?;
    let query = format!("HEAD {} HTTP/1.0\r\nHost: {}\r\n\r\n", url.path, url.host);
    writer.write(query.as_bytes())?;
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            break;
        }
        // Headers are latin-1: every byte is one character.
        let line: String = line.iter().map(|&b| b as char).collect();
        let line = line.trim_end();
        if !line.is_empty() {
            println!("HTTP header> {line}");
        }
    }
    // Ignore the body and close the connection.
    writer.close();
    writer.wait_closed().await
}

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: http-headers http://HOST[:PORT][/PATH]");
        return ExitCode::from(2);
    };
    let url = match parse_url(&url) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("http-headers: {message}");
            return ExitCode::from(2);
        }
    };
    match runtime::block_on(print_http_headers(&url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http-headers: {error}");
            ExitCode::FAILURE
        }
    }
}
