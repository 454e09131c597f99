//! One connection of the 0.2.0 provider to a native peer, called one operation at a time:
//! the 0.1.0 contract suite's sequential cases, ported. Each call is its own
//! [`AsyncProvider::run`], bounded by [`crate::support::STEP`]; the provider's tasks (the socket's pumps)
//! only run inside a `run`, so [`Conn::settle`] waits inside one.

use std::time::Duration;

use tokio::net::TcpStream;
use wasmtime::component::ResourceAny;

use host::provider_async::bindings::wasi::sockets::types::IpSocketAddress;
use host::provider_async::{AsyncProvider, ConnectOptions, Error, WriteBufferLimits};

use super::provider;
use crate::support::{peer, within};

/// `connect-options` with only `limit` set.
pub fn limit(limit: u64) -> Option<ConnectOptions> {
    Some(ConnectOptions {
        limit: Some(limit),
        local_address: None,
        happy_eyeballs_delay_ms: None,
        timeout_ms: None,
        ssl: None,
        server_hostname: None,
        ssl_handshake_timeout_ms: None,
        ssl_shutdown_timeout_ms: None,
    })
}

pub struct Conn {
    pub p: AsyncProvider,
    pub r: ResourceAny,
    pub w: ResourceAny,
}

/// A new provider with one connection to a new native peer (the peer's socket).
pub async fn connected(options: Option<ConnectOptions>) -> (Conn, TcpStream) {
    let mut p = provider().await;
    let (r, w, socket) = connect(&mut p, options).await;
    (Conn { p, r, w }, socket)
}

/// Another connection from `p` to a new native peer.
pub async fn connect(
    p: &mut AsyncProvider,
    options: Option<ConnectOptions>,
) -> (ResourceAny, ResourceAny, TcpStream) {
    let (listener, address) = peer::listener().await;
    let port = address.port();
    let opened = within(
        "open-connection",
        p.run(async move |acc, api| api.call_open_connection(acc, "127.0.0.1".into(), port, options).await),
    )
    .await
    .expect("no trap")
    .expect("no trap");
    let (r, w) = opened.expect("open-connection");
    (r, w, peer::accept(&listener).await)
}

/// Drops one of the provider's resources; a trap fails the test.
pub async fn drop_resource(p: &mut AsyncProvider, resource: ResourceAny) {
    within("resource drop", p.drop_resource(resource)).await.expect("no trap");
}

/// A trap-free instance still serves: a new connection echoes a line through it.
pub async fn still_usable(p: &mut AsyncProvider) {
    use tokio::io::AsyncWriteExt;
    let (r, w, mut socket) = connect(p, None).await;
    let echoed = p.run(async move |acc, api| -> wasmtime::Result<_> {
        socket.write_all(b"ping\n").await.unwrap();
        let line = api.reader().call_readline(acc, r).await?;
        let writers = api.writer();
        writers.call_write(acc, w, b"pong\n".to_vec()).await?.expect("write");
        writers.call_drain(acc, w).await?.expect("drain");
        Ok((line, peer::read_n(&mut socket, 5).await))
    });
    let (line, answer) =
        within("the instance still serves", echoed).await.expect("no trap").expect("no trap");
    assert_eq!(line.expect("readline"), b"ping\n");
    assert_eq!(answer, b"pong\n");
}

/// One reader or writer call, run to its end (bounded): `$call` is the generated
/// `call_*` name, then its arguments after the resource.
macro_rules! call {
    ($self:ident, reader, $call:ident $(, $arg:expr)*) => {{
        let r = $self.r;
        $self.run(stringify!($call), async move |acc, api| api.reader().$call(acc, r $(, $arg)*).await).await
    }};
    ($self:ident, writer, $call:ident $(, $arg:expr)*) => {{
        let w = $self.w;
        $self.run(stringify!($call), async move |acc, api| api.writer().$call(acc, w $(, $arg)*).await).await
    }};
}

impl Conn {
    /// Runs `calls` in the store, bounded by [`crate::support::STEP`]; a trap fails the test.
    pub async fn run<R: Send + 'static>(
        &mut self,
        what: &str,
        calls: impl AsyncFnOnce(
                &wasmtime::component::Accessor<host::provider_async::HostState>,
                &host::provider_async::Api,
            ) -> wasmtime::Result<R>
            + Send,
    ) -> R {
        within(what, self.p.run(calls)).await.expect("no trap").expect("no trap")
    }

    /// Lets the loopback deliver what the peer sent (bytes, FIN, RST) into the provider's
    /// buffer: the provider's tasks run meanwhile.
    pub async fn settle(&mut self) {
        self.run("settle", async |_, _| Ok(tokio::time::sleep(Duration::from_millis(150)).await)).await
    }

    /// Drops the reader (a resource drop: the guest's destructor runs).
    pub async fn drop_reader(&mut self) {
        drop_resource(&mut self.p, self.r).await
    }
    /// Drops the writer (asyncio 3.13 closes an abandoned writer's connection).
    pub async fn drop_writer(&mut self) {
        drop_resource(&mut self.p, self.w).await
    }

    pub async fn read(&mut self, n: i64) -> Result<Vec<u8>, Error> {
        call!(self, reader, call_read, n)
    }
    pub async fn readline(&mut self) -> Result<Vec<u8>, Error> {
        call!(self, reader, call_readline)
    }
    pub async fn readexactly(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        call!(self, reader, call_readexactly, n)
    }
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, Error> {
        let separator = separator.to_vec();
        call!(self, reader, call_readuntil, separator)
    }
    pub async fn readuntil_any(&mut self, separators: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let separators: Vec<Vec<u8>> = separators.iter().map(|s| s.to_vec()).collect();
        call!(self, reader, call_readuntil_any, separators)
    }
    pub async fn at_eof(&mut self) -> bool {
        call!(self, reader, call_at_eof)
    }
    pub async fn buffer_size(&mut self) -> u64 {
        call!(self, reader, call_buffer_size)
    }
    pub async fn exception(&mut self) -> Option<Error> {
        call!(self, reader, call_exception)
    }
    pub async fn limit(&mut self) -> u64 {
        call!(self, reader, call_limit)
    }

    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let data = data.to_vec();
        call!(self, writer, call_write, data)
    }
    pub async fn writelines(&mut self, lines: &[&[u8]]) -> Result<(), Error> {
        let lines: Vec<Vec<u8>> = lines.iter().map(|s| s.to_vec()).collect();
        call!(self, writer, call_writelines, lines)
    }
    pub async fn drain(&mut self) -> Result<(), Error> {
        call!(self, writer, call_drain)
    }
    pub async fn write_eof(&mut self) -> Result<(), Error> {
        call!(self, writer, call_write_eof)
    }
    pub async fn can_write_eof(&mut self) -> bool {
        call!(self, writer, call_can_write_eof)
    }
    pub async fn close(&mut self) {
        call!(self, writer, call_close)
    }
    pub async fn is_closing(&mut self) -> bool {
        call!(self, writer, call_is_closing)
    }
    pub async fn abort(&mut self) {
        call!(self, writer, call_abort)
    }
    pub async fn wait_closed(&mut self) -> Result<(), Error> {
        call!(self, writer, call_wait_closed)
    }
    pub async fn write_buffer_size(&mut self) -> u64 {
        call!(self, writer, call_get_write_buffer_size)
    }
    pub async fn write_buffer_limits(&mut self) -> WriteBufferLimits {
        call!(self, writer, call_get_write_buffer_limits)
    }
    pub async fn set_write_buffer_limits(
        &mut self,
        high: Option<u64>,
        low: Option<u64>,
    ) -> Result<(), Error> {
        call!(self, writer, call_set_write_buffer_limits, high, low)
    }
    pub async fn peername(&mut self) -> Result<IpSocketAddress, Error> {
        call!(self, writer, call_peername)
    }
    pub async fn sockname(&mut self) -> Result<IpSocketAddress, Error> {
        call!(self, writer, call_sockname)
    }
}

/// `data` as text for assertion messages.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Whether `e` is asyncio's IncompleteReadError with these bytes.
pub fn incomplete(partial: &[u8], expected: Option<u64>) -> impl Fn(&Error) -> bool + '_ {
    move |e| matches!(e, Error::IncompleteRead(i) if i.partial == partial && i.expected == expected)
}

/// Whether `e` is asyncio's LimitOverrunError with its message and `consumed`.
pub fn overrun(separator_found: bool, consumed: u64) -> impl Fn(&Error) -> bool {
    move |e| match e {
        Error::LimitOverrun(o) => {
            let expected = if separator_found {
                "Separator is found, but chunk is longer than limit"
            } else {
                "Separator is not found, and chunk exceed the limit"
            };
            o.separator_found == separator_found && o.consumed == consumed && o.message == expected
        }
        _ => false,
    }
}

/// Asserts `result` is the error `check` accepts.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(result: Result<T, Error>, check: impl Fn(&Error) -> bool) {
    match result {
        Err(e) if check(&e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
}
