//! `WriteBuffer`'s watermarks, limits and byte conservation (see `wasio::core::model`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Err(failure) = wasio::core::model::replay_write_buffer(bytes) {
        panic!("{failure}");
    }
});
