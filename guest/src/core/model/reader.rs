//! A deliberately naive model of the StreamReader contract (A.2.4-A.2.7, C.1), for the
//! property tests and the fuzz targets: a plain `Vec<u8>`, every `readuntil` rescans the whole buffer from
//! the start, and the rules are written as the contract states them — no offsets, no
//! searchers, no saved progress.

use crate::core::Step;
use crate::error::{Error, Overrun};

pub struct ModelReader {
    pub buffer: Vec<u8>,
    pub eof: bool,
    pub exception: Option<Error>,
    pub limit: usize,
    pub paused: bool,
}

impl ModelReader {
    pub fn new(limit: usize) -> Self {
        ModelReader { buffer: Vec::new(), eof: false, exception: None, limit, paused: false }
    }

    pub fn feed_data(&mut self, data: &[u8]) {
        if data.is_empty() || self.eof {
            return;
        }
        self.buffer.extend_from_slice(data);
        if self.buffer.len() > 2 * self.limit {
            self.paused = true;
        }
    }

    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    pub fn resume_for_waiter(&mut self) {
        self.paused = false;
    }

    /// Successful reads remove their bytes and resume once at or below the limit.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buffer.len());
        let taken: Vec<u8> = self.buffer.drain(..n).collect();
        if self.buffer.len() <= self.limit {
            self.paused = false;
        }
        taken
    }

    pub fn read(&mut self, n: i64) -> Step<Vec<u8>> {
        if let Some(e) = &self.exception {
            return Step::Ready(Err(e.clone()));
        }
        if n == 0 {
            return Step::Ready(Ok(vec![]));
        }
        if n < 0 {
            if !self.eof {
                return Step::NeedData;
            }
            return Step::Ready(Ok(self.take(usize::MAX)));
        }
        if self.buffer.is_empty() && !self.eof {
            return Step::NeedData;
        }
        Step::Ready(Ok(self.take(n as usize)))
    }

    pub fn readexactly(&mut self, n: i64) -> Step<Vec<u8>> {
        if n < 0 {
            return Step::Ready(Err(Error::InvalidArgument(
                "readexactly size can not be less than zero".into(),
            )));
        }
        if let Some(e) = &self.exception {
            return Step::Ready(Err(e.clone()));
        }
        let n = n as usize;
        if n == 0 {
            return Step::Ready(Ok(vec![]));
        }
        if self.buffer.len() < n {
            if self.eof {
                let partial = std::mem::take(&mut self.buffer);
                return Step::Ready(Err(Error::IncompleteRead { partial, expected: Some(n as u64) }));
            }
            return Step::NeedData;
        }
        Step::Ready(Ok(self.take(n)))
    }

    pub fn readuntil(&mut self, separators: &[Vec<u8>]) -> Step<Vec<u8>> {
        if let Some(e) = &self.exception {
            return Step::Ready(Err(e.clone()));
        }
        let mut sorted = separators.to_vec();
        sorted.sort_by_key(Vec::len); // stable
        let max_len = sorted.last().unwrap().len();

        // The first end index at which some separator ends; shortest separator on ties.
        let found = (1..=self.buffer.len()).find_map(|end| {
            sorted.iter().find_map(|sep| {
                let start = end.checked_sub(sep.len())?;
                (self.buffer[start..end] == sep[..]).then_some((start, end))
            })
        });
        match found {
            Some((start, _)) if start > self.limit => {
                Step::Ready(Err(Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: start }))
            }
            Some((_, end)) => Step::Ready(Ok(self.take(end))),
            None => {
                // Not found: the last max_len - 1 bytes might still begin a separator.
                let undecided_from = (self.buffer.len() + 1).saturating_sub(max_len);
                if undecided_from > self.limit {
                    Step::Ready(Err(Error::LimitOverrun {
                        kind: Overrun::SeparatorNotFound,
                        consumed: undecided_from,
                    }))
                } else if self.eof {
                    let partial = std::mem::take(&mut self.buffer);
                    Step::Ready(Err(Error::IncompleteRead { partial, expected: None }))
                } else {
                    Step::NeedData
                }
            }
        }
    }

    pub fn readline(&mut self) -> Step<Vec<u8>> {
        if let Some(e) = &self.exception {
            return Step::Ready(Err(e.clone()));
        }
        match self.readuntil(&[b"\n".to_vec()]) {
            Step::Ready(Err(Error::IncompleteRead { partial, .. })) => Step::Ready(Ok(partial)),
            Step::Ready(Err(Error::LimitOverrun { kind, consumed })) => {
                if self.buffer.get(consumed) == Some(&b'\n') {
                    self.buffer.drain(..consumed + 1);
                } else {
                    self.buffer.clear();
                }
                if self.buffer.len() <= self.limit {
                    self.paused = false;
                }
                Step::Ready(Err(Error::LimitOverrun { kind, consumed }))
            }
            other => other,
        }
    }
}
