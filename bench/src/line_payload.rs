//! The newline-terminated lines the `lines`, `churn` and `idle` scenarios send: each names its
//! connection and sequence number, so an echo that is reordered, duplicated, truncated or
//! crossed with another connection's does not match.
//!
//! Layout (`len` bytes): `c<connection, 6 digits> s<sequence, 12 digits> <filler>\n`, the
//! filler a letter pattern that depends on the connection.

/// The bytes before the sequence number's digits: `c000123 s`.
const SEQUENCE_START: usize = 9;
const SEQUENCE_DIGITS: usize = 12;
const SEQUENCE_END: usize = SEQUENCE_START + SEQUENCE_DIGITS;
/// The shortest line: the header, one space and the newline.
pub const MIN_LINE_LEN: usize = SEQUENCE_END + 2;

/// One connection's line, with a hole for the sequence number.
#[derive(Clone, Debug)]
pub struct LineTemplate {
    bytes: Vec<u8>,
}

impl LineTemplate {
    /// The template for `connection`'s lines of `len` bytes (at least [`MIN_LINE_LEN`]).
    pub fn new(connection: usize, len: usize) -> LineTemplate {
        assert!(len >= MIN_LINE_LEN, "lines are at least {MIN_LINE_LEN} bytes");
        let mut bytes = format!("c{:06} s{:0SEQUENCE_DIGITS$} ", connection % 1_000_000, 0).into_bytes();
        bytes.extend((bytes.len()..len - 1).map(|i| b'a' + ((i + connection) % 26) as u8));
        bytes.push(b'\n');
        LineTemplate { bytes }
    }

    /// Appends line number `sequence` to `out`.
    pub fn append(&self, sequence: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        out[start + SEQUENCE_START..start + SEQUENCE_END].copy_from_slice(&sequence_digits(sequence));
    }

    /// Whether `echoed` is exactly line number `sequence`.
    pub fn matches(&self, sequence: u64, echoed: &[u8]) -> bool {
        echoed.len() == self.bytes.len()
            && echoed[..SEQUENCE_START] == self.bytes[..SEQUENCE_START]
            && echoed[SEQUENCE_START..SEQUENCE_END] == sequence_digits(sequence)
            && echoed[SEQUENCE_END..] == self.bytes[SEQUENCE_END..]
    }

    /// Line number `sequence` on its own (for error messages and one-off sends).
    pub fn line(&self, sequence: u64) -> Vec<u8> {
        let mut line = Vec::with_capacity(self.bytes.len());
        self.append(sequence, &mut line);
        line
    }
}

fn sequence_digits(mut sequence: u64) -> [u8; SEQUENCE_DIGITS] {
    let mut digits = [b'0'; SEQUENCE_DIGITS];
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (sequence % 10) as u8;
        sequence /= 10;
    }
    digits
}

/// A short, printable excerpt of bytes for an error message.
pub fn excerpt(bytes: &[u8]) -> String {
    const SHOWN: usize = 48;
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]).escape_debug().to_string();
    if bytes.len() > SHOWN {
        format!("\"{shown}\"… ({} bytes)", bytes.len())
    } else {
        format!("\"{shown}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_length_and_one_newline() {
        let template = LineTemplate::new(7, 64);
        let line = template.line(123);
        assert_eq!(line.len(), 64);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(line.starts_with(b"c000007 s000000000123 "));
    }

    #[test]
    fn only_the_same_line_matches() {
        let template = LineTemplate::new(1, 64);
        assert!(template.matches(5, &template.line(5)));
        assert!(!template.matches(6, &template.line(5)));
        assert!(!LineTemplate::new(2, 64).matches(5, &template.line(5)));
        assert!(!template.matches(5, &template.line(5)[..63]));
    }
}
