//! `ReadBuffer` in lockstep with the naive model of CPython's StreamReader, and its
//! results independent of how the input is chunked (see `wasio::core::model`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Err(failure) = wasio::core::model::replay_read_buffer(bytes) {
        panic!("{failure}");
    }
});
