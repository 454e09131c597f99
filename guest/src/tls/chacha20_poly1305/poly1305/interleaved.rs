//! Long runs of blocks in three interleaved accumulators: blocks 1, 4, 7... go to A, blocks
//! 2, 5, 8... to B, blocks 3, 6, 9... to C, each multiplied by r^3 per step of three blocks,
//! and the last step multiplies A by r^3, B by r^2 and C by r, so that A + B + C is what one
//! accumulator stepping by r would hold. For six blocks:
//! `(h + m1) r^6 + m4 r^3` (A) `+ m2 r^5 + m5 r^2` (B) `+ m3 r^4 + m6 r` (C).
//!
//! A and B sit in the lanes of [`Wide`]/[`Packed`], so each product is one SIMD multiply for
//! both; C is scalar code, whose multiplier runs alongside the SIMD one. In wasmtime on an
//! AVX-512 Xeon, 16 KiB take 0.49 ns/byte (0.44 with Cranelift told to leave AVX-512 aside),
//! against 0.56 in scalar code alone and 0.97 in the `poly1305` crate's.

use super::two_lanes::{Packed, Wide};
use super::{add_block, carry, multiply as multiply_limbs, Limbs, BLOCK, HIBIT, LIMB};

/// Blocks one step takes: A's and B's in the lanes, C's in scalar code.
pub const STEP: usize = 3 * BLOCK;

/// A's and B's blocks of a step.
const PAIR: usize = 2 * BLOCK;

/// The multiplier of a step, limb by limb, as [`Packed`] multiplies it: `r[i]` and `5 r[i]`
/// (`2^130 = 5 mod p`), with A's in lanes 0 and 2, B's in lanes 1 and 3.
struct Multiplier {
    r: [Packed; 5],
    five_r: [Packed; 5],
}

impl Multiplier {
    fn new(a: &Limbs, b: &Limbs) -> Self {
        let lanes = |x: u32, y: u32| Packed::new([x, y, x, y]);
        Self {
            r: core::array::from_fn(|i| lanes(a[i], b[i])),
            five_r: core::array::from_fn(|i| lanes(a[i] * 5, b[i] * 5)),
        }
    }
}

/// Absorbs `blocks` (whole steps, at least one) into `h`, the state after the blocks before
/// them; returns the state after them, as [`super::multiply`] leaves it. Costs about four
/// blocks' worth more than scalar code to set up and to merge.
pub fn absorb(h: Limbs, r: &Limbs, blocks: &[u8]) -> Limbs {
    debug_assert!(!blocks.is_empty() && blocks.len() % STEP == 0);
    let r2 = multiply_limbs(*r, r);
    let r3 = multiply_limbs(r2, r);
    // h joins A's first block.
    let mut lanes: [Wide; 5] = core::array::from_fn(|i| Wide::new([u64::from(h[i]), 0]));
    let mut scalar: Limbs = [0; 5];
    let by_r3 = Multiplier::new(&r3, &r3);
    let (body, end) = blocks.split_at(blocks.len() - STEP);
    for step in body.chunks_exact(STEP) {
        let (pair, block) = step.split_at(PAIR);
        // Opaque, so that LLVM reads the multiplier in the loop and keeps each product one
        // `i64x2.extmul`: hoisting the multiplier's widening out of the loop leaves a full
        // `i64x2.mul`, which Cranelift makes three `pmuludq` on x86 without AVX-512 (0.64
        // ns/byte instead of 0.44). With AVX-512 either is one `vpmullq` (0.49; 0.45 hoisted).
        let by_r3 = core::hint::black_box(&by_r3);
        lanes = carry_lanes(product(pack(add_blocks(lanes, pair)), by_r3));
        scalar = multiply_limbs(add_block(&scalar, block.try_into().expect("16 bytes"), HIBIT), &r3);
    }
    let (pair, block) = end.split_at(PAIR);
    lanes = carry_lanes(product(pack(add_blocks(lanes, pair)), &Multiplier::new(&r3, &r2)));
    scalar = multiply_limbs(add_block(&scalar, block.try_into().expect("16 bytes"), HIBIT), r);
    let [a, b] = [0, 1].map(|lane| lanes.map(|limb| limb.lanes()[lane]));
    carry(core::array::from_fn(|i| a[i] + b[i] + u64::from(scalar[i])))
}

/// `acc + (first block, second block)`, lane A the first, each block split into limbs with
/// 2^128 on top.
#[inline(always)]
fn add_blocks(acc: [Wide; 5], pair: &[u8]) -> [Wide; 5] {
    let (a, b) = pair.split_at(BLOCK);
    let (low, high) = Wide::load_blocks(a.try_into().expect("16 bytes"), b.try_into().expect("16 bytes"));
    let limb = Wide::splat(u64::from(LIMB));
    let m = [
        low.and(limb),
        low.shr(26).and(limb),
        low.shr(52).or(high.shl(12)).and(limb),
        high.shr(14).and(limb),
        high.shr(40).or(Wide::splat(u64::from(HIBIT))),
    ];
    core::array::from_fn(|i| acc[i].add(m[i]))
}

/// The five limbs as three [`Packed`] (the last one twice), ready to multiply.
#[inline(always)]
fn pack(h: [Wide; 5]) -> [Packed; 3] {
    [Wide::pack(h[0], h[1]), Wide::pack(h[2], h[3]), Wide::pack(h[4], h[4])]
}

/// `h * k` in each lane, uncarried: each limb below 2^59 when `h`'s are below 2^28.
#[inline(always)]
fn product([h01, h23, h4]: [Packed; 3], k: &Multiplier) -> [Wide; 5] {
    let (r, s) = (&k.r, &k.five_r);
    let d0 =
        h01.mul_x(r[0]).add(h01.mul_y(s[4])).add(h23.mul_x(s[3])).add(h23.mul_y(s[2])).add(h4.mul_x(s[1]));
    let d1 =
        h01.mul_x(r[1]).add(h01.mul_y(r[0])).add(h23.mul_x(s[4])).add(h23.mul_y(s[3])).add(h4.mul_x(s[2]));
    let d2 =
        h01.mul_x(r[2]).add(h01.mul_y(r[1])).add(h23.mul_x(r[0])).add(h23.mul_y(s[4])).add(h4.mul_x(s[3]));
    let d3 =
        h01.mul_x(r[3]).add(h01.mul_y(r[2])).add(h23.mul_x(r[1])).add(h23.mul_y(r[0])).add(h4.mul_x(s[4]));
    let d4 =
        h01.mul_x(r[4]).add(h01.mul_y(r[3])).add(h23.mul_x(r[2])).add(h23.mul_y(r[1])).add(h4.mul_x(r[0]));
    [d0, d1, d2, d3, d4]
}

/// [`super::carry`] in both lanes, as two interleaved chains (0→1→2→3, 3→4→0→1) so that
/// each waits on half as many steps. Takes limbs below 2^62; leaves them below 2^26, but
/// `[1]` and `[4]` a few bits over.
#[inline(always)]
fn carry_lanes([mut d0, mut d1, mut d2, mut d3, mut d4]: [Wide; 5]) -> [Wide; 5] {
    let limb = Wide::splat(u64::from(LIMB));
    let times5 = |c: Wide| c.add(c.shl(2));
    let c0 = d0.shr(26);
    let c3 = d3.shr(26);
    d0 = d0.and(limb);
    d3 = d3.and(limb);
    d1 = d1.add(c0);
    d4 = d4.add(c3);
    let c1 = d1.shr(26);
    let c4 = d4.shr(26);
    d1 = d1.and(limb);
    d4 = d4.and(limb);
    d2 = d2.add(c1);
    d0 = d0.add(times5(c4));
    let c2 = d2.shr(26);
    let c0 = d0.shr(26);
    d2 = d2.and(limb);
    d0 = d0.and(limb);
    d3 = d3.add(c2);
    d1 = d1.add(c0);
    let c3 = d3.shr(26);
    d3 = d3.and(limb);
    d4 = d4.add(c3);
    [d0, d1, d2, d3, d4]
}
