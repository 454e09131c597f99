//! Turns a fuzzer's bytes into runs of the lockstep checks, so every input is a valid
//! run and small changes to the bytes make small changes to the run.

use super::reader_lockstep::{Case, Op};
use super::writer_lockstep::WriterOp;

/// What the reader's data is made of: separators' bytes, mostly, so they match often.
const ALPHABET: &[u8] = b"ab\nXc";
/// At most this many operations per run (a fuzz run stays fast).
const MAX_OPS: usize = 64;

/// Reads the fuzzer's bytes front to back; zeros once they run out.
struct Bytes<'a> {
    rest: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.rest.split_first().unwrap_or((&0, &[]));
        self.rest = rest;
        *first
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn letters(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }

    /// Sometimes the size of a read that another task does while an operation waits.
    fn interloper(&mut self) -> Option<i64> {
        let byte = self.byte();
        (byte % 4 == 0).then_some(1 + (byte / 4 % 5) as i64)
    }
}

/// A run of the reader checks: limit, data, chunk cuts, then operations until the bytes
/// run out.
pub fn reader_case(bytes: &[u8]) -> Case {
    let mut input = Bytes { rest: bytes };
    let limit = 1 + input.below(40);
    let len = input.byte() as usize;
    let data = input.letters(len, ALPHABET);
    let cuts = (0..input.below(16)).map(|_| input.byte() as usize).collect();
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < MAX_OPS {
        let op = match input.below(10) {
            0 | 1 => Op::Read(input.below(16) as i64 - 3),
            2 | 3 => Op::ReadExactly(input.below(16) as i64 - 1),
            4..=6 => {
                let separators = (0..1 + input.below(3))
                    .map(|_| {
                        let len = 1 + input.below(3);
                        input.letters(len, b"ab\n")
                    })
                    .collect();
                Op::ReadUntil(separators, input.interloper())
            }
            7 | 8 => Op::ReadLine(input.interloper()),
            _ => Op::SetException,
        };
        ops.push(op);
    }
    Case { data, cuts, limit, ops }
}

/// A run of the writer check: operations until the bytes run out.
pub fn writer_ops(bytes: &[u8]) -> Vec<WriterOp> {
    let mut input = Bytes { rest: bytes };
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < MAX_OPS {
        let op = match input.below(11) {
            0..=3 => {
                let len = input.below(48);
                WriterOp::Write((0..len).map(|_| input.byte()).collect())
            }
            4 | 5 => {
                let lines = (0..input.below(4))
                    .map(|_| {
                        let len = input.below(24);
                        (0..len).map(|_| input.byte()).collect()
                    })
                    .collect();
                WriterOp::WriteLines(lines)
            }
            6..=9 => WriterOp::Flush { max: input.below(96), accept: input.byte() as usize },
            _ => {
                let high = (input.byte() % 3 != 0).then(|| input.below(128));
                let low = (input.byte() % 3 != 0).then(|| input.below(64));
                WriterOp::SetLimits(high, low)
            }
        };
        ops.push(op);
    }
    ops
}
