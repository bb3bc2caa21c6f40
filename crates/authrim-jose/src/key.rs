//! Private signing keys: generation, PKCS#8 DER, signing.

use p256::ecdsa::signature::Signer as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
use rsa::BigUint;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::rng::SystemRng;
use crate::{pkcs8, Alg, JoseError, PublicKey};

/// The RSA modulus size of the keys we generate.
pub const RSA_BITS: usize = 2048;

/// A private key for one [`Alg`]. Its `Debug` output shows no key material.
#[derive(Clone)]
pub enum SigningKey {
    Rs256(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    Es256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, kid {})", self.alg(), self.kid())
    }
}

impl SigningKey {
    /// The ECDH shared secret Z (RFC 7518 §4.6) of this P-256 key and the
    /// point (`x`, `y`), for decrypting a JWE addressed to it. Refuses
    /// points not on the curve (invalid-curve attacks) and RSA keys.
    pub fn ecdh(&self, x: &[u8; 32], y: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, JoseError> {
        let SigningKey::Es256(key) = self else {
            return Err(JoseError::Key("ECDH needs a P-256 key"));
        };
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        let point = p256::PublicKey::from_sec1_bytes(&sec1)
            .map_err(|_| JoseError::Key("not a point on P-256"))?;
        let shared = p256::ecdh::diffie_hellman(key.as_nonzero_scalar(), point.as_affine());
        let mut z = Zeroizing::new([0u8; 32]);
        z.copy_from_slice(shared.raw_secret_bytes());
        Ok(z)
    }

    /// Generates a fresh key: RSA-2048 with e = 65537 (about a second in a
    /// component; do it once, never on a request path), or a P-256 key.
    pub fn generate(alg: Alg) -> Result<Self, JoseError> {
        let mut rng = SystemRng::new()?;
        Ok(match alg {
            Alg::RS256 => {
                let key = rsa::RsaPrivateKey::new(&mut rng, RSA_BITS)
                    .map_err(|_| JoseError::Key("RSA key generation failed"))?;
                SigningKey::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(key)))
            }
            Alg::ES256 => SigningKey::Es256(p256::ecdsa::SigningKey::random(&mut rng)),
        })
    }

    /// Reads a PKCS#8 DER private key (RFC 5208) for `alg`. RSA keys must
    /// have a modulus of at least 2048 bits and are validated; a P-256 key
    /// that carries its public point must carry the right one.
    pub fn from_pkcs8_der(alg: Alg, der: &[u8]) -> Result<Self, JoseError> {
        match alg {
            Alg::RS256 => {
                let [n, e, d, p, q] = pkcs8::decode_rsa(der)?;
                let big = BigUint::from_bytes_be;
                let key = rsa::RsaPrivateKey::from_components(
                    big(n),
                    big(e),
                    big(d),
                    vec![big(p), big(q)],
                )
                .map_err(|_| JoseError::Key("inconsistent RSA private key"))?;
                if key.size() * 8 < RSA_BITS {
                    return Err(JoseError::Key("RSA modulus shorter than 2048 bits"));
                }
                Ok(SigningKey::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(
                    key,
                ))))
            }
            Alg::ES256 => {
                let (secret, public) = pkcs8::decode_p256(der)?;
                let key = p256::ecdsa::SigningKey::from_slice(secret)
                    .map_err(|_| JoseError::Key("invalid P-256 private key"))?;
                if public
                    .is_some_and(|p| p != key.verifying_key().to_encoded_point(false).as_bytes())
                {
                    return Err(JoseError::Key(
                        "P-256 public key does not match the private key",
                    ));
                }
                Ok(SigningKey::Es256(key))
            }
        }
    }

    /// The key as PKCS#8 DER; the buffer is wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        match self {
            SigningKey::Rs256(k) => {
                let k: &rsa::RsaPrivateKey = k.as_ref().as_ref();
                let (Some(dp), Some(dq), Some(qinv), [p, q]) =
                    (k.dp(), k.dq(), k.crt_coefficient(), k.primes())
                else {
                    return Err(JoseError::Key(
                        "only precomputed two-prime RSA keys are supported",
                    ));
                };
                let parts = [k.n(), k.e(), k.d(), p, q, dp, dq, &qinv]
                    .map(|v| Zeroizing::new(v.to_bytes_be()));
                Ok(Zeroizing::new(pkcs8::encode_rsa(
                    parts.each_ref().map(|v| v.as_slice()),
                )))
            }
            SigningKey::Es256(k) => {
                let secret: Zeroizing<[u8; 32]> = Zeroizing::new(k.to_bytes().into());
                let point = k.verifying_key().to_encoded_point(false);
                let public: &[u8; 65] = point
                    .as_bytes()
                    .try_into()
                    .map_err(|_| JoseError::Key("unexpected P-256 point encoding"))?;
                Ok(Zeroizing::new(pkcs8::encode_p256(&secret, public)))
            }
        }
    }

    pub fn alg(&self) -> Alg {
        match self {
            SigningKey::Rs256(_) => Alg::RS256,
            SigningKey::Es256(_) => Alg::ES256,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::Rs256(k) => {
                let k: &rsa::RsaPrivateKey = k.as_ref().as_ref();
                PublicKey::rsa(&k.n().to_bytes_be(), &k.e().to_bytes_be())
            }
            SigningKey::Es256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                // An uncompressed point of a valid key has both coordinates.
                x.copy_from_slice(point.x().expect("uncompressed point")); // ok: see above
                y.copy_from_slice(point.y().expect("uncompressed point")); // ok: see above
                PublicKey::P256 { x, y }
            }
        }
    }

    /// The `kid`: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> String {
        self.public_key().thumbprint()
    }

    /// The JWS signature of `signing_input` (RFC 7515 5.1 step 5):
    /// RSASSA-PKCS1-v1_5 SHA-256 (with blinding), or ECDSA P-256 SHA-256
    /// (deterministic, RFC 6979) as `r || s`.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        match self {
            SigningKey::Rs256(k) => {
                let mut rng = SystemRng::new()?;
                let sig = k
                    .try_sign_with_rng(&mut rng, signing_input)
                    .map_err(|_| JoseError::Key("RSA signing failed"))?;
                Ok(sig.to_vec())
            }
            SigningKey::Es256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(signing_input);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{b64, test_keys};

    const OPENSSL_P256: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZSBO02Ldmv_lZgtikmLEnPHSYNAEoDFSLq3ATmgqCbahRANCAAT4USqBr5oVibIxWOqcMplBjoa0RpBSU7ZZwl7BJDWB9zNKY_Sx4FToBNUmUz1FDTGKBzYZk7fosae0aLFmWTRH";

    #[test]
    fn pkcs8_round_trip_keeps_kid() {
        for key in [test_keys::rsa(), SigningKey::generate(Alg::ES256).unwrap()] {
            let der = key.to_pkcs8_der().unwrap();
            let back = SigningKey::from_pkcs8_der(key.alg(), &der).unwrap();
            assert_eq!(back.kid(), key.kid());
            assert_eq!(back.public_key(), key.public_key());
            assert!(
                SigningKey::from_pkcs8_der(other(key.alg()), &der).is_err(),
                "alg must fit the key"
            );
        }
    }

    fn other(alg: Alg) -> Alg {
        match alg {
            Alg::RS256 => Alg::ES256,
            Alg::ES256 => Alg::RS256,
        }
    }

    /// Our PKCS#8 bytes are exactly those of the RustCrypto encoders (and,
    /// for the fixture, of OpenSSL, which generated it).
    #[test]
    fn pkcs8_matches_reference_encoders() {
        use p256::pkcs8::EncodePrivateKey as _;

        let rsa_key = test_keys::rsa();
        let ours = rsa_key.to_pkcs8_der().unwrap();
        assert_eq!(&ours[..], test_keys::RSA_2048_PKCS8);
        let SigningKey::Rs256(inner) = &rsa_key else {
            unreachable!()
        };
        let inner: &rsa::RsaPrivateKey = inner.as_ref().as_ref();
        assert_eq!(&ours[..], inner.to_pkcs8_der().unwrap().as_bytes());

        let ec_key = SigningKey::generate(Alg::ES256).unwrap();
        let SigningKey::Es256(inner) = &ec_key else {
            unreachable!()
        };
        let reference = p256::SecretKey::from(inner.as_nonzero_scalar())
            .to_pkcs8_der()
            .unwrap();
        assert_eq!(&ec_key.to_pkcs8_der().unwrap()[..], reference.as_bytes());
    }

    /// OpenSSL's P-256 PKCS#8 (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
    #[test]
    fn reads_openssl_p256() {
        let der = b64::decode(OPENSSL_P256).unwrap();
        let key = SigningKey::from_pkcs8_der(Alg::ES256, &der).unwrap();
        assert_eq!(&key.to_pkcs8_der().unwrap()[..], &der[..]);
        let mut wrong_public = der.clone();
        *wrong_public.last_mut().unwrap() ^= 1;
        assert!(SigningKey::from_pkcs8_der(Alg::ES256, &wrong_public).is_err());
    }

    #[test]
    fn rs256_is_deterministic_pkcs1_v15() {
        // PKCS#1 v1.5 signatures are deterministic; blinding must not change them.
        let key = test_keys::rsa();
        assert_eq!(key.sign(b"abc").unwrap(), key.sign(b"abc").unwrap());
        assert_ne!(key.sign(b"abc").unwrap(), key.sign(b"abd").unwrap());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = SigningKey::generate(Alg::ES256).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.starts_with("SigningKey(ES256, kid "));
    }

    /// Seconds in an unoptimised build; the other tests use a fixed key.
    #[test]
    fn rsa_generation() {
        let key = SigningKey::generate(Alg::RS256).unwrap();
        let PublicKey::Rsa { n, e } = key.public_key() else {
            panic!()
        };
        assert_eq!(n.len(), 256);
        assert_eq!(e, [1, 0, 1]);
    }
}
