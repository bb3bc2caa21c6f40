//! RSASSA-PKCS1-v1_5 with SHA-256 verification (RFC 8017 §8.2.2), with a
//! small Montgomery exponentiation over 32-bit limbs.
//!
//! Only public values take part in a verification (key, signature,
//! message), so nothing here needs to run in constant time. Components
//! that verify RS256 but never sign (client assertions, `id_token_hint`)
//! get this instead of a generic big-integer library: about 45 KB less
//! WebAssembly each. Signing stays with the `rsa` crate (`key.rs`).

use crate::JoseError;
use sha2::{Digest, Sha256};

/// DER of `DigestInfo { sha256, NULL }` without the hash (RFC 8017 §9.2
/// note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The modulus sizes accepted, in bits (as the `rsa` crate's defaults).
const MIN_BITS: usize = crate::key::RSA_BITS;
const MAX_BITS: usize = 4096;
/// Public exponents accepted: 2 ..= 2^33 - 1 (as the `rsa` crate).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Verifies `signature` over `message` with the public key (`n`, `e`,
/// big-endian).
pub fn verify(n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
    let len = check_key(n, e)?.0.len();
    if signature.len() != len {
        return Err(JoseError::BadSignature);
    }
    match public_op(n, e, signature) {
        Ok(m) if m == encoded(message, len) => Ok(()),
        Ok(_) => Err(JoseError::BadSignature),
        Err(JoseError::Key(why)) if why == INPUT_TOO_LARGE => Err(JoseError::BadSignature),
        Err(err) => Err(err),
    }
}

const INPUT_TOO_LARGE: &str = "RSA input not below the modulus";

/// The checked modulus (without leading zeros) and public exponent.
fn check_key<'a>(n: &'a [u8], e: &[u8]) -> Result<(&'a [u8], u64), JoseError> {
    let n = strip(n);
    let e = strip(e);
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_BITS {
        return Err(JoseError::Key("RSA modulus shorter than 2048 bits"));
    }
    if bits > MAX_BITS || n[n.len() - 1] & 1 == 0 {
        return Err(JoseError::Key("invalid RSA public key"));
    }
    let exponent = if e.len() <= 8 {
        e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    } else {
        0
    };
    if !(2..=MAX_EXPONENT).contains(&exponent) {
        return Err(JoseError::Key("invalid RSA public key"));
    }
    Ok((n, exponent))
}

/// The modulus length of a valid public key, in octets.
pub(crate) fn modulus_len(n: &[u8], e: &[u8]) -> Result<usize, JoseError> {
    Ok(check_key(n, e)?.0.len())
}

/// The RSA public-key operation `input^e mod n` (RFC 8017 §5.1.1 RSAEP,
/// §5.2.2 RSAVP1) on `input` of exactly the modulus length, below `n`.
/// Only public values take part, so it need not be constant-time.
pub(crate) fn public_op(n: &[u8], e: &[u8], input: &[u8]) -> Result<Vec<u8>, JoseError> {
    let (n, exponent) = check_key(n, e)?;
    let len = n.len();
    if input.len() != len {
        return Err(JoseError::Key(INPUT_TOO_LARGE));
    }
    let k = len.div_ceil(4);
    let modulus = limbs(n, k);
    let x = limbs(input, k);
    if greater_or_equal(&x, &modulus) {
        return Err(JoseError::Key(INPUT_TOO_LARGE));
    }
    Ok(bytes(&Montgomery::new(modulus).pow(&x, exponent), len))
}

/// EMSA-PKCS1-v1_5 encoding of SHA-256(`message`) in `len` bytes
/// (RFC 8017 §9.2): `00 01 FF…FF 00 DigestInfo H`. `len` is at least 256.
fn encoded(message: &[u8], len: usize) -> Vec<u8> {
    let mut em = vec![0xff; len];
    em[0] = 0x00;
    em[1] = 0x01;
    let t = len - SHA256_DIGEST_INFO.len() - 32;
    em[t - 1] = 0x00;
    em[t..t + SHA256_DIGEST_INFO.len()].copy_from_slice(&SHA256_DIGEST_INFO);
    em[len - 32..].copy_from_slice(&Sha256::digest(message));
    em
}

/// Big-endian bytes to `k` little-endian 32-bit limbs.
fn limbs(be: &[u8], k: usize) -> Vec<u32> {
    let mut out = vec![0u32; k];
    for (i, &b) in be.iter().rev().enumerate() {
        out[i / 4] |= u32::from(b) << (8 * (i % 4));
    }
    out
}

/// Limbs to `len` big-endian bytes.
fn bytes(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for i in 0..len {
        out[len - 1 - i] = (limbs[i / 4] >> (8 * (i % 4))) as u8;
    }
    out
}

fn greater_or_equal(a: &[u32], b: &[u32]) -> bool {
    for i in (0..a.len()).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

/// `a -= b` modulo 2^(32·len).
fn subtract(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u32::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
}

/// Arithmetic modulo an odd `n` in Montgomery form, R = 2^(32·k).
struct Montgomery {
    n: Vec<u32>,
    /// -n⁻¹ mod 2^32.
    n0: u32,
}

impl Montgomery {
    fn new(n: Vec<u32>) -> Montgomery {
        // Newton's iteration: each step doubles the correct low bits
        // (n·n ≡ 1 mod 8 for odd n).
        let mut inv = n[0];
        for _ in 0..4 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        Montgomery {
            n0: inv.wrapping_neg(),
            n,
        }
    }

    /// a·b·R⁻¹ mod n for a, b < n (CIOS, Koç et al. 1996).
    fn mul(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let n = &self.n;
        let k = n.len();
        let mut t = vec![0u32; k + 2];
        for &ai in a {
            let ai = u64::from(ai);
            let mut c = 0u64;
            for j in 0..k {
                let s = u64::from(t[j]) + ai * u64::from(b[j]) + c;
                t[j] = s as u32;
                c = s >> 32;
            }
            let s = u64::from(t[k]) + c;
            t[k] = s as u32;
            t[k + 1] = (s >> 32) as u32;
            let m = u64::from(t[0].wrapping_mul(self.n0));
            let mut c = (u64::from(t[0]) + m * u64::from(n[0])) >> 32;
            for j in 1..k {
                let s = u64::from(t[j]) + m * u64::from(n[j]) + c;
                t[j - 1] = s as u32;
                c = s >> 32;
            }
            let s = u64::from(t[k]) + c;
            t[k - 1] = s as u32;
            t[k] = t[k + 1] + (s >> 32) as u32;
            t[k + 1] = 0;
        }
        let mut r = t[..k].to_vec();
        if t[k] != 0 || greater_or_equal(&r, n) {
            subtract(&mut r, n);
        }
        r
    }

    /// R² mod n, by doubling 1 (2·32·k times).
    fn r_squared(&self) -> Vec<u32> {
        let k = self.n.len();
        let mut x = vec![0u32; k];
        x[0] = 1;
        for _ in 0..64 * k {
            let mut carry = 0u32;
            for limb in x.iter_mut() {
                let next = *limb >> 31;
                *limb = (*limb << 1) | carry;
                carry = next;
            }
            if carry != 0 || greater_or_equal(&x, &self.n) {
                subtract(&mut x, &self.n);
            }
        }
        x
    }

    /// base^exponent mod n, for base < n.
    fn pow(&self, base: &[u32], exponent: u64) -> Vec<u32> {
        let r2 = self.r_squared();
        let mut one = vec![0u32; self.n.len()];
        one[0] = 1;
        let b = self.mul(base, &r2);
        let mut acc = self.mul(&one, &r2);
        for bit in (0..64 - exponent.leading_zeros()).rev() {
            acc = self.mul(&acc, &acc);
            if exponent >> bit & 1 == 1 {
                acc = self.mul(&acc, &b);
            }
        }
        self.mul(&acc, &one)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{test_keys, PublicKey};
    use rsa::traits::PublicKeyParts;

    fn key_parts() -> (Vec<u8>, Vec<u8>) {
        match test_keys::rsa().public_key() {
            PublicKey::Rsa { n, e } => (n, e),
            _ => unreachable!(),
        }
    }

    #[test]
    fn verifies_what_the_rsa_crate_signs() {
        let key = test_keys::rsa();
        let (n, e) = key_parts();
        for msg in [
            &b""[..],
            b"a",
            b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0",
            &[0u8; 1000],
        ] {
            let sig = key.sign(msg).unwrap();
            verify(&n, &e, msg, &sig).unwrap();
            let mut bad = sig.clone();
            bad[100] ^= 1;
            assert_eq!(verify(&n, &e, msg, &bad), Err(JoseError::BadSignature));
            assert_eq!(verify(&n, &e, b"other", &sig), Err(JoseError::BadSignature));
        }
    }

    #[test]
    fn exponentiation_matches_the_rsa_crate() {
        // Raw s^e mod n against num-bigint-dig, for several bases.
        let (n, e) = key_parts();
        let pk = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from_bytes_be(&e),
        )
        .unwrap();
        let k = n.len().div_ceil(4);
        let mont = Montgomery::new(limbs(&n, k));
        for seed in 1u8..20 {
            let base: Vec<u8> = (0..n.len())
                .map(|i| (i as u8).wrapping_mul(seed) ^ seed)
                .collect();
            let mut base = base;
            base[0] &= 0x7f;
            let ours = bytes(&mont.pow(&limbs(&base, k), 65537), n.len());
            let theirs = rsa::BigUint::from_bytes_be(&base).modpow(pk.e(), pk.n());
            let mut theirs = theirs.to_bytes_be();
            while theirs.len() < n.len() {
                theirs.insert(0, 0);
            }
            assert_eq!(ours, theirs, "seed {seed}");
            let ours3 = bytes(&mont.pow(&limbs(&base, k), 3), n.len());
            let three = rsa::BigUint::from(3u32);
            let mut theirs3 = rsa::BigUint::from_bytes_be(&base)
                .modpow(&three, pk.n())
                .to_bytes_be();
            while theirs3.len() < n.len() {
                theirs3.insert(0, 0);
            }
            assert_eq!(ours3, theirs3, "seed {seed}, e=3");
        }
    }

    #[test]
    fn refuses_bad_keys_and_signatures() {
        let key = test_keys::rsa();
        let (n, e) = key_parts();
        let sig = key.sign(b"m").unwrap();
        // Leading zero bytes in n and e are fine.
        let mut n0 = vec![0, 0];
        n0.extend_from_slice(&n);
        verify(&n0, &[0, 1, 0, 1], b"m", &sig).unwrap();
        let short = &n[..128];
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        let table: [(&[u8], &[u8], &[u8]); 6] = [
            (short, &e, &sig),
            (&even, &e, &sig),
            (&n, &[1], &sig),
            (&n, &[2, 0, 0, 0, 0], &sig),
            (&n, &[], &sig),
            (&[], &e, &sig),
        ];
        for (n, e, s) in table {
            assert!(matches!(verify(n, e, b"m", s), Err(JoseError::Key(_))));
        }
        assert_eq!(
            verify(&n, &e, b"m", &sig[1..]),
            Err(JoseError::BadSignature)
        );
        assert_eq!(verify(&n, &e, b"m", &n), Err(JoseError::BadSignature));
        assert_eq!(
            verify(&n, &e, b"m", &[0xff; 256]),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            verify(&n, &e, b"m", &[0; 256]),
            Err(JoseError::BadSignature)
        );
    }
}
