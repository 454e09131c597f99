//! CPython's `test_streams.py` buffer-level tests (contract B.1, tests 7-42), one Rust
//! test per Python test, with the same name. `stream._buffer` becomes `buffered()`.
//!
//! Where CPython starts a read task and feeds data from a callback, the read is called
//! first (`NeedData`), the data is fed, and the read is called again with the same
//! `SearchState` — which is what the I/O layer does.

use super::*;
use crate::core::{SearchState, Separators};
use crate::error::Overrun;

#[test]
fn test_feed_empty_data() {
    let mut stream = default_reader();
    stream.feed_data(b"");
    assert_eq!(stream.buffered(), b"");
    stream.feed_vec(Vec::new());
    assert!(stream.is_empty());
}

#[test]
fn test_feed_nonempty_data() {
    let mut stream = default_reader();
    stream.feed_data(DATA);
    assert_eq!(stream.buffered(), DATA);
}

#[test]
fn test_read_zero() {
    let mut stream = default_reader();
    stream.feed_data(DATA);
    assert_eq!(stream.read(0), ok(b""));
    assert_eq!(stream.buffered(), DATA);
}

#[test]
fn test_read() {
    let mut stream = default_reader();
    assert_eq!(stream.read(30), Step::NeedData);
    stream.feed_data(DATA);
    assert_eq!(stream.read(30), ok(DATA));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_read_line_breaks() {
    let mut stream = default_reader();
    stream.feed_data(b"line1");
    stream.feed_data(b"line2");
    assert_eq!(stream.read(5), ok(b"line1"));
    assert_eq!(stream.buffered(), b"line2");
}

#[test]
fn test_read_eof() {
    let mut stream = default_reader();
    assert_eq!(stream.read(1024), Step::NeedData);
    stream.feed_eof();
    assert_eq!(stream.read(1024), ok(b""));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_read_until_eof() {
    let mut stream = default_reader();
    assert_eq!(stream.read(-1), Step::NeedData);
    stream.feed_data(b"chunk1\n");
    stream.feed_data(b"chunk2");
    assert_eq!(stream.read(-1), Step::NeedData);
    stream.feed_eof();
    assert_eq!(stream.read(-1), ok(b"chunk1\nchunk2"));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_read_exception() {
    let mut stream = default_reader();
    stream.feed_data(b"line\n");
    assert_eq!(stream.read(2), ok(b"li"));
    stream.set_exception(value_error());
    assert_eq!(stream.read(2), err(value_error()));
    // A.2.2: the exception wins over buffered data, which stays untouched.
    assert_eq!(stream.buffered(), b"ne\n");
}

#[test]
fn test_invalid_limit() {
    // `limit=-1` is unrepresentable in `usize`; 0 is the only invalid value.
    let error = ReadBuffer::new(0).unwrap_err();
    assert_eq!(error, Error::InvalidArgument("Limit cannot be <= 0".into()));
    assert!(error.to_string().contains("imit"));
    assert_eq!(ReadBuffer::new(1).unwrap().limit(), 1);
}

#[test]
fn test_read_limit() {
    let mut stream = reader(3);
    stream.feed_data(b"chunk");
    assert_eq!(stream.read(5), ok(b"chunk"));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readline() {
    let mut stream = default_reader();
    stream.feed_data(b"chunk1 ");
    let mut search = SearchState::default();
    assert_eq!(stream.readline(&mut search), Step::NeedData);
    stream.feed_data(b"chunk2 ");
    stream.feed_data(b"chunk3 ");
    stream.feed_data(b"\n chunk4");
    assert_eq!(stream.readline(&mut search), ok(b"chunk1 chunk2 chunk3 \n"));
    assert_eq!(stream.buffered(), b" chunk4");
}

#[test]
fn test_readline_limit_with_existing_data() {
    let mut stream = reader(3);
    stream.feed_data(b"li");
    stream.feed_data(b"ne1\nline2\n");
    let result = stream.readline(&mut SearchState::default());
    assert_eq!(result, err(Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 5 }));
    // The overlong line and its newline are gone; the next line stays.
    assert_eq!(stream.buffered(), b"line2\n");

    let mut stream = reader(3);
    stream.feed_data(b"li");
    stream.feed_data(b"ne1");
    stream.feed_data(b"li");
    let result = stream.readline(&mut SearchState::default());
    assert_eq!(result, err(Error::LimitOverrun { kind: Overrun::SeparatorNotFound, consumed: 7 }));
    // No newline: the whole buffer belonged to the overlong line.
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_at_eof() {
    let mut stream = default_reader();
    assert!(!stream.at_eof());

    stream.feed_data(b"some data\n");
    assert!(!stream.at_eof());

    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"some data\n"));
    assert!(!stream.at_eof());

    stream.feed_data(b"some data\n");
    stream.feed_eof();
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"some data\n"));
    assert!(stream.at_eof());
}

#[test]
fn test_readline_limit() {
    // Everything arrives in one callback, after readline started waiting.
    let mut stream = reader(7);
    let mut search = SearchState::default();
    assert_eq!(stream.readline(&mut search), Step::NeedData);
    stream.feed_data(b"chunk1");
    stream.feed_data(b"chunk2");
    stream.feed_data(b"chunk3\n");
    stream.feed_eof();
    assert_eq!(
        stream.readline(&mut search),
        err(Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 18 })
    );
    assert_eq!(stream.buffered(), b"");

    let mut stream = reader(7);
    let mut search = SearchState::default();
    assert_eq!(stream.readline(&mut search), Step::NeedData);
    stream.feed_data(b"chunk1");
    stream.feed_data(b"chunk2\n");
    stream.feed_data(b"chunk3\n");
    stream.feed_eof();
    assert_eq!(
        stream.readline(&mut search),
        err(Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 12 })
    );
    assert_eq!(stream.buffered(), b"chunk3\n");

    // Strictness of the limit: the newline does not count.
    let mut stream = reader(7);
    stream.feed_data(b"1234567\n");
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"1234567\n"));
    assert_eq!(stream.buffered(), b"");

    stream.feed_data(b"12345678\n");
    assert_eq!(
        stream.readline(&mut SearchState::default()),
        err(Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 8 })
    );
    assert_eq!(stream.buffered(), b"");

    stream.feed_data(b"12345678");
    assert_eq!(
        stream.readline(&mut SearchState::default()),
        err(Error::LimitOverrun { kind: Overrun::SeparatorNotFound, consumed: 8 })
    );
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readline_nolimit_nowait() {
    let mut stream = default_reader();
    stream.feed_data(&DATA[..6]);
    stream.feed_data(&DATA[6..]);
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"line1\n"));
    assert_eq!(stream.buffered(), b"line2\nline3\n");
}

#[test]
fn test_readline_eof() {
    let mut stream = default_reader();
    stream.feed_data(b"some data");
    stream.feed_eof();
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"some data"));
}

#[test]
fn test_readline_empty_eof() {
    let mut stream = default_reader();
    stream.feed_eof();
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b""));
}

#[test]
fn test_readline_read_byte_count() {
    let mut stream = default_reader();
    stream.feed_data(DATA);
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"line1\n"));
    assert_eq!(stream.read(7), ok(b"line2\nl"));
    assert_eq!(stream.buffered(), b"ine3\n");
}

#[test]
fn test_readline_exception() {
    let mut stream = default_reader();
    stream.feed_data(b"line\n");
    assert_eq!(stream.readline(&mut SearchState::default()), ok(b"line\n"));
    stream.set_exception(value_error());
    assert_eq!(stream.readline(&mut SearchState::default()), err(value_error()));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readuntil_separator() {
    let should_be = Error::InvalidArgument("Separator should be at least one-byte string".into());
    let should_contain = Error::InvalidArgument("Separator should contain at least one element".into());
    assert_eq!(Separators::single(b"").unwrap_err(), should_be);
    assert_eq!(Separators::new([b""]).unwrap_err(), should_be);
    let empty: [&[u8]; 0] = [];
    assert_eq!(Separators::new(empty).unwrap_err(), should_contain);
    assert!(should_be.to_string().starts_with("Separator should be"));
    assert!(should_contain.to_string().starts_with("Separator should contain"));
}

#[test]
fn test_readuntil_multi_chunks() {
    let mut stream = default_reader();
    let aaa = Separators::single(b"AAA").unwrap();

    stream.feed_data(b"lineAAA");
    assert_eq!(stream.readuntil(&aaa, &mut SearchState::default()), ok(b"lineAAA"));
    assert_eq!(stream.buffered(), b"");

    stream.feed_data(b"lineAAA");
    assert_eq!(stream.readuntil(&aaa, &mut SearchState::default()), ok(b"lineAAA"));
    assert_eq!(stream.buffered(), b"");

    stream.feed_data(b"lineAAAxxx");
    assert_eq!(stream.readuntil(&aaa, &mut SearchState::default()), ok(b"lineAAA"));
    assert_eq!(stream.buffered(), b"xxx");
}

#[test]
fn test_readuntil_multi_chunks_1() {
    let mut stream = default_reader();
    let aaa = Separators::single(b"aaa").unwrap();
    let cases: [(&[&[u8]], &[u8]); 5] = [
        (&[b"QWEaa", b"XYaa", b"a"], b"QWEaaXYaaa"),
        (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
        (&[b"aaa"], b"aaa"),
        (&[b"Xaaa"], b"Xaaa"),
        (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
    ];
    for (feeds, expected) in cases {
        for feed in feeds {
            stream.feed_data(feed);
        }
        assert_eq!(stream.readuntil(&aaa, &mut SearchState::default()), ok(expected));
        assert_eq!(stream.buffered(), b"");
    }

    // The same feeds arriving one at a time while readuntil waits.
    for (feeds, expected) in cases {
        let mut search = SearchState::default();
        for feed in feeds {
            assert_eq!(stream.readuntil(&aaa, &mut search), Step::NeedData);
            stream.feed_data(feed);
        }
        assert_eq!(stream.readuntil(&aaa, &mut search), ok(expected));
        assert_eq!(stream.buffered(), b"");
    }
}

#[test]
fn test_readuntil_eof() {
    let mut stream = default_reader();
    let data = b"some dataAA";
    stream.feed_data(data);
    stream.feed_eof();
    let aaa = Separators::single(b"AAA").unwrap();
    let Step::Ready(Err(error)) = stream.readuntil(&aaa, &mut SearchState::default()) else {
        panic!("expected IncompleteRead");
    };
    assert!(error.to_string().contains("undefined expected bytes"));
    assert_eq!(error, Error::IncompleteRead { partial: data.to_vec(), expected: None });
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readuntil_limit_found_sep() {
    let mut stream = reader(3);
    let aaa = Separators::single(b"AAA").unwrap();
    stream.feed_data(b"some dataAA");
    let Step::Ready(Err(error)) = stream.readuntil(&aaa, &mut SearchState::default()) else {
        panic!("expected LimitOverrun");
    };
    assert!(error.to_string().contains("not found"));
    assert_eq!(error, Error::LimitOverrun { kind: Overrun::SeparatorNotFound, consumed: 9 });
    assert_eq!(stream.buffered(), b"some dataAA");

    stream.feed_data(b"A");
    let Step::Ready(Err(error)) = stream.readuntil(&aaa, &mut SearchState::default()) else {
        panic!("expected LimitOverrun");
    };
    assert!(error.to_string().contains("is found"));
    assert_eq!(error, Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 9 });
    assert_eq!(stream.buffered(), b"some dataAAA");
}

#[test]
fn test_readuntil_multi_separator() {
    let mut stream = default_reader();
    let cr_lf = seps(&[b"\r", b"\n"]);
    stream.feed_data(b"line 1\nline 2\r");
    assert_eq!(stream.readuntil(&cr_lf, &mut SearchState::default()), ok(b"line 1\n"));
    assert_eq!(stream.readuntil(&cr_lf, &mut SearchState::default()), ok(b"line 2\r"));
    assert_eq!(stream.buffered(), b"");

    // The first end position wins, even for the longer separator.
    stream.feed_data(b"ABCDEFG");
    let def_bcde = seps(&[b"DEF", b"BCDE"]);
    assert_eq!(stream.readuntil(&def_bcde, &mut SearchState::default()), ok(b"ABCDE"));
    assert_eq!(stream.buffered(), b"FG");
}

#[test]
fn test_readuntil_multi_separator_limit() {
    let mut stream = reader(3);
    stream.feed_data(b"some dataA");
    let separators = seps(&[b"A", b"ome dataA"]);
    let Step::Ready(Err(error)) = stream.readuntil(&separators, &mut SearchState::default()) else {
        panic!("expected LimitOverrun");
    };
    assert!(error.to_string().contains("is found"));
    // Both end at 10; the shorter b"A" wins, so match_start is 9.
    assert_eq!(error, Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed: 9 });
    assert_eq!(stream.buffered(), b"some dataA");
}

#[test]
fn test_readuntil_multi_separator_negative_offset() {
    let mut stream = default_reader();
    stream.feed_data(b"data");
    let separators = seps(&[b"A", b"long sep"]);
    let mut search = SearchState::default();
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    stream.feed_data(b"Z");
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    stream.feed_data(b"Aaaa");
    assert_eq!(stream.readuntil(&separators, &mut search), ok(b"dataZA"));
    assert_eq!(stream.buffered(), b"aaa");
}

#[test]
fn test_readuntil_bytearray() {
    let mut stream = default_reader();
    stream.feed_data(b"some data\r\n");
    let crlf = Separators::new([b"\r\n".to_vec()]).unwrap();
    assert_eq!(stream.readuntil(&crlf, &mut SearchState::default()), ok(b"some data\r\n"));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readexactly_zero_or_less() {
    let mut stream = default_reader();
    stream.feed_data(DATA);
    assert_eq!(stream.readexactly(0), ok(b""));
    assert_eq!(stream.buffered(), DATA);

    let Step::Ready(Err(error)) = stream.readexactly(-1) else { panic!("expected an error") };
    assert_eq!(error, Error::InvalidArgument("readexactly size can not be less than zero".into()));
    assert!(error.to_string().contains("less than zero"));
    assert_eq!(stream.buffered(), DATA);
}

#[test]
fn test_readexactly() {
    let mut stream = default_reader();
    let n = 2 * DATA.len() as i64;
    assert_eq!(stream.readexactly(n), Step::NeedData);
    stream.feed_data(DATA);
    stream.feed_data(DATA);
    stream.feed_data(DATA);
    assert_eq!(stream.readexactly(n), ok(&[DATA, DATA].concat()));
    assert_eq!(stream.buffered(), DATA);
}

#[test]
fn test_readexactly_limit() {
    let mut stream = reader(3);
    stream.feed_data(b"chunk");
    assert_eq!(stream.readexactly(5), ok(b"chunk"));
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readexactly_eof() {
    let mut stream = default_reader();
    let n = 2 * DATA.len() as i64;
    assert_eq!(stream.readexactly(n), Step::NeedData);
    stream.feed_data(DATA);
    stream.feed_eof();
    let Step::Ready(Err(error)) = stream.readexactly(n) else { panic!("expected IncompleteRead") };
    assert_eq!(error, Error::IncompleteRead { partial: DATA.to_vec(), expected: Some(36) });
    assert_eq!(error.to_string(), "18 bytes read on a total of 36 expected bytes");
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn test_readexactly_exception() {
    let mut stream = default_reader();
    stream.feed_data(b"line\n");
    assert_eq!(stream.readexactly(2), ok(b"li"));
    stream.set_exception(value_error());
    assert_eq!(stream.readexactly(2), err(value_error()));
}

#[test]
fn test_exception() {
    let mut stream = default_reader();
    assert_eq!(stream.exception(), None);
    let exc = Error::ConnectionReset("peer".into());
    stream.set_exception(exc.clone());
    assert_eq!(stream.exception(), Some(&exc));
}

#[test]
fn test_exception_waiter() {
    // readline waits; another task sets the exception; the retry reports it.
    let mut stream = default_reader();
    let mut search = SearchState::default();
    assert_eq!(stream.readline(&mut search), Step::NeedData);
    stream.begin_wait("readuntil").unwrap();
    stream.set_exception(value_error());
    stream.end_wait();
    assert_eq!(stream.readline(&mut search), err(value_error()));
}

#[test]
fn test_exception_cancel() {
    // readline waits and is cancelled (the I/O layer ends the wait when its future is
    // dropped); a later set_exception must not trip over the gone waiter.
    let mut stream = default_reader();
    let mut search = SearchState::default();
    assert_eq!(stream.readline(&mut search), Step::NeedData);
    stream.begin_wait("readuntil").unwrap();
    stream.end_wait();
    stream.set_exception(Error::Other("RuntimeError: message".into()));
    assert!(!stream.is_waiting());
    assert_eq!(stream.begin_wait("read"), Ok(()), "no waiter remains");
}
