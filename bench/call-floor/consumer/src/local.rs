//! The same kinds inside this component, for scale: plain Rust calls of the provider's
//! bodies (async ones polled by wit-bindgen's executor), and streams whose both ends are
//! this component's.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;

use crate::kinds::{read_chunks, write_chunks, BULK, PAYLOAD};

#[inline(never)]
fn add_body(x: u32) -> u32 {
    x.wrapping_add(1)
}

#[inline(never)]
async fn add_async_body(x: u32) -> u32 {
    x.wrapping_add(1)
}

#[inline(never)]
async fn add_after_yield_body(x: u32) -> u32 {
    wit_bindgen::yield_async().await;
    x.wrapping_add(1)
}

#[inline(never)]
async fn take_list_body(data: Vec<u8>) -> u32 {
    data.len() as u32
}

#[inline(never)]
fn take_list_sync_body(data: Vec<u8>) -> u32 {
    data.len() as u32
}

#[inline(never)]
async fn give_list_body(length: u32) -> Vec<u8> {
    vec![0x5a; length as usize]
}

#[inline(never)]
fn give_list_sync_body(length: u32) -> Vec<u8> {
    vec![0x5a; length as usize]
}

pub fn add(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(add_body(black_box(i as u32)));
        }
    })
}

pub fn add_async(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(add_async_body(black_box(i as u32)).await);
        }
    })
}

pub fn add_after_yield(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(add_after_yield_body(black_box(i as u32)).await);
        }
    })
}

pub fn take_list(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let data = vec![0x5a; PAYLOAD];
        for _ in 0..n {
            let length = take_list_body(black_box(data.clone())).await;
            assert_eq!(length as usize, PAYLOAD);
        }
    })
}

pub fn take_list_sync(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let data = vec![0x5a; PAYLOAD];
        for _ in 0..n {
            let length = take_list_sync_body(black_box(data.clone()));
            assert_eq!(length as usize, PAYLOAD);
        }
    })
}

pub fn give_list(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for _ in 0..n {
            assert_eq!(give_list_body(black_box(PAYLOAD as u32)).await.len(), PAYLOAD);
        }
    })
}

pub fn give_list_sync(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for _ in 0..n {
            assert_eq!(give_list_sync_body(black_box(PAYLOAD as u32)).len(), PAYLOAD);
        }
    })
}

/// `n` chunks through a stream both of whose ends are this component's: the writer here,
/// the reader in a task of its own (as the provider's `sink` would be).
pub fn stream_write(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(stream_write_sized(n, PAYLOAD))
}

/// `stream_write` with 64 KiB chunks.
pub fn stream_write_bulk(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(stream_write_sized(n, BULK))
}

async fn stream_write_sized(n: u64, size: usize) {
    let (writer, reader) = crate::bindings::wit_stream::new::<u8>();
    let sink = wit_bindgen::spawn_local(read_chunks(reader, size));
    write_chunks(writer, n, size).await;
    assert_eq!(sink.await, Some(n * size as u64));
}

/// `n` chunks through such a stream, the writer in a task of its own (as the provider's
/// `source` would be) and the reader here.
pub fn stream_read(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let (writer, reader) = crate::bindings::wit_stream::new::<u8>();
        let source = wit_bindgen::spawn_local(write_chunks(writer, n, PAYLOAD));
        assert_eq!(read_chunks(reader, PAYLOAD).await, n * PAYLOAD as u64);
        assert_eq!(source.await, Some(()));
    })
}
