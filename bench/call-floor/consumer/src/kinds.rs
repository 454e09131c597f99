//! The operations measured: each kind once across the component boundary and once inside
//! this component, as a function that performs `n` of them in sequence.

use std::future::Future;
use std::pin::Pin;

use crate::{cross, local};

/// Bytes per `take-list` argument, `give-list` result and stream chunk: an echoed line's size.
pub const PAYLOAD: usize = 100;

/// Bytes per chunk of the bulk stream kind: what a forwarding loop moves at once.
pub const BULK: usize = 64 * 1024;

/// `n` operations of one kind, one after another.
pub type Run = fn(u64) -> Pin<Box<dyn Future<Output = ()>>>;

pub enum Place {
    /// Through the import, into the provider component.
    Cross,
    /// A plain Rust call in this component.
    Local,
}

impl Place {
    pub fn name(&self) -> &'static str {
        match self {
            Place::Cross => "cross",
            Place::Local => "local",
        }
    }
}

pub struct Kind {
    pub name: &'static str,
    pub place: Place,
    pub run: Run,
    /// Also measured with many callers at once (the async kinds).
    pub concurrent: bool,
}

pub const KINDS: &[Kind] = &[
    Kind { name: "add", place: Place::Cross, run: cross::add, concurrent: false },
    Kind { name: "add", place: Place::Local, run: local::add, concurrent: false },
    Kind { name: "add-async", place: Place::Cross, run: cross::add_async, concurrent: true },
    Kind { name: "add-async", place: Place::Local, run: local::add_async, concurrent: true },
    Kind { name: "add-after-yield", place: Place::Cross, run: cross::add_after_yield, concurrent: true },
    Kind { name: "add-after-yield", place: Place::Local, run: local::add_after_yield, concurrent: true },
    Kind { name: "take-list-100", place: Place::Cross, run: cross::take_list, concurrent: true },
    Kind { name: "take-list-100", place: Place::Local, run: local::take_list, concurrent: true },
    Kind { name: "take-list-sync-100", place: Place::Cross, run: cross::take_list_sync, concurrent: false },
    Kind { name: "take-list-sync-100", place: Place::Local, run: local::take_list_sync, concurrent: false },
    Kind { name: "give-list-100", place: Place::Cross, run: cross::give_list, concurrent: true },
    Kind { name: "give-list-100", place: Place::Local, run: local::give_list, concurrent: true },
    Kind { name: "give-list-sync-100", place: Place::Cross, run: cross::give_list_sync, concurrent: false },
    Kind { name: "give-list-sync-100", place: Place::Local, run: local::give_list_sync, concurrent: false },
    Kind { name: "stream-write-100", place: Place::Cross, run: cross::stream_write, concurrent: true },
    Kind { name: "stream-write-100", place: Place::Local, run: local::stream_write, concurrent: true },
    Kind { name: "stream-write-64k", place: Place::Cross, run: cross::stream_write_bulk, concurrent: false },
    Kind { name: "stream-write-64k", place: Place::Local, run: local::stream_write_bulk, concurrent: false },
    Kind { name: "stream-read-100", place: Place::Cross, run: cross::stream_read, concurrent: true },
    Kind { name: "stream-read-100", place: Place::Local, run: local::stream_read, concurrent: true },
];

/// Writes `n` chunks of `size` bytes into `writer`, then drops it (the reader's end).
pub async fn write_chunks(mut writer: wit_bindgen::StreamWriter<u8>, n: u64, size: usize) {
    let chunk = vec![0x5a; size];
    for _ in 0..n {
        let rest = writer.write_all(chunk.clone()).await;
        assert!(rest.is_empty(), "the stream's reader went away");
    }
}

/// Reads `reader` to its end in reads of up to `size` bytes; returns the byte count.
pub async fn read_chunks(mut reader: wit_bindgen::StreamReader<u8>, size: usize) -> u64 {
    let mut total = 0;
    let mut buffer = Vec::with_capacity(size);
    loop {
        let (result, mut read) = reader.read(buffer).await;
        total += read.len() as u64;
        if matches!(result, wit_bindgen::StreamResult::Dropped) {
            return total;
        }
        read.clear();
        buffer = read;
    }
}
