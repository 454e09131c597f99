//! Counting an accepted connection: its streams, as wasmtime-wasi made them, are wrapped in
//! place in the resource table, so every way a guest reads or writes them (`read`,
//! `blocking-read`, `skip`, `write`, `blocking-write-and-flush`, `splice`, ...) passes
//! through the count, and the connection counts as open until the guest drops both.

use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use wasmtime::component::{Resource, ResourceTable, ResourceTableError};
use wasmtime_wasi::async_trait;
use wasmtime_wasi::p2::pipe::{ClosedInputStream, ClosedOutputStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, StreamResult};

use super::InstanceMetrics;
use crate::open_connections::{self, OpenConnections};

/// Store data that counts the connections its guest accepts (the accept wrapper in
/// `accept_errors` calls it).
pub(crate) trait CountsConnections {
    /// The guest accepted a connection with these streams.
    fn accepted(
        &mut self,
        input: &Resource<DynInputStream>,
        output: &Resource<DynOutputStream>,
    ) -> Result<(), ResourceTableError>;

    /// Its WASI 0.3 guest's connections, if anything counts them ([`super::p3_connections`]).
    fn p3_connections(&mut self) -> Option<&mut super::p3_connections::P3Connections>;
}

/// Counts a connection the guest just accepted into `metrics` (`--metrics`) and into
/// `held_by` (its generation's open connections, [`crate::open_connections`]), and wraps its
/// two streams (entries of `table`) so their bytes are counted and the connection stays
/// counted as open until both are dropped. With neither, the streams are left as they are.
pub(crate) fn count_accepted(
    table: &mut ResourceTable,
    input: &Resource<DynInputStream>,
    output: &Resource<DynOutputStream>,
    metrics: Option<&InstanceMetrics>,
    held_by: Option<&Arc<OpenConnections>>,
) -> Result<(), ResourceTableError> {
    if metrics.is_none() && held_by.is_none() {
        return Ok(());
    }
    let open = OpenConnection::accepted(metrics, held_by);
    let slot = table.get_mut(input)?;
    let inner = std::mem::replace(slot, Box::new(ClosedInputStream));
    let received = metrics.map(|metrics| metrics.received.clone());
    *slot = Box::new(CountingInput { inner, received, _open: open.clone() });
    let slot = table.get_mut(output)?;
    let inner = std::mem::replace(slot, Box::new(ClosedOutputStream));
    let sent = metrics.map(|metrics| metrics.sent.clone());
    *slot = Box::new(CountingOutput { inner, sent, _open: open });
    Ok(())
}

/// One open connection, shared by what the guest holds of it (p2: its two streams; p3: its
/// socket and streams, [`super::p3_connections`]): counted while it lives.
pub(crate) struct OpenConnection {
    _gauge: Option<OpenGauge>,
    _generation: Option<open_connections::OpenConnection>,
}

impl OpenConnection {
    /// A connection the guest just accepted: counted as accepted into `metrics`, and as open
    /// there and in `held_by` until the last clone is dropped.
    pub(crate) fn accepted(
        metrics: Option<&InstanceMetrics>,
        held_by: Option<&Arc<OpenConnections>>,
    ) -> Arc<OpenConnection> {
        if let Some(metrics) = metrics {
            metrics.accepted.inc();
        }
        Arc::new(OpenConnection {
            _gauge: metrics.map(|metrics| OpenGauge::new(metrics.open.clone())),
            _generation: held_by.map(|open| open.opened()),
        })
    }
}

/// `wasio_connections_open`, one up while the connection is open.
struct OpenGauge(Gauge);

impl OpenGauge {
    fn new(open: Gauge) -> Self {
        open.inc();
        OpenGauge(open)
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct CountingInput {
    inner: DynInputStream,
    received: Option<Counter>,
    _open: Arc<OpenConnection>,
}

impl CountingInput {
    fn count(&self, result: StreamResult<Bytes>) -> StreamResult<Bytes> {
        if let Ok(bytes) = &result {
            self.add(bytes.len());
        }
        result
    }

    fn add(&self, bytes: usize) {
        if let Some(received) = &self.received {
            received.inc_by(bytes as u64);
        }
    }
}

#[async_trait]
impl Pollable for CountingInput {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[async_trait]
impl InputStream for CountingInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let result = self.inner.read(size);
        self.count(result)
    }

    async fn blocking_read(&mut self, size: usize) -> StreamResult<Bytes> {
        let result = self.inner.blocking_read(size).await;
        self.count(result)
    }

    fn skip(&mut self, nelem: usize) -> StreamResult<usize> {
        let skipped = self.inner.skip(nelem)?;
        self.add(skipped);
        Ok(skipped)
    }

    async fn blocking_skip(&mut self, nelem: usize) -> StreamResult<usize> {
        let skipped = self.inner.blocking_skip(nelem).await?;
        self.add(skipped);
        Ok(skipped)
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

struct CountingOutput {
    inner: DynOutputStream,
    sent: Option<Counter>,
    _open: Arc<OpenConnection>,
}

impl CountingOutput {
    fn add(&self, bytes: u64) {
        if let Some(sent) = &self.sent {
            sent.inc_by(bytes);
        }
    }
}

#[async_trait]
impl Pollable for CountingOutput {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

/// Bytes count as sent when the stream takes them (`write` succeeded), as asyncio's
/// transports count what they hand to the socket.
#[async_trait]
impl OutputStream for CountingOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let len = bytes.len() as u64;
        self.inner.write(bytes)?;
        self.add(len);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        let len = bytes.len() as u64;
        self.inner.blocking_write_and_flush(bytes).await?;
        self.add(len);
        Ok(())
    }

    fn write_zeroes(&mut self, nelem: usize) -> StreamResult<()> {
        self.inner.write_zeroes(nelem)?;
        self.add(nelem as u64);
        Ok(())
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        self.inner.write_ready().await
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}
