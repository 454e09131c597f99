//! ChaCha20 as RFC 8439 defines it (a 32-bit block counter and a 96-bit nonce): a keystream
//! XORed into the data, computed four 64-byte blocks at a time so that each state word of
//! the four blocks sits in one SIMD register ([`Lanes`]).

use super::lanes::Lanes;

/// Bytes of keystream one step makes: four blocks.
pub const STEP: usize = 4 * 64;

/// "expand 32-byte k", the first row of every block.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

pub struct ChaCha20 {
    key: [u32; 8],
    nonce: [u32; 3],
}

impl ChaCha20 {
    pub fn new(key: &[u8; 32], nonce: &[u8; 12]) -> Self {
        Self {
            key: core::array::from_fn(|i| u32_at(key, i)),
            nonce: core::array::from_fn(|i| u32_at(nonce, i)),
        }
    }

    /// The keystream of blocks `counter` to `counter + 3`, in order.
    pub fn four_blocks(&self, counter: u32) -> [u8; STEP] {
        let k = &self.key;
        let n = &self.nonce;
        let start: [Lanes; 16] = [
            Lanes::splat(SIGMA[0]),
            Lanes::splat(SIGMA[1]),
            Lanes::splat(SIGMA[2]),
            Lanes::splat(SIGMA[3]),
            Lanes::splat(k[0]),
            Lanes::splat(k[1]),
            Lanes::splat(k[2]),
            Lanes::splat(k[3]),
            Lanes::splat(k[4]),
            Lanes::splat(k[5]),
            Lanes::splat(k[6]),
            Lanes::splat(k[7]),
            Lanes::new(core::array::from_fn(|block| counter.wrapping_add(block as u32))),
            Lanes::splat(n[0]),
            Lanes::splat(n[1]),
            Lanes::splat(n[2]),
        ];
        let mut x = start;
        for _ in 0..10 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        // Lane `j` of word `i` is word `i` of block `j`: four words at a time, transposed,
        // are 16 bytes of each block.
        let mut out = [0u8; STEP];
        for quad in 0..4 {
            let words: [Lanes; 4] = core::array::from_fn(|i| x[quad * 4 + i].add(start[quad * 4 + i]));
            for (block, row) in Lanes::transpose(words).into_iter().enumerate() {
                let at = block * 64 + quad * 16;
                row.store_le((&mut out[at..at + 16]).try_into().expect("16 bytes"));
            }
        }
        out
    }

    /// XORs the keystream from block `counter` on into `data`.
    pub fn apply_keystream(&self, mut counter: u32, data: &mut [u8]) {
        for chunk in data.chunks_mut(STEP) {
            xor_into(chunk, &self.four_blocks(counter));
            counter = counter.wrapping_add(4);
        }
    }
}

/// `data ^= keystream` over `data`'s length (the keystream is at least as long).
pub fn xor_into(data: &mut [u8], keystream: &[u8]) {
    for (byte, key) in data.iter_mut().zip(keystream) {
        *byte ^= key;
    }
}

#[inline(always)]
fn quarter_round(x: &mut [Lanes; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotate_left::<16>();
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotate_left::<12>();
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotate_left::<8>();
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotate_left::<7>();
}

fn u32_at(bytes: &[u8], word: usize) -> u32 {
    u32::from_le_bytes(bytes[word * 4..word * 4 + 4].try_into().expect("four bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 section 2.3.2: the block function's test vector (block 1).
    #[test]
    fn block_function_matches_rfc_8439() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce = [0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0];
        let expected = "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
                        d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
        let blocks = ChaCha20::new(&key, &nonce).four_blocks(1);
        assert_eq!(hex(&blocks[..64]), expected);
    }

    /// Each of the four blocks is the one the counter names.
    #[test]
    fn four_blocks_are_consecutive_counters() {
        let cipher = ChaCha20::new(&[7; 32], &[3; 12]);
        let step = cipher.four_blocks(10);
        for block in 0..4 {
            let alone = cipher.four_blocks(10 + block as u32);
            assert_eq!(step[block * 64..][..64], alone[..64]);
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
