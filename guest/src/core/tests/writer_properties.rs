//! Property test of `WriteBuffer`: for any sequence of writes, partial flushes and limit
//! changes, the pause state follows C.2 exactly (set when the buffer exceeds `high`
//! after a write or `set_limits`, cleared only by a flush that leaves it at or below
//! `low`) and the bytes handed to the host are exactly the bytes written, in order.

use proptest::prelude::*;

use crate::core::{WriteBuffer, WriteOutcome};

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<u8>),
    WriteLines(Vec<Vec<u8>>),
    /// Offer at most `max` bytes to the host, which accepts `accept` of them.
    Flush {
        max: usize,
        accept: prop::sample::Index,
    },
    SetLimits(Option<usize>, Option<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    let data = || prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => data().prop_map(Op::Write),
        2 => prop::collection::vec(data(), 0..4).prop_map(Op::WriteLines),
        4 => (0usize..80, any::<prop::sample::Index>())
            .prop_map(|(max, accept)| Op::Flush { max, accept }),
        1 => (prop::option::of(0usize..120), prop::option::of(0usize..60))
            .prop_map(|(h, l)| Op::SetLimits(h, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn pause_follows_the_watermarks_and_bytes_are_conserved(
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut writer = WriteBuffer::new();
        let mut paused = false;
        let (mut low, mut high) = writer.limits();
        let mut written = Vec::new();
        let mut sent = Vec::new();

        for op in ops {
            match op {
                Op::Write(data) => {
                    let outcome = writer.write(&data).unwrap();
                    let expected =
                        if data.is_empty() { WriteOutcome::Empty } else { WriteOutcome::Buffered };
                    prop_assert_eq!(outcome, expected);
                    written.extend_from_slice(&data);
                    paused |= writer.len() > high;
                }
                Op::WriteLines(lines) => {
                    let total: usize = lines.iter().map(Vec::len).sum();
                    let outcome = writer.writelines(&lines).unwrap();
                    let expected =
                        if total == 0 { WriteOutcome::Empty } else { WriteOutcome::Buffered };
                    prop_assert_eq!(outcome, expected);
                    written.extend(lines.concat());
                    paused |= writer.len() > high;
                }
                Op::Flush { max, accept } => {
                    let offered = writer.front(max).to_vec();
                    prop_assert!(offered.len() == max.min(writer.len()));
                    let accepted = accept.index(offered.len() + 1);
                    sent.extend_from_slice(&offered[..accepted]);
                    writer.consume(accepted);
                    if paused && writer.len() <= low {
                        paused = false;
                    }
                }
                Op::SetLimits(h, l) => {
                    let new_high = h.unwrap_or_else(|| l.map_or(65536, |l| 4 * l));
                    let new_low = l.unwrap_or(new_high / 4);
                    let result = writer.set_limits(h, l);
                    if new_high >= new_low {
                        prop_assert!(result.is_ok());
                        (low, high) = (new_low, new_high);
                        paused |= writer.len() > high;
                    } else {
                        prop_assert!(result.is_err());
                    }
                    prop_assert_eq!(writer.limits(), (low, high));
                }
            }
            prop_assert_eq!(writer.is_paused(), paused);
            prop_assert_eq!(writer.len(), written.len() - sent.len());
        }

        // Flush everything: what the host got is exactly what was written.
        while !writer.is_empty() {
            let chunk = writer.front(7).to_vec();
            sent.extend_from_slice(&chunk);
            writer.consume(chunk.len());
        }
        prop_assert!(!writer.is_paused());
        prop_assert_eq!(sent, written);
    }
}
