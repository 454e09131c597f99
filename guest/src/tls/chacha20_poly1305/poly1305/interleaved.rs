//! Two blocks per lane step: the blocks of odd and even position go to two accumulators A
//! and B, each multiplied by r^2 per pair of blocks, and the last pair multiplies A by r^2
//! and B by r, so that A + B is what one accumulator stepping by r would hold:
//! `(((h + m1) r + m2) r + m3) r + m4) r = (h + m1) r^4 + m3 r^2` (A) `+ m2 r^3 + m4 r` (B).
//! A and B sit in the lanes of [`Wide`]/[`Packed`], so each product is one instruction for
//! both. Two pairs make one step, `(acc + m12) r^4 + m34 r^2`: one carry for four blocks.

use super::two_lanes::{Packed, Wide};
use super::{carry, multiply as multiply_limbs, Limbs, BLOCK, HIBIT, LIMB};

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

/// Absorbs `blocks` (whole pairs of 16-byte blocks, at least one) into `h`, the state after
/// the blocks before them; returns the state after them, as [`super::multiply`] leaves it.
pub fn absorb(h: Limbs, r: &Limbs, blocks: &[u8]) -> Limbs {
    debug_assert!(!blocks.is_empty() && blocks.len() % PAIR == 0);
    let r2 = multiply_limbs(*r, r);
    let r3 = multiply_limbs(r2, r);
    let r4 = multiply_limbs(r2, &r2);
    // h joins A's first block.
    let mut acc: [Wide; 5] = core::array::from_fn(|i| Wide::new([u64::from(h[i]), 0]));
    let mut blocks = blocks;
    if blocks.len() % (2 * PAIR) != 0 {
        // An odd number of pairs: the first alone.
        let k = if blocks.len() == PAIR { Multiplier::new(&r2, r) } else { Multiplier::new(&r2, &r2) };
        let (first, rest) = blocks.split_at(PAIR);
        acc = carry_lanes(product(pack(add_blocks(acc, first)), &k));
        blocks = rest;
    }
    if !blocks.is_empty() {
        let (by_r4, by_r2) = (Multiplier::new(&r4, &r4), Multiplier::new(&r2, &r2));
        let (body, end) = blocks.split_at(blocks.len() - 2 * PAIR);
        for pairs in body.chunks_exact(2 * PAIR) {
            acc = two_pairs(acc, pairs, &by_r4, &by_r2);
        }
        acc = two_pairs(acc, end, &Multiplier::new(&r4, &r3), &Multiplier::new(&r2, r));
    }
    let [a, b] = [0, 1].map(|lane| acc.map(|limb| limb.lanes()[lane]));
    carry(core::array::from_fn(|i| a[i] + b[i]))
}

/// `(acc + first pair) * k1 + second pair * k2`, carried.
#[inline(always)]
fn two_pairs(acc: [Wide; 5], pairs: &[u8], k1: &Multiplier, k2: &Multiplier) -> [Wide; 5] {
    let (first, second) = pairs.split_at(PAIR);
    let d1 = product(pack(add_blocks(acc, first)), k1);
    let d2 = product(pack(blocks(second)), k2);
    carry_lanes(core::array::from_fn(|i| d1[i].add(d2[i])))
}

/// `acc + (first block, second block)`.
#[inline(always)]
fn add_blocks(acc: [Wide; 5], pair: &[u8]) -> [Wide; 5] {
    let m = blocks(pair);
    core::array::from_fn(|i| acc[i].add(m[i]))
}

/// The pair's two blocks, lane A the first, split into limbs with 2^128 on top.
#[inline(always)]
fn blocks(pair: &[u8]) -> [Wide; 5] {
    let (a, b) = pair.split_at(BLOCK);
    let (low, high) = Wide::load_blocks(a.try_into().expect("16 bytes"), b.try_into().expect("16 bytes"));
    let limb = Wide::splat(u64::from(LIMB));
    [
        low.and(limb),
        low.shr(26).and(limb),
        low.shr(52).or(high.shl(12)).and(limb),
        high.shr(14).and(limb),
        high.shr(40).or(Wide::splat(u64::from(HIBIT))),
    ]
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
