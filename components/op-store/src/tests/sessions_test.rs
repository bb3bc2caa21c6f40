use super::*;
use crate::testing::TestDb;
use crate::StoreError;

#[test]
fn lifecycle() {
    let db = TestDb::new();
    user(&db, "u1");
    user(&db, "u2");
    let mut s = session_record("s1", "sid1", "u1");
    s.amr = vec!["pwd".into(), "a \"quoted\" value".into()];
    sessions::create(&db, &s).unwrap();
    assert!(matches!(
        sessions::create(&db, &s),
        Err(StoreError::Conflict(_))
    ));
    let mut same_sid = session_record("s9", "sid1", "u1");
    assert!(matches!(
        sessions::create(&db, &same_sid),
        Err(StoreError::Conflict(_))
    ));
    same_sid.sid = "sid9".into();
    same_sid.user_id = "nobody".into();
    assert!(matches!(
        sessions::create(&db, &same_sid),
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(sessions::get_active(&db, "s1", NOW).unwrap().unwrap(), s);
    assert_eq!(
        sessions::get_active_by_sid(&db, "sid1", NOW)
            .unwrap()
            .unwrap()
            .id_hash,
        "s1"
    );
    assert!(
        sessions::get_active(&db, "s1", NOW + 3600)
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        !sessions::end(&db, "s1", NOW + 3600).unwrap(),
        "an expired session is not active"
    );

    assert!(sessions::end(&db, "s1", NOW + 1).unwrap());
    assert!(!sessions::end(&db, "s1", NOW + 2).unwrap());
    assert!(sessions::get_active(&db, "s1", NOW + 2).unwrap().is_none());
    assert!(sessions::get_active_by_sid(&db, "sid1", NOW + 2)
        .unwrap()
        .is_none());

    session(&db, "s2", "sid2", "u1");
    session(&db, "s3", "sid3", "u1");
    session(&db, "s4", "sid4", "u2");
    assert_eq!(sessions::end_all_for_user(&db, "u1", NOW + 5).unwrap(), 2);
    assert_eq!(sessions::end_all_for_user(&db, "u1", NOW + 6).unwrap(), 0);
    assert!(sessions::get_active(&db, "s4", NOW + 6).unwrap().is_some());
}

#[test]
fn ending_a_session_kills_its_access_tokens_at_once() {
    let db = world();
    // A grant without a sid (offline access) outlives the session.
    grants::create(
        &db,
        &grant_record("g-offline", "c1", Some("u1"), None),
        Some("ro"),
        NOW + 3600,
    )
    .unwrap();
    access_token(&db, "a-offline", "g-offline");

    assert_eq!(
        grants::check_access_token(&db, "a1", NOW)
            .unwrap()
            .unwrap()
            .id,
        "g1"
    );
    assert!(sessions::end(&db, "s1", NOW + 1).unwrap());
    assert!(grants::check_access_token(&db, "a1", NOW + 1)
        .unwrap()
        .is_none());
    assert!(grants::check_access_token(&db, "a-offline", NOW + 1)
        .unwrap()
        .is_some());
}
