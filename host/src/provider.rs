//! A typed Rust API over the provider component (`wasio:streams/types`, world `provider`):
//! instantiate it and call its resources (`reader`, `writer`, `server`) from the host.
//!
//! The methods mirror the WIT 1:1 (see `wit/streams.wit` for the semantics, which are
//! asyncio's). Every call returns `wasmtime::Result<Result<T, Error>>`: the outer error is a
//! trap or a host failure (after which the instance cannot be entered again), the inner one
//! the stream operation's own error ([`Error`], named after the asyncio exception it mirrors).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use host::provider::{Error, Provider};
//! use host::NetworkPolicy;
//!
//! let path = host::resolve_component("streams-provider.wasm")?;
//! let mut p = Provider::instantiate(&path, NetworkPolicy::loopback_only()).await?;
//!
//! // asyncio.start_server on a free port, and a client from the same instance.
//! let server = p.start_server("127.0.0.1", 0, None).await??;
//! let port = p.sockets(&server).await?[0].port();
//! let (reader, writer) = p.open_connection("127.0.0.1", port, None).await??;
//! let (client_reader, client_writer) = p.accept(&server).await??;
//!
//! // Blocking form: the call returns when the line is there.
//! p.write(&writer, b"hello\n").await??;
//! p.drain(&writer).await??;
//! assert_eq!(p.readline(&client_reader).await??, b"hello\n");
//!
//! // Non-blocking form: try; while it would wait (`None`), subscribe and poll.
//! p.write(&client_writer, b"hi\n").await??;
//! let line = loop {
//!     if let Some(line) = p.try_readline(&reader).await?? {
//!         break line;
//!     }
//!     let ready = p.subscribe_reader(&reader).await?;
//!     p.poll(&[&ready]).await?;
//!     p.drop_pollable(ready)?;
//! };
//! assert_eq!(line, b"hi\n");
//!
//! // Stream errors are values, named after asyncio's exceptions.
//! p.close(&client_writer).await?;
//! match p.readexactly(&reader, 10).await? {
//!     Err(Error::IncompleteRead(e)) => assert!(e.partial.is_empty()),
//!     other => panic!("{other:?}"),
//! }
//!
//! // Resources have no Drop: drop them explicitly, in any order.
//! p.drop_server(server).await?;
//! p.drop_writer(writer).await?;
//! p.drop_reader(reader).await?;
//! p.drop_reader(client_reader).await?;
//! p.drop_writer(client_writer).await?;
//! # Ok(())
//! # }
//! ```
//!
//! TLS (asyncio's `ssl=`) runs inside the provider: [`ConnectOptions::ssl`] with a
//! [`TlsClientConfig`] (e.g. [`TlsClientConfig::with_ca_pem`]; the default trusts the
//! bundled webpki roots) and `server_hostname`, [`ServerOptions::ssl`] with
//! [`TlsServerConfig::from_pem`], [`Provider::start_tls`] on a live connection and
//! [`Provider::tls_info`] for the session's details. A failed handshake is
//! [`Error::Tls`] with its [`TlsErrorKind`]. The option records implement `Default`, so
//! `ConnectOptions { ssl: Some(..), ..Default::default() }` names only what it sets.
//!
//! Rules that come from WASI 0.2 (see the WIT's doc comments):
//! - A blocking call (`readline`, `accept`, `drain`, ...) holds the whole instance until it
//!   completes: nothing else in this provider makes progress meanwhile, though native peers
//!   do. Never cancel a call in flight (e.g. with `tokio::time::timeout`): wasmtime then
//!   refuses every later call ("cannot enter component instance"). Bound waits inside the
//!   guest (`connect-options.timeout-ms`) or with the `try-*` forms and [`Provider::poll_for`].
//! - Every call runs inside [`tokio::task::unconstrained`], as the runner does: tokio's
//!   cooperative budget would otherwise make the guest's readiness checks report "not ready"
//!   after 128 polls in one call.
//! - A pollable must go before the resource it came from; [`Provider::drop_reader`] and its
//!   siblings drop that resource's remaining pollables first, so any order is safe.

/// Runs `$body` (a generated `call_*` future) with the interface as `$api` and the store as
/// `$store`, outside tokio's cooperative budget. (Defined before the modules that use it.)
macro_rules! call {
    ($self:ident, |$api:ident, $store:ident| $body:expr) => {{
        let $api: &$crate::provider::Api = $self.bindings.wasio_streams_types();
        let $store = &mut $self.store;
        tokio::task::unconstrained($body).await
    }};
}

pub mod bindings;
mod config;
mod dropping;
mod functions;
mod handles;
mod linking;
mod options;
mod poll;
mod reader;
mod server;
mod tls;
mod writer;

use std::collections::HashMap;
use std::path::Path;

use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::runner::HostState;
use crate::{HostError, NetworkPolicy};

pub use bindings::exports::wasio::streams::types::{
    ConnectOptions, Error, IncompleteRead, IpSocketAddress, LimitOverrun, ServerOptions, TlsClientConfig,
    TlsError, TlsErrorKind, TlsInfo, TlsServerConfig, TlsUpgrade, TlsVersion, WriteBufferLimits,
};
pub use config::ProviderConfig;
pub use handles::{PollableHandle, ReaderHandle, ServerHandle, WriterHandle};
pub use linking::ProviderPre;

use handles::{Id, LivePollable};

/// The generated interface handle (`exports::wasio::streams::types::Guest`).
type Api = bindings::exports::wasio::streams::types::Guest;

/// One instance of the provider component with its store.
pub struct Provider {
    store: Store<HostState>,
    bindings: bindings::Provider,
    stdout: Option<MemoryOutputPipe>,
    /// Pollables not dropped yet, by [`PollableHandle::id`].
    pollables: HashMap<Id, LivePollable>,
    next_id: Id,
}

impl Provider {
    /// Compiles, links and instantiates the component at `path` with `policy` and the host's
    /// stdio. To instantiate many, compile once with [`ProviderPre::load`].
    pub async fn instantiate(path: &Path, policy: NetworkPolicy) -> Result<Provider, HostError> {
        ProviderPre::load(path).await?.instantiate(ProviderConfig::new(policy)).await
    }

    /// What the guest wrote to stdout so far, when [`ProviderConfig::capture_stdout`] was set.
    pub fn captured_stdout(&self) -> Option<Vec<u8>> {
        self.stdout.as_ref().map(|pipe| pipe.contents().to_vec())
    }

    fn next_id(&mut self) -> Id {
        self.next_id += 1;
        self.next_id
    }
}
