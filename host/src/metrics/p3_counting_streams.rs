//! Counting the bytes of a WASI 0.3 guest's accepted connection, under `--metrics`.
//!
//! p3 moves a connection's bytes through two `stream<u8>`s whose host ends are wasmtime-wasi
//! 48's crate-private producer and consumer, out of reach. So each is joined to the guest
//! through a relay of the host's own ([`relay`]): a consumer that takes the bytes from one
//! stream into a bounded buffer and a producer that hands them to the other, counting them
//! as they pass, per chunk (an atomic add), with one more copy of each chunk. Only accepted
//! connections under `--metrics` get one; without `--metrics` the guest gets wasmtime-wasi's
//! streams as they are.
//!
//! - `receive`: wasmtime-wasi's stream is piped (host to host) into the relay, and the guest
//!   reads the relay's. A byte counts as received when the guest reads it.
//! - `send`: the guest's stream is piped into the relay, and wasmtime-wasi's `send` gets the
//!   relay's. A byte counts as sent when the relay takes it from the guest (the relay takes
//!   no more than its buffer holds, so drain keeps its meaning within [`CAPACITY`]).
//!
//! The connection counts as open while the guest holds the socket or either of its ends of
//! the relays. What the guest cannot see changes with a relay: wasmtime-wasi reads up to
//! [`CAPACITY`] (plus its own 8 KiB) ahead of the guest, and once the guest has dropped the
//! receiving stream, wasmtime-wasi's reading side (and so the descriptor) lives until the
//! peer sends or closes (a host-to-host pipe has no way to cancel a pending read).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use prometheus_client::metrics::counter::Counter;
use wasmtime::component::{Destination, Source, StreamConsumer, StreamProducer, StreamReader, StreamResult};
use wasmtime::{AsContextMut, StoreContextMut};

use super::counting_streams::{CountsConnections, OpenConnection};
use super::InstanceMetrics;

/// The most bytes a relay holds.
pub(crate) const CAPACITY: usize = 64 * 1024;

/// What the guest reads from wasmtime-wasi's receiving stream `received`, through a relay
/// counting into `counter`; the connection is held open by the returned stream.
pub(crate) fn receiving<T: 'static>(
    mut store: StoreContextMut<'_, T>,
    received: StreamReader<u8>,
    counter: Counter,
    open: Arc<OpenConnection>,
) -> wasmtime::Result<StreamReader<u8>> {
    let (input, output) = relay(None, None, Some(counter), Some(open));
    received.pipe(&mut store, input)?;
    StreamReader::new(&mut store, output)
}

/// What wasmtime-wasi's `send` gets in place of the guest's stream `data`, through a relay
/// counting into `counter`; the connection is held open by the guest's end.
pub(crate) fn sending<T: 'static>(
    mut store: StoreContextMut<'_, T>,
    data: StreamReader<u8>,
    counter: Counter,
    open: Arc<OpenConnection>,
) -> wasmtime::Result<StreamReader<u8>> {
    let (input, output) = relay(Some(counter), Some(open), None, None);
    data.pipe(&mut store, input)?;
    StreamReader::new(&mut store, output)
}

/// A relay's two ends, each counting what passes it into its counter and holding its
/// connection open while it lives.
fn relay(
    in_counter: Option<Counter>,
    in_open: Option<Arc<OpenConnection>>,
    out_counter: Option<Counter>,
    out_open: Option<Arc<OpenConnection>>,
) -> (RelayInput, RelayOutput) {
    let shared = Arc::new(Mutex::new(Relay::default()));
    let input = RelayInput { relay: shared.clone(), counter: in_counter, _open: in_open };
    let output = RelayOutput { relay: shared, counter: out_counter, _open: out_open };
    (input, output)
}

#[derive(Default)]
struct Relay {
    buffer: BytesMut,
    /// The input end is gone: no more bytes will come.
    input_gone: bool,
    /// The output end is gone: bytes have nowhere to go.
    output_gone: bool,
    /// The output waits for bytes.
    output_waiting: Option<Waker>,
    /// The input waits for room.
    input_waiting: Option<Waker>,
}

fn lock(relay: &Mutex<Relay>) -> MutexGuard<'_, Relay> {
    relay.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}

fn count(counter: &Option<Counter>, bytes: usize) {
    if let Some(counter) = counter {
        counter.inc_by(bytes as u64);
    }
}

/// The relay's consumer: takes bytes from a stream into the buffer while it has room.
struct RelayInput {
    relay: Arc<Mutex<Relay>>,
    counter: Option<Counter>,
    _open: Option<Arc<OpenConnection>>,
}

impl Drop for RelayInput {
    fn drop(&mut self) {
        let mut relay = lock(&self.relay);
        relay.input_gone = true;
        wake(&mut relay.output_waiting);
    }
}

impl<D> StreamConsumer<D> for RelayInput {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<D>,
        source: Source<Self::Item>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut relay = lock(&self.relay);
        if relay.output_gone {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        let room = CAPACITY.saturating_sub(relay.buffer.len());
        if room == 0 {
            // Full (or a readiness check while full): wait for the output to take some.
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            relay.input_waiting = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut source = source.as_direct(store);
        let bytes = source.remaining();
        // An empty source is a readiness check: there is room.
        let taken = bytes.len().min(room);
        relay.buffer.extend_from_slice(&bytes[..taken]);
        source.mark_read(taken);
        if taken > 0 {
            count(&self.counter, taken);
            wake(&mut relay.output_waiting);
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// The relay's producer: hands the buffer's bytes to a stream's reader.
struct RelayOutput {
    relay: Arc<Mutex<Relay>>,
    counter: Option<Counter>,
    _open: Option<Arc<OpenConnection>>,
}

impl Drop for RelayOutput {
    fn drop(&mut self) {
        let mut relay = lock(&self.relay);
        relay.output_gone = true;
        wake(&mut relay.input_waiting);
    }
}

impl<D> StreamProducer<D> for RelayOutput {
    type Item = u8;
    type Buffer = BytesMut;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        destination: Destination<'a, Self::Item, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut relay = lock(&self.relay);
        if relay.buffer.is_empty() {
            if relay.input_gone {
                return Poll::Ready(Ok(StreamResult::Dropped));
            }
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            relay.output_waiting = Some(cx.waker().clone());
            return Poll::Pending;
        }
        // A zero-length read is a readiness check: there are bytes.
        if destination.remaining(store.as_context_mut()) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let available = relay.buffer.len();
        let mut destination = destination.as_direct(store, available);
        let room = destination.remaining();
        let given = room.len().min(available);
        room[..given].copy_from_slice(&relay.buffer[..given]);
        destination.mark_written(given);
        relay.buffer.advance(given);
        count(&self.counter, given);
        wake(&mut relay.input_waiting);
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// The stream the guest gets from `receive` on socket `rep`: `received` itself, or a
/// counting relay of it if `rep` is an accepted connection and `--metrics` counts bytes.
pub(crate) fn count_receiving<T: CountsConnections + 'static>(
    mut store: StoreContextMut<'_, T>,
    rep: u32,
    received: StreamReader<u8>,
) -> wasmtime::Result<StreamReader<u8>> {
    match counted(store.data_mut(), rep, |metrics| metrics.received.clone()) {
        Some((counter, open)) => receiving(store, received, counter, open),
        None => Ok(received),
    }
}

/// The stream wasmtime-wasi's `send` on socket `rep` gets: the guest's `data` itself, or a
/// counting relay of it if `rep` is an accepted connection and `--metrics` counts bytes.
pub(crate) fn count_sending<T: CountsConnections + 'static>(
    mut store: StoreContextMut<'_, T>,
    rep: u32,
    data: StreamReader<u8>,
) -> wasmtime::Result<StreamReader<u8>> {
    match counted(store.data_mut(), rep, |metrics| metrics.sent.clone()) {
        Some((counter, open)) => sending(store, data, counter, open),
        None => Ok(data),
    }
}

/// The counter (chosen by `series`) and connection of socket `rep`, if its bytes count.
fn counted<T: CountsConnections>(
    state: &mut T,
    rep: u32,
    series: impl FnOnce(&InstanceMetrics) -> Counter,
) -> Option<(Counter, Arc<OpenConnection>)> {
    let connections = state.p3_connections()?;
    let open = connections.accepted(rep)?;
    let counter = series(connections.metrics()?);
    Some((counter, open))
}
