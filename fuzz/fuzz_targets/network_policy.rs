//! The network policy: rules parse and display back, a deny always wins, IPv4 and its
//! IPv4-mapped spelling agree (see `wasio_policy::invariants`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Err(failure) = wasio_policy::invariants::replay(bytes) {
        panic!("{failure}");
    }
});
