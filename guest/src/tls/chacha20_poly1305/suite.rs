//! The rustls cipher suite: ring's `TLS13_CHACHA20_POLY1305_SHA256` with its AEAD replaced
//! by ours (same key schedule, same hash, same limits).

use std::sync::LazyLock;

use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::crypto::CipherSuiteCommon;
use rustls::{
    ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion, SupportedCipherSuite, Tls13CipherSuite,
};

use super::{open_in_place, seal_in_place, TAG_LEN};

pub static TLS13_CHACHA20_POLY1305_SHA256: LazyLock<SupportedCipherSuite> = LazyLock::new(|| {
    static SUITE: LazyLock<Tls13CipherSuite> = LazyLock::new(|| {
        let ring = rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256
            .tls13()
            .expect("a TLS 1.3 suite");
        Tls13CipherSuite {
            common: CipherSuiteCommon {
                suite: ring.common.suite,
                hash_provider: ring.common.hash_provider,
                confidentiality_limit: ring.common.confidentiality_limit,
            },
            hkdf_provider: ring.hkdf_provider,
            aead_alg: &ChaCha20Poly1305,
            quic: None,
        }
    });
    SupportedCipherSuite::Tls13(LazyLock::force(&SUITE))
});

struct ChaCha20Poly1305;

impl Tls13AeadAlgorithm for ChaCha20Poly1305 {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Sealer { key: key_bytes(&key), iv })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Opener { key: key_bytes(&key), iv })
    }

    fn key_len(&self) -> usize {
        32
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Ok(ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv })
    }
}

/// rustls hands over exactly `key_len()` bytes.
fn key_bytes(key: &AeadKey) -> [u8; 32] {
    key.as_ref().try_into().expect("a 32-byte ChaCha20 key")
}

struct Sealer {
    key: [u8; 32],
    iv: Iv,
}

struct Opener {
    key: [u8; 32],
    iv: Iv,
}

impl MessageEncrypter for Sealer {
    /// TLS 1.3's record: the content, its real type, then the tag, under the record header
    /// as additional data (RFC 8446 section 5.2).
    fn encrypt(&mut self, msg: OutboundPlainMessage<'_>, seq: u64) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        let nonce = Nonce::new(&self.iv, seq).0;
        let tag = seal_in_place(&self.key, &nonce, &make_tls13_aad(total_len), payload.as_mut());
        payload.extend_from_slice(&tag);
        // Every TLS 1.3 application record says TLS 1.2 (RFC 8446 section 5.1).
        Ok(OutboundOpaqueMessage::new(ContentType::ApplicationData, ProtocolVersion::TLSv1_2, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for Opener {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        let Some(plain_len) = payload.len().checked_sub(TAG_LEN) else {
            return Err(Error::DecryptError);
        };
        let nonce = Nonce::new(&self.iv, seq).0;
        let aad = make_tls13_aad(payload.len());
        let (data, tag) = payload.split_at_mut(plain_len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().expect("TAG_LEN bytes");
        open_in_place(&self.key, &nonce, &aad, data, tag).map_err(|_| Error::DecryptError)?;
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}
