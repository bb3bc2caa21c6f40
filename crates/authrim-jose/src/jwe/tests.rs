use super::*;
use crate::{test_keys, SigningKey};
use aes::cipher::BlockDecrypt;
use serde_json::Value;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 7518 Appendix B.1 (AES_128_CBC_HMAC_SHA_256) and B.3
/// (AES_256_CBC_HMAC_SHA_512).
#[test]
fn cbc_hmac_sha2_rfc7518_appendix_b() {
    let p = b"A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience";
    let iv = hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
    let a = b"The second principle of Auguste Kerckhoffs";
    let k: Vec<u8> = (0u8..32).collect();
    let (e, t) = encrypt_content(ContentEnc::A128CbcHs256, &k, &iv, a, p).unwrap();
    assert_eq!(
        e,
        hex("c8 0e df a3 2d df 39 d5 ef 00 c0 b4 68 83 42 79
             a2 e4 6a 1b 80 49 f7 92 f7 6b fe 54 b9 03 a9 c9
             a9 4a c9 b4 7a d2 65 5c 5f 10 f9 ae f7 14 27 e2
             fc 6f 9b 3f 39 9a 22 14 89 f1 63 62 c7 03 23 36
             09 d4 5a c6 98 64 e3 32 1c f8 29 35 ac 40 96 c8
             6e 13 33 14 c5 40 19 e8 ca 79 80 df a4 b9 cf 1b
             38 4c 48 6f 3a 54 c5 10 78 15 8e e5 d7 9d e5 9f
             bd 34 d8 48 b3 d6 95 50 a6 76 46 34 44 27 ad e5
             4b 88 51 ff b5 98 f7 f8 00 74 b9 47 3c 82 e2 db")
    );
    assert_eq!(t, hex("65 2c 3f a3 6b 0a 7c 5b 32 19 fa b3 a3 0b c1 c4"));

    let k: Vec<u8> = (0u8..64).collect();
    let (e, t) = encrypt_content(ContentEnc::A256CbcHs512, &k, &iv, a, p).unwrap();
    assert_eq!(
        &e[..16],
        &hex("4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd")[..]
    );
    assert_eq!(e.len(), 144);
    assert_eq!(
        t,
        hex("4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf
             2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5")
    );
}

/// RFC 7518 Appendix C: ECDH-ES key agreement between Alice's ephemeral
/// key and Bob's key, Concat KDF for A128GCM with apu "Alice", apv "Bob".
#[test]
fn ecdh_es_concat_kdf_rfc7518_appendix_c() {
    let d: [u8; 32] = b64::decode("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo")
        .unwrap()
        .try_into()
        .unwrap();
    let bx: [u8; 32] = b64::decode("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ")
        .unwrap()
        .try_into()
        .unwrap();
    let by: [u8; 32] = b64::decode("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck")
        .unwrap()
        .try_into()
        .unwrap();
    let (z, epk) = ecdh_p256(&d, &bx, &by).unwrap();
    assert_eq!(
        b64::encode(&epk[..32]),
        "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
    );
    assert_eq!(
        b64::encode(&epk[32..]),
        "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
    );
    let key = concat_kdf(&*z, "A128GCM", b"Alice", b"Bob", 16);
    assert_eq!(b64::encode(&*key), "VqqN6vgjbSBcIijNcacQGg");
    // A point off the curve is refused.
    let mut off = by;
    off[31] ^= 1;
    assert!(ecdh_p256(&d, &bx, &off).is_err());
}

/// RFC 3394 §4.1 and §4.6, and the RustCrypto `aes-kw` crate unwrapping.
#[test]
fn aes_key_wrap_rfc3394() {
    let kek = hex("000102030405060708090A0B0C0D0E0F");
    let key = hex("00112233445566778899AABBCCDDEEFF");
    let wrapped = aes_key_wrap(&kek, &key).unwrap();
    assert_eq!(
        wrapped,
        hex("1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5")
    );
    let kek: Vec<u8> = (0u8..32).collect();
    let key = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
    let wrapped = aes_key_wrap(&kek, &key).unwrap();
    assert_eq!(
        wrapped,
        hex("28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21")
    );
    let kw = aes_kw::KekAes256::try_from(&kek[..]).unwrap();
    assert_eq!(kw.unwrap_vec(&wrapped).unwrap(), key);
    assert!(aes_key_wrap(&kek, &key[..12]).is_err());
    assert!(aes_key_wrap(&kek[..24], &key).is_err());
}

/// A JWE decryptor for the round-trip tests, built from other code than
/// the encryptor where it matters: the `rsa` crate's OAEP, `aes-kw`,
/// `aes-gcm` decryption, AES-CBC decryption block by block.
struct Recipient {
    rsa: Option<rsa::RsaPrivateKey>,
    ec: Option<p256::SecretKey>,
}

impl Recipient {
    fn decrypt(&self, jwe: &str) -> (Value, Vec<u8>) {
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header: Value = serde_json::from_slice(&b64::decode(parts[0]).unwrap()).unwrap();
        let ek = b64::decode(parts[1]).unwrap();
        let iv = b64::decode(parts[2]).unwrap();
        let ct = b64::decode(parts[3]).unwrap();
        let tag = b64::decode(parts[4]).unwrap();
        let alg = KeyAlg::parse(header["alg"].as_str().unwrap()).unwrap();
        let enc = ContentEnc::parse(header["enc"].as_str().unwrap()).unwrap();
        let cek = match alg {
            KeyAlg::RsaOaep256 => self
                .rsa
                .as_ref()
                .unwrap()
                .decrypt(rsa::Oaep::new::<sha2::Sha256>(), &ek)
                .unwrap(),
            KeyAlg::RsaOaep => self
                .rsa
                .as_ref()
                .unwrap()
                .decrypt(rsa::Oaep::new::<sha1::Sha1>(), &ek)
                .unwrap(),
            _ => {
                let epk = &header["epk"];
                assert_eq!(epk["kty"], "EC");
                assert_eq!(epk["crv"], "P-256");
                assert_eq!(epk.as_object().unwrap().len(), 4, "no private members");
                let mut sec1 = vec![4u8];
                sec1.extend(b64::decode(epk["x"].as_str().unwrap()).unwrap());
                sec1.extend(b64::decode(epk["y"].as_str().unwrap()).unwrap());
                let epk = p256::PublicKey::from_sec1_bytes(&sec1).unwrap();
                let secret = self.ec.as_ref().unwrap();
                let z = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), epk.as_affine());
                let z = z.raw_secret_bytes();
                match alg {
                    KeyAlg::EcdhEs => {
                        assert!(ek.is_empty());
                        concat_kdf(z, enc.as_str(), b"", b"", enc.key_len()).to_vec()
                    }
                    KeyAlg::EcdhEsA128Kw => {
                        let kek = concat_kdf(z, alg.as_str(), b"", b"", 16);
                        aes_kw::KekAes128::try_from(&kek[..])
                            .unwrap()
                            .unwrap_vec(&ek)
                            .unwrap()
                    }
                    _ => {
                        let kek = concat_kdf(z, alg.as_str(), b"", b"", 32);
                        aes_kw::KekAes256::try_from(&kek[..])
                            .unwrap()
                            .unwrap_vec(&ek)
                            .unwrap()
                    }
                }
            }
        };
        assert_eq!(cek.len(), enc.key_len());
        let aad = parts[0].as_bytes();
        let plaintext = match enc {
            ContentEnc::A128Gcm | ContentEnc::A256Gcm => {
                use aes_gcm::aead::{Aead, Payload};
                let mut sealed = ct.clone();
                sealed.extend_from_slice(&tag);
                let payload = Payload { msg: &sealed, aad };
                let nonce = aes_gcm::Nonce::from_slice(&iv);
                if enc == ContentEnc::A128Gcm {
                    aes_gcm::Aes128Gcm::new_from_slice(&cek)
                        .unwrap()
                        .decrypt(nonce, payload)
                        .unwrap()
                } else {
                    aes_gcm::Aes256Gcm::new_from_slice(&cek)
                        .unwrap()
                        .decrypt(nonce, payload)
                        .unwrap()
                }
            }
            _ => {
                let half = cek.len() / 2;
                let expected = if enc == ContentEnc::A128CbcHs256 {
                    cbc_tag::<Hmac<Sha256>>(&cek[..half], aad, &iv, &ct, 16).unwrap()
                } else {
                    cbc_tag::<Hmac<Sha512>>(&cek[..half], aad, &iv, &ct, 32).unwrap()
                };
                assert_eq!(expected, tag, "authentication tag");
                let mut out = Vec::new();
                let mut previous = iv.clone();
                for block in ct.chunks(16) {
                    let mut b = aes::Block::clone_from_slice(block);
                    if half == 16 {
                        aes::Aes128::new_from_slice(&cek[half..])
                            .unwrap()
                            .decrypt_block(&mut b);
                    } else {
                        aes::Aes256::new_from_slice(&cek[half..])
                            .unwrap()
                            .decrypt_block(&mut b);
                    }
                    out.extend(b.iter().zip(&previous).map(|(x, y)| x ^ y));
                    previous = block.to_vec();
                }
                let pad = *out.last().unwrap() as usize;
                assert!((1..=16).contains(&pad));
                assert!(out[out.len() - pad..].iter().all(|&b| b as usize == pad));
                out.truncate(out.len() - pad);
                out
            }
        };
        (header, plaintext)
    }
}

fn rsa_recipient() -> (Jwk, Recipient) {
    let key = test_keys::rsa();
    let SigningKey::Rs256(inner) = &key else {
        unreachable!()
    };
    let private: &rsa::RsaPrivateKey = inner.as_ref().as_ref();
    let jwk = Jwk {
        key: key.public_key(),
        kid: Some("rsa-enc".into()),
        alg: None,
        use_: Some("enc".into()),
    };
    (
        jwk,
        Recipient {
            rsa: Some(private.clone()),
            ec: None,
        },
    )
}

fn ec_recipient() -> (Jwk, Recipient) {
    let secret = p256::SecretKey::random(&mut crate::rng::SystemRng::new().unwrap());
    let point = secret.public_key().to_encoded_point(false);
    let jwk = Jwk {
        key: PublicKey::P256 {
            x: point.x().unwrap()[..].try_into().unwrap(),
            y: point.y().unwrap()[..].try_into().unwrap(),
        },
        kid: Some("ec \"enc\"".into()),
        alg: None,
        use_: None,
    };
    (
        jwk,
        Recipient {
            rsa: None,
            ec: Some(secret),
        },
    )
}

#[test]
fn every_alg_and_enc_round_trips() {
    let rsa = rsa_recipient();
    let ec = ec_recipient();
    for &alg in KeyAlg::ALL {
        let (jwk, recipient) = if alg.kty() == "RSA" { &rsa } else { &ec };
        for &enc in ContentEnc::ALL {
            for plaintext in [&b""[..], b"x", b"0123456789abcdef", &[7u8; 1000]] {
                let jwe = encrypt_compact(jwk, alg, enc, Some("JWT"), plaintext).unwrap();
                let (header, back) = recipient.decrypt(&jwe);
                assert_eq!(back, plaintext, "{alg} {enc}");
                assert_eq!(header["alg"], alg.as_str());
                assert_eq!(header["enc"], enc.as_str());
                assert_eq!(header["cty"], "JWT");
                assert_eq!(header["kid"].as_str(), jwk.kid.as_deref());
                assert_eq!(header.get("epk").is_some(), alg.kty() == "EC");
                // Fresh randomness every time.
                let again = encrypt_compact(jwk, alg, enc, Some("JWT"), plaintext).unwrap();
                assert_ne!(jwe, again);
            }
        }
    }
}

#[test]
fn header_without_kid_or_cty() {
    let (mut jwk, recipient) = ec_recipient();
    jwk.kid = None;
    let jwe = encrypt_compact(&jwk, KeyAlg::EcdhEs, ContentEnc::A128Gcm, None, b"{}").unwrap();
    let (header, back) = recipient.decrypt(&jwe);
    assert_eq!(back, b"{}");
    let mut names: Vec<_> = header.as_object().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["alg", "enc", "epk"]);
}

#[test]
fn key_selection_by_use_alg_and_type() {
    let (rsa, _) = rsa_recipient();
    let (ec, _) = ec_recipient();
    let sig = Jwk {
        use_: Some("sig".into()),
        kid: Some("sig".into()),
        ..rsa.clone()
    };
    let pinned = Jwk {
        alg: Some("RSA-OAEP".into()),
        kid: Some("pinned".into()),
        use_: None,
        ..rsa.clone()
    };
    let set = Jwks {
        keys: vec![sig.clone(), pinned.clone(), ec.clone()],
    };
    assert_eq!(
        set.select_encryption(KeyAlg::RsaOaep)
            .unwrap()
            .kid
            .as_deref(),
        Some("pinned")
    );
    assert!(set.select_encryption(KeyAlg::RsaOaep256).is_none());
    assert_eq!(
        set.select_encryption(KeyAlg::EcdhEsA256Kw).unwrap().kid,
        ec.kid
    );
    assert!(!sig.allows_encryption(KeyAlg::RsaOaep));
    assert!(!ec.allows_encryption(KeyAlg::RsaOaep256));
    assert!(!rsa.allows_encryption(KeyAlg::EcdhEs));
    assert!(matches!(
        encrypt_compact(&sig, KeyAlg::RsaOaep, ContentEnc::A128Gcm, None, b""),
        Err(JoseError::Key(_))
    ));
    assert!(Jwks::default().select_encryption(KeyAlg::EcdhEs).is_none());
}

#[test]
fn names_parse_and_print() {
    for &alg in KeyAlg::ALL {
        assert_eq!(KeyAlg::parse(alg.as_str()), Some(alg));
    }
    for &enc in ContentEnc::ALL {
        assert_eq!(ContentEnc::parse(&enc.to_string()), Some(enc));
    }
    for bad in ["RSA1_5", "dir", "A128KW", "rsa-oaep", "ECDH-ES+A192KW", ""] {
        assert_eq!(KeyAlg::parse(bad), None);
    }
    for bad in ["A192GCM", "A192CBC-HS384", "a128gcm"] {
        assert_eq!(ContentEnc::parse(bad), None);
    }
}

#[test]
fn oaep_refuses_small_or_bad_keys() {
    assert!(oaep_encrypt::<Sha256>(&[0xff; 128], &[1, 0, 1], &[0; 16], &[0; 32]).is_err());
    let mut even = vec![0xff; 256];
    even[255] = 0xfe;
    assert!(oaep_encrypt::<Sha256>(&even, &[1, 0, 1], &[0; 16], &[0; 32]).is_err());
    // 2048-bit key, SHA-256: at most 256 - 66 = 190 octets.
    let n = vec![0xff; 256];
    assert!(oaep_encrypt::<Sha256>(&n, &[1, 0, 1], &[0; 190], &[0; 32]).is_ok());
    assert!(oaep_encrypt::<Sha256>(&n, &[1, 0, 1], &[0; 191], &[0; 32]).is_err());
}
