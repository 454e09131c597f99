//! The host's ends of the provider's `stream<u8>`s and `future`s: a producer of a known
//! byte pattern that counts what it handed over, a consumer that checks the pattern and
//! can hold back (a reader that does not read), and a future's value delivered to a
//! channel.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::sync::oneshot;
use wasmtime::component::{Accessor, ResourceAny};
use wasmtime::component::{
    Destination, FutureConsumer, FutureReader, Source, StreamConsumer, StreamProducer, StreamReader,
    StreamResult, VecBuffer,
};
use wasmtime::StoreContextMut;

use host::provider_async::{Api, Error, HostState};

/// The byte at stream position `i`: 251 is prime, so a lost, repeated or reordered
/// chunk of any power-of-two size shows.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

pub fn pattern(from: u64, len: usize) -> Vec<u8> {
    (from..from + len as u64).map(pattern_byte).collect()
}

/// Checks `data` against the pattern from position `from`; the first difference.
pub fn check_pattern(from: u64, data: &[u8]) -> Result<(), String> {
    match data.iter().enumerate().find(|(i, b)| **b != pattern_byte(from + *i as u64)) {
        None => Ok(()),
        Some((i, b)) => {
            Err(format!("byte {} is {b}, not {}", from + i as u64, pattern_byte(from + i as u64)))
        }
    }
}

/// Yields `total` pattern bytes, `chunk` at a time, into a `stream<u8>`; `handed` counts
/// what it gave wasmtime (which passes it on as the guest reads).
pub struct PatternProducer {
    total: u64,
    chunk: usize,
    handed: Arc<AtomicU64>,
}

impl PatternProducer {
    pub fn new(total: u64, chunk: usize) -> (PatternProducer, Arc<AtomicU64>) {
        let handed = Arc::new(AtomicU64::new(0));
        (PatternProducer { total, chunk, handed: handed.clone() }, handed)
    }
}

impl StreamProducer<HostState> for PatternProducer {
    type Item = u8;
    type Buffer = VecBuffer<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: StoreContextMut<'a, HostState>,
        mut destination: Destination<'a, u8, VecBuffer<u8>>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let from = self.handed.load(Ordering::SeqCst);
        let len = (self.total - from).min(self.chunk as u64) as usize;
        if len == 0 {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        destination.set_buffer(pattern(from, len).into());
        self.handed.fetch_add(len as u64, Ordering::SeqCst);
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// A `stream<u8>` of `total` pattern bytes, made in the store behind `acc`.
pub fn pattern_stream(
    acc: &wasmtime::component::Accessor<HostState>,
    total: u64,
    chunk: usize,
) -> (StreamReader<u8>, Arc<AtomicU64>) {
    let (producer, handed) = PatternProducer::new(total, chunk);
    let stream = acc.with(|mut store| StreamReader::new(&mut store, producer)).expect("a host stream");
    (stream, handed)
}

/// Whether a [`PatternConsumer`] takes anything yet; opening it wakes it.
#[derive(Default)]
pub struct Gate {
    open: AtomicBool,
    waiting: Mutex<Option<Waker>>,
}

impl Gate {
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waiting.lock().unwrap().take() {
            waker.wake();
        }
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }
}

/// Takes a `stream<u8>` expecting the pattern, counting what it took, once its gate is
/// open; sends the count (or the first wrong byte) when the stream ends.
pub struct PatternConsumer {
    /// The stream's first byte is the pattern's byte at `from`.
    from: u64,
    taken: Arc<AtomicU64>,
    gate: Arc<Gate>,
    mismatch: Option<String>,
    done: Option<oneshot::Sender<Result<u64, String>>>,
}

/// The test's handle on a [`PatternConsumer`].
pub struct Taking {
    pub taken: Arc<AtomicU64>,
    pub gate: Arc<Gate>,
    pub done: oneshot::Receiver<Result<u64, String>>,
}

impl PatternConsumer {
    pub fn new(from: u64, open: bool) -> (PatternConsumer, Taking) {
        let (taken, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(Gate::default()));
        if open {
            gate.open();
        }
        let (done, done_rx) = oneshot::channel();
        let consumer = PatternConsumer {
            from,
            taken: taken.clone(),
            gate: gate.clone(),
            mismatch: None,
            done: Some(done),
        };
        (consumer, Taking { taken, gate, done: done_rx })
    }
}

impl Drop for PatternConsumer {
    /// The writer dropped its end (or the store went): report.
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let result = match self.mismatch.take() {
                Some(error) => Err(error),
                None => Ok(self.taken.load(Ordering::SeqCst)),
            };
            let _ = done.send(result);
        }
    }
}

impl StreamConsumer<HostState> for PatternConsumer {
    type Item = u8;

    fn poll_consume(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<HostState>,
        mut source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        if !self.gate.is_open() {
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            *self.gate.waiting.lock().unwrap() = Some(cx.waker().clone());
            if !self.gate.is_open() {
                return Poll::Pending; // held back: a reader that does not read
            }
        }
        let mut bytes = Vec::with_capacity(source.remaining(&mut store));
        source.read(&mut store, &mut bytes)?;
        let at = self.taken.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        if self.mismatch.is_none() {
            self.mismatch = check_pattern(self.from + at, &bytes).err();
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Pipes `stream`, the pattern from `from` on, into a [`PatternConsumer`].
pub fn take_pattern(
    acc: &wasmtime::component::Accessor<HostState>,
    stream: StreamReader<u8>,
    from: u64,
    open: bool,
) -> Taking {
    let (consumer, taking) = PatternConsumer::new(from, open);
    acc.with(|mut store| stream.pipe(&mut store, consumer)).expect("pipe the stream");
    taking
}

/// Delivers a future's value to a channel.
pub struct Deliver<T>(Option<oneshot::Sender<T>>);

impl<T: wasmtime::component::Lift + Send + Sync + 'static> FutureConsumer<HostState> for Deliver<T> {
    type Item = T;

    fn poll_consume(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        mut store: StoreContextMut<HostState>,
        mut source: Source<'_, T>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let mut value = None;
        source.read(&mut store, &mut value)?;
        if let (Some(value), Some(sender)) = (value, self.0.take()) {
            let _ = sender.send(value);
        }
        Poll::Ready(Ok(()))
    }
}

/// The value `future` will carry.
pub fn deliver<T: wasmtime::component::Lift + Send + Sync + 'static>(
    acc: &wasmtime::component::Accessor<HostState>,
    future: FutureReader<T>,
) -> oneshot::Receiver<T> {
    let (sender, receiver) = oneshot::channel();
    acc.with(|mut store| future.pipe(&mut store, Deliver(Some(sender)))).expect("pipe the future");
    receiver
}

/// `into-stream`'s ends forwarded into `writer` with `write-stream`, then `close` and
/// `wait-closed`: what `write-stream` counted, and how the bulk read ended.
pub async fn forward_and_close(
    acc: &Accessor<HostState>,
    api: &Api,
    (stream, end): (StreamReader<u8>, FutureReader<Result<(), Error>>),
    writer: ResourceAny,
) -> wasmtime::Result<(u64, Result<(), Error>)> {
    let ended = deliver(acc, end);
    let taken = super::ok(api.writer().call_write_stream(acc, writer, stream).await?)?;
    api.writer().call_close(acc, writer).await?;
    super::ok(api.writer().call_wait_closed(acc, writer).await?)?;
    Ok((taken, ended.await?))
}
