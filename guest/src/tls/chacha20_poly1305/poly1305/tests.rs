use super::*;
use ::poly1305::universal_hash::{KeyInit, UniversalHash};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Poly1305 of section 2.5 itself: a final partial block gets a 0x01 byte, not 2^128.
fn mac_unpadded(key: &[u8; 32], message: &[u8]) -> [u8; 16] {
    let whole = message.len() / BLOCK * BLOCK;
    let mut mac = Poly1305::new(key);
    mac.update_padded(&message[..whole]);
    let tail = &message[whole..];
    if !tail.is_empty() {
        let mut last = [0u8; BLOCK];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()] = 1;
        mac.absorb_block(&last, 0);
    }
    mac.finalize()
}

fn theirs_padded(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = ::poly1305::Poly1305::new_from_slice(key).unwrap();
    for part in parts {
        mac.update_padded(part);
    }
    mac.finalize().into()
}

/// RFC 8439 section 2.5.2 and appendix A.3's vectors 1, 2, 3, 5, 6 and 7 (the ones that
/// wrap around p, with 2^130 - 5 and 2^130 - 1 as partial results).
#[test]
fn matches_rfc_8439_vectors() {
    let ietf = b"Any submission to the IETF intended by the Contributor for publication as all or \
part of an IETF Internet-Draft or RFC and any statement made within the context of an IETF \
activity is considered an \"IETF Contribution\". Such statements include oral statements in \
IETF sessions, as well as written and electronic communications made at any time or place, \
which are addressed to";
    let cases: [(&str, Vec<u8>, &str); 7] = [
        (
            "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
            b"Cryptographic Forum Research Group".to_vec(),
            "a8061dc1305136c6c22b8baf0c0127a9",
        ),
        (&"00".repeat(32), vec![0; 64], "00000000000000000000000000000000"),
        (
            "0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e",
            ietf.to_vec(),
            "36e5f6b5c5e06070f0efca96227a863e",
        ),
        (
            "36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000",
            ietf.to_vec(),
            "f3477e7cd95417af89a6b8794c310cf0",
        ),
        (
            "0200000000000000000000000000000000000000000000000000000000000000",
            unhex("ffffffffffffffffffffffffffffffff"),
            "03000000000000000000000000000000",
        ),
        (
            "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
            unhex("02000000000000000000000000000000"),
            "03000000000000000000000000000000",
        ),
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            unhex("ffffffffffffffffffffffffffffffff f0ffffffffffffffffffffffffffffff 11000000000000000000000000000000"),
            "05000000000000000000000000000000",
        ),
    ];
    for (key, message, tag) in cases {
        let key: [u8; 32] = unhex(key).try_into().unwrap();
        assert_eq!(hex(&mac_unpadded(&key, &message)), tag, "message of {} bytes", message.len());
    }
}

/// Every length up to past the scalar/interleaved boundary, and the AEAD's three-part layout.
#[test]
fn matches_the_poly1305_crate_for_every_length() {
    let mut rng = fastrand::Rng::with_seed(1305);
    let lengths = (0..=600).chain([1023, 1024, 1025, 4096, 16_383, 16_384, 16_401, 70_000]);
    for len in lengths {
        let key: [u8; 32] = core::array::from_fn(|_| rng.u8(..));
        let aad: Vec<u8> = (0..rng.usize(0..40)).map(|_| rng.u8(..)).collect();
        let data: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();

        let mut ours = Poly1305::new(&key);
        ours.update_padded(&data);
        assert_eq!(ours.finalize(), theirs_padded(&key, &[&data]), "length {len}");

        let mut ours = Poly1305::new(&key);
        ours.update_padded(&aad);
        ours.update_padded(&data);
        ours.update_padded(&[0xa5; 16]);
        assert_eq!(ours.finalize(), theirs_padded(&key, &[&aad, &data, &[0xa5; 16]]), "length {len}");

        let expected = theirs_padded(&key, &[&data]);
        let mut ours = Poly1305::new(&key);
        ours.update_padded(&data);
        assert!(ours.verify(&expected));
    }
}

/// Limbs at their largest: all-ones keys and messages keep every sum inside its bounds.
#[test]
fn extreme_keys_and_messages_match() {
    for key_byte in [0x00, 0xff] {
        for message_byte in [0x00, 0xff] {
            for len in [16, 32, 128, 160, 4096] {
                let key = [key_byte; 32];
                let data = vec![message_byte; len];
                let mut ours = Poly1305::new(&key);
                ours.update_padded(&data);
                assert_eq!(
                    ours.finalize(),
                    theirs_padded(&key, &[&data]),
                    "{key_byte:#x} {message_byte:#x} {len}"
                );
            }
        }
    }
}

#[test]
fn verify_refuses_any_changed_bit() {
    let key = [9; 32];
    let mut mac = Poly1305::new(&key);
    mac.update_padded(b"data");
    let tag = mac.finalize();
    for bit in 0..128 {
        let mut wrong = tag;
        wrong[bit / 8] ^= 1 << (bit % 8);
        let mut mac = Poly1305::new(&key);
        mac.update_padded(b"data");
        assert!(!mac.verify(&wrong));
    }
}
