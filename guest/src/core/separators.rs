//! The separator set of `readuntil`, validated once and searchable incrementally.
//!
//! asyncio 3.13 accepts one separator or a tuple of them (contract A.2.6). The tuple is
//! sorted by length (stable), so that when two separators end at the same index the
//! shorter one — the one that starts later — wins the tie. Searchers are built once here,
//! so a `readuntil` that loops over many `NeedData` rounds does not rebuild them.

use memchr::memmem::Finder;

use crate::error::{Error, Result};

const EMPTY_SET: &str = "Separator should contain at least one element";
const EMPTY_SEPARATOR: &str = "Separator should be at least one-byte string";

/// One separator with the fastest searcher for its length.
#[derive(Clone, Debug)]
enum Matcher {
    Byte(u8),
    Bytes(Box<Finder<'static>>),
}

impl Matcher {
    fn new(separator: &[u8]) -> Self {
        match separator {
            [byte] => Matcher::Byte(*byte),
            _ => Matcher::Bytes(Box::new(Finder::new(separator).into_owned())),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Matcher::Byte(byte) => std::slice::from_ref(byte),
            Matcher::Bytes(finder) => finder.needle(),
        }
    }

    fn len(&self) -> usize {
        self.bytes().len()
    }

    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            Matcher::Byte(byte) => memchr::memchr(*byte, haystack),
            Matcher::Bytes(finder) => finder.find(haystack),
        }
    }
}

/// A non-empty set of non-empty separators, sorted by length (stable).
#[derive(Clone, Debug)]
pub struct Separators {
    matchers: Vec<Matcher>,
}

impl Separators {
    /// Validates and sorts `separators` as asyncio's `readuntil` does (S:600-610).
    pub fn new<I>(separators: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut owned: Vec<Vec<u8>> = separators.into_iter().map(|s| s.as_ref().to_vec()).collect();
        if owned.is_empty() {
            return Err(Error::invalid_argument(EMPTY_SET));
        }
        // `sort_by_key` is stable: equal lengths keep the caller's order, like `sorted`.
        owned.sort_by_key(Vec::len);
        if owned[0].is_empty() {
            return Err(Error::invalid_argument(EMPTY_SEPARATOR));
        }
        Ok(Separators { matchers: owned.iter().map(|s| Matcher::new(s)).collect() })
    }

    /// A single separator (`readuntil(b"...")`).
    pub fn single(separator: &[u8]) -> Result<Self> {
        Self::new([separator])
    }

    /// `b"\n"`, the separator of `readline`.
    pub fn newline() -> Self {
        Separators { matchers: vec![Matcher::Byte(b'\n')] }
    }

    /// Length of the shortest separator (at least 1).
    pub fn min_len(&self) -> usize {
        self.matchers[0].len()
    }

    /// Length of the longest separator.
    pub fn max_len(&self) -> usize {
        self.matchers[self.matchers.len() - 1].len()
    }

    /// The separators, shortest first.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.matchers.iter().map(Matcher::bytes)
    }

    /// The match that ends first among all separators starting at or after `from`, as
    /// `(match_start, match_end)`; on equal ends the shorter separator wins (S:645-656).
    ///
    /// Bytes before `from` are never looked at. Once a match ending at `e` is known, the
    /// remaining (longer) separators are only searched in `haystack[from..e - 1]`, since
    /// only a match that ends strictly earlier can replace it.
    pub fn find_earliest_end(&self, haystack: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for matcher in &self.matchers {
            let window_end = match best {
                Some((_, end)) => end - 1,
                None => haystack.len(),
            };
            if window_end < from || window_end - from < matcher.len() {
                // Separators are sorted by length: no later one fits either.
                break;
            }
            if let Some(index) = matcher.find(&haystack[from..window_end]) {
                let start = from + index;
                best = Some((start, start + matcher.len()));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(message: &str) -> Error {
        Error::InvalidArgument(message.into())
    }

    #[test]
    fn empty_set_is_rejected() {
        let none: [&[u8]; 0] = [];
        assert_eq!(Separators::new(none).unwrap_err(), invalid(EMPTY_SET));
    }

    #[test]
    fn empty_separator_is_rejected() {
        assert_eq!(Separators::single(b"").unwrap_err(), invalid(EMPTY_SEPARATOR));
        let seps: [&[u8]; 2] = [b"\n", b""];
        assert_eq!(Separators::new(seps).unwrap_err(), invalid(EMPTY_SEPARATOR));
    }

    #[test]
    fn sorted_by_length_stably() {
        let seps: [&[u8]; 4] = [b"long", b"bb", b"a", b"cc"];
        let s = Separators::new(seps).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"bb", b"cc", b"long"]);
        assert_eq!((s.min_len(), s.max_len()), (1, 4));
    }

    #[test]
    fn accepts_vecs_and_arrays() {
        let s = Separators::new(vec![b"\r\n".to_vec()]).unwrap();
        assert_eq!((s.min_len(), s.max_len()), (2, 2));
        assert_eq!(Separators::newline().iter().collect::<Vec<_>>(), vec![&b"\n"[..]]);
    }

    #[test]
    fn earliest_end_not_earliest_start() {
        // TS:470 (b'DEF', b'BCDE') on b'ABCDEFG' -> b'ABCDE'
        let seps: [&[u8]; 2] = [b"DEF", b"BCDE"];
        let s = Separators::new(seps).unwrap();
        assert_eq!(s.find_earliest_end(b"ABCDEFG", 0), Some((1, 5)));
    }

    #[test]
    fn equal_ends_prefer_the_shorter_separator() {
        let seps: [&[u8]; 2] = [b"ome dataA", b"A"];
        let s = Separators::new(seps).unwrap();
        assert_eq!(s.find_earliest_end(b"some dataA", 0), Some((9, 10)));
        let seps: [&[u8]; 2] = [b"\r\n", b"\n"];
        let s = Separators::new(seps).unwrap();
        assert_eq!(s.find_earliest_end(b"xx\r\nyy", 0), Some((3, 4)));
    }

    #[test]
    fn search_starts_at_from() {
        let s = Separators::single(b"ab").unwrap();
        assert_eq!(s.find_earliest_end(b"abxab", 0), Some((0, 2)));
        assert_eq!(s.find_earliest_end(b"abxab", 1), Some((3, 5)));
        assert_eq!(s.find_earliest_end(b"abxab", 4), None);
        assert_eq!(s.find_earliest_end(b"abxab", 5), None);
        assert_eq!(s.find_earliest_end(b"abxab", 99), None);
        let s = Separators::newline();
        assert_eq!(s.find_earliest_end(b"\nx\n", 1), Some((2, 3)));
    }

    #[test]
    fn matches_a_naive_search() {
        // Small exhaustive cross-check over a 3-letter alphabet.
        let alphabet = [b'a', b'b', b'\n'];
        let sets: Vec<Vec<&[u8]>> = vec![
            vec![b"\n"],
            vec![b"ab"],
            vec![b"aba", b"b"],
            vec![b"ba", b"ab", b"\n"],
            vec![b"aab", b"ab"],
        ];
        for set in sets {
            let s = Separators::new(set.clone()).unwrap();
            let mut sorted = set.clone();
            sorted.sort_by_key(|x| x.len());
            for len in 0..7u32 {
                for code in 0..3usize.pow(len) {
                    let mut c = code;
                    let hay: Vec<u8> = (0..len)
                        .map(|_| {
                            let b = alphabet[c % 3];
                            c /= 3;
                            b
                        })
                        .collect();
                    for from in 0..=hay.len() + 1 {
                        let naive = (from..=hay.len()).find_map(|end| {
                            sorted.iter().find_map(|sep| {
                                let start = end.checked_sub(sep.len())?;
                                (start >= from && &hay[start..end] == *sep).then_some((start, end))
                            })
                        });
                        assert_eq!(s.find_earliest_end(&hay, from), naive, "{hay:?} {from} {set:?}");
                    }
                }
            }
        }
    }
}
