//! Reference models of the core and the lockstep checks that hold the real types to
//! them: shared by the property tests (`core/tests`) and the fuzz targets (`fuzz/`,
//! which build this with the crate's `model` feature). [`decode`] turns a fuzzer's bytes
//! into runs; the `replay_*` functions run one input the way its fuzz target does, so inputs
//! kept from fuzzing replay in the normal test suite.

pub mod decode;
pub mod reader;
pub mod reader_lockstep;
pub mod writer_lockstep;

/// Runs the `read_buffer` fuzz target's checks on one input.
pub fn replay_read_buffer(bytes: &[u8]) -> Result<(), String> {
    let case = decode::reader_case(bytes);
    reader_lockstep::run_lockstep(&case)?;
    let mut without_exceptions = case;
    without_exceptions.ops.retain(|op| !matches!(op, reader_lockstep::Op::SetException));
    reader_lockstep::check_chunking_independence(&without_exceptions)?;
    reader_lockstep::check_chunking_changes_nothing(&without_exceptions)
}

/// Runs the `write_buffer` fuzz target's checks on one input.
pub fn replay_write_buffer(bytes: &[u8]) -> Result<(), String> {
    writer_lockstep::run_writer_ops(&decode::writer_ops(bytes))
}
