//! The provider component (streams-provider.wasm) driven through the WIT boundary with
//! `host::provider`: one compilation shared by every test in the binary, a fresh instance
//! per test, and the try + subscribe + poll loop.

use std::net::SocketAddr;
use std::time::Duration;

use host::provider::{
    ConnectOptions, Error, PollableHandle, Provider, ProviderConfig, ProviderPre, ReaderHandle, ServerHandle,
    ServerOptions, WriterHandle,
};
use host::NetworkPolicy;
use tokio::net::TcpStream;
use tokio::sync::OnceCell;

use super::{component, peer, within};

/// The component compiled once per test binary.
async fn pre() -> &'static ProviderPre {
    static PRE: OnceCell<ProviderPre> = OnceCell::const_new();
    PRE.get_or_init(|| async {
        let path = component("streams-provider");
        ProviderPre::load(&path).await.unwrap_or_else(|e| panic!("load {}: {e}", path.display()))
    })
    .await
}

/// A fresh provider instance (loopback-only network, the host's stdio).
pub async fn provider() -> Provider {
    provider_with(ProviderConfig::new(NetworkPolicy::loopback_only())).await
}

pub async fn provider_with(config: ProviderConfig) -> Provider {
    let pre = pre().await;
    within("instantiate the provider", pre.instantiate(config)).await.expect("instantiate the provider")
}

/// `open-connection` options with only a limit.
pub fn limit(limit: u64) -> Option<ConnectOptions> {
    Some(ConnectOptions { limit: Some(limit), ..ConnectOptions::default() })
}

/// `start-server` options.
pub fn server_options(limit: Option<u64>, start_serving: Option<bool>) -> Option<ServerOptions> {
    Some(ServerOptions { limit, start_serving, ..ServerOptions::default() })
}

/// A provider connected (`open-connection`) to a native peer; returns the peer's socket.
pub async fn connected(options: Option<ConnectOptions>) -> (Provider, ReaderHandle, WriterHandle, TcpStream) {
    let mut p = provider().await;
    let (r, w, socket) = connect(&mut p, options).await;
    (p, r, w, socket)
}

/// Another connection from `p` to a new native peer.
pub async fn connect(
    p: &mut Provider,
    options: Option<ConnectOptions>,
) -> (ReaderHandle, WriterHandle, TcpStream) {
    let (listener, address) = peer::listener().await;
    let (r, w) = within("open-connection", p.open_connection("127.0.0.1", address.port(), options))
        .await
        .expect("no trap")
        .expect("open-connection");
    let socket = peer::accept(&listener).await;
    (r, w, socket)
}

/// A provider serving on 127.0.0.1 port 0; returns the server's address.
pub async fn serving(options: Option<ServerOptions>) -> (Provider, ServerHandle, SocketAddr) {
    let mut p = provider().await;
    let server = within("start-server", p.start_server("127.0.0.1", 0, options))
        .await
        .expect("no trap")
        .expect("start-server");
    let sockets = p.sockets(&server).await.expect("no trap");
    assert_eq!(sockets.len(), 1, "one address for 127.0.0.1: {sockets:?}");
    (p, server, sockets[0])
}

/// Lets the loopback deliver what a peer sent (bytes, FIN, RST) to the provider's socket.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// What a `try-*` loop subscribes to while it waits.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Reader(&'a ReaderHandle),
    Writer(&'a WriterHandle),
    Server(&'a ServerHandle),
}

impl Source<'_> {
    pub async fn subscribe(self, p: &mut Provider) -> PollableHandle {
        let pollable = match self {
            Source::Reader(r) => p.subscribe_reader(r).await,
            Source::Writer(w) => p.subscribe_writer(w).await,
            Source::Server(s) => p.subscribe_server(s).await,
        };
        pollable.expect("subscribe: no trap")
    }
}

/// The non-blocking form of a wait: `attempt` until it returns `Some` (or an error), and
/// while it returns `None`, subscribe `source` and poll. Returns the result and how many
/// times it polled.
pub async fn until_ready<T>(
    p: &mut Provider,
    source: Source<'_>,
    mut attempt: impl AsyncFnMut(&mut Provider) -> wasmtime::Result<Result<Option<T>, Error>>,
) -> (Result<T, Error>, usize) {
    let mut polls = 0;
    loop {
        match attempt(p).await.expect("try call: no trap") {
            Ok(Some(value)) => return (Ok(value), polls),
            Err(error) => return (Err(error), polls),
            Ok(None) => {}
        }
        assert!(polls < 100_000, "no progress after {polls} polls");
        let pollable = source.subscribe(p).await;
        let ready = within("poll the pollable", p.poll(&[&pollable])).await.expect("poll");
        assert_eq!(ready, vec![0]);
        p.drop_pollable(pollable).expect("drop the pollable");
        polls += 1;
    }
}

/// [`until_ready`] for a `try-*` call that returns a bool (try-drain, try-wait-closed).
pub async fn until_true(
    p: &mut Provider,
    source: Source<'_>,
    mut attempt: impl AsyncFnMut(&mut Provider) -> wasmtime::Result<Result<bool, Error>>,
) -> (Result<(), Error>, usize) {
    until_ready(p, source, async |p: &mut Provider| Ok(attempt(p).await?.map(|done| done.then_some(()))))
        .await
}

/// A proof that the instance still works after a misuse: a fresh connection to a native
/// peer that exchanges a line each way.
pub async fn still_usable(p: &mut Provider) {
    use tokio::io::AsyncWriteExt;
    let (r, w, mut socket) = connect(p, None).await;
    socket.write_all(b"still\n").await.unwrap();
    let line = within("readline after the misuse", p.readline(&r)).await;
    assert_eq!(line.expect("no trap").expect("readline"), b"still\n");
    p.write(&w, b"usable\n").await.expect("no trap").expect("write");
    within("drain after the misuse", p.drain(&w)).await.expect("no trap").expect("drain");
    assert_eq!(peer::read_n(&mut socket, 7).await, b"usable\n");
    p.drop_reader(r).await.expect("drop the reader");
    p.drop_writer(w).await.expect("drop the writer");
}
