//! The byte stream of the `bulk` scenario: newline-terminated lines of 8–24 KiB (the line-based
//! reference servers need newlines, and asyncio's readline at most 64 KiB per line) of
//! pseudo-random printable bytes, repeating with a period of about 1 MiB that no write size
//! divides, so a server that drops, repeats or reorders a chunk is caught.

/// Line lengths, in bytes, newline included.
const MIN_LINE: usize = 8 << 10;
const MAX_LINE: usize = 24 << 10;
const MIN_PERIOD: usize = 1 << 20;

/// The stream: byte `i` is `period[i % period_len]`.
pub struct BulkPayload {
    /// One period followed by its first `max_slice` bytes again, so any slice of at most
    /// `max_slice` bytes is contiguous.
    bytes: Vec<u8>,
    period: usize,
    max_slice: usize,
    total: u64,
}

impl BulkPayload {
    /// A stream of at least `min_total` bytes, ending at the end of a line, served in slices of
    /// at most `max_slice` bytes.
    pub fn new(min_total: u64, max_slice: usize) -> BulkPayload {
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut bytes = Vec::with_capacity(MIN_PERIOD + MAX_LINE + max_slice);
        while bytes.len() < MIN_PERIOD {
            let line_len = MIN_LINE + (random.next() as usize) % (MAX_LINE - MIN_LINE);
            bytes.extend((1..line_len).map(|_| b' ' + (random.next() % 95) as u8));
            bytes.push(b'\n');
        }
        let period = bytes.len();
        bytes.extend_from_within(..max_slice.min(period));
        let offset_in_period = (min_total % period as u64) as usize;
        let to_line_end =
            bytes[offset_in_period..period].iter().position(|&b| b == b'\n').map_or(0, |newline| newline + 1);
        let total = if offset_in_period == 0 { min_total } else { min_total + to_line_end as u64 };
        BulkPayload { bytes, period, max_slice, total }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The `len` bytes (at most `max_slice`) at `offset` of the stream.
    pub fn slice(&self, offset: u64, len: usize) -> &[u8] {
        assert!(len <= self.max_slice);
        let start = (offset % self.period as u64) as usize;
        &self.bytes[start..start + len]
    }
}

/// xorshift64: deterministic filler, the same stream for every server.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_ends_with_a_newline_and_wraps_contiguously() {
        let payload = BulkPayload::new(3 << 20, 64 << 10);
        assert!(payload.total() >= 3 << 20);
        assert_eq!(payload.slice(payload.total() - 1, 1), b"\n");
        let period = payload.period as u64;
        assert_eq!(payload.slice(period - 10, 20)[10..], *payload.slice(0, 10));
    }

    #[test]
    fn lines_fit_asyncio_readline() {
        let payload = BulkPayload::new(1 << 20, 64 << 10);
        let period = &payload.bytes[..payload.period];
        assert!(period.split(|&b| b == b'\n').all(|line| line.len() < MAX_LINE));
    }
}
