//! The 0.2.0 provider (`streams-provider-async.wasm`, wasio:streams@0.2.0 over WASI 0.3)
//! called with the host's typed concurrent calls ([`host::provider_async`]), against
//! native peers over real loopback TCP.
//!
//! One file per concept: `concurrency` (calls from one consumer all progress: a read and a
//! write on one connection, 200 connections at once), `reads` (asyncio's errors as
//! values), `connect_options`, `server` (and asyncio's Server lifecycle), `server_close` (what
//! `close` leaves to `accept`), `stdio`, `cancellation` (what wasmtime 48 does with a call future the host
//! drops; a guest consumer's dropped call), `bulk_read` and `bulk_write` (the
//! `stream<u8>` paths), `tls` (TLS against tokio-rustls peers), with `host_streams`, the
//! host's ends of those streams.
//!
//! The 0.1.0 suite's cases (tests/wit_provider) that mean something for 0.2.0, each try-* +
//! subscribe form as its async call: `reader`, `writer`, `functions`, `misuse` (drop order,
//! calls after close), `chaos` (seeded random call sequences, never a trap,
//! `WASIO_CHAOS_RUNS=N`), `example` (one instance serves and connects), `regressions`, with `conn` (one connection called one operation at a time).

mod bulk_read;
mod bulk_write;
mod cancellation;
mod chaos;
mod concurrency;
mod conn;
mod connect_options;
mod example;
mod functions;
mod host_streams;
mod misuse;
mod reader;
mod reads;
mod regressions;
mod returned_calls;
mod server;
mod server_close;
mod stdio;
mod tls;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use host::provider_async::{AsyncProvider, Error};
use host::NetworkPolicy;

use crate::support::{component, STEP};

async fn provider() -> AsyncProvider {
    AsyncProvider::instantiate(&component("streams-provider-async"), NetworkPolicy::loopback_only())
        .await
        .expect("instantiate the 0.2.0 provider")
}

/// A stream operation's own error as a test failure.
fn ok<T>(result: Result<T, Error>) -> wasmtime::Result<T> {
    result.map_err(|error| wasmtime::Error::msg(format!("stream error: {error:?}")))
}

/// Waits until `counter` stops growing (unchanged for half a second, at most [`STEP`]
/// in all): its value then. A waiting point, not an assertion: the caller bounds it.
async fn settled(counter: &AtomicU64) -> u64 {
    let deadline = tokio::time::Instant::now() + STEP;
    let mut last = counter.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = counter.load(Ordering::SeqCst);
        if now == last || tokio::time::Instant::now() >= deadline {
            return now;
        }
        last = now;
    }
}
