//! Buffer-level versions of the extra scenarios verified against CPython 3.13
//! (contract B.3: E1-E4, E7, E8, E13) and of the edge cases in
//! `cpython-probes/edge.py` and `misc.py`, plus the rules of A.2.3 (one waiter) and
//! C.1 (read flow control) that CPython's own tests leave implicit.

use super::*;
use crate::core::{SearchState, WriteBuffer, WriteOutcome};
use crate::error::Overrun;

fn overrun_found(consumed: usize) -> Error {
    Error::LimitOverrun { kind: Overrun::SeparatorFound, consumed }
}

fn overrun_not_found(consumed: usize) -> Error {
    Error::LimitOverrun { kind: Overrun::SeparatorNotFound, consumed }
}

fn readuntil_once(stream: &mut ReadBuffer, separators: &Separators) -> Step<Vec<u8>> {
    stream.readuntil(separators, &mut SearchState::default())
}

fn readline_once(stream: &mut ReadBuffer) -> Step<Vec<u8>> {
    stream.readline(&mut SearchState::default())
}

// ---- E1-E4: limit boundaries (A.2.6, A.2.7) ----

#[test]
fn e1_separator_does_not_count_against_the_limit() {
    let newline = Separators::newline();
    let mut stream = reader(4);
    stream.feed_data(b"abcd\n");
    assert_eq!(readuntil_once(&mut stream, &newline), ok(b"abcd\n"));

    stream.feed_data(b"abcde\n");
    assert_eq!(readuntil_once(&mut stream, &newline), err(overrun_found(5)));
    assert_eq!(stream.buffered(), b"abcde\n", "LimitOverrun leaves the buffer intact");
}

#[test]
fn e2_long_separator_relaxes_the_not_found_check() {
    let xyz = Separators::single(b"XYZ").unwrap();
    let mut stream = reader(4);
    let mut search = SearchState::default();
    stream.feed_data(b"abcdef");
    assert_eq!(stream.readuntil(&xyz, &mut search), Step::NeedData, "6 bytes still wait");
    stream.feed_data(b"g");
    assert_eq!(stream.readuntil(&xyz, &mut search), err(overrun_not_found(5)));
    assert_eq!(stream.buffered(), b"abcdefg");

    // Found with exactly `limit` bytes before a long separator; one more is too many.
    let mut stream = reader(4);
    stream.feed_data(b"abcdXYZ");
    assert_eq!(readuntil_once(&mut stream, &xyz), ok(b"abcdXYZ"));
    stream.feed_data(b"abcdeXYZrest");
    assert_eq!(readuntil_once(&mut stream, &xyz), err(overrun_found(5)));
    assert_eq!(stream.buffered(), b"abcdeXYZrest");
}

#[test]
fn e2_separator_tuple_uses_the_longest_for_the_not_found_check() {
    // misc.py #5: limit 4, (b'\n', b'0123456789'): 12 bytes wait, 14 raise (consumed 5).
    let separators = seps(&[b"\n", b"0123456789"]);
    let mut stream = reader(4);
    let mut search = SearchState::default();
    stream.feed_data(b"abcdefghijkl");
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    stream.feed_data(b"mn");
    assert_eq!(stream.readuntil(&separators, &mut search), err(overrun_not_found(5)));
}

#[test]
fn e3_readline_at_eof() {
    for (data, expected) in [(&b"abc"[..], &b"abc"[..]), (b"abcd", b"abcd")] {
        let mut stream = reader(4);
        stream.feed_data(data);
        stream.feed_eof();
        assert_eq!(readline_once(&mut stream), ok(expected));
        assert!(stream.at_eof());
    }
    // Longer than the limit: the not-found check precedes EOF, so it is an overrun and
    // the partial line is discarded rather than returned.
    let mut stream = reader(4);
    stream.feed_data(b"abcdef");
    stream.feed_eof();
    assert_eq!(readline_once(&mut stream), err(overrun_not_found(6)));
    assert_eq!(stream.buffered(), b"");
    assert_eq!(readline_once(&mut stream), ok(b""));
}

#[test]
fn e3_readuntil_at_eof_limit_boundary() {
    let newline = Separators::newline();
    let mut stream = reader(4);
    stream.feed_data(b"abcd");
    stream.feed_eof();
    assert_eq!(
        readuntil_once(&mut stream, &newline),
        err(Error::IncompleteRead { partial: b"abcd".to_vec(), expected: None })
    );
    assert_eq!(stream.buffered(), b"");
    // EOF with an empty buffer.
    assert_eq!(
        readuntil_once(&mut stream, &newline),
        err(Error::IncompleteRead { partial: Vec::new(), expected: None })
    );
}

#[test]
fn e4_overlong_line_in_one_segment_keeps_the_next_line() {
    let mut stream = reader(4);
    stream.feed_data(b"abcdefgh\nnext\n");
    assert_eq!(readline_once(&mut stream), err(overrun_found(8)));
    assert_eq!(readline_once(&mut stream), ok(b"next\n"));
}

#[test]
fn e4_overlong_line_split_across_segments_returns_its_tail_as_a_line() {
    let mut stream = reader(4);
    stream.feed_data(b"abcdef");
    assert_eq!(readline_once(&mut stream), err(overrun_not_found(6)));
    stream.feed_data(b"gh\n");
    assert_eq!(readline_once(&mut stream), ok(b"gh\n"));
}

#[test]
fn e4_async_for_stops_at_an_overlong_line() {
    // edge.py: limit 2, b'a\nbbbb\nc\n' -> [b'a\n', ValueError], buffer b'c\n'.
    let mut stream = reader(2);
    stream.feed_data(b"a\nbbbb\nc\n");
    stream.feed_eof();
    assert_eq!(readline_once(&mut stream), ok(b"a\n"));
    assert_eq!(readline_once(&mut stream), err(overrun_found(4)));
    assert_eq!(stream.buffered(), b"c\n");
}

#[test]
fn readline_returns_final_unterminated_line_then_empty() {
    // edge.py async-for: [b'a\n', b'b\n', b'c'].
    let mut stream = default_reader();
    stream.feed_data(b"a\nb\nc");
    stream.feed_eof();
    let lines: Vec<_> = (0..4).map(|_| readline_once(&mut stream)).collect();
    assert_eq!(lines, vec![ok(b"a\n"), ok(b"b\n"), ok(b"c"), ok(b"")]);
}

#[test]
fn readuntil_incomplete_read_may_hold_a_partial_separator() {
    let mut stream = reader(64);
    stream.feed_data(b"dataAA");
    stream.feed_eof();
    let aaa = Separators::single(b"AAA").unwrap();
    assert_eq!(
        readuntil_once(&mut stream, &aaa),
        err(Error::IncompleteRead { partial: b"dataAA".to_vec(), expected: None })
    );
}

#[test]
fn readuntil_equal_ends_prefer_the_shorter_separator() {
    // edge.py: (b'\n', b'\r\n') on b'xx\r\nyy' -> b'xx\r\n', buffer b'yy'.
    let mut stream = default_reader();
    stream.feed_data(b"xx\r\nyy");
    assert_eq!(readuntil_once(&mut stream, &seps(&[b"\n", b"\r\n"])), ok(b"xx\r\n"));
    assert_eq!(stream.buffered(), b"yy");
}

// ---- read / readexactly edge cases (A.2.4, A.2.5) ----

#[test]
fn read_any_negative_size_reads_to_eof_ignoring_the_limit() {
    let mut stream = reader(2);
    stream.feed_data(b"abcdef");
    assert_eq!(stream.read(-5), Step::NeedData);
    stream.feed_eof();
    assert_eq!(stream.read(-5), ok(b"abcdef"));
    assert_eq!(stream.read(-1), ok(b""));
}

#[test]
fn read_returns_what_is_available() {
    let mut stream = default_reader();
    stream.feed_data(b"abc");
    assert_eq!(stream.read(100), ok(b"abc"));
    stream.feed_data(b"abcdef");
    assert_eq!(stream.read(2), ok(b"ab"));
    assert_eq!(stream.buffered(), b"cdef");
    assert_eq!(stream.read(i64::MAX), ok(b"cdef"));
}

#[test]
fn read_zero_never_waits() {
    let mut stream = default_reader();
    assert_eq!(stream.read(0), ok(b""));
    assert_eq!(stream.readexactly(0), ok(b""));
}

#[test]
fn read_at_eof_with_empty_buffer_is_empty() {
    let mut stream = default_reader();
    stream.feed_eof();
    assert_eq!(stream.read(-1), ok(b""));
    assert_eq!(stream.read(10), ok(b""));
    assert!(stream.at_eof());
}

#[test]
fn readexactly_with_the_whole_buffer_ignores_the_limit() {
    let mut stream = reader(2);
    stream.feed_data(b"abcdef");
    stream.feed_eof();
    assert_eq!(stream.readexactly(6), ok(b"abcdef"));
    assert_eq!(stream.readexactly(1), err(Error::IncompleteRead { partial: vec![], expected: Some(1) }));
}

#[test]
fn readexactly_short_at_eof_clears_the_buffer() {
    let mut stream = reader(64);
    stream.feed_data(b"abc");
    stream.feed_eof();
    let Step::Ready(Err(error)) = stream.readexactly(5) else { panic!() };
    assert_eq!(error, Error::IncompleteRead { partial: b"abc".to_vec(), expected: Some(5) });
    assert_eq!(error.to_string(), "3 bytes read on a total of 5 expected bytes");
    assert!(stream.at_eof());
}

// ---- the sticky exception (A.2.2) ----

#[test]
fn exception_wins_over_buffered_data_in_asyncio_order() {
    // edge.py exc cases: buffer b'line\n' + exception.
    let boom = Error::Other("boom".into());
    let mut stream = default_reader();
    stream.feed_data(b"line\n");
    stream.set_exception(boom.clone());
    assert_eq!(stream.read(0), err(boom.clone()));
    assert_eq!(stream.read(2), err(boom.clone()));
    assert_eq!(stream.read(-1), err(boom.clone()));
    assert_eq!(stream.readexactly(0), err(boom.clone()));
    // Argument errors come first.
    assert_eq!(
        stream.readexactly(-1),
        err(Error::InvalidArgument("readexactly size can not be less than zero".into()))
    );
    assert!(Separators::single(b"").is_err());
    assert_eq!(readline_once(&mut stream), err(boom.clone()));
    assert_eq!(readuntil_once(&mut stream, &Separators::newline()), err(boom));
    assert_eq!(stream.buffered(), b"line\n", "the buffer is left untouched");
}

#[test]
fn exception_while_readuntil_waits_keeps_the_buffer() {
    // edge.py: readuntil pending on b'abc', then ConnectionResetError.
    let mut stream = default_reader();
    let mut search = SearchState::default();
    assert_eq!(stream.readuntil(&Separators::newline(), &mut search), Step::NeedData);
    stream.feed_data(b"abc");
    assert_eq!(stream.readuntil(&Separators::newline(), &mut search), Step::NeedData);
    let reset = Error::ConnectionReset("x".into());
    stream.set_exception(reset.clone());
    assert_eq!(stream.readuntil(&Separators::newline(), &mut search), err(reset));
    assert_eq!(stream.buffered(), b"abc");
    assert_eq!(search, SearchState::default(), "a finished operation resets its search");
}

#[test]
fn stored_incomplete_read_is_not_converted_by_readline() {
    // The I/O layer only stores connection errors, but whatever is stored is reported
    // unchanged by every read, readline included.
    let stored = Error::IncompleteRead { partial: b"x".to_vec(), expected: None };
    let mut stream = default_reader();
    stream.set_exception(stored.clone());
    assert_eq!(readline_once(&mut stream), err(stored));
}

#[test]
fn feed_after_eof_is_ignored_and_feed_eof_is_idempotent() {
    let mut stream = default_reader();
    stream.feed_eof();
    stream.feed_data(b"x");
    stream.feed_vec(b"y".to_vec());
    stream.feed_eof();
    assert!(stream.is_eof());
    assert!(stream.at_eof());
    assert_eq!(stream.buffered(), b"");
}

#[test]
fn feed_vec_appends_after_existing_data() {
    let mut stream = default_reader();
    stream.feed_vec(b"ab".to_vec());
    stream.feed_vec(b"cd".to_vec());
    stream.feed_data(b"ef");
    assert_eq!(stream.read(-1), Step::NeedData);
    stream.feed_eof();
    assert_eq!(stream.read(-1), ok(b"abcdef"));
}

// ---- one waiter (A.2.3) ----

#[test]
fn second_waiter_is_busy_named_after_itself() {
    let mut stream = default_reader();
    assert_eq!(stream.read(1), Step::NeedData);
    stream.begin_wait("read").unwrap();
    assert!(stream.is_waiting());
    assert_eq!(stream.read(1), Step::NeedData);
    let busy = stream.begin_wait("read").unwrap_err();
    assert_eq!(
        busy.to_string(),
        "read() called while another coroutine is already waiting for incoming data"
    );
    assert_eq!(stream.begin_wait("readuntil"), Err(Error::Busy("readuntil")));
    assert_eq!(stream.begin_wait("readexactly"), Err(Error::Busy("readexactly")));
    // The first waiter is woken by data and completes.
    stream.feed_data(b"z");
    stream.end_wait();
    assert_eq!(stream.read(1), ok(b"z"));
    assert_eq!(stream.begin_wait("read"), Ok(()));
}

#[test]
fn a_read_satisfied_from_the_buffer_ignores_the_waiter() {
    let mut stream = default_reader();
    stream.begin_wait("readexactly").unwrap();
    stream.feed_data(b"ab\n");
    // Another task's readline completes without waiting, so no Busy.
    assert_eq!(readline_once(&mut stream), ok(b"ab\n"));
}

// ---- SearchState: no rescans, no skips ----

#[test]
fn search_resumes_where_it_stopped() {
    let mut stream = default_reader();
    let separators = Separators::single(b"XYZ").unwrap();
    let mut search = SearchState::default();
    stream.feed_data(b"aaaaXY");
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    // buflen + 1 - max_len = 4: positions 0..4 cannot start the separator, 4 can.
    assert_eq!(search.position(), 4);
    stream.feed_data(b"Zb");
    assert_eq!(stream.readuntil(&separators, &mut search), ok(b"aaaaXYZ"));
    assert_eq!(search, SearchState::default(), "completion resets the search");
    // Positions are absolute: 7 bytes have been consumed.
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    assert_eq!(search.position(), 7);
}

#[test]
fn search_survives_bytes_consumed_by_another_operation() {
    // A readuntil waits with 6 bytes searched; another task's read(4) then takes bytes
    // from the front. The saved position must map back into the shorter buffer.
    let separators = Separators::single(b"XYZ").unwrap();
    let mut stream = default_reader();
    let mut search = SearchState::default();
    stream.feed_data(b"abcdefXY");
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    assert_eq!(stream.read(4), ok(b"abcd"));
    stream.feed_data(b"Z");
    assert_eq!(stream.readuntil(&separators, &mut search), ok(b"efXYZ"));

    // The other task consumed past the searched region: saturate at the buffer start.
    let mut stream = default_reader();
    let mut search = SearchState::default();
    stream.feed_data(b"abcdXY");
    assert_eq!(stream.readuntil(&separators, &mut search), Step::NeedData);
    assert_eq!(stream.read(5), ok(b"abcdX"));
    stream.feed_data(b"ZXYZ");
    assert_eq!(stream.readuntil(&separators, &mut search), ok(b"YZXYZ"));
}

#[test]
fn total_consumed_counts_every_removed_byte() {
    let mut stream = reader(3);
    stream.feed_data(b"ab\ncdefgh\nij");
    assert_eq!(readline_once(&mut stream), ok(b"ab\n"));
    assert_eq!(stream.total_consumed(), 3);
    assert_eq!(readline_once(&mut stream), err(overrun_found(6)));
    assert_eq!(stream.total_consumed(), 10);
    stream.feed_eof();
    assert_eq!(
        stream.readexactly(5),
        err(Error::IncompleteRead { partial: b"ij".to_vec(), expected: Some(5) })
    );
    assert_eq!(stream.total_consumed(), 12);
}

// ---- E7 / C.1: read-side flow control ----

#[test]
fn e7_pause_above_twice_the_limit_resume_at_the_limit() {
    let mut stream = reader(1000);
    stream.feed_data(&[b'x'; 2000]);
    assert!(!stream.is_paused(), "2000 == 2 * limit is not above it");
    stream.feed_data(b"x");
    assert!(stream.is_paused(), "2001 > 2 * limit");
    assert_eq!(stream.read(1000), ok(&[b'x'; 1000]));
    assert_eq!(stream.len(), 1001);
    assert!(stream.is_paused(), "1001 > limit: still paused (hysteresis)");
    assert_eq!(stream.read(1), ok(b"x"));
    assert_eq!(stream.len(), 1000);
    assert!(!stream.is_paused(), "1000 <= limit: resumed");
}

#[test]
fn e7_readexactly_larger_than_twice_the_limit_completes() {
    // The I/O layer resumes before every wait, like `_wait_for_data`.
    let mut stream = reader(1000);
    let mut paused_seen = false;
    let data = loop {
        match stream.readexactly(5000) {
            Step::Ready(result) => break result.unwrap(),
            Step::NeedData => {
                stream.resume_for_waiter();
                assert!(!stream.is_paused());
                stream.feed_data(&[b'y'; 1500]);
                paused_seen |= stream.is_paused();
            }
        }
    };
    assert_eq!(data, vec![b'y'; 5000]);
    assert!(paused_seen);
    assert_eq!(stream.len(), 1000);
    assert!(!stream.is_paused(), "the successful read resumed");
}

#[test]
fn overrun_and_incomplete_read_do_not_resume_but_readline_discarding_does() {
    let mut stream = reader(2);
    stream.feed_data(b"abcde");
    assert!(stream.is_paused());
    assert_eq!(readuntil_once(&mut stream, &Separators::newline()), err(overrun_not_found(5)));
    assert!(stream.is_paused(), "LimitOverrun does not resume");
    assert_eq!(readline_once(&mut stream), err(overrun_not_found(5)));
    assert!(!stream.is_paused(), "readline's overrun path discards and resumes");

    let mut stream = reader(2);
    stream.feed_data(b"abcde");
    stream.feed_eof();
    assert_eq!(
        stream.readexactly(9),
        err(Error::IncompleteRead { partial: b"abcde".to_vec(), expected: Some(9) })
    );
    assert!(stream.is_paused(), "IncompleteRead does not resume");
    // asyncio's read(n) resumes even when it returns b'' at EOF.
    assert_eq!(stream.read(1), ok(b""));
    assert!(!stream.is_paused());
}

#[test]
fn read_zero_does_not_resume() {
    let mut stream = reader(1);
    stream.feed_data(b"abc");
    assert!(stream.is_paused());
    stream.read(2);
    assert!(!stream.is_paused());
    stream.feed_data(b"bcd");
    assert!(stream.is_paused());
    stream.set_exception(value_error());
    assert_eq!(stream.read(0), err(value_error()));
    assert!(stream.is_paused());
}

#[test]
fn feed_vec_pauses_too() {
    let mut stream = reader(1);
    stream.feed_vec(b"abc".to_vec());
    assert!(stream.is_paused());
}

// ---- E8 / C.2: write-side watermarks ----

#[test]
fn e8_default_write_buffer_limits() {
    assert_eq!(WriteBuffer::new().limits(), (16384, 65536));
}

#[test]
fn e8_set_write_buffer_limits_derives_the_missing_mark() {
    let mut writer = WriteBuffer::new();
    writer.set_limits(Some(100), None).unwrap();
    assert_eq!(writer.limits(), (25, 100));
    writer.set_limits(None, Some(10)).unwrap();
    assert_eq!(writer.limits(), (10, 40));
    writer.set_limits(None, None).unwrap();
    assert_eq!(writer.limits(), (16384, 65536));
}

#[test]
fn e8_high_below_low_is_rejected_with_asyncio_text() {
    let mut writer = WriteBuffer::new();
    let error = writer.set_limits(Some(5), Some(10)).unwrap_err();
    assert_eq!(error, Error::InvalidArgument("high (5) must be >= low (10) must be >= 0".into()));
    assert_eq!(error.to_string(), "high (5) must be >= low (10) must be >= 0");
    assert_eq!(writer.limits(), (16384, 65536), "unchanged");
}

#[test]
fn e8_pause_above_high_resume_at_low() {
    let mut writer = WriteBuffer::new();
    writer.write(&[0; 65536]).unwrap();
    assert!(!writer.is_paused(), "65536 is not above high");
    writer.write(&[0; 1024]).unwrap();
    assert_eq!(writer.len(), 66560);
    assert!(writer.is_paused());
    writer.consume(66560 - 16385);
    assert!(writer.is_paused(), "16385 > low: drain still waits");
    writer.consume(1);
    assert!(!writer.is_paused(), "16384 <= low: drain returns, buffer not empty");
    assert_eq!(writer.len(), 16384);
}

#[test]
fn e13_write_after_close_delivered_only_while_data_is_queued() {
    let mut writer = WriteBuffer::new();
    writer.write(b"abc").unwrap();
    writer.start_closing();
    assert!(writer.is_closing());
    assert_eq!(writer.write(b"def"), Ok(WriteOutcome::Buffered));
    assert_eq!(writer.front(100), b"abcdef");
    writer.consume(6);
    assert_eq!(writer.write(b"ghi"), Ok(WriteOutcome::Dropped));
    assert!(writer.is_empty());

    let mut writer = WriteBuffer::new();
    writer.start_closing();
    assert_eq!(writer.write(b"x"), Ok(WriteOutcome::Dropped));
    assert_eq!(writer.writelines([b"x"]), Ok(WriteOutcome::Dropped));
}

#[test]
fn drain_after_close_finds_the_connection_lost_once_nothing_is_queued() {
    let mut writer = WriteBuffer::new();
    assert!(!writer.drain_finds_lost());
    writer.write(b"abc").unwrap();
    writer.start_closing();
    assert!(!writer.drain_finds_lost(), "bytes still to send: drain acts as on an open writer");
    writer.consume(3);
    assert!(writer.drain_finds_lost(), "closing and empty: asyncio's drain raises Connection lost");
    let mut writer = WriteBuffer::new();
    writer.mark_lost();
    assert!(writer.drain_finds_lost());
}
