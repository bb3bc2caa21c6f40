use std::cell::Cell;

use authrim_jose::jws::Compact;
use authrim_jose::seal::MasterKey;
use authrim_jose::{test_keys, Alg, Jwks, SigningKey};

use super::NOW;
use crate::keys::{self, master_key_from_secret, KeyEnv};
use crate::testing::{race, TestDb};
use crate::StoreError;

const SECRET: &str = "test master key: 32 bytes or more, never used in production";

/// Key generation for tests: the fixed RSA key (generation is slow
/// unoptimised), fresh P-256 keys; counts calls.
struct Env {
    now: Cell<i64>,
    secret: &'static str,
    generated: Cell<u32>,
}

impl Env {
    fn new() -> Self {
        Env {
            now: Cell::new(NOW),
            secret: SECRET,
            generated: Cell::new(0),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&KeyEnv<'_>) -> T) -> T {
        let master = || master_key_from_secret(self.secret);
        let generate = |alg: Alg| -> Result<SigningKey, StoreError> {
            self.generated.set(self.generated.get() + 1);
            Ok(match alg {
                Alg::RS256 => test_keys::rsa(),
                Alg::ES256 => SigningKey::generate(Alg::ES256).unwrap(),
            })
        };
        f(&KeyEnv {
            now: self.now.get(),
            master_key: &master,
            generate: &generate,
        })
    }
}

fn verify(db: &TestDb, env: &Env, token: &str) -> Compact {
    let jwks = Jwks::parse(&env.with(|e| keys::jwks(db, e)).unwrap()).unwrap();
    let parsed = Compact::parse(token).unwrap();
    let jwk = jwks
        .select(parsed.kid(), parsed.alg)
        .expect("signing key is published");
    parsed.verify(jwk, &[Alg::RS256, Alg::ES256]).unwrap();
    parsed
}

#[test]
fn ensure_keys_creates_one_key_per_alg_once() {
    let db = TestDb::new();
    let env = Env::new();
    let first = env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first
        .iter()
        .all(|k| k.signing && k.activates_at == NOW && k.publish_until.is_none()));
    assert_eq!(
        first.iter().find(|k| k.alg == "RS256").unwrap().kid,
        test_keys::rsa().kid()
    );
    let again = env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    assert_eq!(first, again);
    assert_eq!(env.generated.get(), 2, "no key generated once they exist");
    assert_eq!(db.count("SELECT count(*) FROM signing_keys"), 2);
}

#[test]
fn jwks_is_public_only_and_verifies_what_we_sign() {
    let db = TestDb::new();
    let env = Env::new();
    let jwks = env.with(|e| keys::jwks(&db, e)).unwrap(); // creates the keys
    for private in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
        assert!(!jwks.contains(private), "{private} in {jwks}");
    }
    let set = Jwks::parse(&jwks).unwrap();
    // Two signing keys, then the encryption key (`use: enc`, kid `enc-…`).
    assert_eq!(set.keys.len(), 3);
    assert_eq!(set.keys[2].use_.as_deref(), Some("enc"));
    for k in &set.keys[..2] {
        assert_eq!(k.use_.as_deref(), Some("sig"));
        assert_eq!(
            k.kid.as_deref(),
            Some(k.key.thumbprint().as_str()),
            "kid is the RFC 7638 thumbprint"
        );
    }

    let claims = r#"{"iss":"https://op.example","sub":"u1","aud":"c1"}"#;
    for (alg, sig_len) in [("RS256", 256), ("ES256", 64)] {
        let token = env
            .with(|e| keys::sign_jwt(&db, e, alg, Some("JWT"), claims))
            .unwrap();
        let parsed = verify(&db, &env, &token);
        assert_eq!(parsed.alg.as_str(), alg);
        assert_eq!(parsed.typ(), Some("JWT"));
        assert_eq!(parsed.payload, claims.as_bytes());
        let sig = token.rsplit('.').next().unwrap();
        assert_eq!(authrim_jose::b64::decode(sig).unwrap().len(), sig_len);
    }
    let no_typ = env
        .with(|e| keys::sign_jwt(&db, e, "ES256", None, "{}"))
        .unwrap();
    assert_eq!(verify(&db, &env, &no_typ).typ(), None);
}

#[test]
fn sign_jwt_refuses_bad_input() {
    let db = TestDb::new();
    let env = Env::new();
    for (alg, claims) in [
        ("HS256", "{}"),
        ("none", "{}"),
        ("rs256", "{}"),
        ("RS256", "[]"),
        ("RS256", "{"),
        ("ES256", ""),
    ] {
        assert!(
            matches!(
                env.with(|e| keys::sign_jwt(&db, e, alg, None, claims)),
                Err(StoreError::Invalid(_))
            ),
            "{alg} {claims}"
        );
    }
    assert!(matches!(
        env.with(|e| keys::rotate(&db, e, "PS256", 0, 0)),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        env.with(|e| keys::rotate(&db, e, "ES256", -1, 0)),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn master_key_rules_and_sealing() {
    let db = TestDb::new();
    let mut env = Env::new();
    env.secret = "too short";
    match env.with(|e| keys::ensure_keys(&db, e)) {
        Err(StoreError::Unavailable(m)) => assert!(
            m.starts_with("master_key") && !m.contains("too short"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.generated.get(),
        0,
        "no key generated without a usable master key"
    );

    env.secret = SECRET;
    env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    // The private key at rest is sealed: not the PKCS#8 bytes, and only the
    // right master key opens it, for the right kid and alg.
    let (kid, sealed): (String, Vec<u8>) =
        db.0.query_row(
            "SELECT kid, private_key FROM signing_keys WHERE alg = 'RS256'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!sealed
        .windows(32)
        .any(|w| test_keys::RSA_2048_PKCS8.windows(32).any(|p| p == w)));
    let master = MasterKey::from_secret(SECRET).unwrap();
    assert_eq!(
        &master.open(&kid, Alg::RS256, &sealed).unwrap()[..],
        test_keys::RSA_2048_PKCS8
    );

    env.secret = "another master key that is long enough to pass";
    match env.with(|e| keys::sign_jwt(&db, e, "RS256", None, "{}")) {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("cannot be decrypted"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// Swapping the sealed private keys of two rows makes signing fail: the
/// associated data binds each ciphertext to its kid and alg.
#[test]
fn swapped_rows_do_not_decrypt() {
    let db = TestDb::new();
    let env = Env::new();
    env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    env.now.set(NOW + 10);
    env.with(|e| keys::rotate(&db, e, "ES256", 0, 3600))
        .unwrap();
    db.0.execute_batch(
        "UPDATE signing_keys SET private_key = (SELECT private_key FROM signing_keys WHERE alg = 'RS256')
         WHERE alg = 'ES256' AND activates_at = 1700000010",
    )
    .unwrap();
    assert!(matches!(
        env.with(|e| keys::sign_jwt(&db, e, "ES256", None, "{}")),
        Err(StoreError::Unavailable(_))
    ));
    assert!(env
        .with(|e| keys::sign_jwt(&db, e, "RS256", None, "{}"))
        .is_ok());
}

#[test]
fn rotation_publishes_before_signing_and_retires_after_retention() {
    let db = TestDb::new();
    let env = Env::new();
    env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    let old = keys::list_keys(&db, NOW)
        .unwrap()
        .into_iter()
        .find(|k| k.alg == "ES256")
        .unwrap();

    env.now.set(NOW + 100);
    let new = env
        .with(|e| keys::rotate(&db, e, "ES256", 600, 3600))
        .unwrap();
    assert_eq!(
        (new.activates_at, new.created_at, new.signing),
        (NOW + 700, NOW + 100, false)
    );
    assert!(
        matches!(
            env.with(|e| keys::rotate(&db, e, "ES256", 600, 3600)),
            Err(StoreError::Conflict(_))
        ),
        "one scheduled key at a time"
    );

    let signer = |now| {
        env.now.set(now);
        let token = env
            .with(|e| keys::sign_jwt(&db, e, "ES256", None, "{}"))
            .unwrap();
        Compact::parse(&token).unwrap().kid().unwrap().to_owned()
    };
    let published = |now| {
        env.now.set(now);
        let set = Jwks::parse(&env.with(|e| keys::jwks(&db, e)).unwrap()).unwrap();
        set.keys
            .into_iter()
            .filter(|k| k.alg.as_deref() == Some("ES256"))
            .map(|k| k.kid.unwrap())
            .collect::<Vec<_>>()
    };

    // Published at once, newest first; the old key still signs.
    assert_eq!(published(NOW + 100), [new.kid.clone(), old.kid.clone()]);
    assert_eq!(signer(NOW + 699), old.kid);
    // From activation on, the new key signs; the old one stays published.
    assert_eq!(signer(NOW + 700), new.kid);
    assert_eq!(
        published(NOW + 700 + 3599),
        [new.kid.clone(), old.kid.clone()]
    );
    // Retention over: the old key leaves the JWKS.
    assert_eq!(published(NOW + 700 + 3600), std::slice::from_ref(&new.kid));

    let listed = keys::list_keys(&db, NOW + 700).unwrap();
    let es: Vec<_> = listed.iter().filter(|k| k.alg == "ES256").collect();
    assert_eq!(es[0].kid, new.kid);
    assert!(es[0].signing && !es[1].signing);
    assert_eq!(es[1].publish_until, Some(NOW + 700 + 3600));
    assert!(
        listed.iter().any(|k| k.alg == "RS256" && k.signing),
        "other algs unaffected"
    );
    let rs = listed.iter().find(|k| k.alg == "RS256").unwrap();
    assert_eq!(rs.publish_until, None);
}

/// An immediate rotation in the same second as the key it replaces still
/// yields one unambiguous signing key: the new one activates a second later.
#[test]
fn immediate_rotation_in_the_same_second_orders_keys() {
    let db = TestDb::new();
    let env = Env::new();
    env.with(|e| keys::ensure_keys(&db, e)).unwrap();
    let new = env
        .with(|e| keys::rotate(&db, e, "ES256", 0, 3600))
        .unwrap();
    assert_eq!(new.activates_at, NOW + 1);
    env.now.set(NOW + 1);
    let token = env
        .with(|e| keys::sign_jwt(&db, e, "ES256", None, "{}"))
        .unwrap();
    assert_eq!(
        Compact::parse(&token).unwrap().kid(),
        Some(new.kid.as_str())
    );
    // A later immediate rotation activates at once.
    env.now.set(NOW + 10);
    let third = env
        .with(|e| keys::rotate(&db, e, "ES256", 0, 3600))
        .unwrap();
    assert_eq!((third.activates_at, third.signing), (NOW + 10, true));
}

/// Four connections ensure keys at once on an empty database: one key per
/// algorithm, and everyone sees the same ones.
#[test]
fn concurrent_ensure_keys_creates_one_key_per_alg() {
    let path = TestDb::shared_file("keys");
    let results = race(&path, 4, |db, _| {
        let env = Env::new();
        env.with(|e| keys::ensure_keys(db, e)).unwrap()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    let db = TestDb::open(&path);
    assert_eq!(
        db.count("SELECT count(*) FROM signing_keys WHERE alg = 'ES256'"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM signing_keys WHERE alg = 'RS256'"),
        1
    );
}

#[test]
fn the_encryption_key_is_published_once_and_agrees() {
    use crate::enc_keys;
    let db = TestDb::new();
    let env = Env::new();
    let jwks = env.with(|e| keys::jwks(&db, e)).unwrap();
    assert_eq!(jwks, env.with(|e| keys::jwks(&db, e)).unwrap(), "stable");
    let parsed = Jwks::parse(&jwks).unwrap();
    let enc: Vec<_> = parsed
        .keys
        .iter()
        .filter(|k| k.use_.as_deref() == Some("enc"))
        .collect();
    assert_eq!(enc.len(), 1, "{jwks}");
    assert_eq!(enc[0].alg, None);
    assert!(!jwks.contains("\"d\""));
    let kid = enc[0].kid.clone().unwrap();
    // Never taken for a signature.
    let ours = parsed
        .keys
        .iter()
        .find(|k| k.kid.as_deref() == Some(&kid))
        .unwrap();
    assert!(!ours.allows(Alg::ES256));

    // Z from the store equals Z computed by the sender with the public key.
    let authrim_jose::PublicKey::P256 { x, y } = ours.key.clone() else {
        panic!("P-256")
    };
    let sender = SigningKey::generate(Alg::ES256).unwrap();
    let authrim_jose::PublicKey::P256 { x: ex, y: ey } = sender.public_key() else {
        panic!("P-256")
    };
    let z_sender = sender.ecdh(&x, &y).unwrap();
    let z_store = env
        .with(|e| enc_keys::agree(&db, e, Some(&kid), &ex, &ey))
        .unwrap();
    assert_eq!(&z_store[..], &z_sender[..]);
    assert_eq!(
        env.with(|e| enc_keys::agree(&db, e, None, &ex, &ey))
            .unwrap(),
        z_store
    );
    // Another kid, a point off the curve, short coordinates: invalid.
    for (kid, x, y) in [
        (Some("enc-other"), &ex[..], &ey[..]),
        (None, &[1u8; 32][..], &[2u8; 32][..]),
        (None, &ex[..31], &ey[..]),
    ] {
        let e = env
            .with(|e| enc_keys::agree(&db, e, kid, x, y))
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    }
    // The private key is sealed under the master key.
    let wrong = Env {
        secret: "another master key: 32 bytes or more, never used",
        ..Env::new()
    };
    let e = wrong
        .with(|e| enc_keys::agree(&db, e, None, &ex, &ey))
        .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
}

#[test]
fn concurrent_jwks_creates_one_encryption_key() {
    let path = TestDb::shared_file("enc-keys");
    let results = race(&path, 4, |db, _| {
        let env = Env::new();
        env.with(|e| crate::enc_keys::ensure(db, e)).unwrap()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    let db = TestDb::open(&path);
    assert_eq!(db.count("SELECT count(*) FROM encryption_keys"), 1);
}
