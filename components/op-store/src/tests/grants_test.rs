use super::*;
use crate::grants::{
    check_access_token, find_by_refresh, record_access_token, revoke, revoke_access_token, rotate,
};
use crate::testing::{race, TestDb};
use crate::{RotateOutcome, StoreError};

fn rotated(o: RotateOutcome) -> Grant {
    match o {
        RotateOutcome::Rotated(g) => g,
        other => panic!("expected rotated, got {other:?}"),
    }
}

#[test]
fn create_and_get() {
    let db = world();
    let g = grants::get(&db, "g1").unwrap().unwrap();
    assert_eq!(g, grant_record("g1", "c1", Some("u1"), Some("sid1")));
    assert!(grants::get(&db, "nope").unwrap().is_none());
    let dup = grant_record("g1", "c1", None, None);
    assert!(matches!(
        grants::create(&db, &dup, None, 0),
        Err(StoreError::Conflict(_))
    ));
    let same_refresh = grant_record("g9", "c1", None, None);
    assert!(matches!(
        grants::create(&db, &same_refresh, Some("r1"), NOW + 1),
        Err(StoreError::Conflict(_))
    ));
    let bad_client = grant_record("g9", "nope", None, None);
    assert!(matches!(
        grants::create(&db, &bad_client, None, 0),
        Err(StoreError::Invalid(_))
    ));
    let bad_user = grant_record("g9", "c1", Some("nobody"), None);
    assert!(matches!(
        grants::create(&db, &bad_user, None, 0),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn rotation_chain() {
    let db = world();
    assert_eq!(find_by_refresh(&db, "r1", NOW).unwrap().unwrap().id, "g1");
    assert_eq!(
        rotated(rotate(&db, "r1", "r2", NOW + 3600, NOW).unwrap()).id,
        "g1"
    );
    assert!(find_by_refresh(&db, "r1", NOW).unwrap().is_none());
    assert_eq!(find_by_refresh(&db, "r2", NOW).unwrap().unwrap().id, "g1");
    assert_eq!(
        rotated(rotate(&db, "r2", "r3", NOW + 3600, NOW + 1).unwrap()).id,
        "g1"
    );
    assert_eq!(
        rotate(&db, "unknown", "r9", NOW + 3600, NOW).unwrap(),
        RotateOutcome::Invalid
    );
    assert!(matches!(
        rotate(&db, "r3", "r3", NOW + 3600, NOW),
        Err(StoreError::Invalid(_))
    ));
    assert!(
        check_access_token(&db, "a1", NOW + 1).unwrap().is_some(),
        "rotation keeps access tokens"
    );
}

#[test]
fn reuse_of_a_superseded_token_revokes_the_family() {
    let db = world();
    rotated(rotate(&db, "r1", "r2", NOW + 3600, NOW).unwrap());
    access_token(&db, "a2", "g1");

    assert_eq!(
        rotate(&db, "r1", "rX", NOW + 3600, NOW + 5).unwrap(),
        RotateOutcome::ReuseDetected("g1".into())
    );
    assert_eq!(
        grants::get(&db, "g1").unwrap().unwrap().revoked_at,
        Some(NOW + 5)
    );
    for at in ["a1", "a2"] {
        assert!(
            check_access_token(&db, at, NOW + 5).unwrap().is_none(),
            "{at}"
        );
    }
    // The current token of the revoked family is dead too, and a second
    // reuse is merely invalid.
    assert_eq!(
        rotate(&db, "r2", "r3", NOW + 3600, NOW + 6).unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        rotate(&db, "r1", "r4", NOW + 3600, NOW + 6).unwrap(),
        RotateOutcome::Invalid
    );
    assert!(find_by_refresh(&db, "r2", NOW + 6).unwrap().is_none());
}

#[test]
fn expired_or_revoked_is_invalid() {
    let db = world();
    // The refresh token's own expiry.
    assert_eq!(
        rotate(&db, "r1", "r2", NOW + 9999, NOW + 3600).unwrap(),
        RotateOutcome::Invalid
    );
    // The family's absolute lifetime.
    grants::create(
        &db,
        &grant_record("g2", "c1", Some("u1"), None),
        Some("q1"),
        NOW + 999_999,
    )
    .unwrap();
    assert_eq!(
        rotate(&db, "q1", "q2", NOW + 999_999, NOW + 86_400).unwrap(),
        RotateOutcome::Invalid
    );
    // Revoked.
    assert!(revoke(&db, "g2", NOW).unwrap());
    assert!(!revoke(&db, "g2", NOW).unwrap());
    assert!(!revoke(&db, "nope", NOW).unwrap());
    assert_eq!(
        rotate(&db, "q1", "q2", NOW + 3600, NOW).unwrap(),
        RotateOutcome::Invalid
    );
}

#[test]
fn revoke_takes_access_tokens_with_it() {
    let db = world();
    assert!(revoke(&db, "g1", NOW).unwrap());
    assert!(check_access_token(&db, "a1", NOW).unwrap().is_none());
    assert_eq!(
        db.count("SELECT count(*) FROM access_tokens WHERE revoked_at IS NULL"),
        0
    );
}

#[test]
fn access_token_checks() {
    let db = world();
    let t = |hash: &str, now| check_access_token(&db, hash, now).unwrap().map(|g| g.id);
    assert_eq!(t("a1", NOW).as_deref(), Some("g1"));
    assert_eq!(t("a1", NOW + 600), None, "expired");
    assert_eq!(t("nope", NOW), None);
    assert!(matches!(
        record_access_token(
            &db,
            &AccessToken {
                token_hash: "a1".into(),
                grant_id: "g1".into(),
                expires_at: NOW
            }
        ),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        record_access_token(
            &db,
            &AccessToken {
                token_hash: "z".into(),
                grant_id: "nope".into(),
                expires_at: NOW
            }
        ),
        Err(StoreError::NotFound)
    );

    access_token(&db, "a2", "g1");
    assert!(revoke_access_token(&db, "a2", NOW).unwrap());
    assert!(!revoke_access_token(&db, "a2", NOW).unwrap());
    assert_eq!(t("a2", NOW), None, "revoked");
    assert_eq!(t("a1", NOW).as_deref(), Some("g1"), "others unaffected");

    // The session: expired, then missing.
    assert_eq!(
        t("a1", NOW + 3600),
        None,
        "session expired (token lifetime aside)"
    );
    db.0.execute("DELETE FROM sessions", []).unwrap();
    assert_eq!(t("a1", NOW), None, "session gone");

    // A grant without sid (client_credentials) needs no session.
    grants::create(&db, &grant_record("gcc", "c1", None, None), None, 0).unwrap();
    access_token(&db, "acc", "gcc");
    assert_eq!(t("acc", NOW).as_deref(), Some("gcc"));
}

/// Eight connections rotate one refresh token at once: exactly one rotates;
/// the next one sees a superseded token and revokes the family; the rest
/// find it revoked.
#[test]
fn concurrent_rotation_has_one_winner() {
    let path = TestDb::shared_file("rotate");
    populate(&TestDb::open(&path));
    let outcomes = race(&path, 8, |db, i| {
        rotate(db, "r1", &format!("r1-next-{i}"), NOW + 3600, NOW).unwrap()
    });
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Rotated(_)))
        .count();
    let reuse = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::ReuseDetected(_)))
        .count();
    assert_eq!((won, reuse), (1, 1), "{outcomes:?}");
    let db = TestDb::open(&path);
    assert!(grants::get(&db, "g1")
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
}

/// Racing rotations of different tokens of different families do not
/// interfere.
#[test]
fn concurrent_rotation_of_separate_families() {
    let path = TestDb::shared_file("rotate-many");
    {
        let db = TestDb::open(&path);
        populate(&db);
        for i in 0..8 {
            grants::create(
                &db,
                &grant_record(&format!("f{i}"), "c1", Some("u1"), None),
                Some(&format!("t{i}")),
                NOW + 60,
            )
            .unwrap();
        }
    }
    let outcomes = race(&path, 8, |db, i| {
        rotate(db, &format!("t{i}"), &format!("t{i}b"), NOW + 60, NOW).unwrap()
    });
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, RotateOutcome::Rotated(_))),
        "{outcomes:?}"
    );
}
