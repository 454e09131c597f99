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

pub mod bindings;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use wasmtime::component::{Component, Resource, ResourceAny};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::io::poll::Host as _;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{WasiCtxBuilder, WasiView};

use crate::error::{classify_link_error, classify_runtime_error, one_line, RuntimeFailure};
use crate::runner::{self, HostState};
use crate::{HostError, NetworkPolicy};

pub use bindings::exports::wasio::streams::types::{
    ConnectOptions, Error, IncompleteRead, IpSocketAddress, LimitOverrun, ServerOptions, WriteBufferLimits,
};

/// The generated interface handle (`exports::wasio::streams::types::Guest`).
type Api = bindings::exports::wasio::streams::types::Guest;

/// How much captured stdout a provider keeps (see [`ProviderConfig::capture_stdout`]).
const STDOUT_CAPACITY: usize = 16 << 20;

/// What the provider's guest gets from the host: network policy and stdio.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Which addresses the guest may use.
    pub network: NetworkPolicy,
    /// The guest's stdin: these bytes then EOF, or (`None`) the host's stdin.
    pub stdin: Option<Vec<u8>>,
    /// Capture the guest's stdout in memory ([`Provider::captured_stdout`]) instead of
    /// inheriting the host's.
    pub capture_stdout: bool,
}

impl ProviderConfig {
    /// `network`, with stdio inherited from the host.
    pub fn new(network: NetworkPolicy) -> Self {
        ProviderConfig { network, stdin: None, capture_stdout: false }
    }

    /// The guest reads `bytes`, then EOF, from stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The guest's stdout goes to memory; see [`Provider::captured_stdout`].
    pub fn capture_stdout(mut self) -> Self {
        self.capture_stdout = true;
        self
    }
}

/// The provider component compiled and linked once, ready to be instantiated many times
/// (each instance has its own store, sockets and resources).
#[derive(Clone)]
pub struct ProviderPre {
    engine: Engine,
    pre: bindings::ProviderPre<HostState>,
}

impl ProviderPre {
    /// Reads, compiles (with wasmtime's on-disk cache) and links the component at `path`,
    /// checking that it exports `wasio:streams/types`.
    pub async fn load(path: &Path) -> Result<ProviderPre, HostError> {
        let bytes = runner::read_component(path)?;
        let engine = runner::engine(false, true, false)?;
        let component: Component = runner::compile(&engine, path, bytes).await?;
        let linker = runner::wasi_linker(&engine)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(classify_link_error)?;
        let pre = bindings::ProviderPre::new(instance_pre).map_err(|error| HostError::Link {
            message: format!(
                "{} does not export `wasio:streams/types@0.1.0`: {}",
                path.display(),
                one_line(&error)
            ),
            error,
        })?;
        Ok(ProviderPre { engine, pre })
    }

    /// A fresh instance with its own store.
    pub async fn instantiate(&self, config: ProviderConfig) -> Result<Provider, HostError> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        if let Some(bytes) = config.stdin {
            builder.stdin(MemoryInputPipe::new(bytes));
        }
        let stdout = config.capture_stdout.then(|| {
            let pipe = MemoryOutputPipe::new(STDOUT_CAPACITY);
            builder.stdout(pipe.clone());
            pipe
        });
        builder.arg("streams-provider");
        config.network.apply(&mut builder);
        let mut store = Store::new(&self.engine, HostState::new(builder.build()));
        let bindings = match tokio::task::unconstrained(self.pre.instantiate_async(&mut store)).await {
            Ok(bindings) => bindings,
            Err(error) => {
                return Err(match classify_runtime_error(error) {
                    RuntimeFailure::Trap(e) => e,
                    RuntimeFailure::Exit(code) => HostError::Trap {
                        message: format!("the provider exited with code {code} while starting"),
                        error: wasmtime::Error::msg(format!("exit({code})")),
                    },
                })
            }
        };
        Ok(Provider { store, bindings, stdout, pollables: HashMap::new(), next_id: 0 })
    }
}

/// Which resource a handle or pollable belongs to (unique within one [`Provider`]).
type Id = u64;

/// An `own<reader>` (asyncio.StreamReader). Drop it with [`Provider::drop_reader`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_reader"]
pub struct ReaderHandle {
    id: Id,
    resource: ResourceAny,
}

/// An `own<writer>` (asyncio.StreamWriter). Drop it with [`Provider::drop_writer`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_writer"]
pub struct WriterHandle {
    id: Id,
    resource: ResourceAny,
}

/// An `own<server>` (asyncio.Server). Drop it with [`Provider::drop_server`].
#[derive(Debug)]
#[must_use = "resources are not dropped automatically: use Provider::drop_server"]
pub struct ServerHandle {
    id: Id,
    resource: ResourceAny,
}

/// An `own<pollable>` returned by a `subscribe`, for [`Provider::poll`]. Drop it with
/// [`Provider::drop_pollable`] (dropping its resource drops it too).
#[derive(Debug)]
#[must_use = "pollables are not dropped automatically: use Provider::drop_pollable"]
pub struct PollableHandle {
    id: Id,
}

/// A pollable the host owns, and the resource it came from.
struct LivePollable {
    resource: Resource<DynPollable>,
    owner: Id,
}

/// One instance of the provider component with its store.
pub struct Provider {
    store: Store<HostState>,
    bindings: bindings::Provider,
    stdout: Option<MemoryOutputPipe>,
    /// Pollables not dropped yet, by [`PollableHandle::id`].
    pollables: HashMap<Id, LivePollable>,
    next_id: Id,
}

/// Runs `$body` (a generated `call_*` future) with the interface as `$api` and the store as
/// `$store`, outside tokio's cooperative budget.
macro_rules! call {
    ($self:ident, |$api:ident, $store:ident| $body:expr) => {{
        let $api: &Api = $self.bindings.wasio_streams_types();
        let $store = &mut $self.store;
        tokio::task::unconstrained($body).await
    }};
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

    fn reader_handle(&mut self, resource: ResourceAny) -> ReaderHandle {
        ReaderHandle { id: self.next_id(), resource }
    }

    fn writer_handle(&mut self, resource: ResourceAny) -> WriterHandle {
        WriterHandle { id: self.next_id(), resource }
    }

    fn pair(&mut self, (r, w): (ResourceAny, ResourceAny)) -> (ReaderHandle, WriterHandle) {
        (self.reader_handle(r), self.writer_handle(w))
    }

    fn pollable_handle(&mut self, resource: Resource<DynPollable>, owner: Id) -> PollableHandle {
        let id = self.next_id();
        self.pollables.insert(id, LivePollable { resource, owner });
        PollableHandle { id }
    }

    // ---- functions -------------------------------------------------------------------

    /// `open-connection`: asyncio.open_connection.
    pub async fn open_connection(
        &mut self,
        host: &str,
        port: u16,
        options: Option<ConnectOptions>,
    ) -> wasmtime::Result<Result<(ReaderHandle, WriterHandle), Error>> {
        let result = call!(self, |api, store| api.call_open_connection(store, host, port, options));
        Ok(result?.map(|pair| self.pair(pair)))
    }

    /// `start-server`: asyncio.start_server.
    pub async fn start_server(
        &mut self,
        host: &str,
        port: u16,
        options: Option<ServerOptions>,
    ) -> wasmtime::Result<Result<ServerHandle, Error>> {
        let result = call!(self, |api, store| api.call_start_server(store, host, port, options));
        Ok(result?.map(|resource| ServerHandle { id: self.next_id(), resource }))
    }

    /// `stdin-reader`: a reader over the guest's stdin.
    pub async fn stdin_reader(
        &mut self,
        limit: Option<u64>,
    ) -> wasmtime::Result<Result<ReaderHandle, Error>> {
        let result = call!(self, |api, store| api.call_stdin_reader(store, limit));
        Ok(result?.map(|r| self.reader_handle(r)))
    }

    /// `stdout-writer`: a writer to the guest's stdout.
    pub async fn stdout_writer(&mut self) -> wasmtime::Result<Result<WriterHandle, Error>> {
        let result = call!(self, |api, store| api.call_stdout_writer(store));
        Ok(result?.map(|w| self.writer_handle(w)))
    }

    // ---- reader ----------------------------------------------------------------------

    /// `reader.read(n)`.
    pub async fn read(&mut self, r: &ReaderHandle, n: i64) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_read(store, r.resource, n))
    }

    /// `reader.readline`.
    pub async fn readline(&mut self, r: &ReaderHandle) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readline(store, r.resource))
    }

    /// `reader.readexactly(n)`.
    pub async fn readexactly(
        &mut self,
        r: &ReaderHandle,
        n: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readexactly(store, r.resource, n))
    }

    /// `reader.readuntil(separator)`.
    pub async fn readuntil(
        &mut self,
        r: &ReaderHandle,
        separator: &[u8],
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readuntil(store, r.resource, separator))
    }

    /// `reader.readuntil-any(separators)`.
    pub async fn readuntil_any(
        &mut self,
        r: &ReaderHandle,
        separators: &[Vec<u8>],
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        call!(self, |api, store| api.reader().call_readuntil_any(store, r.resource, separators))
    }

    /// `reader.at-eof`.
    pub async fn at_eof(&mut self, r: &ReaderHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.reader().call_at_eof(store, r.resource))
    }

    /// `reader.limit`.
    pub async fn limit(&mut self, r: &ReaderHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.reader().call_limit(store, r.resource))
    }

    /// `reader.exception`.
    pub async fn exception(&mut self, r: &ReaderHandle) -> wasmtime::Result<Option<Error>> {
        call!(self, |api, store| api.reader().call_exception(store, r.resource))
    }

    /// `reader.try-read(n)`.
    pub async fn try_read(
        &mut self,
        r: &ReaderHandle,
        n: i64,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_read(store, r.resource, n))
    }

    /// `reader.try-readline`.
    pub async fn try_readline(
        &mut self,
        r: &ReaderHandle,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readline(store, r.resource))
    }

    /// `reader.try-readexactly(n)`.
    pub async fn try_readexactly(
        &mut self,
        r: &ReaderHandle,
        n: u64,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readexactly(store, r.resource, n))
    }

    /// `reader.try-readuntil(separator)`.
    pub async fn try_readuntil(
        &mut self,
        r: &ReaderHandle,
        separator: &[u8],
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readuntil(store, r.resource, separator))
    }

    /// `reader.try-readuntil-any(separators)`.
    pub async fn try_readuntil_any(
        &mut self,
        r: &ReaderHandle,
        separators: &[Vec<u8>],
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        call!(self, |api, store| api.reader().call_try_readuntil_any(store, r.resource, separators))
    }

    /// `reader.subscribe`: ready when a `try-*` read may make progress.
    pub async fn subscribe_reader(&mut self, r: &ReaderHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.reader().call_subscribe(store, r.resource))?;
        Ok(self.pollable_handle(pollable, r.id))
    }

    /// `reader.buffer-size`.
    pub async fn buffer_size(&mut self, r: &ReaderHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.reader().call_buffer_size(store, r.resource))
    }

    // ---- writer ----------------------------------------------------------------------

    /// `writer.write(data)`.
    pub async fn write(&mut self, w: &WriterHandle, data: &[u8]) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_write(store, w.resource, data))
    }

    /// `writer.writelines(lines)`.
    pub async fn writelines(
        &mut self,
        w: &WriterHandle,
        lines: &[Vec<u8>],
    ) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_writelines(store, w.resource, lines))
    }

    /// `writer.drain`.
    pub async fn drain(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_drain(store, w.resource))
    }

    /// `writer.try-drain`: true once the queue is at or below the low mark.
    pub async fn try_drain(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<bool, Error>> {
        call!(self, |api, store| api.writer().call_try_drain(store, w.resource))
    }

    /// `writer.subscribe`: ready when `try-drain` or `try-wait-closed` may make progress.
    pub async fn subscribe_writer(&mut self, w: &WriterHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.writer().call_subscribe(store, w.resource))?;
        Ok(self.pollable_handle(pollable, w.id))
    }

    /// `writer.write-eof`.
    pub async fn write_eof(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_write_eof(store, w.resource))
    }

    /// `writer.can-write-eof`.
    pub async fn can_write_eof(&mut self, w: &WriterHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.writer().call_can_write_eof(store, w.resource))
    }

    /// `writer.close`.
    pub async fn close(&mut self, w: &WriterHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.writer().call_close(store, w.resource))
    }

    /// `writer.is-closing`.
    pub async fn is_closing(&mut self, w: &WriterHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.writer().call_is_closing(store, w.resource))
    }

    /// `writer.abort`.
    pub async fn abort(&mut self, w: &WriterHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.writer().call_abort(store, w.resource))
    }

    /// `writer.wait-closed`.
    pub async fn wait_closed(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_wait_closed(store, w.resource))
    }

    /// `writer.try-wait-closed`: true once closed.
    pub async fn try_wait_closed(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<bool, Error>> {
        call!(self, |api, store| api.writer().call_try_wait_closed(store, w.resource))
    }

    /// `writer.get-write-buffer-size`.
    pub async fn get_write_buffer_size(&mut self, w: &WriterHandle) -> wasmtime::Result<u64> {
        call!(self, |api, store| api.writer().call_get_write_buffer_size(store, w.resource))
    }

    /// `writer.get-write-buffer-limits`.
    pub async fn get_write_buffer_limits(&mut self, w: &WriterHandle) -> wasmtime::Result<WriteBufferLimits> {
        call!(self, |api, store| api.writer().call_get_write_buffer_limits(store, w.resource))
    }

    /// `writer.set-write-buffer-limits(high, low)`.
    pub async fn set_write_buffer_limits(
        &mut self,
        w: &WriterHandle,
        high: Option<u64>,
        low: Option<u64>,
    ) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.writer().call_set_write_buffer_limits(store, w.resource, high, low))
    }

    /// `writer.peername`.
    pub async fn peername(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<SocketAddr, Error>> {
        let result = call!(self, |api, store| api.writer().call_peername(store, w.resource))?;
        Ok(result.map(SocketAddr::from))
    }

    /// `writer.sockname`.
    pub async fn sockname(&mut self, w: &WriterHandle) -> wasmtime::Result<Result<SocketAddr, Error>> {
        let result = call!(self, |api, store| api.writer().call_sockname(store, w.resource))?;
        Ok(result.map(SocketAddr::from))
    }

    // ---- server ----------------------------------------------------------------------

    /// `server.accept`: waits for a client connection.
    pub async fn accept(
        &mut self,
        s: &ServerHandle,
    ) -> wasmtime::Result<Result<(ReaderHandle, WriterHandle), Error>> {
        let result = call!(self, |api, store| api.server().call_accept(store, s.resource));
        Ok(result?.map(|pair| self.pair(pair)))
    }

    /// `server.try-accept`.
    pub async fn try_accept(
        &mut self,
        s: &ServerHandle,
    ) -> wasmtime::Result<Result<Option<(ReaderHandle, WriterHandle)>, Error>> {
        let result = call!(self, |api, store| api.server().call_try_accept(store, s.resource));
        Ok(result?.map(|pair| pair.map(|pair| self.pair(pair))))
    }

    /// `server.subscribe`: ready when `try-accept` or `try-wait-closed` may make progress.
    pub async fn subscribe_server(&mut self, s: &ServerHandle) -> wasmtime::Result<PollableHandle> {
        let pollable = call!(self, |api, store| api.server().call_subscribe(store, s.resource))?;
        Ok(self.pollable_handle(pollable, s.id))
    }

    /// `server.start-serving`.
    pub async fn start_serving(&mut self, s: &ServerHandle) -> wasmtime::Result<Result<(), Error>> {
        call!(self, |api, store| api.server().call_start_serving(store, s.resource))
    }

    /// `server.is-serving`.
    pub async fn is_serving(&mut self, s: &ServerHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.server().call_is_serving(store, s.resource))
    }

    /// `server.sockets`: the bound addresses.
    pub async fn sockets(&mut self, s: &ServerHandle) -> wasmtime::Result<Vec<SocketAddr>> {
        let addresses = call!(self, |api, store| api.server().call_sockets(store, s.resource))?;
        Ok(addresses.into_iter().map(SocketAddr::from).collect())
    }

    /// `server.close`.
    pub async fn close_server(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_close(store, s.resource))
    }

    /// `server.close-clients`.
    pub async fn close_clients(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_close_clients(store, s.resource))
    }

    /// `server.abort-clients`.
    pub async fn abort_clients(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_abort_clients(store, s.resource))
    }

    /// `server.wait-closed`.
    pub async fn wait_closed_server(&mut self, s: &ServerHandle) -> wasmtime::Result<()> {
        call!(self, |api, store| api.server().call_wait_closed(store, s.resource))
    }

    /// `server.try-wait-closed`.
    pub async fn try_wait_closed_server(&mut self, s: &ServerHandle) -> wasmtime::Result<bool> {
        call!(self, |api, store| api.server().call_try_wait_closed(store, s.resource))
    }

    // ---- wasi:io/poll ----------------------------------------------------------------

    /// `wasi:io/poll.poll` on pollables from `subscribe`: waits until at least one is ready
    /// and returns the indices (into `pollables`) of the ready ones. No guest code runs while
    /// it waits. Fails for an empty list or a pollable whose resource was dropped.
    pub async fn poll(&mut self, pollables: &[&PollableHandle]) -> wasmtime::Result<Vec<u32>> {
        let mut list = Vec::with_capacity(pollables.len());
        for p in pollables {
            let live = self
                .pollables
                .get(&p.id)
                .ok_or_else(|| wasmtime::Error::msg("poll: the pollable was dropped with its resource"))?;
            list.push(Resource::<DynPollable>::new_borrow(live.resource.rep()));
        }
        let table = self.store.data_mut().ctx().table;
        tokio::task::unconstrained(table.poll(list)).await
    }

    /// [`Provider::poll`] bounded by `timeout`: `None` when nothing got ready in time. Unlike a
    /// guest call, a poll may be abandoned safely.
    pub async fn poll_for(
        &mut self,
        pollables: &[&PollableHandle],
        timeout: Duration,
    ) -> wasmtime::Result<Option<Vec<u32>>> {
        match tokio::time::timeout(timeout, self.poll(pollables)).await {
            Ok(ready) => ready.map(Some),
            Err(_elapsed) => Ok(None),
        }
    }

    // ---- dropping --------------------------------------------------------------------

    /// Drops a pollable (a no-op when its resource was dropped first, which took it along).
    pub fn drop_pollable(&mut self, p: PollableHandle) -> wasmtime::Result<()> {
        match self.pollables.remove(&p.id) {
            Some(live) => {
                self.store.data_mut().ctx().table.delete(live.resource)?;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Drops the pollables still subscribed from the resource `owner`.
    fn drop_pollables_of(&mut self, owner: Id) -> wasmtime::Result<()> {
        let ids: Vec<Id> =
            self.pollables.iter().filter(|(_, live)| live.owner == owner).map(|(id, _)| *id).collect();
        for id in ids {
            self.drop_pollable(PollableHandle { id })?;
        }
        Ok(())
    }

    async fn drop_resource(&mut self, owner: Id, resource: ResourceAny) -> wasmtime::Result<()> {
        self.drop_pollables_of(owner)?;
        tokio::task::unconstrained(resource.resource_drop_async(&mut self.store)).await
    }

    /// Drops a reader (its pollables first). The writer may live on, or be gone already.
    pub async fn drop_reader(&mut self, r: ReaderHandle) -> wasmtime::Result<()> {
        self.drop_resource(r.id, r.resource).await
    }

    /// Drops a writer (its pollables first): like asyncio's, the queued data is still
    /// delivered (during later calls) and the connection closed once the reader is gone too.
    pub async fn drop_writer(&mut self, w: WriterHandle) -> wasmtime::Result<()> {
        self.drop_resource(w.id, w.resource).await
    }

    /// Drops a server (its pollables first); its client connections stay.
    pub async fn drop_server(&mut self, s: ServerHandle) -> wasmtime::Result<()> {
        self.drop_resource(s.id, s.resource).await
    }
}
