//! Compact JWE encryption (RFC 7516 §5.1, §7.1) to a recipient's public
//! JWK, for encrypted ID Tokens and UserInfo responses (OIDC Core §10.2).
//!
//! Key management (RFC 7518 §4): `RSA-OAEP`, `RSA-OAEP-256` (the public-key
//! operation is `rsa_verify`'s Montgomery exponentiation, so no big-integer
//! library is linked), `ECDH-ES` direct and with `A128KW`/`A256KW` on P-256.
//! Content encryption (RFC 7518 §5): `A128GCM`, `A256GCM`,
//! `A128CBC-HS256`, `A256CBC-HS512`.
//!
//! The OP never decrypts what it sends; the tests decrypt with independent
//! code (the `rsa` crate's OAEP, RFC test vectors). What it receives
//! (encrypted request objects) is decrypted by [`decrypt`].

use aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use crate::jwk::json_string;
use crate::{b64, rng, JoseError, Jwk, Jwks, PublicKey};

macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            /// Every supported value, in the order discovery lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The header value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses a header value (case-sensitive).
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// JWE key management algorithms (RFC 7518 §4.1).
    KeyAlg {
        RsaOaep256 = "RSA-OAEP-256",
        RsaOaep = "RSA-OAEP",
        EcdhEs = "ECDH-ES",
        EcdhEsA128Kw = "ECDH-ES+A128KW",
        EcdhEsA256Kw = "ECDH-ES+A256KW",
    }
}

names! {
    /// JWE content encryption algorithms (RFC 7518 §5.1).
    ContentEnc {
        A128Gcm = "A128GCM",
        A256Gcm = "A256GCM",
        A128CbcHs256 = "A128CBC-HS256",
        A256CbcHs512 = "A256CBC-HS512",
    }
}

impl KeyAlg {
    /// The JWK `kty` of recipient keys.
    pub fn kty(self) -> &'static str {
        match self {
            KeyAlg::RsaOaep256 | KeyAlg::RsaOaep => "RSA",
            _ => "EC",
        }
    }

    fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (KeyAlg::RsaOaep256 | KeyAlg::RsaOaep, PublicKey::Rsa { .. })
                | (
                    KeyAlg::EcdhEs | KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw,
                    PublicKey::P256 { .. }
                )
        )
    }
}

impl ContentEnc {
    /// The length of the content encryption key in octets.
    pub fn key_len(self) -> usize {
        match self {
            ContentEnc::A128Gcm => 16,
            ContentEnc::A256Gcm | ContentEnc::A128CbcHs256 => 32,
            ContentEnc::A256CbcHs512 => 64,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            ContentEnc::A128Gcm | ContentEnc::A256Gcm => 12,
            _ => 16,
        }
    }
}

impl Jwk {
    /// Whether this JWK may receive a JWE with key management `alg`: the key
    /// type fits, `use` is `enc` or absent, and `alg`, when present, is
    /// `alg` (RFC 7517 §4.2, §4.4).
    pub fn allows_encryption(&self, alg: KeyAlg) -> bool {
        alg.fits(&self.key)
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
            && self.use_.as_deref().is_none_or(|u| u == "enc")
    }
}

impl Jwks {
    /// The key to encrypt to with `alg`: the first key of the set that
    /// allows it (a key set's order is the client's preference).
    pub fn select_encryption(&self, alg: KeyAlg) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.allows_encryption(alg))
    }
}

/// Encrypts `plaintext` to `recipient` as a compact JWE. `cty` is `JWT`
/// for a nested (signed, then encrypted) JWT (RFC 7519 §5.2). The header
/// carries `alg`, `enc`, the recipient's `kid` (when it has one), `cty`,
/// and `epk` for ECDH-ES.
pub fn encrypt_compact(
    recipient: &Jwk,
    alg: KeyAlg,
    enc: ContentEnc,
    cty: Option<&str>,
    plaintext: &[u8],
) -> Result<String, JoseError> {
    if !recipient.allows_encryption(alg) {
        return Err(JoseError::Key(
            "JWK does not allow this encryption algorithm",
        ));
    }
    let mut header = String::with_capacity(256);
    header.push_str(r#"{"alg":""#);
    header.push_str(alg.as_str());
    header.push_str(r#"","enc":""#);
    header.push_str(enc.as_str());
    header.push('"');
    if let Some(kid) = &recipient.kid {
        header.push_str(r#","kid":"#);
        json_string(&mut header, kid);
    }
    if let Some(cty) = cty {
        header.push_str(r#","cty":"#);
        json_string(&mut header, cty);
    }
    // A fresh content key for every algorithm but ECDH-ES direct, which
    // derives it.
    let mut random_cek = Zeroizing::new(vec![0u8; enc.key_len()]);
    rng::fill(&mut random_cek)?;
    let (cek, encrypted_key): (Zeroizing<Vec<u8>>, Vec<u8>) = match (&recipient.key, alg) {
        (PublicKey::Rsa { n, e }, KeyAlg::RsaOaep256) => (
            random_cek.clone(),
            oaep_encrypt::<Sha256>(n, e, &random_cek, &rng::bytes::<32>()?)?,
        ),
        (PublicKey::Rsa { n, e }, KeyAlg::RsaOaep) => (
            random_cek.clone(),
            oaep_encrypt::<sha1::Sha1>(n, e, &random_cek, &rng::bytes::<32>()?)?,
        ),
        (PublicKey::P256 { x, y }, _) => {
            let (z, epk) = ecdh_p256(&Zeroizing::new(rng::bytes::<32>()?), x, y)?;
            header.push_str(r#","epk":{"kty":"EC","crv":"P-256","x":""#);
            header.push_str(&b64::encode(&epk[..32]));
            header.push_str(r#"","y":""#);
            header.push_str(&b64::encode(&epk[32..]));
            header.push_str(r#""}"#);
            match alg {
                KeyAlg::EcdhEs => (
                    concat_kdf(&*z, enc.as_str(), b"", b"", enc.key_len()),
                    Vec::new(),
                ),
                KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw => {
                    let kek_len = if alg == KeyAlg::EcdhEsA128Kw { 16 } else { 32 };
                    let kek = concat_kdf(&*z, alg.as_str(), b"", b"", kek_len);
                    (random_cek.clone(), aes_key_wrap(&kek, &random_cek)?)
                }
                _ => return Err(JoseError::Key("key type does not fit the algorithm")),
            }
        }
        _ => return Err(JoseError::Key("key type does not fit the algorithm")),
    };
    header.push('}');
    let protected = b64::encode(header.as_bytes());
    let mut iv = vec![0u8; enc.iv_len()];
    rng::fill(&mut iv)?;
    let (ciphertext, tag) = encrypt_content(enc, &cek, &iv, protected.as_bytes(), plaintext)?;
    Ok([
        protected,
        b64::encode(&encrypted_key),
        b64::encode(&iv),
        b64::encode(&ciphertext),
        b64::encode(&tag),
    ]
    .join("."))
}

/// RSAES-OAEP-ENCRYPT (RFC 8017 §7.1.1) with MGF1 over the same hash and
/// an empty label.
fn oaep_encrypt<D: Digest>(
    n: &[u8],
    e: &[u8],
    message: &[u8],
    seed: &[u8; 32],
) -> Result<Vec<u8>, JoseError> {
    let k = crate::rsa_verify::modulus_len(n, e)?;
    let h = <D as Digest>::output_size();
    if message.len() + 2 * h + 2 > k {
        return Err(JoseError::Key("message too long for RSA-OAEP"));
    }
    let mut db = Zeroizing::new(vec![0u8; k - h - 1]);
    db[..h].copy_from_slice(&D::digest(b""));
    let one = db.len() - message.len() - 1;
    db[one] = 0x01;
    db[one + 1..].copy_from_slice(message);
    let mut em = Zeroizing::new(vec![0u8; k]);
    em[1..1 + h].copy_from_slice(&seed[..h]);
    for (d, m) in db.iter_mut().zip(mgf1::<D>(&seed[..h], k - h - 1)) {
        *d ^= m;
    }
    for (s, m) in em[1..1 + h].iter_mut().zip(mgf1::<D>(&db, h)) {
        *s ^= m;
    }
    em[1 + h..].copy_from_slice(&db);
    crate::rsa_verify::public_op(n, e, &em)
}

/// MGF1 (RFC 8017 §B.2.1).
fn mgf1<D: Digest>(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut d = D::new();
        d.update(seed);
        d.update(counter.to_be_bytes());
        out.extend_from_slice(&d.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The ECDH shared secret Z with the recipient's P-256 point, and the
/// ephemeral public point `x || y`.
fn ecdh_p256(
    ephemeral: &[u8; 32],
    x: &[u8; 32],
    y: &[u8; 32],
) -> Result<(Zeroizing<[u8; 32]>, [u8; 64]), JoseError> {
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    // Checks that the point is on the curve (RFC 7518 §4.6: invalid-curve
    // attacks need a check on the receiving side, but a bad point is a bad
    // key either way).
    let recipient = p256::PublicKey::from_sec1_bytes(&sec1)
        .map_err(|_| JoseError::Key("not a point on P-256"))?;
    let secret = p256::SecretKey::from_slice(ephemeral)
        .map_err(|_| JoseError::Key("invalid ephemeral key"))?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), recipient.as_affine());
    let mut z = Zeroizing::new([0u8; 32]);
    z.copy_from_slice(shared.raw_secret_bytes());
    let point = secret.public_key().to_encoded_point(false);
    let mut epk = [0u8; 64];
    epk.copy_from_slice(&point.as_bytes()[1..]);
    Ok((z, epk))
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as RFC 7518
/// §4.6.2 parameterises it: AlgorithmID is the `enc` (direct) or `alg`
/// (key wrapping) value; we send no `apu`/`apv`, so PartyUInfo and
/// PartyVInfo are empty (the tests use RFC 7518 Appendix C's).
fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut round: u32 = 1;
    while out.len() < key_len {
        let mut d = Sha256::new();
        d.update(round.to_be_bytes());
        d.update(z);
        d.update((algorithm_id.len() as u32).to_be_bytes());
        d.update(algorithm_id.as_bytes());
        d.update((apu.len() as u32).to_be_bytes());
        d.update(apu);
        d.update((apv.len() as u32).to_be_bytes());
        d.update(apv);
        d.update(((key_len * 8) as u32).to_be_bytes());
        out.extend_from_slice(&d.finalize());
        round += 1;
    }
    out.truncate(key_len);
    out
}

/// AES Key Wrap (RFC 3394 §2.2.1) with the default IV, KEK of 16 or 32
/// octets.
fn aes_key_wrap(kek: &[u8], key: &[u8]) -> Result<Vec<u8>, JoseError> {
    if !key.len().is_multiple_of(8) || key.len() < 16 {
        return Err(JoseError::Key("key to wrap is not a multiple of 64 bits"));
    }
    let n = key.len() / 8;
    let mut a = [0xa6u8; 8];
    let mut r: Vec<[u8; 8]> = key
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            b
        })
        .collect();
    let mut block = aes::Block::default();
    let mut step = |encrypt: &dyn Fn(&mut aes::Block)| {
        for j in 0..6 {
            for (i, ri) in r.iter_mut().enumerate() {
                block[..8].copy_from_slice(&a);
                block[8..].copy_from_slice(ri);
                encrypt(&mut block);
                let t = (n * j + i + 1) as u64;
                a.copy_from_slice(&block[..8]);
                for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                    *x ^= y;
                }
                ri.copy_from_slice(&block[8..]);
            }
        }
    };
    match kek.len() {
        16 => {
            let c = aes::Aes128::new_from_slice(kek).map_err(|_| JoseError::Key("KEK"))?;
            step(&|b| c.encrypt_block(b));
        }
        32 => {
            let c = aes::Aes256::new_from_slice(kek).map_err(|_| JoseError::Key("KEK"))?;
            step(&|b| c.encrypt_block(b));
        }
        _ => return Err(JoseError::Key("KEK of 128 or 256 bits")),
    }
    let mut out = Vec::with_capacity(8 * (n + 1));
    out.extend_from_slice(&a);
    for ri in &r {
        out.extend_from_slice(ri);
    }
    Ok(out)
}

/// Content encryption (RFC 7516 §5.1 steps 15-16): ciphertext and tag.
fn encrypt_content(
    enc: ContentEnc,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), JoseError> {
    if cek.len() != enc.key_len() || iv.len() != enc.iv_len() {
        return Err(JoseError::Key("content key or IV of the wrong length"));
    }
    let bad = |_| JoseError::Key("content encryption failed");
    match enc {
        ContentEnc::A128Gcm | ContentEnc::A256Gcm => {
            let mut buf = plaintext.to_vec();
            let nonce = aes_gcm::Nonce::from_slice(iv);
            let tag = if enc == ContentEnc::A128Gcm {
                aes_gcm::Aes128Gcm::new_from_slice(cek)
                    .map_err(|_| JoseError::Key("CEK"))?
                    .encrypt_in_place_detached(nonce, aad, &mut buf)
                    .map_err(bad)?
            } else {
                aes_gcm::Aes256Gcm::new_from_slice(cek)
                    .map_err(|_| JoseError::Key("CEK"))?
                    .encrypt_in_place_detached(nonce, aad, &mut buf)
                    .map_err(bad)?
            };
            Ok((buf, tag.to_vec()))
        }
        ContentEnc::A128CbcHs256 => {
            let (mac_key, enc_key) = cek.split_at(16);
            let c = aes::Aes128::new_from_slice(enc_key).map_err(|_| JoseError::Key("CEK"))?;
            let ciphertext = cbc_encrypt(|b| c.encrypt_block(b), iv, plaintext);
            let tag = cbc_tag::<Hmac<Sha256>>(mac_key, aad, iv, &ciphertext, 16)?;
            Ok((ciphertext, tag))
        }
        ContentEnc::A256CbcHs512 => {
            let (mac_key, enc_key) = cek.split_at(32);
            let c = aes::Aes256::new_from_slice(enc_key).map_err(|_| JoseError::Key("CEK"))?;
            let ciphertext = cbc_encrypt(|b| c.encrypt_block(b), iv, plaintext);
            let tag = cbc_tag::<Hmac<Sha512>>(mac_key, aad, iv, &ciphertext, 32)?;
            Ok((ciphertext, tag))
        }
    }
}

/// AES-CBC with PKCS #7 padding (RFC 7518 §5.2.2.1 step 3).
fn cbc_encrypt(encrypt: impl Fn(&mut aes::Block), iv: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let pad = 16 - plaintext.len() % 16;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.resize(plaintext.len() + pad, pad as u8);
    let mut previous = aes::Block::clone_from_slice(iv);
    for chunk in data.chunks_mut(16) {
        for (b, p) in previous.iter_mut().zip(chunk.iter()) {
            *b ^= p;
        }
        encrypt(&mut previous);
        chunk.copy_from_slice(&previous);
    }
    data
}

/// The authentication tag of AES_CBC_HMAC_SHA2 (RFC 7518 §5.2.2.1 steps
/// 4-6): the first `len` octets of HMAC(MAC_KEY, A || IV || E || AL).
fn cbc_tag<M: Mac + KeyInit>(
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    len: usize,
) -> Result<Vec<u8>, JoseError> {
    let mut mac = <M as KeyInit>::new_from_slice(mac_key).map_err(|_| JoseError::Key("MAC key"))?;
    mac.update(aad);
    mac.update(iv);
    mac.update(ciphertext);
    mac.update(&((aad.len() as u64) * 8).to_be_bytes());
    Ok(mac.finalize().into_bytes()[..len].to_vec())
}

pub mod decrypt;

#[cfg(test)]
mod tests;
