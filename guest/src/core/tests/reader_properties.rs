//! Property tests of `ReadBuffer` against the naive model, by the lockstep checks in
//! `core::model::reader_lockstep` (which the `read_buffer` fuzz target runs too):
//! random input, random chunking, random limit and a random sequence of operations.

use proptest::prelude::*;

use crate::core::model::reader_lockstep::{
    check_chunking_changes_nothing, check_chunking_independence, run_lockstep, Case, Op,
};

const ALPHABET: &[u8] = b"ab\nX";

fn bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..=max_len)
}

fn separator() -> impl Strategy<Value = Vec<u8>> {
    // Mostly from the letters that also occur in the data, so they match often.
    prop::collection::vec(prop::sample::select(&b"ab\n"[..]), 1..=3)
}

fn interloper() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![3 => Just(None), 1 => (1i64..6).prop_map(Some)]
}

fn op(with_exception: bool, with_interlopers: bool) -> impl Strategy<Value = Op> {
    let interloper = move || interloper().prop_map(move |i| i.filter(|_| with_interlopers));
    let exception_weight = if with_exception { 1 } else { 0 };
    prop_oneof![
        6 => prop_oneof![Just(-1i64), Just(-3), Just(0), 1i64..12].prop_map(Op::Read),
        6 => (-1i64..12).prop_map(Op::ReadExactly),
        10 => (prop::collection::vec(separator(), 1..=3), interloper())
            .prop_map(|(s, i)| Op::ReadUntil(s, i)),
        8 => interloper().prop_map(Op::ReadLine),
        exception_weight => Just(Op::SetException),
    ]
}

fn case(limit: impl Strategy<Value = usize>, ops: impl Strategy<Value = Op>) -> impl Strategy<Value = Case> {
    (bytes(60), prop::collection::vec(0usize..=60, 0..12), limit, prop::collection::vec(ops, 1..14))
        .prop_map(|(data, cuts, limit, ops)| Case { data, cuts, limit, ops })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn reader_matches_the_naive_model(case in case(1usize..20, op(true, true))) {
        run_lockstep(&case).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn results_do_not_depend_on_chunking(case in case(1usize..20, op(false, false))) {
        check_chunking_independence(&case).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn without_overruns_chunking_changes_nothing(case in case(Just(64usize), op(false, false))) {
        // limit >= input length: no overrun is possible, so every result must match.
        check_chunking_changes_nothing(&case).map_err(TestCaseError::fail)?;
    }
}
