//! Tests of the core as a whole: CPython's own StreamReader tests ported one by one,
//! the extra scenarios verified against CPython 3.13, and property tests against a
//! reference model. Unit tests of single types live next to those types.

mod cpython_oracle;
mod cpython_streams;
mod extra_scenarios;
mod fuzz_regressions;
mod reader_properties;
mod writer_properties;

use super::{ReadBuffer, Separators, Step, DEFAULT_LIMIT};
use crate::error::Error;

/// `StreamTests.DATA` (TS:51).
const DATA: &[u8] = b"line1\nline2\nline3\n";

fn reader(limit: usize) -> ReadBuffer {
    ReadBuffer::new(limit).unwrap()
}

fn default_reader() -> ReadBuffer {
    reader(DEFAULT_LIMIT)
}

fn ok(bytes: &[u8]) -> Step<Vec<u8>> {
    Step::Ready(Ok(bytes.to_vec()))
}

fn err<T>(error: Error) -> Step<T> {
    Step::Ready(Err(error))
}

fn seps(list: &[&[u8]]) -> Separators {
    Separators::new(list).unwrap()
}

/// Stand-in for the `ValueError()` that CPython's tests pass to `set_exception`.
fn value_error() -> Error {
    Error::Other("ValueError".into())
}
