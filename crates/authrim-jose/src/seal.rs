//! Private keys (and client secrets kept for `client_secret_jwt`)
//! encrypted at rest.
//!
//! The master secret (Spin variable `master_key`) never encrypts anything
//! itself: HKDF-SHA256 (RFC 5869) derives an AES-256-GCM key from it. Each
//! sealed key gets a fresh random 96-bit nonce, and the associated data
//! binds the ciphertext to its `kid` and `alg`, so a stored row cannot be
//! moved to another key id or algorithm without decryption failing.
//!
//! Sealed format (version 1): `nonce (12 octets) || ciphertext || tag (16)`.
//!
//! ## The master key rule
//!
//! The value is taken as opaque text: surrounding ASCII whitespace is
//! trimmed (a trailing newline from a secrets file does not change the
//! key), and what remains must be at least 32 bytes of UTF-8. It is never
//! decoded, so any encoding works; HKDF extracts its entropy. Recommended:
//! 32 random bytes in base64url, e.g. `openssl rand -hex 32`
//! (64 characters). Changing the value makes every stored private key
//! unreadable; keys must then be re-created.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{rng, Alg, JoseError};

/// The minimum length, in bytes, of the master secret after trimming.
pub const MIN_MASTER_KEY_BYTES: usize = 32;

const HKDF_SALT: &[u8] = b"authrim/master-key/v1";
const HKDF_INFO: &[u8] = b"authrim/signing-key-encryption/A256GCM/v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The key-encryption key derived from the master secret. Its `Debug`
/// output is redacted; it is wiped from memory when dropped.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Derives the key-encryption key from the master secret, following the
    /// rule in the module documentation.
    pub fn from_secret(secret: &str) -> Result<Self, JoseError> {
        let secret = secret.trim_matches(|c: char| c.is_ascii_whitespace());
        if secret.len() < MIN_MASTER_KEY_BYTES {
            return Err(JoseError::MasterKey("must be at least 32 bytes"));
        }
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(HKDF_INFO, okm.as_mut())
            .map_err(|_| JoseError::MasterKey("key derivation failed"))?;
        Ok(MasterKey(okm))
    }

    /// A 256-bit key for another purpose (e.g. MACs over DPoP nonces),
    /// derived with HKDF-SHA256 under its own `info`, so that it reveals
    /// nothing about the key-encryption key or other derived keys.
    pub fn derive(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), self.0.as_ref());
        let mut okm = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160.
        let _ = hk.expand(info, okm.as_mut());
        okm
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }

    /// Encrypts `plaintext` (a PKCS#8 DER private key) for the key `kid`.
    pub fn seal(&self, kid: &str, alg: Alg, plaintext: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.seal_with(&associated_data(kid, alg), plaintext)
    }

    /// Decrypts what [`MasterKey::seal`] produced for the same `kid` and
    /// `alg`. Fails for another master key, kid or alg, or any change.
    pub fn open(
        &self,
        kid: &str,
        alg: Alg,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        self.open_with(&associated_data(kid, alg), sealed)
    }

    /// Encrypts a client secret (kept for `client_secret_jwt`) for the
    /// client `client_id`: the same format, with associated data
    /// `"authrim/client-secret/v1" 0x00 client_id`, so a sealed secret can
    /// neither move to another client nor pass for a signing key.
    pub fn seal_client_secret(&self, client_id: &str, secret: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.seal_with(&client_secret_associated_data(client_id), secret)
    }

    /// Decrypts what [`MasterKey::seal_client_secret`] produced for the same
    /// client.
    pub fn open_client_secret(
        &self,
        client_id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        self.open_with(&client_secret_associated_data(client_id), sealed)
    }

    /// Encrypts a value of the kind `label` (e.g. `ciba-notification`) that
    /// belongs to the record `id`: associated data
    /// `"authrim/<label>/v1" 0x00 id`, so it cannot move to another record
    /// or pass for a value of another kind.
    pub fn seal_labelled(
        &self,
        label: &str,
        id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, JoseError> {
        self.seal_with(&labelled_associated_data(label, id), plaintext)
    }

    /// Decrypts what [`MasterKey::seal_labelled`] produced for the same
    /// label and record.
    pub fn open_labelled(
        &self,
        label: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        self.open_with(&labelled_associated_data(label, id), sealed)
    }

    fn seal_with(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, JoseError> {
        let nonce: [u8; NONCE_LEN] = rng::bytes()?;
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| JoseError::Sealed("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    fn open_with(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(JoseError::Sealed("too short"));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                JoseError::Sealed(
                    "cannot decrypt (wrong master_key, or the row was altered or moved)",
                )
            })
    }
}

/// `"authrim/signing-key/v1" 0x00 alg 0x00 kid`: neither alg nor kid
/// contains NUL, so the encoding is unambiguous.
fn associated_data(kid: &str, alg: Alg) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + kid.len());
    aad.extend_from_slice(b"authrim/signing-key/v1\0");
    aad.extend_from_slice(alg.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(kid.as_bytes());
    aad
}

/// `"authrim/client-secret/v1" 0x00 client_id`. Distinct from the
/// signing-key prefix, so neither kind opens as the other.
fn client_secret_associated_data(client_id: &str) -> Vec<u8> {
    labelled_associated_data("client-secret", client_id)
}

fn labelled_associated_data(label: &str, id: &str) -> Vec<u8> {
    format!("authrim/{label}/v1\0{id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn master_key_rule() {
        assert!(MasterKey::from_secret(&SECRET[..31]).is_err());
        assert!(MasterKey::from_secret(&format!("  {}\n", &SECRET[..31])).is_err());
        assert!(MasterKey::from_secret(SECRET).is_ok());
        // Whitespace around the value does not change the derived key.
        let a = MasterKey::from_secret(SECRET).unwrap();
        let b = MasterKey::from_secret(&format!("{SECRET}\n")).unwrap();
        let sealed = a.seal("kid", Alg::ES256, b"secret").unwrap();
        assert_eq!(&b.open("kid", Alg::ES256, &sealed).unwrap()[..], b"secret");
        assert_eq!(format!("{a:?}"), "MasterKey(..)");
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let mk = MasterKey::from_secret(SECRET).unwrap();
        let s1 = mk.seal("k1", Alg::RS256, b"pkcs8 bytes").unwrap();
        let s2 = mk.seal("k1", Alg::RS256, b"pkcs8 bytes").unwrap();
        assert_ne!(s1, s2, "fresh nonce per seal");
        assert_eq!(s1.len(), 12 + 11 + 16);
        assert_eq!(&mk.open("k1", Alg::RS256, &s1).unwrap()[..], b"pkcs8 bytes");
        assert_eq!(&mk.open("k1", Alg::RS256, &s2).unwrap()[..], b"pkcs8 bytes");
    }

    #[test]
    fn wrong_key_swapped_aad_or_tamper_fails() {
        let mk = MasterKey::from_secret(SECRET).unwrap();
        let sealed = mk.seal("k1", Alg::RS256, b"pkcs8 bytes").unwrap();
        let other = MasterKey::from_secret("another master key, long enough!").unwrap();
        assert!(other.open("k1", Alg::RS256, &sealed).is_err());
        assert!(
            mk.open("k2", Alg::RS256, &sealed).is_err(),
            "moved to another kid"
        );
        assert!(
            mk.open("k1", Alg::ES256, &sealed).is_err(),
            "moved to another alg"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(mk.open("k1", Alg::RS256, &tampered).is_err());
        assert!(mk.open("k1", Alg::RS256, &sealed[..20]).is_err());
    }

    #[test]
    fn client_secrets_are_bound_to_their_client() {
        let mk = MasterKey::from_secret(SECRET).unwrap();
        let sealed = mk.seal_client_secret("c1", b"the secret").unwrap();
        assert_eq!(
            &mk.open_client_secret("c1", &sealed).unwrap()[..],
            b"the secret"
        );
        assert!(
            mk.open_client_secret("c2", &sealed).is_err(),
            "moved to another client"
        );
        assert!(
            mk.open("c1", Alg::ES256, &sealed).is_err(),
            "not a signing key"
        );
        let key = mk.seal("k1", Alg::ES256, b"pkcs8").unwrap();
        assert!(mk.open_client_secret("k1", &key).is_err());
    }

    #[test]
    fn labelled_values_are_bound_to_label_and_record() {
        let mk = MasterKey::from_secret(SECRET).unwrap();
        let sealed = mk.seal_labelled("ciba-notification", "r1", b"v").unwrap();
        assert_eq!(
            &mk.open_labelled("ciba-notification", "r1", &sealed)
                .unwrap()[..],
            b"v"
        );
        assert!(mk
            .open_labelled("ciba-notification", "r2", &sealed)
            .is_err());
        assert!(mk.open_labelled("client-secret", "r1", &sealed).is_err());
        // A client secret is the label `client-secret`: same format.
        let secret = mk.seal_client_secret("c1", b"s").unwrap();
        assert_eq!(
            &mk.open_labelled("client-secret", "c1", &secret).unwrap()[..],
            b"s"
        );
    }
}
