//! `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2, CIBA Core
//! §7.1): an ID Token this OP issued earlier, identifying the End-User. We
//! check our own signature against the published JWK Set (RS256 or
//! ES256), `iss`, and that `sub` is present; `exp` is not checked, since
//! "the ID Token MAY be expired". The caller checks `aud` against the
//! client. Shared by op-auth (`/authorize`, `/logout`) and op-async
//! (`/bc-authorize`).

use authrim_jose::jws::Compact;
use authrim_jose::{Alg, Jwks};
use authrim_protocol::{Issuer, OAuthError};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub sub: String,
    pub sid: Option<String>,
    pub aud: Vec<String>,
}

impl Hint {
    pub fn has_audience(&self, client_id: &str) -> bool {
        self.aud.iter().any(|a| a == client_id)
    }

    /// The client the token was issued to, when it names exactly one.
    pub fn single_audience(&self) -> Option<&str> {
        match self.aud.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }
}

pub fn invalid() -> OAuthError {
    OAuthError::invalid_request("id_token_hint is not a valid ID Token issued by this server")
}

/// Verifies `token` with `keys` (our published JWK Set, parsed by the
/// caller, whose fault it is if it does not parse).
pub fn verify(token: &str, keys: &Jwks, issuer: &Issuer) -> Result<Hint, OAuthError> {
    let jws = Compact::parse(token).map_err(|_| invalid())?;
    let key = keys.select(jws.kid(), jws.alg).ok_or_else(invalid)?;
    jws.verify(key, &[Alg::RS256, Alg::ES256])
        .map_err(|_| invalid())?;
    let claims = match serde_json::from_slice::<Value>(&jws.payload) {
        Ok(Value::Object(map)) => map,
        _ => return Err(invalid()),
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(invalid());
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(invalid)?;
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(invalid)?,
        _ => return Err(invalid()),
    };
    Ok(Hint {
        sub: sub.to_string(),
        sid: claims
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string),
        aud,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_jose::jws::sign_compact;
    use authrim_jose::{test_keys, SigningKey};

    pub(crate) const ISSUER: &str = "https://id.example.com";

    pub(crate) fn key() -> SigningKey {
        test_keys::rsa()
    }

    pub(crate) fn jwks() -> Jwks {
        let k = key();
        Jwks::parse(&format!(
            "{{\"keys\":[{}]}}",
            k.public_key().to_jwk_json(&k.kid(), Alg::RS256)
        ))
        .unwrap()
    }

    pub(crate) fn sign(claims: &str) -> String {
        let k = key();
        sign_compact(&k, &k.kid(), Some("JWT"), claims.as_bytes()).unwrap()
    }

    fn issuer() -> Issuer {
        Issuer::parse(ISSUER).unwrap()
    }

    #[test]
    fn accepts_our_tokens_expired_or_not() {
        let t =
            sign(r#"{"iss":"https://id.example.com","sub":"u1","aud":"c1","exp":1,"sid":"s1"}"#);
        let h = verify(&t, &jwks(), &issuer()).unwrap();
        assert_eq!(
            h,
            Hint {
                sub: "u1".into(),
                sid: Some("s1".into()),
                aud: vec!["c1".into()]
            }
        );
        assert!(h.has_audience("c1") && !h.has_audience("c2"));
        assert_eq!(h.single_audience(), Some("c1"));
        let t = sign(r#"{"iss":"https://id.example.com","sub":"u1","aud":["c1","c2"]}"#);
        let h = verify(&t, &jwks(), &issuer()).unwrap();
        assert!(h.has_audience("c2"));
        assert_eq!(h.single_audience(), None);
    }

    #[test]
    fn refuses_everything_else() {
        let good = sign(r#"{"iss":"https://id.example.com","sub":"u1","aud":"c1"}"#);
        let mut tampered = good.clone();
        tampered.pop();
        tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
        let parts: Vec<&str> = good.split('.').collect();
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        let none_alg = format!(
            "{}.{}.",
            authrim_jose::b64::encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        let table = [
            sign(r#"{"iss":"https://evil.example","sub":"u1","aud":"c1"}"#),
            sign(r#"{"sub":"u1","aud":"c1"}"#),
            sign(r#"{"iss":"https://id.example.com","aud":"c1"}"#),
            sign(r#"{"iss":"https://id.example.com","sub":"","aud":"c1"}"#),
            sign(r#"{"iss":"https://id.example.com","sub":"u1"}"#),
            sign(r#"{"iss":"https://id.example.com","sub":"u1","aud":[1]}"#),
            sign(r#"[1]"#),
            tampered,
            unsigned,
            none_alg,
            "not a jwt".into(),
            "a.b.c".into(),
        ];
        for t in table {
            let e = verify(&t, &jwks(), &issuer()).unwrap_err();
            assert_eq!(e.code, authrim_protocol::ErrorCode::InvalidRequest, "{t}");
        }
        // Signed by a key that is not (or no longer) published.
        assert!(verify(&good, &Jwks::parse(r#"{"keys":[]}"#).unwrap(), &issuer()).is_err());
    }
}
