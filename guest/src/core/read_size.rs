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
}
