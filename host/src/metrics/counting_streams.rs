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

/// Store data that counts the connections its guest accepts (the accept wrapper in
/// `accept_errors` calls it).
pub(crate) trait CountsConnections {
    /// The guest accepted a connection with these streams.
    fn accepted(
        &mut self,
        input: &Resource<DynInputStream>,
        output: &Resource<DynOutputStream>,
    ) -> Result<(), ResourceTableError>;
}

/// Counts a connection the guest just accepted, and wraps its two streams (entries of
/// `table`) so their bytes are counted.
pub(crate) fn count_accepted(
    table: &mut ResourceTable,
    input: &Resource<DynInputStream>,
    output: &Resource<DynOutputStream>,
    metrics: &InstanceMetrics,
) -> Result<(), ResourceTableError> {
    metrics.accepted.inc();
    let open = Arc::new(OpenConnection::new(metrics.open.clone()));
    let slot = table.get_mut(input)?;
    let inner = std::mem::replace(slot, Box::new(ClosedInputStream));
    *slot = Box::new(CountingInput { inner, received: metrics.received.clone(), _open: open.clone() });
    let slot = table.get_mut(output)?;
    let inner = std::mem::replace(slot, Box::new(ClosedOutputStream));
    *slot = Box::new(CountingOutput { inner, sent: metrics.sent.clone(), _open: open });
    Ok(())
}

/// Counts one open connection while it lives (shared by the connection's two streams).
struct OpenConnection(Gauge);

impl OpenConnection {
    fn new(open: Gauge) -> Self {
        open.inc();
        OpenConnection(open)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct CountingInput {
    inner: DynInputStream,
    received: Counter,
    _open: Arc<OpenConnection>,
}

impl CountingInput {
    fn count(&self, result: StreamResult<Bytes>) -> StreamResult<Bytes> {
        if let Ok(bytes) = &result {
            self.received.inc_by(bytes.len() as u64);
        }
        result
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
        self.received.inc_by(skipped as u64);
        Ok(skipped)
    }

    async fn blocking_skip(&mut self, nelem: usize) -> StreamResult<usize> {
        let skipped = self.inner.blocking_skip(nelem).await?;
        self.received.inc_by(skipped as u64);
        Ok(skipped)
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

struct CountingOutput {
    inner: DynOutputStream,
    sent: Counter,
    _open: Arc<OpenConnection>,
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
        self.sent.inc_by(len);
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
        self.sent.inc_by(len);
        Ok(())
    }

    fn write_zeroes(&mut self, nelem: usize) -> StreamResult<()> {
        self.inner.write_zeroes(nelem)?;
        self.sent.inc_by(nelem as u64);
        Ok(())
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        self.inner.write_ready().await
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}
