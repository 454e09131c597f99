//! The provider component (streams-provider.wasm) driven through its WIT interface
//! (`wasio:streams/types`) with `host::provider`, over real loopback TCP to native tokio
//! peers. Each asyncio behaviour is checked in the blocking form and, where the WIT has
//! one, in the try + subscribe + poll form. Misuse (drop order, calls after close, bad
//! arguments) must never trap: each such test ends by using the instance again.
//!
//! One file per part of the interface: `reader`, `writer`, `functions` (open-connection,
//! start-server, stdio), `server`, `misuse`, `chaos` (random call sequences), `example`
//! (host::provider's documented example), `regressions`; TLS through the interface is `wit_tls`.

mod chaos;
mod example;
mod functions;
mod misuse;
mod reader;
mod regressions;
mod server;
mod writer;

use std::time::Duration;

use crate::support::provider::{
    connect, connected, limit, provider, provider_with, server_options, serving, settle, still_usable,
    until_ready, until_true, Source,
};
use crate::support::{peer, within};
use host::provider::{Error, IncompleteRead, LimitOverrun, Provider, ProviderConfig};
use host::NetworkPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

/// `data` as text for assertion messages.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn incomplete(partial: &[u8], expected: Option<u64>) -> impl Fn(&Error) -> bool + '_ {
    move |e| {
        matches!(e, Error::IncompleteRead(IncompleteRead { partial: p, expected: x })
            if p == partial && *x == expected)
    }
}

fn overrun(separator_found: bool, consumed: u64) -> impl Fn(&Error) -> bool {
    move |e| match e {
        Error::LimitOverrun(LimitOverrun { message, consumed: c, separator_found: f }) => {
            let expected_message = if separator_found {
                "Separator is found, but chunk is longer than limit"
            } else {
                "Separator is not found, and chunk exceed the limit"
            };
            *f == separator_found && *c == consumed && message == expected_message
        }
        _ => false,
    }
}

/// Asserts `result` is the error `check` accepts.
#[track_caller]
fn assert_err<T: std::fmt::Debug>(result: Result<T, Error>, check: impl Fn(&Error) -> bool) {
    match result {
        Err(e) if check(&e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
}

/// Writes `total` bytes in 1 MiB pieces; returns the data.
async fn write_bulk(p: &mut Provider, w: &host::provider::WriterHandle, total: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..total).map(|i| (i % 253) as u8).collect();
    for chunk in data.chunks(MIB) {
        p.write(w, chunk).await.unwrap().unwrap();
    }
    data
}

/// `n` native clients connected to `address` and accepted by the provider.
async fn accept_clients(
    p: &mut Provider,
    server: &host::provider::ServerHandle,
    address: std::net::SocketAddr,
    n: usize,
) -> Vec<(host::provider::ReaderHandle, host::provider::WriterHandle, TcpStream)> {
    let mut clients = Vec::new();
    for _ in 0..n {
        let client = TcpStream::connect(address).await.unwrap();
        let (r, w) = within("accept", p.accept(server)).await.unwrap().unwrap();
        clients.push((r, w, client));
    }
    clients
}
