//! The callee of bench/call-floor: `wasio:call-floor/calls`, each function doing as little
//! as its kind allows, so that what the consumer measures is the runtime's cost of the
//! call (or of the stream operation) itself.

wit_bindgen::generate!({
    path: "../wit",
    world: "provider",
});

use exports::wasio::call_floor::calls::Guest;
use wit_bindgen::StreamReader;

struct Provider;

export!(Provider);

impl Guest for Provider {
    fn add(x: u32) -> u32 {
        x.wrapping_add(1)
    }

    async fn add_async(x: u32) -> u32 {
        x.wrapping_add(1)
    }

    async fn add_after_yield(x: u32) -> u32 {
        wit_bindgen::yield_async().await;
        x.wrapping_add(1)
    }

    async fn take_list(data: Vec<u8>) -> u32 {
        data.len() as u32
    }

    fn take_list_sync(data: Vec<u8>) -> u32 {
        data.len() as u32
    }

    async fn give_list(length: u32) -> Vec<u8> {
        vec![0x5a; length as usize]
    }

    fn give_list_sync(length: u32) -> Vec<u8> {
        vec![0x5a; length as usize]
    }

    async fn sink(mut data: StreamReader<u8>, chunk: u32) -> u64 {
        let mut total = 0u64;
        let mut buffer = Vec::with_capacity(chunk as usize);
        loop {
            let (result, mut read) = data.read(buffer).await;
            total += read.len() as u64;
            if matches!(result, wit_bindgen::StreamResult::Dropped) {
                return total;
            }
            read.clear();
            buffer = read;
        }
    }

    async fn hold(ms: u32) {
        wit_bindgen::block_on(wasip3::clocks::monotonic_clock::wait_for(u64::from(ms) * 1_000_000));
    }

    async fn add_async_lingering(x: u32) -> u32 {
        drop(wit_bindgen::spawn_local(wit_bindgen::yield_async()));
        x.wrapping_add(1)
    }

    async fn source(chunks: u32, size: u32) -> StreamReader<u8> {
        let (mut writer, reader) = wit_stream::new::<u8>();
        wit_bindgen::spawn_local(async move {
            let chunk = vec![0x5a; size as usize];
            for _ in 0..chunks {
                if !writer.write_all(chunk.clone()).await.is_empty() {
                    return; // the reader went away
                }
            }
        });
        reader
    }
}
