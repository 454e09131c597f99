//! Poly1305 (RFC 8439 section 2.5), the one-time authenticator of ChaCha20-Poly1305, in
//! 26-bit limbs: short messages in scalar code, long runs in three interleaved accumulators
//! ([`interleaved`]), two of them in the lanes of wasm's SIMD128.
//!
//! Checked against RustCrypto's `poly1305` and RFC 8439's vectors in the tests below.

mod interleaved;
mod two_lanes;

use subtle::ConstantTimeEq;

/// Bytes of a block and of the tag.
pub const BLOCK: usize = 16;

/// The low 26 bits: one limb.
const LIMB: u32 = 0x3ff_ffff;

/// 2^128 in the top limb: the bit every full 16-byte block gets above its bytes.
const HIBIT: u32 = 1 << 24;

/// Below this many bytes of whole blocks, setting up [`interleaved`] costs more than it saves
/// (measured in wasmtime: the two break even around 400 bytes).
const INTERLEAVED_FROM: usize = 32 * BLOCK;

/// A number mod 2^130 - 5 as five 26-bit limbs, least significant first; a limb may carry a
/// few bits over 26 between steps.
pub type Limbs = [u32; 5];

/// One message's authenticator; the key must never authenticate another.
pub struct Poly1305 {
    r: Limbs,
    h: Limbs,
    pad: [u32; 4],
}

impl Poly1305 {
    pub fn new(key: &[u8; 32]) -> Self {
        // The clamp of section 2.5.1, applied limb by limb.
        let r = [
            u32_at(key, 0) & 0x3ff_ffff,
            (u32_at(key, 3) >> 2) & 0x3ff_ff03,
            (u32_at(key, 6) >> 4) & 0x3ff_c0ff,
            (u32_at(key, 9) >> 6) & 0x3f0_3fff,
            (u32_at(key, 12) >> 8) & 0x00f_ffff,
        ];
        Self { r, h: [0; 5], pad: core::array::from_fn(|i| u32_at(key, 16 + 4 * i)) }
    }

    /// Absorbs `data` as whole blocks, the last one padded with zeros (RFC 8439 section 2.8's
    /// `pad16`): what the AEAD does with the AAD, the ciphertext and the lengths.
    pub fn update_padded(&mut self, data: &[u8]) {
        let whole = data.len() / BLOCK * BLOCK;
        let (blocks, tail) = data.split_at(whole);
        let interleaved =
            if whole >= INTERLEAVED_FROM { whole / interleaved::STEP * interleaved::STEP } else { 0 };
        if interleaved > 0 {
            self.h = interleaved::absorb(self.h, &self.r, &blocks[..interleaved]);
        }
        for block in blocks[interleaved..].chunks_exact(BLOCK) {
            self.absorb_block(block.try_into().expect("16 bytes"), HIBIT);
        }
        if !tail.is_empty() {
            let mut last = [0u8; BLOCK];
            last[..tail.len()].copy_from_slice(tail);
            self.absorb_block(&last, HIBIT);
        }
    }

    /// `h = (h + block) * r`; `hibit` is [`HIBIT`] for a full block, 0 for a final partial
    /// one that carries its own 0x01 byte.
    fn absorb_block(&mut self, block: &[u8; BLOCK], hibit: u32) {
        self.h = multiply(add_block(&self.h, block, hibit), &self.r);
    }

    /// The tag: h reduced mod 2^130 - 5, plus the key's second half, mod 2^128.
    pub fn finalize(self) -> [u8; BLOCK] {
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        // Fully carry (h0 is below 2^26 after every step).
        let mut c;
        c = h1 >> 26;
        h1 &= LIMB;
        h2 += c;
        c = h2 >> 26;
        h2 &= LIMB;
        h3 += c;
        c = h3 >> 26;
        h3 &= LIMB;
        h4 += c;
        c = h4 >> 26;
        h4 &= LIMB;
        h0 += c * 5;
        c = h0 >> 26;
        h0 &= LIMB;
        h1 += c;

        // g = h + 5 - 2^130; take g when it did not go negative (h >= p), without branching.
        let mut g0 = h0.wrapping_add(5);
        c = g0 >> 26;
        g0 &= LIMB;
        let mut g1 = h1.wrapping_add(c);
        c = g1 >> 26;
        g1 &= LIMB;
        let mut g2 = h2.wrapping_add(c);
        c = g2 >> 26;
        g2 &= LIMB;
        let mut g3 = h3.wrapping_add(c);
        c = g3 >> 26;
        g3 &= LIMB;
        let g4 = h4.wrapping_add(c).wrapping_sub(1 << 26);
        let take_g = (g4 >> 31).wrapping_sub(1);
        let take_h = !take_g;
        h0 = (h0 & take_h) | (g0 & take_g);
        h1 = (h1 & take_h) | (g1 & take_g);
        h2 = (h2 & take_h) | (g2 & take_g);
        h3 = (h3 & take_h) | (g3 & take_g);
        h4 = (h4 & take_h) | (g4 & take_g);

        let words =
            [h0 | (h1 << 26), (h1 >> 6) | (h2 << 20), (h2 >> 12) | (h3 << 14), (h3 >> 18) | (h4 << 8)];
        let mut tag = [0u8; BLOCK];
        let mut carry = 0u64;
        for (i, (word, pad)) in words.into_iter().zip(self.pad).enumerate() {
            let sum = u64::from(word) + u64::from(pad) + carry;
            tag[4 * i..4 * i + 4].copy_from_slice(&(sum as u32).to_le_bytes());
            carry = sum >> 32;
        }
        tag
    }

    /// Whether the tag is `expected`, in constant time: every byte is compared whatever differs.
    pub fn verify(self, expected: &[u8; BLOCK]) -> bool {
        self.finalize().ct_eq(expected).into()
    }
}

/// `h + block`, the block split into limbs with `hibit` on top.
#[inline(always)]
fn add_block(h: &Limbs, block: &[u8; BLOCK], hibit: u32) -> Limbs {
    [
        h[0] + (u32_at(block, 0) & LIMB),
        h[1] + ((u32_at(block, 3) >> 2) & LIMB),
        h[2] + ((u32_at(block, 6) >> 4) & LIMB),
        h[3] + ((u32_at(block, 9) >> 6) & LIMB),
        h[4] + ((u32_at(block, 12) >> 8) | hibit),
    ]
}

/// `h * r mod 2^130 - 5`, carried so that each limb but `[1]` is below 2^26 (and `[1]`
/// barely over). `h`'s limbs must be below 2^28.
#[inline(always)]
fn multiply(h: Limbs, r: &Limbs) -> Limbs {
    let h = h.map(u64::from);
    let [r0, r1, r2, r3, r4] = r.map(u64::from);
    let [s1, s2, s3, s4] = [r1 * 5, r2 * 5, r3 * 5, r4 * 5];
    carry([
        h[0] * r0 + h[1] * s4 + h[2] * s3 + h[3] * s2 + h[4] * s1,
        h[0] * r1 + h[1] * r0 + h[2] * s4 + h[3] * s3 + h[4] * s2,
        h[0] * r2 + h[1] * r1 + h[2] * r0 + h[3] * s4 + h[4] * s3,
        h[0] * r3 + h[1] * r2 + h[2] * r1 + h[3] * r0 + h[4] * s4,
        h[0] * r4 + h[1] * r3 + h[2] * r2 + h[3] * r1 + h[4] * r0,
    ])
}

/// Wide limbs (each below 2^62) back to 26 bits, the top's overflow folded in times 5
/// (2^130 = 5 mod p).
fn carry(mut d: [u64; 5]) -> Limbs {
    for i in 0..4 {
        d[i + 1] += d[i] >> 26;
        d[i] &= u64::from(LIMB);
    }
    d[0] += (d[4] >> 26) * 5;
    d[4] &= u64::from(LIMB);
    d[1] += d[0] >> 26;
    d[0] &= u64::from(LIMB);
    d.map(|limb| limb as u32)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

#[cfg(test)]
mod tests;
