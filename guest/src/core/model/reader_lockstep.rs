//! `ReadBuffer` checked against the naive [`ModelReader`], for the property tests and the
//! `read_buffer` fuzz target:
//!
//! 1. [`run_lockstep`]: a random sequence of operations on random input in random chunks;
//!    whenever an operation returns `NeedData` the next chunk (or EOF) is fed to both,
//!    exactly as the I/O layer would (resuming first). Every step (results, `NeedData`,
//!    buffer contents, pause state) must agree. Some `readuntil`/`readline` calls let
//!    another task consume bytes between retries, to check that the saved search
//!    position neither skips nor rescans.
//! 2. [`check_chunking_independence`]: the same operations against the same bytes in
//!    random chunks vs. in one piece. Per contract A.2.7/E4 the *kind* of a limit overrun
//!    legitimately depends on segmentation, and `read(n)` returns whatever is available,
//!    so the comparison is exactly as strong as the contract allows: `read(n)` is driven
//!    until `n` bytes (or everything) are buffered; a result that is not an overrun in one
//!    piece must be identical when chunked; an overrun in one piece must be an overrun
//!    when chunked (a "found" overrun at the same position, or a "not found" one no
//!    later); after a `readline` overrun that differs the streams have diverged and the
//!    comparison stops.
//!
//! A disagreement is an `Err` naming the operation and both sides.

use std::collections::VecDeque;

use super::reader::ModelReader;
use crate::core::{ReadBuffer, SearchState, Separators, Step};
use crate::error::{Error, Overrun};

/// One read operation.
#[derive(Debug, Clone)]
pub enum Op {
    Read(i64),
    ReadExactly(i64),
    /// Separators, and the size of a `read` that another task does after the first
    /// `NeedData` (before more data arrives), if any.
    ReadUntil(Vec<Vec<u8>>, Option<i64>),
    ReadLine(Option<i64>),
    SetException,
}

/// One run: the bytes that arrive, where they are cut into chunks, the reader's limit
/// and what is done with them.
#[derive(Debug, Clone)]
pub struct Case {
    pub data: Vec<u8>,
    /// Offsets into `data` (any order, duplicates allowed; beyond the end is clamped).
    pub cuts: Vec<usize>,
    pub limit: usize,
    pub ops: Vec<Op>,
}

/// Returns `Err` with a description when `$actual != $expected`.
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($context:tt)+) => {{
        let (actual, expected) = (&$actual, &$expected);
        if actual != expected {
            return Err(format!("{}: got {:?}, the model says {:?}", format!($($context)+), actual, expected));
        }
    }};
}

/// Splits `data` at `cuts`.
pub fn chunked(data: &[u8], cuts: &[usize]) -> VecDeque<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|&cut| cut.min(data.len())).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

/// Bytes still to arrive: chunks, then EOF.
struct Input {
    chunks: VecDeque<Vec<u8>>,
    eof_sent: bool,
}

impl Input {
    fn new(chunks: VecDeque<Vec<u8>>) -> Self {
        Input { chunks, eof_sent: false }
    }

    /// Delivers the next chunk, or EOF once the chunks are gone (`None`).
    fn next(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.eof_sent {
            return Err("an operation asked for data after EOF".into());
        }
        let chunk = self.chunks.pop_front();
        self.eof_sent = chunk.is_none();
        Ok(chunk)
    }
}

fn feed_both(reader: &mut ReadBuffer, model: &mut ModelReader, input: &mut Input) -> Result<(), String> {
    match input.next()? {
        Some(chunk) => {
            // Exercise both feeding paths.
            if chunk.len() % 2 == 0 {
                reader.feed_vec(chunk.clone());
            } else {
                reader.feed_data(&chunk);
            }
            model.feed_data(&chunk);
        }
        None => {
            reader.feed_eof();
            model.feed_eof();
        }
    }
    Ok(())
}

fn boom() -> Error {
    Error::ConnectionReset("boom".into())
}

fn same_state(reader: &ReadBuffer, model: &ModelReader) -> Result<(), String> {
    ensure_eq!(reader.buffered(), &model.buffer[..], "buffered bytes");
    ensure_eq!(reader.is_paused(), model.paused, "paused");
    ensure_eq!(reader.at_eof(), model.eof && model.buffer.is_empty(), "at_eof");
    ensure_eq!(reader.exception(), model.exception.as_ref(), "exception");
    Ok(())
}

/// The separators of a `readuntil`, or `None` when `Separators` rejects them (then the
/// operation is skipped: argument checks are tested elsewhere).
fn separators(op: &Op) -> Option<Separators> {
    match op {
        Op::ReadUntil(list, _) => Separators::new(list).ok(),
        _ => None,
    }
}

/// Check 1 (see the module docs).
pub fn run_lockstep(case: &Case) -> Result<(), String> {
    let mut input = Input::new(chunked(&case.data, &case.cuts));
    let mut reader = ReadBuffer::new(case.limit).map_err(|e| format!("limit {}: {e:?}", case.limit))?;
    let mut model = ModelReader::new(case.limit);

    for op in &case.ops {
        let mut search = SearchState::default();
        let mut interloper = match op {
            Op::ReadUntil(_, i) | Op::ReadLine(i) => *i,
            _ => None,
        };
        let separators = separators(op);
        if matches!(op, Op::ReadUntil(..)) && separators.is_none() {
            continue;
        }
        loop {
            let (actual, expected) = match op {
                Op::Read(n) => (reader.read(*n), model.read(*n)),
                Op::ReadExactly(n) => (reader.readexactly(*n), model.readexactly(*n)),
                Op::ReadUntil(list, _) => {
                    (reader.readuntil(separators.as_ref().unwrap(), &mut search), model.readuntil(list))
                }
                Op::ReadLine(_) => (reader.readline(&mut search), model.readline()),
                Op::SetException => {
                    reader.set_exception(boom());
                    model.exception = Some(boom());
                    (Step::Ready(Ok(vec![])), Step::Ready(Ok(vec![])))
                }
            };
            ensure_eq!(actual, expected, "op {op:?}");
            same_state(&reader, &model).map_err(|e| format!("after op {op:?}: {e}"))?;
            if let Step::Ready(_) = actual {
                break;
            }
            // Another task reads from the buffer while this operation waits (only a read
            // that completes at once: a second waiter would be Busy).
            if let Some(n) = interloper.take().filter(|_| !reader.is_empty()) {
                ensure_eq!(reader.read(n), model.read(n), "interloping read({n}) during {op:?}");
                same_state(&reader, &model)?;
            }
            // `_wait_for_data`: resume, then wait for the next event.
            reader.resume_for_waiter();
            model.resume_for_waiter();
            feed_both(&mut reader, &mut model, &mut input)?;
            same_state(&reader, &model).map_err(|e| format!("after feeding during {op:?}: {e}"))?;
        }
    }
    Ok(())
}

/// Runs `ops` against `input`; returns each operation's result and the stream position
/// after it. `read(n)` with `n > 0` first gets `n` bytes (or everything) buffered.
fn run_driven(mut input: Input, limit: usize, ops: &[Op]) -> Result<Vec<(Step<Vec<u8>>, u64)>, String> {
    let mut reader = ReadBuffer::new(limit).map_err(|e| format!("limit {limit}: {e:?}"))?;
    let mut results = Vec::new();
    for op in ops {
        if let Op::Read(n) = op {
            while *n > 0 && (reader.len() as i64) < *n && !input.chunks.is_empty() {
                reader.feed_data(&input.next()?.unwrap());
            }
        }
        let separators = separators(op);
        let mut search = SearchState::default();
        let result = loop {
            let step = match op {
                Op::Read(n) => reader.read(*n),
                Op::ReadExactly(n) => reader.readexactly(*n),
                Op::ReadUntil(..) => match &separators {
                    Some(separators) => reader.readuntil(separators, &mut search),
                    None => Step::Ready(Ok(Vec::new())),
                },
                Op::ReadLine(_) => reader.readline(&mut search),
                Op::SetException => Step::Ready(Ok(Vec::new())),
            };
            match step {
                Step::NeedData => {
                    reader.resume_for_waiter();
                    match input.next()? {
                        Some(chunk) => reader.feed_data(&chunk),
                        None => reader.feed_eof(),
                    }
                }
                ready => break ready,
            }
        };
        results.push((result, reader.total_consumed()));
    }
    Ok(results)
}

fn overrun(step: &Step<Vec<u8>>) -> Option<(Overrun, usize)> {
    match step {
        Step::Ready(Err(Error::LimitOverrun { kind, consumed })) => Some((*kind, *consumed)),
        _ => None,
    }
}

/// Check 2 (see the module docs). `SetException` operations do nothing here.
pub fn check_chunking_independence(case: &Case) -> Result<(), String> {
    let whole = Input::new(VecDeque::from([case.data.clone()]));
    let pieces = Input::new(chunked(&case.data, &case.cuts));
    let reference = run_driven(whole, case.limit, &case.ops)?;
    let chunked = run_driven(pieces, case.limit, &case.ops)?;

    for ((op, (expected, expected_pos)), (actual, actual_pos)) in case.ops.iter().zip(&reference).zip(&chunked) {
        match overrun(expected) {
            None => {
                ensure_eq!(actual, expected, "op {op:?}, chunked vs whole");
                ensure_eq!(actual_pos, expected_pos, "position after op {op:?}, chunked vs whole");
            }
            Some((expected_kind, expected_at)) => {
                let Some((kind, at)) = overrun(actual) else {
                    return Err(format!("op {op:?}: whole input overran, chunked gave {actual:?}"));
                };
                if kind == Overrun::SeparatorFound {
                    ensure_eq!(expected_kind, Overrun::SeparatorFound, "overrun kind of op {op:?}");
                    ensure_eq!(at, expected_at, "overrun position of op {op:?}");
                } else if at > expected_at {
                    return Err(format!("op {op:?}: chunked overran at {at}, after the whole input's {expected_at}"));
                }
                if actual_pos != expected_pos {
                    // Only readline discards on overrun; the streams now differ.
                    if !matches!(op, Op::ReadLine(_)) {
                        return Err(format!("op {op:?}: positions differ after an overrun"));
                    }
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Without overruns (a limit at least the input's length) chunking changes nothing.
pub fn check_chunking_changes_nothing(case: &Case) -> Result<(), String> {
    let limit = case.limit.max(case.data.len()).max(1);
    let whole = run_driven(Input::new(VecDeque::from([case.data.clone()])), limit, &case.ops)?;
    let pieces = run_driven(Input::new(chunked(&case.data, &case.cuts)), limit, &case.ops)?;
    ensure_eq!(pieces, whole, "results with the input chunked vs whole");
    Ok(())
}
