use super::*;
use crate::codes::{attach_grant, link_grant, put, redeem};
use crate::testing::{race, TestDb};
use crate::{AuthCode, RedeemOutcome, StoreError};

pub fn code(hash: &str, client_id: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        client_id: client_id.into(),
        user_id: "u1".into(),
        sid: Some("sid1".into()),
        redirect_uri: "https://rp.example/cb".into(),
        scope: "openid".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        grant_json: r#"{"auth_time":1700000000,"amr":["pwd"]}"#.into(),
        expires_at: NOW + 60,
    }
}

/// The token endpoint's sequence: redeem, create the grant, attach it.
fn issue(db: &TestDb, code_hash: &str, grant_id: &str) {
    assert!(matches!(
        redeem(db, code_hash, NOW).unwrap(),
        RedeemOutcome::Redeemed(_)
    ));
    grants::create(
        db,
        &grant_record(grant_id, "c1", Some("u1"), Some("sid1")),
        Some("rt"),
        NOW + 3600,
    )
    .unwrap();
    attach_grant(db, code_hash, grant_id, NOW).unwrap();
    access_token(db, "at", grant_id);
}

#[test]
fn put_and_redeem_once() {
    let db = world();
    let c = code("k1", "c1");
    put(&db, &c).unwrap();
    assert!(matches!(put(&db, &c), Err(StoreError::Conflict(_))));
    assert!(matches!(
        put(&db, &code("k2", "nope")),
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(redeem(&db, "k1", NOW).unwrap(), RedeemOutcome::Redeemed(c));
    assert_eq!(redeem(&db, "unknown", NOW).unwrap(), RedeemOutcome::Invalid);
}

#[test]
fn expired_code_is_invalid() {
    let db = world();
    put(&db, &code("k1", "c1")).unwrap();
    assert_eq!(redeem(&db, "k1", NOW + 60).unwrap(), RedeemOutcome::Invalid);
}

#[test]
fn replay_revokes_the_grant_and_its_access_tokens() {
    let db = world();
    put(&db, &code("k1", "c1")).unwrap();
    issue(&db, "k1", "g-code");
    assert!(grants::check_access_token(&db, "at", NOW)
        .unwrap()
        .is_some());

    assert_eq!(
        redeem(&db, "k1", NOW + 5).unwrap(),
        RedeemOutcome::Replayed("g-code".into())
    );
    let g = grants::get(&db, "g-code").unwrap().unwrap();
    assert_eq!(g.revoked_at, Some(NOW + 5));
    assert!(grants::check_access_token(&db, "at", NOW + 5)
        .unwrap()
        .is_none());
    assert_eq!(
        db.count(
            "SELECT count(*) FROM access_tokens WHERE token_hash = 'at' AND revoked_at IS NULL"
        ),
        0
    );
    assert!(grants::find_by_refresh(&db, "rt", NOW + 5)
        .unwrap()
        .is_none());
    // Still a replay after the code expired, and again later.
    assert_eq!(
        redeem(&db, "k1", NOW + 600).unwrap(),
        RedeemOutcome::Replayed("g-code".into())
    );
    // Other grants are untouched.
    assert!(grants::check_access_token(&db, "a1", NOW + 5)
        .unwrap()
        .is_some());
}

#[test]
fn replay_before_attach_revokes_at_attach() {
    let db = world();
    put(&db, &code("k1", "c1")).unwrap();
    assert!(matches!(
        redeem(&db, "k1", NOW).unwrap(),
        RedeemOutcome::Redeemed(_)
    ));
    // The replay arrives while the first redemption is still issuing.
    assert_eq!(
        redeem(&db, "k1", NOW + 1).unwrap(),
        RedeemOutcome::Replayed(String::new())
    );
    grants::create(
        &db,
        &grant_record("g-code", "c1", Some("u1"), Some("sid1")),
        Some("rt"),
        NOW + 3600,
    )
    .unwrap();
    assert!(matches!(
        attach_grant(&db, "k1", "g-code", NOW + 2),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        grants::get(&db, "g-code").unwrap().unwrap().revoked_at,
        Some(NOW + 2)
    );
}

#[test]
fn attach_grant_checks() {
    let db = world();
    put(&db, &code("k1", "c1")).unwrap();
    grants::create(
        &db,
        &grant_record("g-code", "c1", Some("u1"), None),
        None,
        0,
    )
    .unwrap();
    assert!(
        matches!(
            attach_grant(&db, "k1", "g-code", NOW),
            Err(StoreError::Invalid(_))
        ),
        "not redeemed"
    );
    assert_eq!(
        attach_grant(&db, "nope", "g-code", NOW),
        Err(StoreError::NotFound)
    );
    redeem(&db, "k1", NOW).unwrap();

    client(&db, "c2");
    grants::create(
        &db,
        &grant_record("g-other", "c2", Some("u1"), None),
        None,
        0,
    )
    .unwrap();
    assert!(
        matches!(
            attach_grant(&db, "k1", "g-other", NOW),
            Err(StoreError::Invalid(_))
        ),
        "other client"
    );
    assert!(matches!(
        attach_grant(&db, "k1", "g-missing", NOW),
        Err(StoreError::Invalid(_))
    ));

    attach_grant(&db, "k1", "g-code", NOW).unwrap();
    attach_grant(&db, "k1", "g-code", NOW).unwrap(); // idempotent
    grants::create(
        &db,
        &grant_record("g-second", "c1", Some("u1"), None),
        None,
        0,
    )
    .unwrap();
    assert!(matches!(
        attach_grant(&db, "k1", "g-second", NOW),
        Err(StoreError::Conflict(_))
    ));
}

/// Eight connections redeem one code at once: exactly one wins.
#[test]
fn concurrent_redemption_has_one_winner() {
    let path = TestDb::shared_file("redeem");
    {
        let db = TestDb::open(&path);
        populate(&db);
        put(&db, &code("k1", "c1")).unwrap();
    }
    let outcomes = race(&path, 8, |db, _| redeem(db, "k1", NOW).unwrap());
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, RedeemOutcome::Redeemed(_)))
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, RedeemOutcome::Replayed(_)))
        .count();
    assert_eq!((won, replayed), (1, 7), "{outcomes:?}");
}

/// A hybrid response's code and access token (`code token`): the access
/// token's grant is linked to the code, and a replay of the code revokes
/// both grants in one transaction.
#[test]
fn replay_revokes_the_front_channel_grant_too() {
    let db = world();
    put(&db, &code("k1", "c1")).unwrap();
    grants::create(
        &db,
        &grant_record("g-front", "c1", Some("u1"), Some("sid1")),
        None,
        0,
    )
    .unwrap();
    access_token(&db, "at-front", "g-front");
    client(&db, "c2");
    grants::create(
        &db,
        &grant_record("g-other", "c2", Some("u1"), None),
        None,
        0,
    )
    .unwrap();
    assert!(matches!(
        link_grant(&db, "k1", "g-other"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        link_grant(&db, "nope", "g-front"),
        Err(StoreError::NotFound)
    ));
    link_grant(&db, "k1", "g-front").unwrap();
    assert!(matches!(
        link_grant(&db, "k1", "g-front"),
        Err(StoreError::Conflict(_))
    ));

    // The first redemption leaves the front-channel token alone.
    issue(&db, "k1", "g-code");
    assert!(grants::check_access_token(&db, "at-front", NOW)
        .unwrap()
        .is_some());
    assert_eq!(
        redeem(&db, "k1", NOW + 5).unwrap(),
        RedeemOutcome::Replayed("g-code".into())
    );
    for (grant, token) in [("g-front", "at-front"), ("g-code", "at")] {
        assert_eq!(
            grants::get(&db, grant).unwrap().unwrap().revoked_at,
            Some(NOW + 5)
        );
        assert!(grants::check_access_token(&db, token, NOW + 5)
            .unwrap()
            .is_none());
    }
}

/// A replay before the token endpoint attached its grant still revokes
/// the front-channel grant; replays racing each other too.
#[test]
fn concurrent_replays_revoke_the_front_channel_grant() {
    let path = TestDb::shared_file("front-replay");
    {
        let db = TestDb::open(&path);
        populate(&db);
        put(&db, &code("k1", "c1")).unwrap();
        grants::create(
            &db,
            &grant_record("g-front", "c1", Some("u1"), Some("sid1")),
            None,
            0,
        )
        .unwrap();
        access_token(&db, "at-front", "g-front");
        link_grant(&db, "k1", "g-front").unwrap();
    }
    let outcomes = race(&path, 8, |db, _| redeem(db, "k1", NOW).unwrap());
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, RedeemOutcome::Redeemed(_)))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    let db = TestDb::open(&path);
    assert!(grants::check_access_token(&db, "at-front", NOW)
        .unwrap()
        .is_none());
}
