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

        #[inline(always)]
        pub fn to_array(self) -> [u32; 4] {
            [
                u32x4_extract_lane::<0>(self.0),
                u32x4_extract_lane::<1>(self.0),
                u32x4_extract_lane::<2>(self.0),
                u32x4_extract_lane::<3>(self.0),
            ]
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

        #[inline(always)]
        pub fn to_array(self) -> [u32; 4] {
            self.0
        }
    }
}

pub use imp::Lanes;
