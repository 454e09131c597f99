//! Criterion micro-benchmarks of wasio's sans-I/O core (`wasio::core`), natively.
//!
//! Run with `cargo bench -p bench --bench core` (or `scripts/bench --micro`); criterion's
//! options follow `--`, e.g. `-- readuntil_split` or `-- --warm-up-time 1 --measurement-time 2`.
//! Every benchmark reports bytes/s (`Throughput::Bytes`).
//!
//! Groups:
//! - `readline`: a buffer of N bytes (1 KiB to 1 MiB) made of 64-byte lines, or one line
//!   of N bytes, fed at once (`feed_vec`, as the transport does) and read out line by line.
//! - `readuntil`: the same with a 1-byte (`\n`) and a 4-byte (`\r\n\r\n`) separator, plus
//!   one N-byte HTTP-like head (a CRLF every 32 bytes, so the 4-byte searcher meets many
//!   false candidates). `*_records64_floor` is the same search and copies without the
//!   `ReadBuffer`: the difference is the buffer's bookkeeping.
//! - `readuntil_split`: one record of N bytes arriving in 1 KiB pieces (`feed_data`), with a
//!   `readuntil` attempt after each piece that must say `NeedData` until the last one.
//!   Linear if the `SearchState` keeps already searched bytes from being searched again;
//!   `fresh_state` is the control that searches from the start on every attempt.
//! - `write_drain`: `write` then the transport's bookkeeping (`is_paused`, then
//!   `front(permit)` / `consume(len)` as `push_queued` does with the host's `check_write`
//!   permit, 64 KiB under wasmtime), per 64-byte and per 64 KiB write.
//!
//! Setup (building inputs) stays outside the timed closures; inputs that a benchmark
//! consumes come from `iter_batched`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use wasio::core::{ReadBuffer, SearchState, Separators, Step, WriteBuffer};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Buffer sizes of the read benchmarks.
const SIZES: [usize; 4] = [KIB, 16 * KIB, 256 * KIB, MIB];
/// Above every input, so no read overruns and nothing pauses at these sizes.
const LIMIT: usize = 4 * MIB;
/// Record (line) length of the "many records" inputs, separator included.
const RECORD: usize = 64;
/// Piece size of `readuntil_split`.
const PIECE: usize = KIB;
/// What wasmtime-wasi's TCP `check_write` grants (`MAX_READ_SIZE_ALLOC`).
const HOST_PERMIT: usize = 64 * KIB;

fn size_label(n: usize) -> String {
    if n >= MIB {
        format!("{}MiB", n / MIB)
    } else {
        format!("{}KiB", n / KIB)
    }
}

/// `SmallInput` keeps many inputs alive at once; at 256 KiB and above use `LargeInput`.
fn batch_size(n: usize) -> BatchSize {
    if n < 256 * KIB {
        BatchSize::SmallInput
    } else {
        BatchSize::LargeInput
    }
}

/// `total` bytes of `record`-byte records, each ending with `separator`.
fn records(total: usize, record: usize, separator: &[u8]) -> Vec<u8> {
    assert!(total.is_multiple_of(record) && record > separator.len());
    let mut one = vec![b'x'; record - separator.len()];
    one.extend_from_slice(separator);
    one.repeat(total / record)
}

/// One record of `total` bytes: plain filler, then `separator`.
fn one_record(total: usize, separator: &[u8]) -> Vec<u8> {
    records(total, total, separator)
}

/// One HTTP-like head of `total` bytes: 32-byte `name: value\r\n` lines, then one more
/// `\r\n`, so the head ends with the only `\r\n\r\n`.
fn http_head(total: usize) -> Vec<u8> {
    let mut head = Vec::with_capacity(total);
    let mut i = 0;
    while head.len() + 32 + 2 <= total {
        let line = format!("X-Header-{i:06}: {:>13}\r\n", "value");
        debug_assert_eq!(line.len(), 32);
        head.extend_from_slice(line.as_bytes());
        i += 1;
    }
    head.resize(total - 2, b'v');
    head.extend_from_slice(b"\r\n");
    // The last line's CRLF plus this one make the separator.
    let len = head.len();
    head[len - 4..len - 2].copy_from_slice(b"\r\n");
    debug_assert_eq!(head.len(), total);
    head
}

fn reader(data: Vec<u8>) -> ReadBuffer {
    let mut buffer = ReadBuffer::new(LIMIT).expect("limit > 0");
    buffer.feed_vec(data);
    buffer
}

/// Feeds `data` and reads it all out with `readline`; returns (lines, bytes).
fn read_all_lines(data: Vec<u8>) -> (usize, usize) {
    let mut buffer = reader(data);
    let mut search = SearchState::new();
    let (mut count, mut bytes) = (0, 0);
    while !buffer.is_empty() {
        match buffer.readline(&mut search) {
            Step::Ready(Ok(line)) => {
                count += 1;
                bytes += line.len();
                black_box(line);
            }
            other => panic!("readline: {other:?}"),
        }
    }
    (count, bytes)
}

/// Feeds `data` and reads it all out with `readuntil`; returns (records, bytes).
fn read_all_records(data: Vec<u8>, separators: &Separators) -> (usize, usize) {
    let mut buffer = reader(data);
    let mut search = SearchState::new();
    let (mut count, mut bytes) = (0, 0);
    while !buffer.is_empty() {
        match buffer.readuntil(separators, &mut search) {
            Step::Ready(Ok(record)) => {
                count += 1;
                bytes += record.len();
                black_box(record);
            }
            other => panic!("readuntil: {other:?}"),
        }
    }
    (count, bytes)
}

/// The floor of `read_all_records`: the same searches (`find_earliest_end`) and copies
/// (`to_vec`) over a plain slice, without the `ReadBuffer` around them.
fn split_records_floor(data: &[u8], separators: &Separators) -> (usize, usize) {
    let (mut count, mut start) = (0, 0);
    while start < data.len() {
        let (_, end) = separators.find_earliest_end(data, start).expect("records end with a separator");
        black_box(data[start..end].to_vec());
        count += 1;
        start = end;
    }
    (count, start)
}

/// Feeds `record` in `PIECE`-byte pieces with a `readuntil` attempt after each; returns
/// the record's length. `keep_state: false` starts every attempt from a fresh state.
fn read_split(record: &[u8], separators: &Separators, keep_state: bool) -> usize {
    let mut buffer = ReadBuffer::new(LIMIT).expect("limit > 0");
    let mut search = SearchState::new();
    let mut pieces = record.chunks(PIECE).peekable();
    while let Some(piece) = pieces.next() {
        buffer.feed_data(piece);
        if !keep_state {
            search = SearchState::new();
        }
        match buffer.readuntil(separators, &mut search) {
            Step::NeedData if pieces.peek().is_some() => {}
            Step::Ready(Ok(found)) if pieces.peek().is_none() => return found.len(),
            other => panic!("readuntil after {} bytes: {other:?}", buffer.len()),
        }
    }
    unreachable!("the record ends with its separator")
}

fn bench_readline(c: &mut Criterion) {
    let mut group = c.benchmark_group("readline");
    for &n in &SIZES {
        group.throughput(Throughput::Bytes(n as u64));

        let lines = records(n, RECORD, b"\n");
        assert_eq!(read_all_lines(lines.clone()), (n / RECORD, n));
        group.bench_with_input(BenchmarkId::new("lines64", size_label(n)), &lines, |b, lines| {
            b.iter_batched(|| lines.clone(), read_all_lines, batch_size(n))
        });

        let line = one_record(n, b"\n");
        assert_eq!(read_all_lines(line.clone()), (1, n));
        group.bench_with_input(BenchmarkId::new("one_line", size_label(n)), &line, |b, line| {
            b.iter_batched(|| line.clone(), read_all_lines, batch_size(n))
        });
    }
    group.finish();
}

fn bench_readuntil(c: &mut Criterion) {
    let mut group = c.benchmark_group("readuntil");
    let separators: [(&str, &[u8]); 2] = [("sep1", b"\n"), ("sep4", b"\r\n\r\n")];
    for &n in &SIZES {
        group.throughput(Throughput::Bytes(n as u64));
        for (name, separator) in separators {
            let seps = Separators::single(separator).expect("valid separator");

            let many = records(n, RECORD, separator);
            assert_eq!(read_all_records(many.clone(), &seps), (n / RECORD, n));
            let id = BenchmarkId::new(format!("{name}_records64"), size_label(n));
            group.bench_with_input(id, &many, |b, many| {
                b.iter_batched(|| many.clone(), |data| read_all_records(data, &seps), batch_size(n))
            });

            // No `ReadBuffer`: what the search and the returned copies alone cost.
            assert_eq!(split_records_floor(&many, &seps), (n / RECORD, n));
            let id = BenchmarkId::new(format!("{name}_records64_floor"), size_label(n));
            group.bench_with_input(id, &many, |b, many| b.iter(|| split_records_floor(many, &seps)));

            let one = one_record(n, separator);
            assert_eq!(read_all_records(one.clone(), &seps), (1, n));
            let id = BenchmarkId::new(format!("{name}_one_record"), size_label(n));
            group.bench_with_input(id, &one, |b, one| {
                b.iter_batched(|| one.clone(), |data| read_all_records(data, &seps), batch_size(n))
            });
        }

        let seps = Separators::single(b"\r\n\r\n").expect("valid separator");
        let head = http_head(n);
        assert_eq!(read_all_records(head.clone(), &seps), (1, n));
        group.bench_with_input(BenchmarkId::new("sep4_http_head", size_label(n)), &head, |b, head| {
            b.iter_batched(|| head.clone(), |data| read_all_records(data, &seps), batch_size(n))
        });
    }
    group.finish();
}

fn bench_readuntil_split(c: &mut Criterion) {
    let mut group = c.benchmark_group("readuntil_split");
    let sizes = [16 * KIB, 64 * KIB, 256 * KIB, MIB];
    let newline = Separators::newline();
    let crlf2 = Separators::single(b"\r\n\r\n").expect("valid separator");
    for &n in &sizes {
        group.throughput(Throughput::Bytes(n as u64));

        let line = one_record(n, b"\n");
        assert_eq!(read_split(&line, &newline, true), n);
        group.bench_with_input(BenchmarkId::new("sep1_1KiB_pieces", size_label(n)), &line, |b, line| {
            b.iter(|| read_split(line, &newline, true))
        });

        let head = http_head(n);
        assert_eq!(read_split(&head, &crlf2, true), n);
        group.bench_with_input(
            BenchmarkId::new("sep4_http_head_1KiB_pieces", size_label(n)),
            &head,
            |b, head| b.iter(|| read_split(head, &crlf2, true)),
        );

        // The control: what searching everything again on each attempt would cost.
        // Quadratic, so not at 1 MiB.
        if n <= 256 * KIB {
            assert_eq!(read_split(&line, &newline, false), n);
            group.bench_with_input(BenchmarkId::new("sep1_fresh_state", size_label(n)), &line, |b, line| {
                b.iter(|| read_split(line, &newline, false))
            });
        }
    }
    group.finish();
}

/// One `write` of `data`, then `push_queued`'s loop: `front(permit)` / `consume(len)`
/// until the queue is empty, checking `is_paused` (what `drain()` looks at) after the write.
fn write_then_drain(writer: &mut WriteBuffer, data: &[u8], permit: usize) {
    black_box(writer.write(data).expect("not after write_eof"));
    black_box(writer.is_paused());
    while !writer.is_empty() {
        let chunk = writer.front(permit);
        let len = black_box(chunk).len();
        writer.consume(len);
    }
    black_box(writer.is_paused());
}

fn bench_write_drain(c: &mut Criterion) {
    let mut group = c.benchmark_group("write_drain");

    let small = [b'w'; 64];
    group.throughput(Throughput::Bytes(small.len() as u64));
    // The host keeps up: each write is handed over whole at once.
    group.bench_function("64B", |b| {
        let mut writer = WriteBuffer::new();
        b.iter(|| write_then_drain(&mut writer, black_box(&small), HOST_PERMIT))
    });
    // `set_write_buffer_limits(0)`: every write pauses, every drain resumes.
    group.bench_function("64B_high0", |b| {
        let mut writer = WriteBuffer::new();
        writer.set_limits(Some(0), None).expect("valid limits");
        b.iter(|| write_then_drain(&mut writer, black_box(&small), HOST_PERMIT))
    });
    // The host lags: 32 KiB stay queued, and each write is matched by a 64-byte drain
    // from the front, so the queue's compaction (`copy_within`) is part of the cost.
    group.bench_function("64B_backlog32KiB", |b| {
        let mut writer = WriteBuffer::new();
        writer.write(&vec![b'q'; 32 * KIB]).expect("not after write_eof");
        b.iter(|| {
            black_box(writer.write(black_box(&small)).expect("not after write_eof"));
            black_box(writer.is_paused());
            let len = black_box(writer.front(small.len())).len();
            writer.consume(len);
        });
        assert_eq!(writer.len(), 32 * KIB);
    });

    let large = vec![b'w'; 64 * KIB];
    group.throughput(Throughput::Bytes(large.len() as u64));
    for (name, permit) in [("64KiB_permit64KiB", HOST_PERMIT), ("64KiB_permit4KiB", 4 * KIB)] {
        group.bench_function(name, |b| {
            let mut writer = WriteBuffer::new();
            b.iter(|| write_then_drain(&mut writer, black_box(&large), permit))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_readline, bench_readuntil, bench_readuntil_split, bench_write_drain);
criterion_main!(benches);
