//! JSON Web Keys (RFC 7517, RFC 7518 section 6) and thumbprints (RFC 7638).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{b64, Alg, JoseError};

/// The public part of a key we can verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: modulus and exponent, big-endian, without leading zero octets.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// EC on P-256: affine coordinates, 32 octets each.
    P256 { x: [u8; 32], y: [u8; 32] },
}

/// A public JWK with the members that select and restrict it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub key: PublicKey,
    pub kid: Option<String>,
    /// `alg`, when the JWK restricts the key to one algorithm.
    pub alg: Option<String>,
    /// `use` (`sig` or `enc`), when present.
    pub use_: Option<String>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Writes `s` as a JSON string literal (RFC 8259 section 7).
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl PublicKey {
    /// The RSA public key `n`, `e` (big-endian bytes).
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        PublicKey::Rsa {
            n: strip_leading_zeros(n).to_vec(),
            e: strip_leading_zeros(e).to_vec(),
        }
    }

    /// The JWK `kty`.
    pub fn kty(&self) -> &'static str {
        match self {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::P256 { .. } => "EC",
        }
    }

    /// Whether this key can verify `alg`.
    pub fn fits(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (PublicKey::Rsa { .. }, Alg::RS256) | (PublicKey::P256 { .. }, Alg::ES256)
        )
    }

    /// The required members of RFC 7638 section 3.2, in lexicographic
    /// order, without whitespace: the input of the thumbprint.
    pub fn thumbprint_input(&self) -> String {
        match self {
            PublicKey::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode(e),
                b64::encode(n)
            ),
            PublicKey::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64::encode(x),
                b64::encode(y)
            ),
        }
    }

    /// The RFC 7638 JWK thumbprint with SHA-256, base64url: our `kid`.
    pub fn thumbprint(&self) -> String {
        b64::encode(Sha256::digest(self.thumbprint_input().as_bytes()))
    }

    /// The public JWK as JSON with `kty`, `kid`, `use: "sig"` and `alg`,
    /// then the key's own members. Never contains private parts.
    pub fn to_jwk_json(&self, kid: &str, alg: Alg) -> String {
        let mut out = String::with_capacity(512);
        out.push_str(r#"{"kty":""#);
        out.push_str(self.kty());
        out.push_str(r#"","kid":"#);
        json_string(&mut out, kid);
        out.push_str(r#","use":"sig","alg":""#);
        out.push_str(alg.as_str());
        match self {
            PublicKey::Rsa { n, e } => {
                out.push_str(r#"","n":""#);
                out.push_str(&b64::encode(n));
                out.push_str(r#"","e":""#);
                out.push_str(&b64::encode(e));
            }
            PublicKey::P256 { x, y } => {
                out.push_str(r#"","crv":"P-256","x":""#);
                out.push_str(&b64::encode(x));
                out.push_str(r#"","y":""#);
                out.push_str(&b64::encode(y));
            }
        }
        out.push_str("\"}");
        out
    }
}

fn member<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JoseError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or(JoseError::Json(name))
}

fn optional(obj: &Map<String, Value>, name: &'static str) -> Result<Option<String>, JoseError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::Json(name)),
    }
}

fn coordinate(obj: &Map<String, Value>, name: &'static str) -> Result<[u8; 32], JoseError> {
    b64::decode(member(obj, name)?)?
        .try_into()
        .map_err(|_| JoseError::Key("P-256 coordinates are 32 octets"))
}

impl Jwk {
    /// Reads a public JWK from a parsed JSON object. Keys of other types or
    /// curves are `UnsupportedAlg`; a JWK with private members (`d`, `p`,
    /// ...) is refused, since a public key set must never carry them.
    pub fn from_object(obj: &Map<String, Value>) -> Result<Self, JoseError> {
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| obj.contains_key(*m))
        {
            return Err(JoseError::Key("JWK carries private members"));
        }
        let key = match member(obj, "kty")? {
            "RSA" => {
                let n = b64::decode(member(obj, "n")?)?;
                let e = b64::decode(member(obj, "e")?)?;
                if strip_leading_zeros(&n).is_empty() || strip_leading_zeros(&e).is_empty() {
                    return Err(JoseError::Key("empty RSA member"));
                }
                PublicKey::rsa(&n, &e)
            }
            "EC" => match member(obj, "crv")? {
                "P-256" => PublicKey::P256 {
                    x: coordinate(obj, "x")?,
                    y: coordinate(obj, "y")?,
                },
                other => return Err(JoseError::UnsupportedAlg(format!("EC {other}"))),
            },
            other => return Err(JoseError::UnsupportedAlg(format!("kty {other}"))),
        };
        Ok(Jwk {
            key,
            kid: optional(obj, "kid")?,
            alg: optional(obj, "alg")?,
            use_: optional(obj, "use")?,
        })
    }

    /// Parses one JWK from JSON text.
    pub fn parse(json: &str) -> Result<Self, JoseError> {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(obj)) => Jwk::from_object(&obj),
            Ok(_) => Err(JoseError::Json("a JWK is a JSON object")),
            Err(_) => Err(JoseError::Json("not JSON")),
        }
    }

    /// Whether this JWK may verify a JWS with `alg`: the key type fits, and
    /// `alg` and `use`, when present, allow it (RFC 7517 4.2, 4.4).
    pub fn allows(&self, alg: Alg) -> bool {
        self.key.fits(alg)
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
            && self.use_.as_deref().is_none_or(|u| u == "sig")
    }
}

/// A JWK Set (RFC 7517 section 5) of the keys we can use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWK Set. Members of key types we do not support are skipped
    /// (RFC 7517 5: "implementations SHOULD ignore JWKs within a JWK Set
    /// that use "kty" (key type) values that are not understood"); a
    /// malformed supported key fails the whole set.
    pub fn parse(json: &str) -> Result<Self, JoseError> {
        let value: Value = serde_json::from_str(json).map_err(|_| JoseError::Json("not JSON"))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JoseError::Json("keys"))?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let obj = key.as_object().ok_or(JoseError::Json("keys"))?;
            match Jwk::from_object(obj) {
                Ok(jwk) => out.push(jwk),
                Err(JoseError::UnsupportedAlg(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Jwks { keys: out })
    }

    /// The key to verify a JWS with header `kid` and `alg`: the key with
    /// that `kid` when one is given, else the only key that allows `alg`.
    /// `None` when no key, or more than one without a `kid`, matches.
    pub fn select(&self, kid: Option<&str>, alg: Alg) -> Option<&Jwk> {
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| k.allows(alg))
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
        let first = candidates.next()?;
        match candidates.next() {
            None => Some(first),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1, the example RSA key.
    pub(crate) const RFC7638_JWK: &str = r#"{
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }"#;

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = Jwk::parse(RFC7638_JWK).unwrap();
        assert_eq!(jwk.kid.as_deref(), Some("2011-04-29"));
        assert_eq!(
            jwk.key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert!(jwk
            .key
            .thumbprint_input()
            .starts_with(r#"{"e":"AQAB","kty":"RSA","n":"0vx7"#));
    }

    #[test]
    fn jwk_json_round_trip_is_public_only() {
        let jwk = Jwk::parse(RFC7638_JWK).unwrap();
        let json = jwk.key.to_jwk_json("k1", Alg::RS256);
        let back = Jwk::parse(&json).unwrap();
        assert_eq!(back.key, jwk.key);
        assert_eq!(back.kid.as_deref(), Some("k1"));
        assert_eq!(back.alg.as_deref(), Some("RS256"));
        assert_eq!(back.use_.as_deref(), Some("sig"));
        let v: Value = serde_json::from_str(&json).unwrap();
        let mut names: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
    }

    #[test]
    fn refuses_private_members_and_bad_coordinates() {
        let with_d = r#"{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","d":"AA"}"#;
        assert!(matches!(Jwk::parse(with_d), Err(JoseError::Key(_))));
        let short = r#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#;
        assert!(matches!(Jwk::parse(short), Err(JoseError::Key(_))));
        let okp = r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#;
        assert!(matches!(Jwk::parse(okp), Err(JoseError::UnsupportedAlg(_))));
    }

    #[test]
    fn jwks_select() {
        let rsa = Jwk::parse(RFC7638_JWK).unwrap().key;
        let set = format!(
            r#"{{"keys":[{},{},{{"kty":"OKP","crv":"Ed25519","x":"AA"}}]}}"#,
            rsa.to_jwk_json("a", Alg::RS256),
            rsa.to_jwk_json("b", Alg::RS256)
        );
        let jwks = Jwks::parse(&set).unwrap();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(
            jwks.select(Some("b"), Alg::RS256).unwrap().kid.as_deref(),
            Some("b")
        );
        assert!(
            jwks.select(None, Alg::RS256).is_none(),
            "ambiguous without kid"
        );
        assert!(jwks.select(Some("a"), Alg::ES256).is_none());
        assert!(jwks.select(Some("c"), Alg::RS256).is_none());
    }

    #[test]
    fn json_string_escapes() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, r#""a\"b\\c\n\u0001é""#);
    }
}
