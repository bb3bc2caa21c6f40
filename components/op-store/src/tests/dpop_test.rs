use super::*;
use crate::dpop::{check_access_token, check_nonce, nonce, record_access_token, NONCE_WINDOW};
use crate::StoreError;

fn token(hash: &str) -> AccessToken {
    AccessToken {
        token_hash: hash.into(),
        grant_id: "g1".into(),
        expires_at: NOW + 600,
    }
}

#[test]
fn bound_and_bearer_tokens() {
    let db = world();
    record_access_token(&db, &token("b1"), Some("jkt-1")).unwrap();
    let bound = check_access_token(&db, "b1", NOW).unwrap().unwrap();
    assert_eq!(bound.jkt.as_deref(), Some("jkt-1"));
    assert_eq!(bound.grant, grants::get(&db, "g1").unwrap().unwrap());
    // A token recorded through `grants` is a bearer token.
    let bearer = check_access_token(&db, "a1", NOW).unwrap().unwrap();
    assert_eq!(bearer.jkt, None);
    // Liveness is the same as `grants.check-access-token`.
    assert!(check_access_token(&db, "b1", NOW + 601).unwrap().is_none());
    assert!(check_access_token(&db, "nope", NOW).unwrap().is_none());
    grants::revoke(&db, "g1", NOW).unwrap();
    assert!(check_access_token(&db, "b1", NOW).unwrap().is_none());
    assert!(matches!(
        record_access_token(&db, &token("b1"), None),
        Err(StoreError::Conflict(_))
    ));
    let orphan = AccessToken {
        grant_id: "nope".into(),
        ..token("b2")
    };
    assert!(matches!(
        record_access_token(&db, &orphan, Some("j")),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn nonces_live_one_to_two_windows() {
    let key = [7u8; 32];
    let start = NOW - NOW.rem_euclid(NONCE_WINDOW);
    let n = nonce(&key, start).unwrap();
    assert_eq!(n, nonce(&key, start + NONCE_WINDOW - 1).unwrap());
    assert!(check_nonce(&key, &n, start));
    assert!(check_nonce(&key, &n, start + 2 * NONCE_WINDOW - 1));
    assert!(!check_nonce(&key, &n, start + 2 * NONCE_WINDOW));
    assert!(!check_nonce(&key, &n, start - 1), "not before its window");
    assert!(!check_nonce(&[8u8; 32], &n, start), "other key");
    let mut forged = authrim_jose::b64::decode(&n).unwrap();
    forged[10] ^= 1;
    for bad in [
        authrim_jose::b64::encode(&forged),
        String::new(),
        "!!".into(),
        n[..n.len() - 2].to_string(),
    ] {
        assert!(!check_nonce(&key, &bad, start), "{bad}");
    }
}
