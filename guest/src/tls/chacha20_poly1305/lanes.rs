//! Four `u32` lanes: one ChaCha20 state word of four blocks at once.
//!
//! On wasm32 built with SIMD128 (the repository's `.cargo/config.toml` turns it on) a
//! [`Lanes`] is one `v128` and each operation one SIMD instruction, which wasmtime compiles
//! to SSE/NEON. Elsewhere it is a plain array, so the same block function runs (and is
//! tested against RFC 8439's vectors) natively.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct Lanes(v128);

    impl Lanes {
        #[inline(always)]
        pub fn splat(word: u32) -> Self {
            Self(u32x4_splat(word))
        }

        #[inline(always)]
        pub fn new(lanes: [u32; 4]) -> Self {
            Self(u32x4(lanes[0], lanes[1], lanes[2], lanes[3]))
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(i32x4_add(self.0, other.0))
        }

        #[inline(always)]
        pub fn xor(self, other: Self) -> Self {
            Self(v128_xor(self.0, other.0))
        }

        /// Rotations by whole bytes are one shuffle; the others two shifts and an or.
        #[inline(always)]
        pub fn rotate_left<const BITS: u32>(self) -> Self {
            let v = self.0;
            Self(match BITS {
                16 => i8x16_shuffle::<2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13>(v, v),
                8 => i8x16_shuffle::<3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14>(v, v),
                _ => v128_or(i32x4_shl(v, BITS), u32x4_shr(v, 32 - BITS)),
            })
        }

        /// Rows become columns: lane `j` of row `i` goes to lane `i` of row `j`.
        #[inline(always)]
        pub fn transpose([a, b, c, d]: [Self; 4]) -> [Self; 4] {
            let ab_low = i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0);
            let ab_high = i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0);
            let cd_low = i32x4_shuffle::<0, 4, 1, 5>(c.0, d.0);
            let cd_high = i32x4_shuffle::<2, 6, 3, 7>(c.0, d.0);
            [
                Self(i64x2_shuffle::<0, 2>(ab_low, cd_low)),
                Self(i64x2_shuffle::<1, 3>(ab_low, cd_low)),
                Self(i64x2_shuffle::<0, 2>(ab_high, cd_high)),
                Self(i64x2_shuffle::<1, 3>(ab_high, cd_high)),
            ]
        }

        /// The lanes as little-endian bytes, lane 0 first (wasm is little-endian).
        #[inline(always)]
        pub fn store_le(self, out: &mut [u8; 16]) {
            // SAFETY: `out` is 16 writable bytes; v128 stores need no alignment.
            unsafe { v128_store(out.as_mut_ptr().cast(), self.0) }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct Lanes([u32; 4]);

    impl Lanes {
        #[inline(always)]
        pub fn splat(word: u32) -> Self {
            Self([word; 4])
        }

        #[inline(always)]
        pub fn new(lanes: [u32; 4]) -> Self {
            Self(lanes)
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i].wrapping_add(other.0[i])))
        }

        #[inline(always)]
        pub fn xor(self, other: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] ^ other.0[i]))
        }

        #[inline(always)]
        pub fn rotate_left<const BITS: u32>(self) -> Self {
            Self(self.0.map(|word| word.rotate_left(BITS)))
        }

        /// Rows become columns: lane `j` of row `i` goes to lane `i` of row `j`.
        #[inline(always)]
        pub fn transpose(rows: [Self; 4]) -> [Self; 4] {
            core::array::from_fn(|j| Self(core::array::from_fn(|i| rows[i].0[j])))
        }

        /// The lanes as little-endian bytes, lane 0 first.
        #[inline(always)]
        pub fn store_le(self, out: &mut [u8; 16]) {
            for (bytes, lane) in out.chunks_exact_mut(4).zip(self.0) {
                bytes.copy_from_slice(&lane.to_le_bytes());
            }
        }
    }
}

pub use imp::Lanes;
