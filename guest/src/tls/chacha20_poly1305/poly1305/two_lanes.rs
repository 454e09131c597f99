//! Two Poly1305 accumulators side by side: [`Wide`] holds a limb of each as a `u64`,
//! [`Packed`] holds two limbs of each as `u32`s, the form a widening multiply takes.
//!
//! On wasm32 built with SIMD128 (the repository's `.cargo/config.toml`) each is one `v128`
//! and a multiply is `i64x2.extmul_*_i32x4_u`, which wasmtime compiles to `pmuludq`. Elsewhere
//! they are plain arrays, so the same two-lane algorithm runs (and is tested) natively.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// Two `u64` lanes.
    #[derive(Clone, Copy)]
    pub struct Wide(v128);

    /// Four `u32` lanes: `[x of A, x of B, y of A, y of B]`.
    #[derive(Clone, Copy)]
    pub struct Packed(v128);

    impl Wide {
        #[inline(always)]
        pub fn splat(value: u64) -> Self {
            Self(u64x2_splat(value))
        }

        #[inline(always)]
        pub fn new(lanes: [u64; 2]) -> Self {
            Self(u64x2(lanes[0], lanes[1]))
        }

        #[inline(always)]
        pub fn lanes(self) -> [u64; 2] {
            [u64x2_extract_lane::<0>(self.0), u64x2_extract_lane::<1>(self.0)]
        }

        /// The two 16-byte blocks as little-endian `u64` halves: `(low halves, high halves)`,
        /// lane 0 from `a`, lane 1 from `b`.
        #[inline(always)]
        pub fn load_blocks(a: &[u8; 16], b: &[u8; 16]) -> (Self, Self) {
            // SAFETY: each is 16 readable bytes; v128 loads need no alignment.
            let (a, b) = unsafe { (v128_load(a.as_ptr().cast()), v128_load(b.as_ptr().cast())) };
            (Self(i64x2_shuffle::<0, 2>(a, b)), Self(i64x2_shuffle::<1, 3>(a, b)))
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            Self(i64x2_add(self.0, other.0))
        }

        #[inline(always)]
        pub fn and(self, other: Self) -> Self {
            Self(v128_and(self.0, other.0))
        }

        #[inline(always)]
        pub fn or(self, other: Self) -> Self {
            Self(v128_or(self.0, other.0))
        }

        #[inline(always)]
        pub fn shr(self, bits: u32) -> Self {
            Self(u64x2_shr(self.0, bits))
        }

        #[inline(always)]
        pub fn shl(self, bits: u32) -> Self {
            Self(i64x2_shl(self.0, bits))
        }

        /// The low 32 bits of each lane of `x` then of `y`.
        #[inline(always)]
        pub fn pack(x: Self, y: Self) -> Packed {
            Packed(i32x4_shuffle::<0, 2, 4, 6>(x.0, y.0))
        }
    }

    impl Packed {
        #[inline(always)]
        pub fn new(lanes: [u32; 4]) -> Self {
            Self(u32x4(lanes[0], lanes[1], lanes[2], lanes[3]))
        }

        /// `x * other.x` in each lane, as `u64`s.
        #[inline(always)]
        pub fn mul_x(self, other: Self) -> Wide {
            Wide(u64x2_extmul_low_u32x4(self.0, other.0))
        }

        /// `y * other.y` in each lane, as `u64`s.
        #[inline(always)]
        pub fn mul_y(self, other: Self) -> Wide {
            Wide(u64x2_extmul_high_u32x4(self.0, other.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Two `u64` lanes.
    #[derive(Clone, Copy)]
    pub struct Wide([u64; 2]);

    /// Four `u32` lanes: `[x of A, x of B, y of A, y of B]`.
    #[derive(Clone, Copy)]
    pub struct Packed([u32; 4]);

    impl Wide {
        #[inline(always)]
        pub fn splat(value: u64) -> Self {
            Self([value; 2])
        }

        #[inline(always)]
        pub fn new(lanes: [u64; 2]) -> Self {
            Self(lanes)
        }

        #[inline(always)]
        pub fn lanes(self) -> [u64; 2] {
            self.0
        }

        /// The two 16-byte blocks as little-endian `u64` halves: `(low halves, high halves)`,
        /// lane 0 from `a`, lane 1 from `b`.
        #[inline(always)]
        pub fn load_blocks(a: &[u8; 16], b: &[u8; 16]) -> (Self, Self) {
            let half = |block: &[u8; 16], at: usize| {
                u64::from_le_bytes(block[at..at + 8].try_into().expect("8 bytes"))
            };
            (Self([half(a, 0), half(b, 0)]), Self([half(a, 8), half(b, 8)]))
        }

        #[inline(always)]
        pub fn add(self, other: Self) -> Self {
            // Plain `+`: debug builds check natively that no sum outgrows its lane.
            Self([self.0[0] + other.0[0], self.0[1] + other.0[1]])
        }

        #[inline(always)]
        pub fn and(self, other: Self) -> Self {
            Self([self.0[0] & other.0[0], self.0[1] & other.0[1]])
        }

        #[inline(always)]
        pub fn or(self, other: Self) -> Self {
            Self([self.0[0] | other.0[0], self.0[1] | other.0[1]])
        }

        #[inline(always)]
        pub fn shr(self, bits: u32) -> Self {
            Self(self.0.map(|lane| lane >> bits))
        }

        #[inline(always)]
        pub fn shl(self, bits: u32) -> Self {
            Self(self.0.map(|lane| lane << bits))
        }

        /// The low 32 bits of each lane of `x` then of `y`.
        #[inline(always)]
        pub fn pack(x: Self, y: Self) -> Packed {
            Packed([x.0[0] as u32, x.0[1] as u32, y.0[0] as u32, y.0[1] as u32])
        }
    }

    impl Packed {
        #[inline(always)]
        pub fn new(lanes: [u32; 4]) -> Self {
            Self(lanes)
        }

        /// `x * other.x` in each lane, as `u64`s.
        #[inline(always)]
        pub fn mul_x(self, other: Self) -> Wide {
            Wide([0, 1].map(|i| u64::from(self.0[i]) * u64::from(other.0[i])))
        }

        /// `y * other.y` in each lane, as `u64`s.
        #[inline(always)]
        pub fn mul_y(self, other: Self) -> Wide {
            Wide([2, 3].map(|i| u64::from(self.0[i]) * u64::from(other.0[i])))
        }
    }
}

pub use imp::{Packed, Wide};
