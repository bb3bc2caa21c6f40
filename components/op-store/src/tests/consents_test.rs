use super::*;
use crate::StoreError;

fn record(scope: &str, claims: &str, at: i64) -> Consent {
    Consent {
        user_id: "u1".into(),
        client_id: "c1".into(),
        scope: scope.into(),
        claims_json: claims.into(),
        granted_at: at,
    }
}

#[test]
fn put_get_and_replace() {
    let db = world();
    assert_eq!(consents::get(&db, "u1", "c1").unwrap(), None);
    consents::put(&db, &record("openid", r#"[ "email" , "name" ]"#, NOW)).unwrap();
    let c = consents::get(&db, "u1", "c1").unwrap().unwrap();
    assert_eq!(c.claims_json, r#"["email","name"]"#, "stored normalised");
    assert_eq!((c.scope.as_str(), c.granted_at), ("openid", NOW));

    consents::put(&db, &record("openid profile", "[]", NOW + 5)).unwrap();
    assert_eq!(
        consents::get(&db, "u1", "c1").unwrap(),
        Some(record("openid profile", "[]", NOW + 5)),
        "replaced, one row"
    );
    assert_eq!(db.count("SELECT count(*) FROM consents"), 1);
    assert_eq!(consents::get(&db, "u1", "c2").unwrap(), None);
}

#[test]
fn put_refuses_bad_input() {
    let db = world();
    for claims in ["", "{}", r#"["a",1]"#, r#"["a"] x"#, "null"] {
        assert!(
            matches!(
                consents::put(&db, &record("openid", claims, NOW)),
                Err(StoreError::Invalid(_))
            ),
            "{claims:?}"
        );
    }
    let mut unknown = record("openid", "[]", NOW);
    unknown.client_id = "nope".into();
    assert!(matches!(
        consents::put(&db, &unknown),
        Err(StoreError::Invalid(_))
    ));
    unknown.client_id = "c1".into();
    unknown.user_id = "nobody".into();
    assert!(matches!(
        consents::put(&db, &unknown),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(db.count("SELECT count(*) FROM consents"), 0);
}

/// Withdrawing consent revokes that user's grants for that client (with
/// their access tokens) and nothing else.
#[test]
fn revoke_revokes_the_users_grants_for_the_client() {
    let db = world();
    client(&db, "c2");
    user(&db, "u2");
    consent(&db, "u1", "c1");
    consent(&db, "u1", "c2");
    grants::create(
        &db,
        &grant_record("g2", "c2", Some("u1"), None),
        Some("r2"),
        NOW + 60,
    )
    .unwrap();
    access_token(&db, "a2", "g2");
    grants::create(
        &db,
        &grant_record("g3", "c1", Some("u2"), None),
        Some("r3"),
        NOW + 60,
    )
    .unwrap();
    access_token(&db, "a3", "g3");
    grants::create(&db, &grant_record("g4", "c1", None, None), None, 0).unwrap();
    access_token(&db, "a4", "g4");
    grants::create(
        &db,
        &grant_record("g5", "c1", Some("u1"), None),
        Some("r5"),
        NOW + 60,
    )
    .unwrap();

    assert!(consents::revoke(&db, "u1", "c1", NOW + 1).unwrap());
    assert_eq!(consents::get(&db, "u1", "c1").unwrap(), None);
    assert!(grants::check_access_token(&db, "a1", NOW + 1)
        .unwrap()
        .is_none());
    assert!(grants::find_by_refresh(&db, "r1", NOW + 1)
        .unwrap()
        .is_none());
    assert!(grants::find_by_refresh(&db, "r5", NOW + 1)
        .unwrap()
        .is_none());
    assert_eq!(
        grants::get(&db, "g1").unwrap().unwrap().revoked_at,
        Some(NOW + 1)
    );
    for (token, what) in [
        ("a2", "other client"),
        ("a3", "other user"),
        ("a4", "client grant"),
    ] {
        assert!(
            grants::check_access_token(&db, token, NOW + 1)
                .unwrap()
                .is_some(),
            "{what} untouched"
        );
    }
    assert!(consents::get(&db, "u1", "c2").unwrap().is_some());

    assert!(
        !consents::revoke(&db, "u1", "c1", NOW + 2).unwrap(),
        "already gone"
    );
    assert_eq!(
        grants::get(&db, "g1").unwrap().unwrap().revoked_at,
        Some(NOW + 1),
        "first revocation time kept"
    );
}

/// Grants are revoked even when no consent row exists (e.g. the consent
/// was never stored, or was revoked before a later grant).
#[test]
fn revoke_without_consent_still_revokes_grants() {
    let db = world();
    assert!(!consents::revoke(&db, "u1", "c1", NOW + 1).unwrap());
    assert!(grants::check_access_token(&db, "a1", NOW + 1)
        .unwrap()
        .is_none());
}
