//! `WriteBuffer` checked against the contract (C.2), for the property tests and the
//! `write_buffer` fuzz target: for any sequence of writes, partial flushes and limit
//! changes, the pause state follows the watermarks exactly (set when the buffer exceeds
//! `high` after a write or `set_limits`, cleared only by a flush that leaves it at or
//! below `low`), `set_limits` accepts and rejects as asyncio does, and the bytes handed to
//! the host are exactly the bytes written, in order.

use crate::core::{WriteBuffer, WriteOutcome};

/// One operation on the writer's queue.
#[derive(Debug, Clone)]
pub enum WriterOp {
    Write(Vec<u8>),
    WriteLines(Vec<Vec<u8>>),
    /// Offer at most `max` bytes to the host, which accepts `accept` of them (clamped to
    /// what was offered).
    Flush { max: usize, accept: usize },
    SetLimits(Option<usize>, Option<usize>),
}

macro_rules! ensure {
    ($condition:expr, $($context:tt)+) => {
        if !$condition {
            return Err(format!($($context)+));
        }
    };
}

/// Runs `ops`, then flushes everything; `Err` describes the first departure from the
/// contract.
pub fn run_writer_ops(ops: &[WriterOp]) -> Result<(), String> {
    let mut writer = WriteBuffer::new();
    let mut paused = false;
    let (mut low, mut high) = writer.limits();
    let mut written = Vec::new();
    let mut sent = Vec::new();

    for op in ops {
        match op {
            WriterOp::Write(data) => {
                let outcome = writer.write(data).map_err(|e| format!("write: {e:?}"))?;
                let expected = if data.is_empty() { WriteOutcome::Empty } else { WriteOutcome::Buffered };
                ensure!(outcome == expected, "write of {} bytes: {outcome:?}, expected {expected:?}", data.len());
                written.extend_from_slice(data);
                paused |= writer.len() > high;
            }
            WriterOp::WriteLines(lines) => {
                let total: usize = lines.iter().map(Vec::len).sum();
                let outcome = writer.writelines(lines).map_err(|e| format!("writelines: {e:?}"))?;
                let expected = if total == 0 { WriteOutcome::Empty } else { WriteOutcome::Buffered };
                ensure!(outcome == expected, "writelines of {total} bytes: {outcome:?}, expected {expected:?}");
                written.extend(lines.concat());
                paused |= writer.len() > high;
            }
            WriterOp::Flush { max, accept } => {
                let offered = writer.front(*max).to_vec();
                ensure!(
                    offered.len() == (*max).min(writer.len()),
                    "front({max}) offered {} of {}",
                    offered.len(),
                    writer.len()
                );
                let accepted = (*accept).min(offered.len());
                sent.extend_from_slice(&offered[..accepted]);
                writer.consume(accepted);
                if paused && writer.len() <= low {
                    paused = false;
                }
            }
            WriterOp::SetLimits(h, l) => {
                let new_high = h.unwrap_or_else(|| l.map_or(65536, |l| l.saturating_mul(4)));
                let new_low = l.unwrap_or(new_high / 4);
                let result = writer.set_limits(*h, *l);
                if new_high >= new_low {
                    ensure!(result.is_ok(), "set_limits({h:?}, {l:?}) refused: {result:?}");
                    (low, high) = (new_low, new_high);
                    paused |= writer.len() > high;
                } else {
                    ensure!(result.is_err(), "set_limits({h:?}, {l:?}) accepted high < low");
                }
                ensure!(writer.limits() == (low, high), "limits {:?}, expected {:?}", writer.limits(), (low, high));
            }
        }
        ensure!(writer.is_paused() == paused, "after {op:?}: paused {}, expected {paused}", writer.is_paused());
        ensure!(
            writer.len() == written.len() - sent.len(),
            "after {op:?}: {} bytes queued, expected {}",
            writer.len(),
            written.len() - sent.len()
        );
    }

    // Flush everything: what the host got is exactly what was written.
    while !writer.is_empty() {
        let chunk = writer.front(7).to_vec();
        sent.extend_from_slice(&chunk);
        writer.consume(chunk.len());
    }
    ensure!(!writer.is_paused(), "paused with nothing queued");
    ensure!(sent == written, "the host got other bytes than were written");
    Ok(())
}
