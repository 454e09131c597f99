//! A WASI 0.3 test component on `wasi:sockets@0.3` TCP, whose bytes are `stream<u8>`s:
//!
//! - `serve HOST PORT`: listens, prints `Serving on HOST:PORT`, and echoes every
//!   connection in its own task until the peer half-closes, then half-closes back.
//! - `serve-split HOST PORT`: the same, but writes each chunk back in two writes (its first
//!   byte, then the rest): the write-write pattern that Nagle's algorithm plus the peer's
//!   delayed ACK stall by ~40 ms unless the host set TCP_NODELAY.
//!
//!   A failed accept (it reaches a 0.3 guest as a socket already closed with the error,
//!   which `get-remote-address` reports) pauses accepting for a second, as asyncio does;
//!   the first prints `accept failed: <error>` (e.g. `other(new-socket-limit: ...)`).
//! - `connect HOST PORT TEXT`: connects, sends TEXT, half-closes, prints
//!   `received: <what came back>` or `error: <error-code>` (e.g. `access-denied`).
//!
//! It proves the host runs 0.3 components, with its network policy, and that many
//! connections progress at once inside one instance.

use std::net::{Ipv4Addr, SocketAddrV4};

use wasip3::sockets::types::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket};
use wasip3::wit_bindgen::StreamResult;

struct P3Tcp;

wasip3::cli::command::export!(P3Tcp);

impl wasip3::exports::cli::run::Guest for P3Tcp {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        let address = |host: &str, port: &str| -> Option<SocketAddrV4> {
            Some(SocketAddrV4::new(host.parse::<Ipv4Addr>().ok()?, port.parse().ok()?))
        };
        let Some(addr) = address(arg(2), arg(3)) else {
            eprintln!("usage: p3-tcp serve|serve-split HOST PORT | connect HOST PORT TEXT");
            return Err(());
        };
        let outcome = match arg(1) {
            "serve" => serve(addr, Writes::Whole).await,
            "serve-split" => serve(addr, Writes::Split).await,
            "connect" => connect(addr, arg(4)).await,
            other => {
                eprintln!("unknown mode {other:?}");
                return Err(());
            }
        };
        outcome.map_err(|code| println!("error: {}", code_name(&code)))
    }
}

/// How the echo writes each chunk back.
#[derive(Clone, Copy)]
enum Writes {
    /// In one write.
    Whole,
    /// In two: the first byte, then the rest.
    Split,
}

async fn serve(addr: SocketAddrV4, writes: Writes) -> Result<(), ErrorCode> {
    let listener = TcpSocket::create(IpAddressFamily::Ipv4)?;
    listener.bind(to_wasi(addr))?;
    let mut clients = listener.listen()?;
    let IpSocketAddress::Ipv4(local) = listener.get_local_address()? else { unreachable!("an IPv4 socket") };
    println!("Serving on {}", from_wasi(local));
    // Each connection is its own task; `run` never returns, so neither do they early.
    while let Some(client) = clients.next().await {
        if let Err(code) = client.get_remote_address() {
            // At the descriptor limit every accept fails at once: without the pause the
            // loop would spin, its failed sockets piling up until the store runs out of
            // handles (a trap).
            if !FAILURE_SHOWN.replace(true) {
                println!("accept failed: {}", describe(&code));
            }
            drop(client);
            wasip3::clocks::monotonic_clock::wait_for(ACCEPT_PAUSE_NS).await;
            continue;
        }
        drop(wasip3::spawn_local(echo(client, writes)));
    }
    Ok(())
}

/// Echoes until the peer half-closes, then half-closes back (by ending the send stream).
async fn echo(client: TcpSocket, writes: Writes) {
    let (mut incoming, received) = client.receive();
    let (mut outgoing, to_send) = wasip3::wit_stream::new::<u8>();
    let sent = client.send(to_send);
    loop {
        let (result, bytes) = incoming.read(Vec::with_capacity(64 * 1024)).await;
        match result {
            StreamResult::Complete(_) => {
                let mut first = bytes;
                let rest = match writes {
                    Writes::Split if first.len() > 1 => first.split_off(1),
                    _ => Vec::new(),
                };
                // A leftover means the host dropped the send side: the connection is gone.
                if !outgoing.write_all(first).await.is_empty()
                    || (!rest.is_empty() && !outgoing.write_all(rest).await.is_empty())
                {
                    break;
                }
            }
            StreamResult::Dropped | StreamResult::Cancelled => break,
        }
    }
    drop(outgoing);
    let _ = sent.await;
    let _ = received.await;
}

async fn connect(addr: SocketAddrV4, text: &str) -> Result<(), ErrorCode> {
    let socket = TcpSocket::create(IpAddressFamily::Ipv4)?;
    socket.connect(to_wasi(addr)).await?;
    let (incoming, received) = socket.receive();
    let (mut outgoing, to_send) = wasip3::wit_stream::new::<u8>();
    let sent = socket.send(to_send);
    let rest = outgoing.write_all(text.as_bytes().to_vec()).await;
    assert!(rest.is_empty(), "the host took all of the text");
    drop(outgoing); // half-close: the echo ends after the text
    sent.await?;
    let reply = incoming.collect().await;
    received.await?;
    println!("received: {}", String::from_utf8_lossy(&reply));
    Ok(())
}

fn to_wasi(addr: SocketAddrV4) -> IpSocketAddress {
    let [a, b, c, d] = addr.ip().octets();
    IpSocketAddress::Ipv4(Ipv4SocketAddress { port: addr.port(), address: (a, b, c, d) })
}

fn from_wasi(addr: Ipv4SocketAddress) -> SocketAddrV4 {
    let (a, b, c, d) = addr.address;
    SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), addr.port)
}

/// How long accepting pauses after a failed accept (asyncio's `accept_retry_delay`).
const ACCEPT_PAUSE_NS: u64 = 1_000_000_000;

std::thread_local! {
    /// Whether a failed accept was printed already.
    static FAILURE_SHOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// An error code with its text, if it has one: `other(new-socket-limit: ...)`.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::Other(Some(text)) => format!("other({text})"),
        _ => code_name(code),
    }
}

/// The WIT name of an error code (`access-denied`, `connection-refused`, ...).
fn code_name(code: &ErrorCode) -> String {
    let debug = format!("{code:?}"); // e.g. "ErrorCode::AccessDenied", "ErrorCode::Other(..)"
    let name = debug.split('(').next().unwrap_or(&debug);
    let name = name.rsplit("::").next().unwrap_or(name);
    let mut wit = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            wit.push('-');
        }
        wit.push(c.to_ascii_lowercase());
    }
    wit
}
