//! The exported functions and resources, each a thin call into the Rust API.

use std::future::Future;

use wasip2::io::poll::Pollable;

use super::bindings::exports::wasio::streams::types::{
    self as wit, Guest, GuestReader, GuestServer, GuestWriter,
};
use super::{convert, tls};
use crate::core::{SearchState, Separators};
use crate::error::Error;
use crate::runtime;
use crate::{StreamReader, StreamWriter};

type WitResult<T> = Result<T, wit::Error>;

/// Runs a waiting call to completion (and everything else that is ready meanwhile).
fn wait<T>(future: impl Future<Output = Result<T, Error>>) -> WitResult<T> {
    runtime::block_on(future).map_err(wit::Error::from)
}

/// Runs a non-waiting call after letting background work progress.
fn now<T>(call: impl FnOnce() -> Result<T, Error>) -> WitResult<T> {
    runtime::run_pending();
    call().map_err(wit::Error::from)
}

fn connection(reader: StreamReader, writer: StreamWriter) -> (wit::Reader, wit::Writer) {
    (wit::Reader::new(ReaderResource(reader)), wit::Writer::new(WriterResource(writer)))
}

/// The component's exports.
pub struct Provider;

impl Guest for Provider {
    type Reader = ReaderResource;
    type Writer = WriterResource;
    type Server = ServerResource;

    fn open_connection(
        host: String,
        port: u16,
        options: Option<wit::ConnectOptions>,
    ) -> WitResult<(wit::Reader, wit::Writer)> {
        let options = convert::connect_options(options)?;
        let (reader, writer) = wait(crate::open_connection_with(&host, port, options))?;
        Ok(connection(reader, writer))
    }

    fn start_server(host: String, port: u16, options: Option<wit::ServerOptions>) -> WitResult<wit::Server> {
        let options = convert::server_options(options)?;
        let server = wait(crate::start_listening(&host, port, options))?;
        Ok(wit::Server::new(ServerResource(server)))
    }

    fn stdin_reader(limit: Option<u64>) -> WitResult<wit::Reader> {
        let limit = convert::limit(limit)?;
        now(|| crate::stdin_reader(Some(limit))).map(|reader| wit::Reader::new(ReaderResource(reader)))
    }

    fn stdout_writer() -> WitResult<wit::Writer> {
        now(crate::stdout_writer).map(|writer| wit::Writer::new(WriterResource(writer)))
    }
}

/// `reader`: a [`StreamReader`].
pub struct ReaderResource(StreamReader);

impl GuestReader for ReaderResource {
    fn read(&self, n: i64) -> WitResult<Vec<u8>> {
        wait(self.0.read(n))
    }

    fn readline(&self) -> WitResult<Vec<u8>> {
        wait(self.0.readline())
    }

    fn readexactly(&self, n: u64) -> WitResult<Vec<u8>> {
        let n = convert::signed(n)?;
        wait(self.0.readexactly(n))
    }

    fn readuntil(&self, separator: Vec<u8>) -> WitResult<Vec<u8>> {
        wait(self.0.readuntil(&separator))
    }

    fn readuntil_any(&self, separators: Vec<Vec<u8>>) -> WitResult<Vec<u8>> {
        let separators = Separators::new(&separators)?;
        wait(self.0.readuntil_any(&separators))
    }

    fn at_eof(&self) -> bool {
        runtime::run_pending();
        self.0.at_eof()
    }

    fn limit(&self) -> u64 {
        self.0.limit() as u64
    }

    fn exception(&self) -> Option<wit::Error> {
        runtime::run_pending();
        self.0.exception().map(wit::Error::from)
    }

    fn try_read(&self, n: i64) -> WitResult<Option<Vec<u8>>> {
        now(|| self.0.try_read_with(|buffer| buffer.read(n)))
    }

    fn try_readline(&self) -> WitResult<Option<Vec<u8>>> {
        let mut search = SearchState::default();
        now(|| self.0.try_read_with(|buffer| buffer.readline(&mut search)))
    }

    fn try_readexactly(&self, n: u64) -> WitResult<Option<Vec<u8>>> {
        let n = convert::signed(n)?;
        now(|| self.0.try_read_with(|buffer| buffer.readexactly(n)))
    }

    fn try_readuntil(&self, separator: Vec<u8>) -> WitResult<Option<Vec<u8>>> {
        let separators = Separators::single(&separator)?;
        let mut search = SearchState::default();
        now(|| self.0.try_read_with(|buffer| buffer.readuntil(&separators, &mut search)))
    }

    fn try_readuntil_any(&self, separators: Vec<Vec<u8>>) -> WitResult<Option<Vec<u8>>> {
        let separators = Separators::new(&separators)?;
        let mut search = SearchState::default();
        now(|| self.0.try_read_with(|buffer| buffer.readuntil(&separators, &mut search)))
    }

    fn subscribe(&self) -> Pollable {
        runtime::run_pending();
        self.0.subscribe()
    }

    fn buffer_size(&self) -> u64 {
        runtime::run_pending();
        self.0.buffer_size() as u64
    }
}

/// `writer`: a [`StreamWriter`]. Dropping it closes the connection after delivering
/// what is queued (within `ABANDONED_FLUSH_TIMEOUT`, during later calls).
pub struct WriterResource(StreamWriter);

impl GuestWriter for WriterResource {
    fn write(&self, data: Vec<u8>) -> WitResult<()> {
        now(|| self.0.write(&data))
    }

    fn writelines(&self, lines: Vec<Vec<u8>>) -> WitResult<()> {
        now(|| self.0.writelines(&lines))
    }

    fn drain(&self) -> WitResult<()> {
        wait(self.0.drain())
    }

    fn try_drain(&self) -> WitResult<bool> {
        now(|| self.0.try_drain())
    }

    fn subscribe(&self) -> Pollable {
        runtime::run_pending();
        self.0.subscribe()
    }

    fn write_eof(&self) -> WitResult<()> {
        now(|| self.0.write_eof())
    }

    fn can_write_eof(&self) -> bool {
        self.0.can_write_eof()
    }

    fn close(&self) {
        runtime::run_pending();
        self.0.close()
    }

    fn is_closing(&self) -> bool {
        runtime::run_pending();
        self.0.is_closing()
    }

    fn abort(&self) {
        runtime::run_pending();
        self.0.abort()
    }

    fn wait_closed(&self) -> WitResult<()> {
        wait(self.0.wait_closed())
    }

    fn try_wait_closed(&self) -> WitResult<bool> {
        now(|| self.0.try_wait_closed())
    }

    fn get_write_buffer_size(&self) -> u64 {
        runtime::run_pending();
        self.0.get_write_buffer_size() as u64
    }

    fn get_write_buffer_limits(&self) -> wit::WriteBufferLimits {
        let (low, high) = self.0.get_write_buffer_limits();
        wit::WriteBufferLimits { low: low as u64, high: high as u64 }
    }

    fn set_write_buffer_limits(&self, high: Option<u64>, low: Option<u64>) -> WitResult<()> {
        let high = high.map(|h| convert::size(h, "high")).transpose()?;
        let low = low.map(|l| convert::size(l, "low")).transpose()?;
        now(|| self.0.set_write_buffer_limits(high, low))
    }

    fn peername(&self) -> WitResult<wit::IpSocketAddress> {
        now(|| self.0.peername()).map(convert::address)
    }

    fn sockname(&self) -> WitResult<wit::IpSocketAddress> {
        now(|| self.0.sockname()).map(convert::address)
    }

    fn start_tls(
        &self,
        config: wit::TlsUpgrade,
        server_hostname: Option<String>,
        ssl_handshake_timeout_ms: Option<u32>,
        ssl_shutdown_timeout_ms: Option<u32>,
    ) -> WitResult<()> {
        let options = crate::StartTlsOptions {
            server_hostname,
            ssl_handshake_timeout: tls::millis(ssl_handshake_timeout_ms),
            ssl_shutdown_timeout: tls::millis(ssl_shutdown_timeout_ms),
        };
        wait(self.0.start_tls_with(tls::upgrade(&config)?, &options))
    }

    fn tls_info(&self) -> Option<wit::TlsInfo> {
        runtime::run_pending();
        self.0.tls_info().map(tls::info)
    }
}

/// `server`: a [`crate::Server`] from [`crate::start_listening`].
pub struct ServerResource(crate::Server);

impl GuestServer for ServerResource {
    fn accept(&self) -> WitResult<(wit::Reader, wit::Writer)> {
        let (reader, writer) = wait(self.0.accept())?;
        Ok(connection(reader, writer))
    }

    fn try_accept(&self) -> WitResult<Option<(wit::Reader, wit::Writer)>> {
        let accepted = now(|| self.0.try_accept())?;
        Ok(accepted.map(|(reader, writer)| connection(reader, writer)))
    }

    fn subscribe(&self) -> Pollable {
        runtime::run_pending();
        self.0.subscribe()
    }

    fn start_serving(&self) -> WitResult<()> {
        wait(self.0.start_serving())
    }

    fn is_serving(&self) -> bool {
        self.0.is_serving()
    }

    fn sockets(&self) -> Vec<wit::IpSocketAddress> {
        self.0.sockets().into_iter().map(convert::address).collect()
    }

    fn close(&self) {
        runtime::run_pending();
        self.0.close()
    }

    fn close_clients(&self) {
        runtime::run_pending();
        self.0.close_clients()
    }

    fn abort_clients(&self) {
        runtime::run_pending();
        self.0.abort_clients()
    }

    fn wait_closed(&self) {
        runtime::block_on(self.0.wait_closed())
    }

    fn try_wait_closed(&self) -> bool {
        runtime::run_pending();
        self.0.try_wait_closed()
    }
}
