//! Property tests of `ReadBuffer`:
//!
//! 1. Lockstep with the naive model: random input, random chunking, random limit and a
//!    random sequence of operations; whenever an operation returns `NeedData` the next
//!    chunk (or EOF) is fed to both, exactly as the I/O layer would (resuming first).
//!    Every step — results, `NeedData`, buffer contents, pause state — must agree.
//!    Some `readuntil`/`readline` calls let another operation consume bytes between
//!    retries, to check that the saved search position neither skips nor rescans.
//! 2. Chunking independence: the same operations against the same bytes delivered in
//!    random chunks vs. in one piece. Per contract A.2.7/E4 the *kind* of a limit
//!    overrun legitimately depends on segmentation, and `read(n)` returns whatever is
//!    available, so the comparison is exactly as strong as the contract allows:
//!    `read(n)` is driven until `n` bytes (or everything) are buffered; a result that
//!    is not an overrun in one piece must be identical when chunked; an overrun in one
//!    piece must be an overrun when chunked (a "found" overrun at the same position, or
//!    a "not found" one no later); after a `readline` overrun that differs the streams
//!    have diverged and the comparison stops.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::reader_model::ModelReader;
use crate::core::{ReadBuffer, SearchState, Separators, Step};
use crate::error::{Error, Overrun};

#[derive(Debug, Clone)]
enum Op {
    Read(i64),
    ReadExactly(i64),
    /// Separators, and the size of a `read` that another task does after the first
    /// `NeedData` (before more data arrives), if any.
    ReadUntil(Vec<Vec<u8>>, Option<i64>),
    ReadLine(Option<i64>),
    SetException,
}

const ALPHABET: &[u8] = b"ab\nX";

fn bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..=max_len)
}

fn separator() -> impl Strategy<Value = Vec<u8>> {
    // Mostly from the letters that also occur in the data, so they match often.
    prop::collection::vec(prop::sample::select(&b"ab\n"[..]), 1..=3)
}

fn interloper() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![3 => Just(None), 1 => (1i64..6).prop_map(Some)]
}

fn op(with_exception: bool, with_interlopers: bool) -> impl Strategy<Value = Op> {
    let interloper = move || interloper().prop_map(move |i| i.filter(|_| with_interlopers));
    let exception_weight = if with_exception { 1 } else { 0 };
    prop_oneof![
        6 => prop_oneof![Just(-1i64), Just(-3), Just(0), 1i64..12].prop_map(Op::Read),
        6 => (-1i64..12).prop_map(Op::ReadExactly),
        10 => (prop::collection::vec(separator(), 1..=3), interloper())
            .prop_map(|(s, i)| Op::ReadUntil(s, i)),
        8 => interloper().prop_map(Op::ReadLine),
        exception_weight => Just(Op::SetException),
    ]
}

/// Splits `data` at random cut points.
fn chunked(data: Vec<u8>, cuts: Vec<prop::sample::Index>) -> VecDeque<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
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
    /// Delivers the next chunk, or EOF once the chunks are gone. Returns the chunk
    /// (`None` for EOF).
    fn next(&mut self) -> Option<Vec<u8>> {
        assert!(!self.eof_sent, "an operation asked for data after EOF");
        let chunk = self.chunks.pop_front();
        if chunk.is_none() {
            self.eof_sent = true;
        }
        chunk
    }
}

fn feed_both(reader: &mut ReadBuffer, model: &mut ModelReader, input: &mut Input) {
    match input.next() {
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
}

fn boom() -> Error {
    Error::ConnectionReset("boom".into())
}

fn assert_same_state(reader: &ReadBuffer, model: &ModelReader) -> Result<(), TestCaseError> {
    prop_assert_eq!(reader.buffered(), &model.buffer[..]);
    prop_assert_eq!(reader.is_paused(), model.paused);
    prop_assert_eq!(reader.at_eof(), model.eof && model.buffer.is_empty());
    prop_assert_eq!(reader.exception(), model.exception.as_ref());
    Ok(())
}

fn run_lockstep(
    data: Vec<u8>,
    cuts: Vec<prop::sample::Index>,
    limit: usize,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut input = Input { chunks: chunked(data, cuts), eof_sent: false };
    let mut reader = ReadBuffer::new(limit).unwrap();
    let mut model = ModelReader::new(limit);

    for op in ops {
        let mut search = SearchState::default();
        let mut interloper = match &op {
            Op::ReadUntil(_, i) | Op::ReadLine(i) => *i,
            _ => None,
        };
        let separators = match &op {
            Op::ReadUntil(s, _) => Some(Separators::new(s).unwrap()),
            _ => None,
        };
        loop {
            let (actual, expected) = match &op {
                Op::Read(n) => (reader.read(*n), model.read(*n)),
                Op::ReadExactly(n) => (reader.readexactly(*n), model.readexactly(*n)),
                Op::ReadUntil(s, _) => {
                    (reader.readuntil(separators.as_ref().unwrap(), &mut search), model.readuntil(s))
                }
                Op::ReadLine(_) => (reader.readline(&mut search), model.readline()),
                Op::SetException => {
                    reader.set_exception(boom());
                    model.exception = Some(boom());
                    (Step::Ready(Ok(vec![])), Step::Ready(Ok(vec![])))
                }
            };
            prop_assert_eq!(&actual, &expected, "op {:?}", op);
            assert_same_state(&reader, &model)?;
            if let Step::Ready(_) = actual {
                break;
            }
            // Another task reads from the buffer while this operation waits (only a
            // read that completes at once: a second waiter would be Busy).
            if let Some(n) = interloper.take().filter(|_| !reader.is_empty()) {
                prop_assert_eq!(reader.read(n), model.read(n));
                assert_same_state(&reader, &model)?;
            }
            // `_wait_for_data`: resume, then wait for the next event.
            reader.resume_for_waiter();
            model.resume_for_waiter();
            feed_both(&mut reader, &mut model, &mut input);
            assert_same_state(&reader, &model)?;
        }
    }
    Ok(())
}

/// Runs `ops` against `input`; returns each operation's result and the stream position
/// after it. `read(n)` with `n > 0` first gets `n` bytes (or everything) buffered.
fn run_driven(mut input: Input, limit: usize, ops: &[Op]) -> Vec<(Step<Vec<u8>>, u64)> {
    let mut reader = ReadBuffer::new(limit).unwrap();
    let mut results = Vec::new();
    for op in ops {
        if let Op::Read(n) = op {
            while *n > 0 && (reader.len() as i64) < *n && !input.chunks.is_empty() {
                reader.feed_data(&input.next().unwrap());
            }
        }
        let separators = match op {
            Op::ReadUntil(s, _) => Some(Separators::new(s).unwrap()),
            _ => None,
        };
        let mut search = SearchState::default();
        let result = loop {
            let step = match op {
                Op::Read(n) => reader.read(*n),
                Op::ReadExactly(n) => reader.readexactly(*n),
                Op::ReadUntil(..) => reader.readuntil(separators.as_ref().unwrap(), &mut search),
                Op::ReadLine(_) => reader.readline(&mut search),
                Op::SetException => unreachable!("not generated for this property"),
            };
            match step {
                Step::NeedData => {
                    reader.resume_for_waiter();
                    match input.next() {
                        Some(chunk) => reader.feed_data(&chunk),
                        None => reader.feed_eof(),
                    }
                }
                ready => break ready,
            }
        };
        results.push((result, reader.total_consumed()));
    }
    results
}

fn overrun(step: &Step<Vec<u8>>) -> Option<(Overrun, usize)> {
    match step {
        Step::Ready(Err(Error::LimitOverrun { kind, consumed })) => Some((*kind, *consumed)),
        _ => None,
    }
}

fn check_chunking_independence(
    data: Vec<u8>,
    cuts: Vec<prop::sample::Index>,
    limit: usize,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let whole = Input { chunks: VecDeque::from([data.clone()]), eof_sent: false };
    let pieces = Input { chunks: chunked(data, cuts), eof_sent: false };
    let reference = run_driven(whole, limit, &ops);
    let chunked = run_driven(pieces, limit, &ops);

    for ((op, (expected, expected_pos)), (actual, actual_pos)) in ops.iter().zip(&reference).zip(&chunked) {
        match overrun(expected) {
            None => {
                prop_assert_eq!(actual, expected, "op {:?}", op);
                prop_assert_eq!(actual_pos, expected_pos);
            }
            Some((expected_kind, expected_at)) => {
                let Some((kind, at)) = overrun(actual) else {
                    return Err(TestCaseError::fail(format!(
                        "op {op:?}: whole input overran, chunked gave {actual:?}"
                    )));
                };
                if kind == Overrun::SeparatorFound {
                    prop_assert_eq!(expected_kind, Overrun::SeparatorFound);
                    prop_assert_eq!(at, expected_at);
                } else {
                    prop_assert!(at <= expected_at, "op {:?}: {} > {}", op, at, expected_at);
                }
                if actual_pos != expected_pos {
                    // Only readline discards on overrun; the streams now differ.
                    prop_assert!(matches!(op, Op::ReadLine(_)));
                    break;
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn reader_matches_the_naive_model(
        data in bytes(60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in 1usize..20,
        ops in prop::collection::vec(op(true, true), 1..14),
    ) {
        run_lockstep(data, cuts, limit, ops)?;
    }

    #[test]
    fn results_do_not_depend_on_chunking(
        data in bytes(60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in 1usize..20,
        ops in prop::collection::vec(op(false, false), 1..14),
    ) {
        check_chunking_independence(data, cuts, limit, ops)?;
    }

    #[test]
    fn without_overruns_chunking_changes_nothing(
        data in bytes(60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ops in prop::collection::vec(op(false, false), 1..14),
    ) {
        // limit >= input length: no overrun is possible, so every result must match.
        let whole = Input { chunks: VecDeque::from([data.clone()]), eof_sent: false };
        let pieces = Input { chunks: chunked(data, cuts), eof_sent: false };
        let reference = run_driven(whole, 64, &ops);
        let chunked = run_driven(pieces, 64, &ops);
        prop_assert_eq!(chunked, reference);
    }
}
