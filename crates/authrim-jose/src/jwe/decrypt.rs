//! Compact JWE decryption (RFC 7516 §5.2) for what the OP receives:
//! encrypted request objects (RFC 9101 §6.1), addressed to the OP's P-256
//! key with `ECDH-ES`, `ECDH-ES+A128KW` or `ECDH-ES+A256KW` and any of the
//! four content encryptions. The OP's private key never leaves op-store:
//! the caller gets the ECDH shared secret Z from op-store (for the header's
//! `epk`) and [`EncryptedCompact::decrypt`] does the rest. RSA-OAEP
//! decryption is not offered (the OP has no RSA encryption key).

use aes::cipher::{BlockDecrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use super::{concat_kdf, ContentEnc, KeyAlg};
use crate::{b64, JoseError};

/// Largest compact JWE accepted, in bytes.
pub const MAX_JWE_BYTES: usize = 64 * 1024;

/// A parsed compact JWE, not yet decrypted.
#[derive(Clone, Debug)]
pub struct EncryptedCompact {
    pub alg: KeyAlg,
    pub enc: ContentEnc,
    /// The recipient key's `kid`, if the sender named it.
    pub kid: Option<String>,
    /// `cty`: `JWT` for a nested (signed, then encrypted) JWT.
    pub cty: Option<String>,
    /// The sender's ephemeral P-256 public key (`epk`): x and y.
    pub epk: ([u8; 32], [u8; 32]),
    apu: Vec<u8>,
    apv: Vec<u8>,
    protected: String,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

fn malformed(what: &'static str) -> JoseError {
    JoseError::Malformed(what)
}

fn b64_member(header: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JoseError> {
    match header.get(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => b64::decode(s),
        Some(_) => Err(malformed("apu/apv must be base64url strings")),
    }
}

fn coordinate(epk: &Map<String, Value>, name: &'static str) -> Result<[u8; 32], JoseError> {
    let bytes = b64::decode(
        epk.get(name)
            .and_then(Value::as_str)
            .ok_or(malformed("epk"))?,
    )?;
    bytes.try_into().map_err(|_| malformed("epk coordinate"))
}

impl EncryptedCompact {
    /// Splits and decodes `token`: five base64url parts, a JSON object
    /// header with a supported ECDH-ES `alg`, an `enc`, a P-256 `epk`; no
    /// `zip` and no `crit` (RFC 7516 §4.1.13: not understood, refused).
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWE_BYTES {
            return Err(malformed("JWE too large"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [protected, encrypted_key, iv, ciphertext, tag] = parts[..] else {
            return Err(malformed("not five parts"));
        };
        let header = match serde_json::from_slice::<Value>(&b64::decode(protected)?) {
            Ok(Value::Object(map)) => map,
            _ => return Err(malformed("header is not a JSON object")),
        };
        let text = |name: &str| header.get(name).and_then(Value::as_str);
        let alg = text("alg").and_then(KeyAlg::parse);
        let alg = match alg {
            Some(a @ (KeyAlg::EcdhEs | KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw)) => a,
            _ => {
                return Err(JoseError::UnsupportedAlg(
                    text("alg").unwrap_or("(none)").chars().take(32).collect(),
                ))
            }
        };
        let enc = text("enc")
            .and_then(ContentEnc::parse)
            .ok_or_else(|| JoseError::UnsupportedAlg("enc".into()))?;
        if header.contains_key("crit") || header.contains_key("zip") {
            return Err(malformed("unsupported crit or zip"));
        }
        let epk = match header.get("epk") {
            Some(Value::Object(epk))
                if epk.get("kty").and_then(Value::as_str) == Some("EC")
                    && epk.get("crv").and_then(Value::as_str) == Some("P-256") =>
            {
                (coordinate(epk, "x")?, coordinate(epk, "y")?)
            }
            _ => return Err(malformed("epk must be a P-256 public key")),
        };
        Ok(EncryptedCompact {
            alg,
            enc,
            kid: text("kid").map(str::to_string),
            cty: text("cty").map(str::to_string),
            epk,
            apu: b64_member(&header, "apu")?,
            apv: b64_member(&header, "apv")?,
            protected: protected.to_string(),
            encrypted_key: b64::decode(encrypted_key)?,
            iv: b64::decode(iv)?,
            ciphertext: b64::decode(ciphertext)?,
            tag: b64::decode(tag)?,
        })
    }

    /// Decrypts with `z`, the ECDH shared secret of the recipient's private
    /// key and [`Self::epk`]. Every failure (wrong key, tampered part) is
    /// one error, so nothing tells an attacker which check failed.
    pub fn decrypt(&self, z: &[u8]) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        let fail = || JoseError::Key("JWE does not decrypt");
        let cek = match self.alg {
            KeyAlg::EcdhEs => {
                if !self.encrypted_key.is_empty() {
                    return Err(fail());
                }
                concat_kdf(
                    z,
                    self.enc.as_str(),
                    &self.apu,
                    &self.apv,
                    self.enc.key_len(),
                )
            }
            KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw => {
                let kek_len = if self.alg == KeyAlg::EcdhEsA128Kw {
                    16
                } else {
                    32
                };
                let kek = concat_kdf(z, self.alg.as_str(), &self.apu, &self.apv, kek_len);
                let cek = aes_key_unwrap(&kek, &self.encrypted_key).ok_or_else(fail)?;
                if cek.len() != self.enc.key_len() {
                    return Err(fail());
                }
                cek
            }
            _ => return Err(fail()),
        };
        decrypt_content(
            self.enc,
            &cek,
            &self.iv,
            self.protected.as_bytes(),
            &self.ciphertext,
            &self.tag,
        )
        .ok_or_else(fail)
    }
}

/// AES Key Unwrap (RFC 3394 §2.2.2) with the default IV check.
fn aes_key_unwrap(kek: &[u8], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 24 {
        return None;
    }
    let n = wrapped.len() / 8 - 1;
    let mut a = [0u8; 8];
    a.copy_from_slice(&wrapped[..8]);
    let mut r: Vec<[u8; 8]> = wrapped[8..]
        .chunks(8)
        .map(|c| c.try_into().expect("8 bytes"))
        .collect();
    let mut block = aes::Block::default();
    let mut step = |decrypt: &dyn Fn(&mut aes::Block)| {
        for j in (0..6).rev() {
            for i in (0..n).rev() {
                let t = (n * j + i + 1) as u64;
                for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                    *x ^= y;
                }
                block[..8].copy_from_slice(&a);
                block[8..].copy_from_slice(&r[i]);
                decrypt(&mut block);
                a.copy_from_slice(&block[..8]);
                r[i].copy_from_slice(&block[8..]);
            }
        }
    };
    match kek.len() {
        16 => {
            let c = aes::Aes128::new_from_slice(kek).ok()?;
            step(&|b| c.decrypt_block(b));
        }
        32 => {
            let c = aes::Aes256::new_from_slice(kek).ok()?;
            step(&|b| c.decrypt_block(b));
        }
        _ => return None,
    }
    // The integrity check; the unwrapped key is secret, the IV is not.
    if a != [0xa6u8; 8] {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(8 * n));
    for ri in &r {
        out.extend_from_slice(ri);
    }
    Some(out)
}

/// Content decryption (RFC 7516 §5.2 steps 14-16): checks the tag
/// (constant time) before anything is decrypted.
fn decrypt_content(
    enc: ContentEnc,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if cek.len() != enc.key_len() || iv.len() != enc.iv_len() {
        return None;
    }
    match enc {
        ContentEnc::A128Gcm | ContentEnc::A256Gcm => {
            if tag.len() != 16 {
                return None;
            }
            let mut buf = Zeroizing::new(ciphertext.to_vec());
            let nonce = aes_gcm::Nonce::from_slice(iv);
            let tag = aes_gcm::Tag::from_slice(tag);
            if enc == ContentEnc::A128Gcm {
                aes_gcm::Aes128Gcm::new_from_slice(cek)
                    .ok()?
                    .decrypt_in_place_detached(nonce, aad, &mut buf, tag)
                    .ok()?;
            } else {
                aes_gcm::Aes256Gcm::new_from_slice(cek)
                    .ok()?
                    .decrypt_in_place_detached(nonce, aad, &mut buf, tag)
                    .ok()?;
            }
            Some(buf)
        }
        ContentEnc::A128CbcHs256 => {
            let (mac_key, enc_key) = cek.split_at(16);
            check_cbc_tag::<Hmac<Sha256>>(mac_key, aad, iv, ciphertext, tag, 16)?;
            let c = aes::Aes128::new_from_slice(enc_key).ok()?;
            cbc_decrypt(|b| c.decrypt_block(b), iv, ciphertext)
        }
        ContentEnc::A256CbcHs512 => {
            let (mac_key, enc_key) = cek.split_at(32);
            check_cbc_tag::<Hmac<Sha512>>(mac_key, aad, iv, ciphertext, tag, 32)?;
            let c = aes::Aes256::new_from_slice(enc_key).ok()?;
            cbc_decrypt(|b| c.decrypt_block(b), iv, ciphertext)
        }
    }
}

/// RFC 7518 §5.2.2.2: the tag over A || IV || E || AL, compared in
/// constant time (`Mac::verify_truncated_left`).
fn check_cbc_tag<M: Mac + KeyInit>(
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
    len: usize,
) -> Option<()> {
    if tag.len() != len {
        return None;
    }
    let mut mac = <M as KeyInit>::new_from_slice(mac_key).ok()?;
    mac.update(aad);
    mac.update(iv);
    mac.update(ciphertext);
    mac.update(&((aad.len() as u64) * 8).to_be_bytes());
    mac.verify_truncated_left(tag).ok()
}

/// AES-CBC decryption and PKCS #7 unpadding (after the tag verified).
fn cbc_decrypt(
    decrypt: impl Fn(&mut aes::Block),
    iv: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    let mut previous = aes::Block::clone_from_slice(iv);
    for chunk in ciphertext.chunks(16) {
        let mut block = aes::Block::clone_from_slice(chunk);
        decrypt(&mut block);
        for (b, p) in block.iter_mut().zip(previous.iter()) {
            *b ^= p;
        }
        out.extend_from_slice(&block);
        previous = aes::Block::clone_from_slice(chunk);
    }
    let pad = *out.last()? as usize;
    if pad == 0 || pad > 16 || !out[out.len() - pad..].iter().all(|&b| b as usize == pad) {
        return None;
    }
    let keep = out.len() - pad;
    out.truncate(keep);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::encrypt_compact;
    use super::*;
    use crate::{Alg, Jwk, SigningKey};

    /// A recipient key pair: its public JWK (use enc) and the secret.
    fn recipient() -> (SigningKey, Jwk) {
        let key = SigningKey::generate(Alg::ES256).unwrap();
        let mut jwk = Jwk::parse(&key.public_key().to_jwk_json("op-enc", Alg::ES256)).unwrap();
        jwk.alg = None;
        jwk.use_ = Some("enc".into());
        (key, jwk)
    }

    fn open(key: &SigningKey, token: &str) -> Result<Vec<u8>, JoseError> {
        let jwe = EncryptedCompact::parse(token)?;
        let z = key.ecdh(&jwe.epk.0, &jwe.epk.1)?;
        jwe.decrypt(&*z).map(|p| p.to_vec())
    }

    #[test]
    fn decrypts_what_encrypt_compact_made_for_every_alg_and_enc() {
        let (key, jwk) = recipient();
        for alg in [KeyAlg::EcdhEs, KeyAlg::EcdhEsA128Kw, KeyAlg::EcdhEsA256Kw] {
            for &enc in ContentEnc::ALL {
                for plaintext in [&b"x"[..], b"0123456789abcdef", &[7u8; 100][..]] {
                    let token = encrypt_compact(&jwk, alg, enc, Some("JWT"), plaintext).unwrap();
                    let jwe = EncryptedCompact::parse(&token).unwrap();
                    assert_eq!((jwe.alg, jwe.enc), (alg, enc));
                    assert_eq!(
                        (jwe.kid.as_deref(), jwe.cty.as_deref()),
                        (Some("op-enc"), Some("JWT"))
                    );
                    assert_eq!(open(&key, &token).unwrap(), plaintext, "{alg} {enc}");
                }
            }
        }
    }

    #[test]
    fn refuses_tampering_other_keys_and_other_algs() {
        let (key, jwk) = recipient();
        let (other, _) = recipient();
        for alg in [KeyAlg::EcdhEs, KeyAlg::EcdhEsA256Kw] {
            for &enc in ContentEnc::ALL {
                let token = encrypt_compact(&jwk, alg, enc, None, b"secret claims").unwrap();
                assert!(open(&other, &token).is_err(), "another key: {alg} {enc}");
                let parts: Vec<&str> = token.split('.').collect();
                for i in [1, 2, 3, 4] {
                    if parts[i].is_empty() {
                        continue;
                    }
                    let mut bytes = b64::decode(parts[i]).unwrap();
                    bytes[0] ^= 1;
                    let mut p = parts.clone();
                    let flipped = b64::encode(&bytes);
                    p[i] = &flipped;
                    assert!(open(&key, &p.join(".")).is_err(), "part {i}: {alg} {enc}");
                }
                // The header is authenticated too (it is the AAD).
                let header = String::from_utf8(b64::decode(parts[0]).unwrap()).unwrap();
                let swapped = b64::encode(header.replace("\"kid\"", "\"xid\"").as_bytes());
                let mut p = parts.clone();
                p[0] = &swapped;
                assert!(open(&key, &p.join(".")).is_err());
            }
        }
        let head = |h: &str| {
            format!(
                "{}.AA.AAAAAAAAAAAAAAAA.AAAA.AAAA",
                b64::encode(h.as_bytes())
            )
        };
        let epk = r#""epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#;
        for bad in [
            "a.b.c".to_string(),
            "a.b.c.d.e.f".to_string(),
            head(r#"{"alg":"RSA-OAEP","enc":"A128GCM"}"#),
            head(r#"{"alg":"dir","enc":"A128GCM"}"#),
            head(r#"{"alg":"ECDH-ES","enc":"A192GCM"}"#),
            head(&format!(
                r#"{{"alg":"ECDH-ES","enc":"A128GCM","zip":"DEF",{epk}}}"#
            )),
            head(&format!(
                r#"{{"alg":"ECDH-ES","enc":"A128GCM","crit":["x"],{epk}}}"#
            )),
            head(r#"{"alg":"ECDH-ES","enc":"A128GCM"}"#),
            head(&format!(r#"{{"alg":"ECDH-ES","enc":"A128GCM",{epk}}}"#)),
            "x".repeat(MAX_JWE_BYTES + 1),
        ] {
            assert!(EncryptedCompact::parse(&bad).is_err(), "{bad:.80}");
        }
    }
}
