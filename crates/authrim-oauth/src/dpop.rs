//! DPoP proofs (RFC 9449): checking one proof JWT, free of I/O.
//!
//! [`verify`] applies the checks of RFC 9449 §4.3 that need no state:
//! syntax and `typ: dpop+jwt` (§4.2), an asymmetric `alg` we implement
//! (ES256, RS256), a public `jwk` in the header that verifies the signature,
//! `htm` and `htu` (the latter compared without query and fragment after
//! the normalisation of RFC 3986 §6.2.2–6.2.3), `iat` inside the accepted
//! window, a `jti`, and `ath` when the proof accompanies an access token
//! (§7). What needs state is the caller's: the single use of `jti`
//! ([`Proof::replay_key`], [`Proof::replay_expires_at`] for
//! `one-time.mark-used`), the server nonce (§8, §9) and the key binding
//! of the token, code or refresh token ([`Proof::jkt`], RFC 7638).

use authrim_jose::jws::Compact;
use authrim_jose::{b64, Alg, Jwk};
use authrim_protocol::{ErrorCode, OAuthError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";
/// The JWS algorithms a proof may use; `dpop_signing_alg_values_supported`.
pub const DPOP_ALGS: &[Alg] = &[Alg::ES256, Alg::RS256];
/// Longest proof accepted: an RSA-4096 `jwk` and signature fit easily.
pub const MAX_PROOF_LEN: usize = 8192;
/// Longest `jti` accepted (RFC 9449 §11.1 asks for 96 bits of randomness).
pub const MAX_JTI_LEN: usize = 256;
/// Longest `nonce` accepted.
pub const MAX_NONCE_LEN: usize = 256;
/// How old a proof may be (RFC 9449 §11.1: "a relatively brief period").
pub const MAX_AGE: i64 = 60;
/// How far in the future a proof's `iat` may be (clock skew).
pub const MAX_SKEW: i64 = 10;

/// What the request the proof accompanies looks like.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The HTTP method (`htm`).
    pub method: &'a str,
    /// The target URI of the request (`htu`); query and fragment ignored.
    pub uri: &'a str,
    /// The access token of a resource request: `ath` must be its hash.
    pub access_token: Option<&'a str>,
    pub now: i64,
}

/// A proof whose stateless checks passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key: `cnf.jkt`.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    /// The `nonce` claim, if any; the caller checks it against its nonces.
    pub nonce: Option<String>,
}

impl Proof {
    /// The `one-time.mark-used` key of this proof: `jti` values are the
    /// signer's choice, so they are kept apart per key.
    pub fn replay_key(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.jkt.as_bytes());
        h.update(b"\0");
        h.update(self.jti.as_bytes());
        b64::encode(h.finalize())
    }

    /// Until when the `jti` must be remembered: after this the proof is
    /// refused as too old anyway.
    pub fn replay_expires_at(&self) -> i64 {
        self.iat.saturating_add(MAX_AGE).saturating_add(1)
    }
}

/// The `one-time` namespace of proof `jti`s, shared by every endpoint that
/// takes proofs: a proof used at one is used at all.
pub const JTI_NAMESPACE: &str = "dpop-jti";

/// What the stateful checks of a proof need from op-store; failures are
/// already logged `server_error`s.
pub trait ProofState {
    /// `dpop.check-nonce`.
    fn check_nonce(&self, nonce: &str, now: i64) -> Result<bool, OAuthError>;
    /// `one-time.mark-used`: true for the first use.
    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, OAuthError>;
}

/// A proof sent to the authorization server (`/token`, `/as/par`): the
/// stateless checks of [`verify`], then [`use_proof`].
pub fn check_proof(
    header: &str,
    expected: &Expected<'_>,
    require_nonce: bool,
    state: &impl ProofState,
) -> Result<Proof, OAuthError> {
    let proof = verify(header, expected)?;
    use_proof(&proof, expected.now, require_nonce, state)?;
    Ok(proof)
}

/// The stateful checks of a verified proof, for every endpoint that takes
/// proofs: when `require_nonce`, a nonce op-store issued (§8, §9; otherwise
/// `use_dpop_nonce`, which the endpoint answers with a fresh `DPoP-Nonce`),
/// then the single use of its `jti` (§11.1): of any number of requests
/// carrying one proof, at most one gets past here.
pub fn use_proof(
    proof: &Proof,
    now: i64,
    require_nonce: bool,
    state: &impl ProofState,
) -> Result<(), OAuthError> {
    if require_nonce {
        let valid = match &proof.nonce {
            Some(n) => state.check_nonce(n, now)?,
            None => false,
        };
        if !valid {
            return Err(OAuthError::with_description(
                ErrorCode::UseDpopNonce,
                "the DPoP proof must carry the nonce of the DPoP-Nonce header",
            ));
        }
    }
    if !state.mark_used(
        JTI_NAMESPACE,
        &proof.replay_key(),
        proof.replay_expires_at(),
        now,
    )? {
        return Err(invalid_proof("the DPoP proof was already used"));
    }
    Ok(())
}

/// `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token.
pub fn ath(access_token: &str) -> String {
    b64::encode(Sha256::digest(access_token.as_bytes()))
}

pub fn invalid_proof(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidDpopProof, description)
}

/// Checks one proof (the value of the single `DPoP` header).
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, OAuthError> {
    if proof.is_empty() || proof.len() > MAX_PROOF_LEN {
        return Err(invalid_proof("the DPoP proof is empty or too long"));
    }
    let jws = Compact::parse(proof).map_err(|e| match e {
        authrim_jose::JoseError::UnsupportedAlg(_) => {
            invalid_proof("the DPoP proof alg is not supported")
        }
        _ => invalid_proof("the DPoP proof is not a well-formed JWT"),
    })?;
    if jws.typ() != Some(DPOP_TYP) {
        return Err(invalid_proof("the DPoP proof typ must be dpop+jwt"));
    }
    if !DPOP_ALGS.contains(&jws.alg) {
        return Err(invalid_proof("the DPoP proof alg is not supported"));
    }
    let jwk = match jws.header.get("jwk") {
        Some(Value::Object(obj)) => Jwk::from_object(obj).map_err(|e| match e {
            authrim_jose::JoseError::Key("JWK carries private members") => {
                invalid_proof("the DPoP proof jwk must not contain a private key")
            }
            _ => invalid_proof("the DPoP proof jwk is not a usable public key"),
        })?,
        _ => return Err(invalid_proof("the DPoP proof has no jwk header")),
    };
    if !jwk.key.fits(jws.alg) {
        return Err(invalid_proof("the DPoP proof jwk does not fit its alg"));
    }
    // The header's `jwk` is checked only against the header alg: `alg` and
    // `use` members inside it restrict it as in any JWK.
    jws.verify(&jwk, DPOP_ALGS)
        .map_err(|_| invalid_proof("the DPoP proof signature does not verify"))?;

    let claims = match serde_json::from_slice::<Value>(&jws.payload) {
        Ok(Value::Object(map)) => map,
        _ => return Err(invalid_proof("the DPoP proof claims are not a JSON object")),
    };
    let jti =
        string_claim(&claims, "jti")?.ok_or_else(|| invalid_proof("the DPoP proof has no jti"))?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(invalid_proof("the DPoP proof jti is empty or too long"));
    }
    let htm =
        string_claim(&claims, "htm")?.ok_or_else(|| invalid_proof("the DPoP proof has no htm"))?;
    if htm != expected.method {
        return Err(invalid_proof(
            "the DPoP proof htm does not match the request",
        ));
    }
    let htu =
        string_claim(&claims, "htu")?.ok_or_else(|| invalid_proof("the DPoP proof has no htu"))?;
    match (normalize_htu(htu), normalize_htu(expected.uri)) {
        (Some(a), Some(b)) if a == b => {}
        _ => {
            return Err(invalid_proof(
                "the DPoP proof htu does not match the request",
            ))
        }
    }
    let iat = match claims.get("iat") {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or_else(|| invalid_proof("the DPoP proof iat is not a number"))?,
        Some(_) => return Err(invalid_proof("the DPoP proof iat is not a number")),
        None => return Err(invalid_proof("the DPoP proof has no iat")),
    };
    if iat > expected.now.saturating_add(MAX_SKEW) {
        return Err(invalid_proof("the DPoP proof iat is in the future"));
    }
    if iat < expected.now.saturating_sub(MAX_AGE) {
        return Err(invalid_proof("the DPoP proof is too old"));
    }
    let ath_claim = string_claim(&claims, "ath")?;
    if let Some(token) = expected.access_token {
        let want = ath(token);
        match ath_claim {
            Some(got)
                if authrim_protocol::secret::constant_time_eq(got.as_bytes(), want.as_bytes()) => {}
            Some(_) => {
                return Err(invalid_proof(
                    "the DPoP proof ath does not match the access token",
                ))
            }
            None => return Err(invalid_proof("the DPoP proof has no ath")),
        }
    }
    let nonce = string_claim(&claims, "nonce")?;
    if nonce.is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(invalid_proof("the DPoP proof nonce is too long"));
    }
    Ok(Proof {
        jkt: jwk.key.thumbprint(),
        jti: jti.to_string(),
        iat,
        nonce: nonce.map(str::to_string),
    })
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, OAuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid_proof("a DPoP proof claim has the wrong type")),
    }
}

/// `htu` for comparison (RFC 9449 §4.3 step 9): without query and
/// fragment, scheme and host lowercased, the scheme's default port
/// dropped, an empty path as `/`, percent-encodings of unreserved
/// characters decoded and the others uppercased (RFC 3986 §6.2.2.1,
/// 6.2.2.2, 6.2.3). `None` for anything but an absolute http(s) URI.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let uri = uri.split(['#', '?']).next().unwrap_or("");
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut authority = authority.to_ascii_lowercase();
    if let Some(host) = authority.strip_suffix(&format!(":{default_port}")) {
        authority = host.to_string();
    }
    let authority = authority
        .strip_suffix(':')
        .map(str::to_string)
        .unwrap_or(authority);
    Some(format!(
        "{scheme}://{authority}{}",
        normalize_percent(path)?
    ))
}

fn normalize_percent(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                out.push(v as char);
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    // Non-ASCII bytes were pushed one by one above; refuse them instead of
    // mangling (a request target is ASCII).
    path.is_ascii().then_some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use authrim_jose::SigningKey;
    use serde_json::json;

    const URI: &str = "https://op.example.com/token";
    const NOW: i64 = 1_700_000_000;

    /// A signed proof with `header` (alg, typ and jwk filled in unless
    /// given) and `claims`.
    pub fn sign(key: &SigningKey, header: Value, claims: Value) -> String {
        let mut h = json!({
            "typ": DPOP_TYP,
            "alg": key.alg().as_str(),
            "jwk": serde_json::from_str::<Value>(&key.public_key().to_jwk_json("k", key.alg())).unwrap(),
        });
        for (k, v) in header.as_object().unwrap() {
            if v.is_null() {
                h.as_object_mut().unwrap().remove(k);
            } else {
                h[k] = v.clone();
            }
        }
        let input = format!(
            "{}.{}",
            b64::encode(h.to_string()),
            b64::encode(claims.to_string())
        );
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    fn claims() -> Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URI, "iat": NOW})
    }

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            uri: URI,
            access_token: None,
            now: NOW,
        }
    }

    fn with(claims_patch: Value) -> Value {
        let mut c = claims();
        for (k, v) in claims_patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn es() -> SigningKey {
        SigningKey::generate(Alg::ES256).unwrap()
    }

    #[test]
    fn accepts_valid_proofs_of_both_algs() {
        for key in [es(), authrim_jose::test_keys::rsa()] {
            let p = verify(&sign(&key, json!({}), claims()), &expected()).unwrap();
            assert_eq!(p.jkt, key.public_key().thumbprint());
            assert_eq!(p.jti, "j-1");
            assert_eq!(p.iat, NOW);
            assert_eq!(p.nonce, None);
            assert_eq!(p.replay_expires_at(), NOW + MAX_AGE + 1);
        }
    }

    /// One-time marks and a single valid nonce, as op-store keeps them.
    #[derive(Default)]
    struct Marks(std::cell::RefCell<Vec<(String, String)>>);

    impl ProofState for Marks {
        fn check_nonce(&self, nonce: &str, _now: i64) -> Result<bool, OAuthError> {
            Ok(nonce == "good-nonce")
        }
        fn mark_used(&self, ns: &str, key: &str, _: i64, _: i64) -> Result<bool, OAuthError> {
            let mut m = self.0.borrow_mut();
            let entry = (ns.to_string(), key.to_string());
            if m.contains(&entry) {
                return Ok(false);
            }
            m.push(entry);
            Ok(true)
        }
    }

    #[test]
    fn check_proof_adds_nonce_and_single_use() {
        let key = es();
        let marks = Marks::default();
        let proof = sign(&key, json!({}), claims());
        let p = check_proof(&proof, &expected(), false, &marks).unwrap();
        assert_eq!(
            *marks.0.borrow(),
            vec![(JTI_NAMESPACE.to_string(), p.replay_key())]
        );
        let e = check_proof(&proof, &expected(), false, &marks).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidDpopProof);
        // With nonces required: none or a wrong one is use_dpop_nonce and
        // uses nothing up; the right one passes once.
        for nonce in [Value::Null, json!("bad")] {
            let proof = sign(&key, json!({}), with(json!({"jti": "j-2", "nonce": nonce})));
            let e = check_proof(&proof, &expected(), true, &marks).unwrap_err();
            assert_eq!(e.code, ErrorCode::UseDpopNonce);
        }
        assert_eq!(marks.0.borrow().len(), 1);
        let proof = sign(
            &key,
            json!({}),
            with(json!({"jti": "j-2", "nonce": "good-nonce"})),
        );
        check_proof(&proof, &expected(), true, &marks).unwrap();
        // A proof failing the stateless checks is refused before any state.
        let bad = sign(&key, json!({}), with(json!({"jti": "j-3", "htm": "GET"})));
        assert!(check_proof(&bad, &expected(), false, &marks).is_err());
        assert_eq!(marks.0.borrow().len(), 2);
    }

    #[test]
    fn ath_and_nonce() {
        let key = es();
        let token = "eyJ.access.token";
        let exp = Expected {
            access_token: Some(token),
            ..expected()
        };
        let good = sign(
            &key,
            json!({}),
            with(json!({"ath": ath(token), "nonce": "n1"})),
        );
        assert_eq!(verify(&good, &exp).unwrap().nonce.as_deref(), Some("n1"));
        // RFC 9449 §7.1 example: ath of the example token.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        for bad in [json!({"ath": ath("other")}), json!({})] {
            let p = sign(&key, json!({}), with(bad));
            assert_eq!(
                verify(&p, &exp).unwrap_err().code,
                ErrorCode::InvalidDpopProof
            );
        }
    }

    #[test]
    fn refuses_each_broken_rule() {
        let key = es();
        let private = {
            let mut jwk: Value =
                serde_json::from_str(&key.public_key().to_jwk_json("k", Alg::ES256)).unwrap();
            jwk["d"] = json!("AAAA");
            jwk
        };
        let rsa_jwk: Value = serde_json::from_str(
            &authrim_jose::test_keys::rsa()
                .public_key()
                .to_jwk_json("r", Alg::RS256),
        )
        .unwrap();
        let table: Vec<(&str, String)> = vec![
            ("no typ", sign(&key, json!({"typ": null}), claims())),
            ("wrong typ", sign(&key, json!({"typ": "JWT"}), claims())),
            ("no jwk", sign(&key, json!({"jwk": null}), claims())),
            ("private jwk", sign(&key, json!({"jwk": private}), claims())),
            ("other key", sign(&key, json!({"jwk": rsa_jwk}), claims())),
            ("no jti", sign(&key, json!({}), with(json!({"jti": null})))),
            ("empty jti", sign(&key, json!({}), with(json!({"jti": ""})))),
            (
                "long jti",
                sign(&key, json!({}), with(json!({"jti": "x".repeat(300)}))),
            ),
            ("no htm", sign(&key, json!({}), with(json!({"htm": null})))),
            (
                "wrong htm",
                sign(&key, json!({}), with(json!({"htm": "GET"}))),
            ),
            (
                "htm case",
                sign(&key, json!({}), with(json!({"htm": "post"}))),
            ),
            ("no htu", sign(&key, json!({}), with(json!({"htu": null})))),
            (
                "wrong htu",
                sign(
                    &key,
                    json!({}),
                    with(json!({"htu": "https://op.example.com/userinfo"})),
                ),
            ),
            (
                "other host",
                sign(
                    &key,
                    json!({}),
                    with(json!({"htu": "https://evil.example/token"})),
                ),
            ),
            ("no iat", sign(&key, json!({}), with(json!({"iat": null})))),
            (
                "string iat",
                sign(&key, json!({}), with(json!({"iat": "1"}))),
            ),
            (
                "stale iat",
                sign(&key, json!({}), with(json!({"iat": NOW - MAX_AGE - 1}))),
            ),
            (
                "future iat",
                sign(&key, json!({}), with(json!({"iat": NOW + MAX_SKEW + 1}))),
            ),
            ("number jti", sign(&key, json!({}), with(json!({"jti": 5})))),
            (
                "long nonce",
                sign(&key, json!({}), with(json!({"nonce": "n".repeat(300)}))),
            ),
            ("HS256", sign(&key, json!({"alg": "HS256"}), claims())),
            (
                "none",
                "eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.".to_string(),
            ),
            ("malformed", "not.a.jwt".to_string()),
            ("two parts", "a.b".to_string()),
            ("empty", String::new()),
            ("oversized", "a".repeat(MAX_PROOF_LEN + 1)),
        ];
        for (name, proof) in table {
            let err = verify(&proof, &expected()).expect_err(name);
            assert_eq!(err.code, ErrorCode::InvalidDpopProof, "{name}");
        }
        // A flipped signature byte.
        let good = sign(&key, json!({}), claims());
        let (head, sig) = good.rsplit_once('.').unwrap();
        let mut sig = b64::decode(sig).unwrap();
        sig[5] ^= 1;
        let bad = format!("{head}.{}", b64::encode(sig));
        assert_eq!(
            verify(&bad, &expected())
                .unwrap_err()
                .description
                .as_deref(),
            Some("the DPoP proof signature does not verify")
        );
    }

    #[test]
    fn window_edges() {
        let key = es();
        for iat in [NOW - MAX_AGE, NOW + MAX_SKEW] {
            let p = sign(&key, json!({}), with(json!({"iat": iat})));
            assert!(verify(&p, &expected()).is_ok(), "{iat}");
        }
    }

    #[test]
    fn htu_normalisation() {
        let same = [
            "https://op.example.com/token",
            "HTTPS://OP.Example.COM/token",
            "https://op.example.com:443/token",
            "https://op.example.com/token?x=1",
            "https://op.example.com/token#f",
            "https://op.example.com/%74oken",
        ];
        for u in same {
            assert_eq!(
                normalize_htu(u).as_deref(),
                Some("https://op.example.com/token"),
                "{u}"
            );
        }
        assert_eq!(normalize_htu("http://h:80").as_deref(), Some("http://h/"));
        assert_eq!(
            normalize_htu("http://h:8080/a%2fb").as_deref(),
            Some("http://h:8080/a%2Fb")
        );
        for bad in [
            "",
            "op.example.com/token",
            "ftp://h/x",
            "https:///x",
            "https://u@h/x",
            "https://h/%zz",
            "https://h/é",
        ] {
            assert_eq!(normalize_htu(bad), None, "{bad}");
        }
        // The path is case-sensitive.
        assert_ne!(
            normalize_htu("https://h/Token"),
            normalize_htu("https://h/token")
        );
    }

    #[test]
    fn replay_keys_are_per_key() {
        let a = Proof {
            jkt: "a".into(),
            jti: "1".into(),
            iat: 0,
            nonce: None,
        };
        let b = Proof {
            jkt: "b".into(),
            ..a.clone()
        };
        assert_ne!(a.replay_key(), b.replay_key());
        assert_eq!(a.replay_key(), a.clone().replay_key());
    }
}
