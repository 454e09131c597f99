//! ChaCha20-Poly1305, the AEAD of RFC 8439, for TLS 1.3's `TLS_CHACHA20_POLY1305_SHA256`.
//!
//! ring's ChaCha20 is portable scalar code in wasm: it took 56% of the CPU of a TLS bulk
//! echo (`./scripts/bench --scenario tls`, perf). Ours computes four blocks per step on
//! wasm's SIMD128 ([`lanes`]); our Poly1305 ([`poly1305`]) takes long records three blocks
//! per step, two of them in SIMD lanes (the `poly1305` crate's portable code took 21%, at
//! twice the time per byte). The rest of the suite (the key schedule, HKDF, SHA-256) stays
//! ring's ([`suite`]). Both are checked against ring's ChaCha20-Poly1305 byte for byte in the
//! tests below; `tests/guests/aead-bench` times them in wasm.

mod chacha20;
mod lanes;
mod poly1305;
mod suite;

pub(super) use suite::TLS13_CHACHA20_POLY1305_SHA256;

use self::poly1305::Poly1305;
use chacha20::{xor_into, ChaCha20, STEP};

/// Bytes of the authentication tag.
pub const TAG_LEN: usize = 16;

/// The tag did not match: the record was forged, damaged or decrypted with the wrong key.
#[derive(Debug, PartialEq, Eq)]
pub struct TagMismatch;

/// Encrypts `data` in place and returns its tag over `aad` and the ciphertext.
pub fn seal_in_place(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; TAG_LEN] {
    let cipher = ChaCha20::new(key, nonce);
    let mac = apply_keystream_after_mac_key(&cipher, data);
    tag(mac, aad, data).into()
}

/// Checks `tag` over `aad` and the ciphertext `data`, then decrypts `data` in place; on a
/// mismatch `data` is left as it was.
pub fn open_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    data: &mut [u8],
    tag_bytes: &[u8; TAG_LEN],
) -> Result<(), TagMismatch> {
    let cipher = ChaCha20::new(key, nonce);
    let first = cipher.four_blocks(0);
    let mac = Poly1305::new(mac_key(&first));
    // Constant time: `verify` compares the whole tag whatever differs.
    if !authenticate(mac, aad, data).verify(tag_bytes) {
        return Err(TagMismatch);
    }
    decrypt_from_first_step(&cipher, &first, data);
    Ok(())
}

/// Block 0's first 32 bytes are the Poly1305 key; the data's keystream starts at block 1.
/// So the first step serves both, and none of its blocks is wasted.
fn apply_keystream_after_mac_key(cipher: &ChaCha20, data: &mut [u8]) -> Poly1305 {
    let first = cipher.four_blocks(0);
    decrypt_from_first_step(cipher, &first, data);
    Poly1305::new(mac_key(&first))
}

fn mac_key(first: &[u8; STEP]) -> &[u8; 32] {
    first[..32].try_into().expect("32 bytes")
}

fn decrypt_from_first_step(cipher: &ChaCha20, first: &[u8; STEP], data: &mut [u8]) {
    let (head, rest) = data.split_at_mut(data.len().min(STEP - 64));
    xor_into(head, &first[64..]);
    cipher.apply_keystream(4, rest);
}

fn tag(mac: Poly1305, aad: &[u8], ciphertext: &[u8]) -> [u8; TAG_LEN] {
    authenticate(mac, aad, ciphertext).finalize()
}

/// RFC 8439 section 2.8: the AAD and the ciphertext, each padded to 16 bytes, then both
/// lengths as little-endian u64s.
fn authenticate(mut mac: Poly1305, aad: &[u8], ciphertext: &[u8]) -> Poly1305 {
    mac.update_padded(aad);
    mac.update_padded(ciphertext);
    let mut lengths = [0u8; 16];
    lengths[..8].copy_from_slice(&(aad.len() as u64).to_le_bytes());
    lengths[8..].copy_from_slice(&(ciphertext.len() as u64).to_le_bytes());
    mac.update_padded(&lengths);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

    fn ring_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], data: &[u8]) -> Vec<u8> {
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).unwrap());
        let mut sealed = data.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut sealed)
            .unwrap();
        sealed
    }

    /// Lengths around every step and block boundary, up to a full TLS record and beyond.
    #[test]
    fn seal_and_open_match_ring_byte_for_byte() {
        let mut rng = fastrand::Rng::with_seed(8439);
        let lengths = (0..=600).chain([1023, 1024, 1025, 16_383, 16_384, 16_401, 70_000]);
        for len in lengths {
            let key: [u8; 32] = core::array::from_fn(|_| rng.u8(..));
            let nonce: [u8; 12] = core::array::from_fn(|_| rng.u8(..));
            let aad: Vec<u8> = (0..rng.usize(0..40)).map(|_| rng.u8(..)).collect();
            let plain: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();

            let mut data = plain.clone();
            let tag = seal_in_place(&key, &nonce, &aad, &mut data);
            let expected = ring_seal(&key, &nonce, &aad, &plain);
            assert_eq!([&data[..], &tag[..]].concat(), expected, "length {len}");

            open_in_place(&key, &nonce, &aad, &mut data, &tag).unwrap();
            assert_eq!(data, plain, "length {len}");
        }
    }

    #[test]
    fn a_changed_byte_anywhere_is_refused_and_the_data_left_alone() {
        let (key, nonce, aad) = ([1; 32], [2; 12], [3u8; 5]);
        let mut sealed = b"one record of application data".to_vec();
        let tag = seal_in_place(&key, &nonce, &aad, &mut sealed);
        for at in 0..sealed.len() + TAG_LEN + aad.len() {
            let (mut data, mut tag, mut aad) = (sealed.clone(), tag, aad);
            match at {
                at if at < data.len() => data[at] ^= 0x20,
                at if at < data.len() + TAG_LEN => tag[at - data.len()] ^= 0x01,
                at => aad[at - data.len() - TAG_LEN] ^= 0x80,
            }
            let before = data.clone();
            assert_eq!(open_in_place(&key, &nonce, &aad, &mut data, &tag), Err(TagMismatch));
            assert_eq!(data, before);
        }
    }
}
