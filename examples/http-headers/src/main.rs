//! Prints an HTTP server's response headers (the asyncio docs' "Get HTTP headers"
//! example): a HEAD request, then readline over the response until EOF.
//!
//! Usage: http-headers [--cafile PEM] URL
//!   URL      http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH] (`ssl=True`:
//!            verified against the bundled webpki roots)
//!   --cafile trust the CA certificates in PEM instead of the bundled roots (a file the
//!            host lets the component read: `host --dir DIR ...`)

use std::process::ExitCode;

use wasio::{open_connection_with, runtime, ConnectOptions, TlsClientConfig};

/// The parts of an `http://` or `https://` URL this example needs.
struct Url {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err("only http:// and https:// URLs are supported".into()),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, port.parse().map_err(|_| format!("bad port in {url}"))?)
        }
        _ => (authority, if https { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Url { https, host, port, path: path.to_string() })
}

async fn print_http_headers(url: &Url, tls: TlsClientConfig) -> wasio::Result<()> {
    let options = ConnectOptions { ssl: url.https.then_some(tls), ..ConnectOptions::default() };
    let (reader, writer) = open_connection_with(&url.host, url.port, options).await?;
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
    const USAGE: &str = "usage: http-headers [--cafile PEM] http[s]://HOST[:PORT][/PATH]";
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut tls = TlsClientConfig::new();
    if args.first().map(String::as_str) == Some("--cafile") && args.len() > 1 {
        let path = args.remove(1);
        args.remove(0);
        let loaded = std::fs::read(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))
            .and_then(|pem| TlsClientConfig::with_ca_pem(&pem).map_err(|error| format!("{path}: {error}")));
        match loaded {
            Ok(config) => tls = config,
            Err(message) => {
                eprintln!("http-headers: {message}");
                return ExitCode::from(2);
            }
        }
    }
    let [url] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let url = match parse_url(url) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("http-headers: {message}");
            return ExitCode::from(2);
        }
    };
    match runtime::block_on(print_http_headers(&url, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http-headers: {error}");
            ExitCode::FAILURE
        }
    }
}
