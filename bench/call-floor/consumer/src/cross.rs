//! The kinds across the component boundary: calls of the imported
//! `wasio:call-floor/calls`, which `call-floor-provider.wasm` implements.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;

use crate::bindings::wasio::call_floor::calls;
use crate::kinds::{read_chunks, write_chunks, BULK, PAYLOAD};

pub fn add(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(calls::add(black_box(i as u32)));
        }
    })
}

pub fn add_async(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(calls::add_async(black_box(i as u32)).await);
        }
    })
}

pub fn add_after_yield(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for i in 0..n {
            black_box(calls::add_after_yield(black_box(i as u32)).await);
        }
    })
}

pub fn take_list(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let data = vec![0x5a; PAYLOAD];
        for _ in 0..n {
            let length = calls::take_list(data.clone()).await;
            assert_eq!(length as usize, PAYLOAD);
        }
    })
}

pub fn take_list_sync(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let data = vec![0x5a; PAYLOAD];
        for _ in 0..n {
            let length = calls::take_list_sync(&data);
            assert_eq!(length as usize, PAYLOAD);
        }
    })
}

pub fn give_list(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for _ in 0..n {
            assert_eq!(calls::give_list(PAYLOAD as u32).await.len(), PAYLOAD);
        }
    })
}

pub fn give_list_sync(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for _ in 0..n {
            assert_eq!(calls::give_list_sync(PAYLOAD as u32).len(), PAYLOAD);
        }
    })
}

/// `n` chunks written into a stream that the provider's `sink` reads.
pub fn stream_write(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(stream_write_sized(n, PAYLOAD))
}

/// `stream_write` with 64 KiB chunks.
pub fn stream_write_bulk(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(stream_write_sized(n, BULK))
}

async fn stream_write_sized(n: u64, size: usize) {
    let (writer, reader) = crate::bindings::wit_stream::new::<u8>();
    let sink = wit_bindgen::spawn_local(calls::sink(reader, size as u32));
    write_chunks(writer, n, size).await;
    assert_eq!(sink.await, Some(n * size as u64));
}

/// `n` chunks read from a stream that the provider's `source` writes.
pub fn stream_read(n: u64) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let reader = calls::source(n as u32, PAYLOAD as u32).await;
        assert_eq!(read_chunks(reader, PAYLOAD).await, n * PAYLOAD as u64);
    })
}
