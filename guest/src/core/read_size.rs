//! How much to ask the host for on each read.
//!
//! wasmtime allocates and zeroes the whole requested size on every stream read, even one
//! that finds nothing: asking for 64 KiB to fetch a 64-byte line costs more than the rest
//! of the round trip. So the size follows what reads actually return: it doubles while
//! reads come back full (bulk transfers reach the host's 64 KiB at once) and halves
//! while they come back mostly empty.

/// The smallest read asked for.
pub const MIN_READ_SIZE: usize = 4 * 1024;
/// The largest: wasmtime returns at most 64 KiB per read.
pub const MAX_READ_SIZE: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ReadSize {
    next: usize,
}

impl Default for ReadSize {
    fn default() -> Self {
        ReadSize { next: MIN_READ_SIZE }
    }
}

impl ReadSize {
    pub fn new() -> Self {
        Self::default()
    }

    /// The size of the next read.
    pub fn next(&self) -> usize {
        self.next
    }

    /// A read of [`next`](Self::next) bytes returned `got` bytes.
    pub fn record(&mut self, got: usize) {
        if got >= self.next {
            self.next = (self.next * 2).min(MAX_READ_SIZE);
        } else if got < self.next / 4 {
            self.next = (self.next / 2).max(MIN_READ_SIZE);
        }
    }
}

/// What a read that waits for data asks for once the stream is drained.
pub const PROBE_READ_SIZE: usize = 512;

/// [`ReadSize`] for a transport whose reads wait holding their buffer (WASI 0.3, where
/// the host copies what arrives straight into it). While data keeps coming it is
/// [`ReadSize`]'s; once a read comes back short the stream is drained and the next read
/// may wait a long time, so it is a probe of [`PROBE_READ_SIZE`]: an idle connection then
/// holds that, not 4-64 KiB. A probe that comes back full means more is there, and the
/// full-size read after it takes that at once.
#[derive(Debug, Clone, Default)]
pub struct WaitingReadSize {
    size: ReadSize,
    drained: bool,
}

impl WaitingReadSize {
    pub fn new() -> Self {
        Self::default()
    }

    /// The size of the next read.
    pub fn next(&self) -> usize {
        if self.drained {
            PROBE_READ_SIZE
        } else {
            self.size.next()
        }
    }

    /// A read of [`next`](Self::next) bytes returned `got` bytes.
    pub fn record(&mut self, got: usize) {
        let asked = self.next();
        if !self.drained {
            self.size.record(got);
        }
        self.drained = got < asked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_reads_stay_small() {
        let mut size = ReadSize::new();
        for _ in 0..100 {
            size.record(64);
        }
        assert_eq!(size.next(), MIN_READ_SIZE);
    }

    #[test]
    fn full_reads_reach_the_maximum_in_a_few_steps() {
        let mut size = ReadSize::new();
        let mut steps = 0;
        while size.next() < MAX_READ_SIZE {
            size.record(size.next());
            steps += 1;
        }
        assert_eq!(steps, 4);
        size.record(MAX_READ_SIZE);
        assert_eq!(size.next(), MAX_READ_SIZE, "never above the host's most");
    }

    #[test]
    fn mostly_empty_reads_shrink_it_and_half_full_ones_keep_it() {
        let mut size = ReadSize::new();
        for _ in 0..4 {
            size.record(size.next());
        }
        size.record(MAX_READ_SIZE / 2);
        assert_eq!(size.next(), MAX_READ_SIZE, "half full: kept");
        size.record(100);
        assert_eq!(size.next(), MAX_READ_SIZE / 2);
        for _ in 0..10 {
            size.record(0);
        }
        assert_eq!(size.next(), MIN_READ_SIZE, "never below the least");
    }

    #[test]
    fn waiting_reads_probe_once_drained_and_read_whole_after_a_full_probe() {
        let mut size = WaitingReadSize::new();
        assert_eq!(size.next(), MIN_READ_SIZE);
        size.record(100);
        assert_eq!(size.next(), PROBE_READ_SIZE, "drained: the next read waits small");
        size.record(10);
        assert_eq!(size.next(), PROBE_READ_SIZE, "still drained");
        size.record(PROBE_READ_SIZE);
        assert_eq!(size.next(), MIN_READ_SIZE, "a full probe: more is there, read it whole");
    }

    #[test]
    fn waiting_reads_grow_like_read_size_while_full() {
        let mut size = WaitingReadSize::new();
        while size.next() < MAX_READ_SIZE {
            size.record(size.next());
        }
        size.record(MAX_READ_SIZE / 2);
        assert_eq!(size.next(), PROBE_READ_SIZE, "short: drained");
        size.record(PROBE_READ_SIZE);
        assert_eq!(size.next(), MAX_READ_SIZE, "the probe kept the grown size");
    }
}
