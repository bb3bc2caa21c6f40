//! Compact JWS (RFC 7515 section 7.1): building, parsing, verifying.
//!
//! Verification is deliberately narrow: the caller says which algorithms it
//! accepts, `none` and every algorithm we do not implement are refused,
//! and a header with `crit` is refused since we understand no extension
//! (RFC 7515 4.1.11).

use p256::ecdsa::signature::Verifier as _;
use serde_json::{Map, Value};

use crate::jwk::json_string;
use crate::{b64, Alg, JoseError, Jwk, PublicKey, SigningKey};

/// The JOSE header we write: `{"alg":..,"kid":..,"typ":..}`.
pub fn header_json(alg: Alg, kid: &str, typ: Option<&str>) -> String {
    let mut out = String::with_capacity(96);
    out.push_str(r#"{"alg":""#);
    out.push_str(alg.as_str());
    out.push_str(r#"","kid":"#);
    json_string(&mut out, kid);
    if let Some(typ) = typ {
        out.push_str(r#","typ":"#);
        json_string(&mut out, typ);
    }
    out.push('}');
    out
}

/// Signs `payload` (any bytes, usually a JSON claims set) with `key` and
/// returns the compact serialization `header.payload.signature`.
pub fn sign_compact(
    key: &SigningKey,
    kid: &str,
    typ: Option<&str>,
    payload: &[u8],
) -> Result<String, JoseError> {
    let header = header_json(key.alg(), kid, typ);
    let mut token = b64::encode(header.as_bytes());
    token.push('.');
    token.push_str(&b64::encode(payload));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64::encode(signature));
    Ok(token)
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Compact {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The header's `alg`, known to be one we implement.
    pub alg: Alg,
    /// The decoded payload.
    pub payload: Vec<u8>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Compact {
    /// Splits and decodes `token`. Refuses anything but three base64url
    /// parts, a header that is not a JSON object, a missing or unsupported
    /// `alg` (including `none`), and any `crit`.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("not three parts"));
        };
        let header = match serde_json::from_slice::<Value>(&b64::decode(h)?) {
            Ok(Value::Object(map)) => map,
            _ => return Err(JoseError::Malformed("header is not a JSON object")),
        };
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.parse::<Alg>()?,
            _ => return Err(JoseError::Malformed("no alg")),
        };
        if header.contains_key("crit") {
            return Err(JoseError::Malformed("unsupported crit"));
        }
        let payload = b64::decode(p)?;
        let signature = b64::decode(s)?;
        Ok(Compact {
            header,
            alg,
            payload,
            signing_input: token[..h.len() + 1 + p.len()].to_owned(),
            signature,
        })
    }

    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The header's `typ`, if it is a string.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// Verifies the signature with `jwk`, accepting only the algorithms in
    /// `accepted`. The JWK's own `alg` and `use` must allow the header alg.
    pub fn verify(&self, jwk: &Jwk, accepted: &[Alg]) -> Result<(), JoseError> {
        if !accepted.contains(&self.alg) {
            return Err(JoseError::UnsupportedAlg(self.alg.as_str().to_owned()));
        }
        if !jwk.allows(self.alg) {
            return Err(JoseError::Key("JWK does not allow the header alg"));
        }
        verify_signature(
            &jwk.key,
            self.alg,
            self.signing_input.as_bytes(),
            &self.signature,
        )
    }
}

/// Verifies a raw JWS signature over `signing_input`.
pub fn verify_signature(
    key: &PublicKey,
    alg: Alg,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), JoseError> {
    match (key, alg) {
        // RSASSA-PKCS1-v1_5 SHA-256 by `rsa_verify`: no big-integer
        // library in components that only verify.
        (PublicKey::Rsa { n, e }, Alg::RS256) => {
            crate::rsa_verify::verify(n, e, signing_input, signature)
        }
        (PublicKey::P256 { x, y }, Alg::ES256) => {
            let mut sec1 = [0u8; 65];
            sec1[0] = 0x04;
            sec1[1..33].copy_from_slice(x);
            sec1[33..].copy_from_slice(y);
            let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map_err(|_| JoseError::Key("not a point on P-256"))?;
            // Exactly 64 octets, r || s (RFC 7518 3.4); DER is refused.
            let sig = p256::ecdsa::Signature::from_slice(signature)
                .map_err(|_| JoseError::BadSignature)?;
            public
                .verify(signing_input, &sig)
                .map_err(|_| JoseError::BadSignature)
        }
        _ => Err(JoseError::Key("key type does not fit the algorithm")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    #[test]
    fn es256_round_trip() {
        let key = SigningKey::generate(Alg::ES256).unwrap();
        let kid = key.kid();
        let token = sign_compact(&key, &kid, Some("JWT"), br#"{"sub":"alice"}"#).unwrap();
        let parsed = Compact::parse(&token).unwrap();
        assert_eq!(parsed.alg, Alg::ES256);
        assert_eq!(parsed.kid(), Some(kid.as_str()));
        assert_eq!(parsed.typ(), Some("JWT"));
        assert_eq!(parsed.payload, br#"{"sub":"alice"}"#);
        assert_eq!(parsed.signature.len(), 64);
        let jwk = Jwk::parse(&key.public_key().to_jwk_json(&kid, Alg::ES256)).unwrap();
        parsed.verify(&jwk, &[Alg::ES256]).unwrap();
        assert!(matches!(
            parsed.verify(&jwk, &[Alg::RS256]),
            Err(JoseError::UnsupportedAlg(_))
        ));

        let other = SigningKey::generate(Alg::ES256).unwrap();
        let other_jwk = Jwk::parse(&other.public_key().to_jwk_json("x", Alg::ES256)).unwrap();
        assert_eq!(
            parsed.verify(&other_jwk, &[Alg::ES256]),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn rs256_round_trip_and_tamper() {
        let key = test_keys::rsa();
        let kid = key.kid();
        let token = sign_compact(&key, &kid, None, b"{}").unwrap();
        let parsed = Compact::parse(&token).unwrap();
        assert_eq!(parsed.typ(), None);
        assert_eq!(parsed.signature.len(), 256);
        let jwk = Jwk::parse(&key.public_key().to_jwk_json(&kid, Alg::RS256)).unwrap();
        parsed.verify(&jwk, &[Alg::RS256, Alg::ES256]).unwrap();

        // A different payload under the same header and signature fails.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64::encode(br#"{"admin":true}"#);
        parts[1] = &forged;
        let forged = Compact::parse(&parts.join(".")).unwrap();
        assert_eq!(
            forged.verify(&jwk, &[Alg::RS256]),
            Err(JoseError::BadSignature)
        );
    }

    /// RFC 7515 Appendix A.3: an ES256 JWS with its key. ECDSA signatures
    /// are randomized there, so this checks verification only.
    #[test]
    fn rfc7515_a3_es256_verifies() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
        let jwk = Jwk::parse(
            r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        )
        .unwrap();
        let parsed = Compact::parse(token).unwrap();
        parsed.verify(&jwk, &[Alg::ES256]).unwrap();
    }

    /// RFC 7515 Appendix A.2: RS256 is deterministic, so signing the
    /// example input with the example key must give the example signature.
    #[test]
    fn rfc7515_a2_rs256_known_answer() {
        const N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
        const D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
        const P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
        const Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
        const INPUT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        const SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
        let big = |s: &str| rsa::BigUint::from_bytes_be(&b64::decode(s).unwrap());
        let private =
            rsa::RsaPrivateKey::from_components(big(N), big("AQAB"), big(D), vec![big(P), big(Q)])
                .unwrap();
        // Through PKCS#8, as keys are stored.
        let der = rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&private).unwrap();
        let key = SigningKey::from_pkcs8_der(Alg::RS256, der.as_bytes()).unwrap();
        assert_eq!(b64::encode(key.sign(INPUT.as_bytes()).unwrap()), SIG);

        let token = format!("{INPUT}.{SIG}");
        let jwk = Jwk::parse(&format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB"}}"#)).unwrap();
        let parsed = Compact::parse(&token).unwrap();
        parsed.verify(&jwk, &[Alg::RS256]).unwrap();
        assert!(String::from_utf8(parsed.payload)
            .unwrap()
            .starts_with("{\"iss\":\"joe\",\r\n"));
    }

    #[test]
    fn refuses_none_crit_and_garbage() {
        let none = format!(
            "{}.{}.",
            b64::encode(br#"{"alg":"none"}"#),
            b64::encode(b"{}")
        );
        assert!(matches!(
            Compact::parse(&none),
            Err(JoseError::UnsupportedAlg(_))
        ));
        let hs = format!(
            "{}.{}.AA",
            b64::encode(br#"{"alg":"HS256"}"#),
            b64::encode(b"{}")
        );
        assert!(matches!(
            Compact::parse(&hs),
            Err(JoseError::UnsupportedAlg(_))
        ));
        let crit = format!(
            "{}.{}.AA",
            b64::encode(br#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
            b64::encode(b"{}")
        );
        assert!(matches!(
            Compact::parse(&crit),
            Err(JoseError::Malformed(_))
        ));
        assert!(Compact::parse("a.b").is_err());
        assert!(Compact::parse("a.b.c.d").is_err());
        assert!(Compact::parse("e30.e30.AA").is_err(), "header without alg");
        assert!(
            Compact::parse("W10.e30.AA").is_err(),
            "header not an object"
        );
    }

    #[test]
    fn header_is_minimal_json() {
        assert_eq!(
            header_json(Alg::RS256, "k", None),
            r#"{"alg":"RS256","kid":"k"}"#
        );
        assert_eq!(
            header_json(Alg::ES256, "k", Some("at+jwt")),
            r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#
        );
    }
}
