//! Property test of `WriteBuffer` by the check in `core::model::writer_lockstep` (which
//! the `write_buffer` fuzz target runs too): for any sequence of writes, partial flushes
//! and limit changes, the pause state follows C.2 exactly and the bytes handed to the
//! host are exactly the bytes written, in order.

use proptest::prelude::*;

use crate::core::model::writer_lockstep::{run_writer_ops, WriterOp};

fn op() -> impl Strategy<Value = WriterOp> {
    let data = || prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => data().prop_map(WriterOp::Write),
        2 => prop::collection::vec(data(), 0..4).prop_map(WriterOp::WriteLines),
        4 => (0usize..80, 0usize..81).prop_map(|(max, accept)| WriterOp::Flush { max, accept }),
        1 => (prop::option::of(0usize..120), prop::option::of(0usize..60))
            .prop_map(|(h, l)| WriterOp::SetLimits(h, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn pause_follows_the_watermarks_and_bytes_are_conserved(ops in prop::collection::vec(op(), 1..40)) {
        run_writer_ops(&ops).map_err(TestCaseError::fail)?;
    }
}
