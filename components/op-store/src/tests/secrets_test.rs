use authrim_jose::seal::MasterKey;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::*;
use crate::keys::master_key_from_secret;
use crate::testing::TestDb;
use crate::StoreError;

const MASTER: &str = "0123456789abcdef0123456789abcdef";
/// 43 characters, like `random_token()`: long enough for HS256 only.
const SHORT: &str = "aVeryRandomClientSecretOf43CharactersLength";
/// 64 characters: long enough for HS512.
const LONG: &str = "0123456789012345678901234567890123456789012345678901234567890123";

fn master() -> Result<MasterKey, StoreError> {
    master_key_from_secret(MASTER)
}

fn other_master() -> Result<MasterKey, StoreError> {
    master_key_from_secret("another master key, long enough!")
}

fn no_master() -> Result<MasterKey, StoreError> {
    Err(StoreError::Unavailable("master_key is not set".into()))
}

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mac(alg: &str, key: &str, input: &[u8]) -> Vec<u8> {
    match alg {
        "HS256" => {
            let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
            m.update(input);
            m.finalize().into_bytes().to_vec()
        }
        "HS384" => {
            let mut m = Hmac::<Sha384>::new_from_slice(key.as_bytes()).unwrap();
            m.update(input);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = Hmac::<Sha512>::new_from_slice(key.as_bytes()).unwrap();
            m.update(input);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn verify(db: &TestDb, id: &str, alg: &str, input: &[u8], m: &[u8]) -> bool {
    clients::verify_secret_mac(db, &master, id, alg, input, m).unwrap()
}

#[test]
fn set_secret_stores_the_hash_and_seals_only_for_mac() {
    let db = TestDb::new();
    client(&db, "c1");
    clients::set_secret(&db, &no_master, "c1", SHORT, false, NOW + 1).unwrap();
    let c = clients::get(&db, "c1").unwrap().unwrap();
    assert_eq!(
        c.secret_hash,
        Some(hex_sha256(SHORT)),
        "hash_token of the secret"
    );
    assert_eq!(c.updated_at, NOW + 1);
    assert_eq!(
        db.count("SELECT count(*) FROM clients WHERE secret_sealed IS NULL"),
        1
    );

    clients::set_secret(&db, &master, "c1", SHORT, true, NOW + 2).unwrap();
    let sealed: Vec<u8> =
        db.0.query_row("SELECT secret_sealed FROM clients", [], |r| r.get(0))
            .unwrap();
    assert!(
        !sealed.windows(SHORT.len()).any(|w| w == SHORT.as_bytes()),
        "the secret is not stored in the clear"
    );
    assert_eq!(sealed.len(), 12 + SHORT.len() + 16);

    // Without keep-for-mac the sealed copy goes.
    clients::set_secret(&db, &master, "c1", LONG, false, NOW + 3).unwrap();
    assert_eq!(
        db.count("SELECT count(*) FROM clients WHERE secret_sealed IS NULL"),
        1
    );
    assert!(!verify(
        &db,
        "c1",
        "HS256",
        b"x",
        &mac("HS256", SHORT, b"x")
    ));
}

#[test]
fn set_secret_errors() {
    let db = TestDb::new();
    client(&db, "c1");
    assert_eq!(
        clients::set_secret(&db, &master, "nope", SHORT, true, NOW),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        clients::set_secret(&db, &master, "nope", SHORT, false, NOW),
        Err(StoreError::NotFound)
    );
    assert!(matches!(
        clients::set_secret(&db, &master, "c1", "", false, NOW),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        clients::set_secret(&db, &no_master, "c1", SHORT, true, NOW),
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(
        clients::get(&db, "c1")
            .unwrap()
            .unwrap()
            .secret_hash
            .as_deref(),
        Some("h"),
        "failed calls change nothing"
    );
}

#[test]
fn verify_secret_mac_per_alg_and_key_length() {
    let db = TestDb::new();
    client(&db, "short");
    client(&db, "long");
    clients::set_secret(&db, &master, "short", SHORT, true, NOW).unwrap();
    clients::set_secret(&db, &master, "long", LONG, true, NOW).unwrap();
    let input = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjMSJ9";
    for alg in ["HS256", "HS384", "HS512"] {
        assert!(
            verify(&db, "long", alg, input, &mac(alg, LONG, input)),
            "{alg}"
        );
        let mut bad = mac(alg, LONG, input);
        bad[0] ^= 1;
        assert!(!verify(&db, "long", alg, input, &bad), "{alg} altered mac");
        assert!(
            !verify(&db, "long", alg, input, &bad[..bad.len() - 1]),
            "{alg} truncated"
        );
        assert!(!verify(&db, "long", alg, input, &[]), "{alg} empty");
        assert!(
            !verify(&db, "long", alg, b"other input", &mac(alg, LONG, input)),
            "{alg}"
        );
        assert!(
            !verify(&db, "long", alg, input, &mac(alg, SHORT, input)),
            "{alg} wrong key"
        );
    }
    assert!(verify(
        &db,
        "short",
        "HS256",
        input,
        &mac("HS256", SHORT, input)
    ));
    // RFC 7518 §3.2: a 43-byte key is too short for HS384 and HS512.
    for alg in ["HS384", "HS512"] {
        assert!(
            !verify(&db, "short", alg, input, &mac(alg, SHORT, input)),
            "{alg}"
        );
    }
    assert!(
        !verify(&db, "nope", "HS256", input, &mac("HS256", SHORT, input)),
        "unknown client"
    );
    for alg in ["RS256", "none", "hs256", ""] {
        assert!(matches!(
            clients::verify_secret_mac(&db, &master, "long", alg, input, b"m"),
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        clients::verify_secret_mac(
            &db,
            &other_master,
            "long",
            "HS256",
            input,
            &mac("HS256", LONG, input)
        ),
        Err(StoreError::Unavailable(_))
    ));
}

/// A sealed secret copied to another client's row does not open there.
#[test]
fn sealed_secret_is_bound_to_its_client() {
    let db = TestDb::new();
    client(&db, "c1");
    client(&db, "c2");
    clients::set_secret(&db, &master, "c1", LONG, true, NOW).unwrap();
    db.0.execute(
        "UPDATE clients SET secret_sealed = (SELECT secret_sealed FROM clients WHERE client_id = 'c1')
         WHERE client_id = 'c2'",
        [],
    )
    .unwrap();
    assert!(matches!(
        clients::verify_secret_mac(&db, &master, "c2", "HS256", b"x", &mac("HS256", LONG, b"x")),
        Err(StoreError::Unavailable(_))
    ));
}

/// `update` keeps the sealed secret only while the secret hash stays.
#[test]
fn update_drops_a_stale_sealed_secret() {
    let db = TestDb::new();
    client(&db, "c1");
    clients::set_secret(&db, &master, "c1", LONG, true, NOW).unwrap();
    let mut c = clients::get(&db, "c1").unwrap().unwrap();
    c.metadata_json = r#"{"redirect_uris":["https://rp.example/other"]}"#.into();
    clients::update(&db, &c).unwrap();
    assert!(
        verify(&db, "c1", "HS256", b"x", &mac("HS256", LONG, b"x")),
        "same hash: kept"
    );

    c.secret_hash = Some(hex_sha256("a new secret"));
    clients::update(&db, &c).unwrap();
    assert!(
        !verify(&db, "c1", "HS256", b"x", &mac("HS256", LONG, b"x")),
        "new hash: dropped"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM clients WHERE secret_sealed IS NULL"),
        1
    );
}
