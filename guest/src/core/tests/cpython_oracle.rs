//! Replays scenarios recorded from CPython 3.13's own `StreamReader`
//! (`oracle/generate.py` → `oracle/cases.txt`) against `ReadBuffer`: every result,
//! the buffer after it and the pause state must be what CPython produced.
//!
//! The driver is the generator's: each operation is retried after feeding the next
//! chunk (EOF when none are left) for as long as it returns `NeedData`, resuming
//! first as `_wait_for_data` does. CPython's `readline` turns overruns into
//! `ValueError` and drops `consumed`, so those are compared by kind only.

use std::collections::VecDeque;

use crate::core::{ReadBuffer, SearchState, Separators, Step};
use crate::error::{Error, Overrun};

const CASES: &str = include_str!("oracle/cases.txt");

fn unhex(text: &str) -> Vec<u8> {
    if text == "." {
        return Vec::new();
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return ".".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Our result in the generator's notation.
fn describe(step: Step<Vec<u8>>, is_readline: bool) -> String {
    let Step::Ready(result) = step else { unreachable!("driven to completion") };
    match result {
        Ok(data) => format!("ok {}", hex(&data)),
        Err(Error::IncompleteRead { partial, expected }) => {
            let expected = expected.map_or("none".to_string(), |n| n.to_string());
            format!("incomplete {} {expected}", hex(&partial))
        }
        Err(Error::LimitOverrun { kind, consumed }) => {
            let kind = match kind {
                Overrun::SeparatorFound => "found",
                Overrun::SeparatorNotFound => "notfound",
            };
            if is_readline {
                format!("{kind} ?")
            } else {
                format!("{kind} {consumed}")
            }
        }
        Err(Error::Other(message)) if message == "boom" => "exc".into(),
        Err(Error::InvalidArgument(message)) if message.contains("less than zero") => "invalid".into(),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

struct Replay {
    reader: ReadBuffer,
    chunks: VecDeque<Vec<u8>>,
}

impl Replay {
    fn run(&mut self, operation: &str) -> String {
        let (name, argument) = operation.split_once(' ').unwrap_or((operation, ""));
        if name == "setexc" {
            self.reader.set_exception(Error::Other("boom".into()));
            return "none".into();
        }
        let separators =
            (name == "readuntil").then(|| Separators::new(argument.split(',').map(unhex)).unwrap());
        let mut search = SearchState::default();
        loop {
            let step = match name {
                "read" => self.reader.read(argument.parse().unwrap()),
                "readexactly" => self.reader.readexactly(argument.parse().unwrap()),
                "readuntil" => self.reader.readuntil(separators.as_ref().unwrap(), &mut search),
                "readline" => self.reader.readline(&mut search),
                _ => panic!("unknown operation {operation:?}"),
            };
            if step != Step::NeedData {
                return describe(step, name == "readline");
            }
            self.reader.resume_for_waiter();
            match self.chunks.pop_front() {
                Some(chunk) => self.reader.feed_data(&chunk),
                None => {
                    assert!(!self.reader.is_eof(), "{operation}: NeedData after EOF");
                    self.reader.feed_eof();
                }
            }
        }
    }
}

#[test]
fn matches_cpython_recorded_scenarios() {
    let mut lines = CASES.lines().peekable();
    let mut cases = 0;
    let mut operations = 0;
    while let Some(header) = lines.next() {
        let fields: Vec<&str> = header.split(' ').collect();
        assert_eq!(fields[0], "case", "malformed fixture line {header:?}");
        let limit: usize = fields[1].parse().unwrap();
        let chunks =
            if fields[2] == "." { VecDeque::new() } else { fields[2].split(',').map(unhex).collect() };
        let mut replay = Replay { reader: ReadBuffer::new(limit).unwrap(), chunks };
        cases += 1;
        while lines.peek().is_some_and(|l| !l.starts_with("case ")) {
            let operation = lines.next().unwrap();
            let expected = lines.next().unwrap();
            let result = replay.run(operation);
            let actual = format!(
                "= {result} ; buf {} ; paused {}",
                hex(replay.reader.buffered()),
                u8::from(replay.reader.is_paused())
            );
            assert_eq!(actual, expected, "case {cases} ({header}), operation {operation:?}");
            operations += 1;
        }
    }
    assert!(cases >= 200 && operations >= 900, "{cases} cases, {operations} operations");
}
