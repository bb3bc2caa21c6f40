use super::*;
use crate::codes;
use crate::testing::TestDb;
use crate::StoreError;

#[test]
fn client_crud_and_paging() {
    let db = TestDb::new();
    for id in ["c3", "c1", "c2"] {
        client(&db, id);
    }
    let mut c = clients::get(&db, "c1").unwrap().unwrap();
    assert_eq!(c.secret_hash.as_deref(), Some("h"));
    assert!(matches!(
        clients::create(&db, &c),
        Err(StoreError::Conflict(_))
    ));

    c.metadata_json = "{}".into();
    c.secret_hash = None;
    c.registration_token_hash = Some("rat".into());
    c.created_at = 1; // ignored by update
    c.updated_at = NOW + 5;
    clients::update(&db, &c).unwrap();
    let back = clients::get(&db, "c1").unwrap().unwrap();
    assert_eq!(
        (back.secret_hash, back.metadata_json.as_str()),
        (None, "{}")
    );
    assert_eq!((back.created_at, back.updated_at), (NOW, NOW + 5));
    assert_eq!(back.registration_token_hash.as_deref(), Some("rat"));

    c.client_id = "nope".into();
    assert_eq!(clients::update(&db, &c), Err(StoreError::NotFound));
    assert!(clients::get(&db, "nope").unwrap().is_none());

    let ids = |v: Vec<Client>| v.into_iter().map(|c| c.client_id).collect::<Vec<_>>();
    assert_eq!(ids(clients::list(&db, 2, None).unwrap()), ["c1", "c2"]);
    assert_eq!(ids(clients::list(&db, 2, Some("c2")).unwrap()), ["c3"]);
    assert!(clients::list(&db, 0, None).unwrap().is_empty());
}

/// Deleting a client removes its codes, grants and tokens, whether or not
/// the connection enforces foreign keys.
#[test]
fn client_delete_removes_everything_issued_to_it() {
    for fk in [true, false] {
        let db = TestDb::with_foreign_keys(fk);
        populate(&db);
        client(&db, "c2");
        grants::create(
            &db,
            &grant_record("g2", "c2", Some("u1"), None),
            Some("r2"),
            NOW + 60,
        )
        .unwrap();
        access_token(&db, "a2", "g2");
        codes::put(&db, &super::codes_test::code("k1", "c1")).unwrap();
        consent(&db, "u1", "c1");
        assert!(matches!(
            grants::rotate(&db, "r1", "r1b", NOW + 60, NOW).unwrap(),
            crate::RotateOutcome::Rotated(_)
        ));

        assert!(clients::delete(&db, "c1").unwrap());
        assert!(!clients::delete(&db, "c1").unwrap());
        for table in [
            "grants",
            "access_tokens",
            "superseded_refresh_tokens",
            "auth_codes",
            "consents",
        ] {
            let left = db.count(&format!("SELECT count(*) FROM {table}"));
            let expected = i64::from(matches!(table, "grants" | "access_tokens"));
            assert_eq!(left, expected, "{table} (foreign keys {fk})");
        }
        assert!(
            grants::check_access_token(&db, "a2", NOW)
                .unwrap()
                .is_some(),
            "other clients untouched"
        );
        assert!(users::get(&db, "u1").unwrap().is_some());
    }
}

#[test]
fn usernames_are_unique_case_insensitively() {
    let db = TestDb::new();
    users::create(&db, &user_record("u1", "Älice")).unwrap();
    assert_eq!(
        users::create(&db, &user_record("u2", "äLICE")),
        Err(StoreError::Conflict("username already exists".into()))
    );
    assert_eq!(
        users::create(&db, &user_record("u1", "bob")),
        Err(StoreError::Conflict("user id already exists".into()))
    );
    assert_eq!(
        users::find_by_username(&db, "ÄLICE").unwrap().unwrap().id,
        "u1"
    );
    assert_eq!(
        users::find_by_username(&db, "älice")
            .unwrap()
            .unwrap()
            .username,
        "Älice"
    );
    assert!(users::find_by_username(&db, "alice").unwrap().is_none());

    users::create(&db, &user_record("u2", "bob")).unwrap();
    let mut u2 = users::get(&db, "u2").unwrap().unwrap();
    u2.username = "ALICE".into();
    assert!(
        users::update(&db, &u2).is_ok(),
        "ASCII alice differs from Älice"
    );
    u2.username = "älice".into();
    assert!(matches!(
        users::update(&db, &u2),
        Err(StoreError::Conflict(_))
    ));
    u2.username = "Bob".into();
    u2.disabled = true;
    users::update(&db, &u2).unwrap();
    let back = users::find_by_username(&db, "BOB").unwrap().unwrap();
    assert!(back.disabled);
    assert_eq!(back.username, "Bob");

    let mut ghost = user_record("ghost", "ghost");
    ghost.updated_at = NOW;
    assert_eq!(users::update(&db, &ghost), Err(StoreError::NotFound));
    let ids: Vec<_> = users::list(&db, 10, Some("u1"))
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["u2"]);
}

#[test]
fn user_delete_ends_sessions_and_revokes_grants() {
    for fk in [true, false] {
        let db = TestDb::with_foreign_keys(fk);
        populate(&db);
        grants::create(&db, &grant_record("gcc", "c1", None, None), None, 0).unwrap();
        access_token(&db, "acc", "gcc");
        codes::put(&db, &super::codes_test::code("k1", "c1")).unwrap();
        consent(&db, "u1", "c1");
        assert!(grants::check_access_token(&db, "a1", NOW)
            .unwrap()
            .is_some());

        assert!(users::delete(&db, "u1").unwrap());
        assert!(!users::delete(&db, "u1").unwrap());
        assert!(sessions::get_active(&db, "s1", NOW).unwrap().is_none());
        assert!(grants::check_access_token(&db, "a1", NOW)
            .unwrap()
            .is_none());
        assert!(grants::find_by_refresh(&db, "r1", NOW).unwrap().is_none());
        assert_eq!(db.count("SELECT count(*) FROM auth_codes"), 0);
        assert_eq!(db.count("SELECT count(*) FROM consents"), 0);
        assert!(
            grants::check_access_token(&db, "acc", NOW)
                .unwrap()
                .is_some(),
            "client grant untouched"
        );
    }
}

#[test]
fn disabled_user_tokens_stop_working() {
    let db = world();
    let mut u = users::get(&db, "u1").unwrap().unwrap();
    u.disabled = true;
    users::update(&db, &u).unwrap();
    assert!(grants::check_access_token(&db, "a1", NOW)
        .unwrap()
        .is_none());
    assert!(grants::find_by_refresh(&db, "r1", NOW).unwrap().is_none());
    assert_eq!(
        grants::rotate(&db, "r1", "r2", NOW + 60, NOW).unwrap(),
        crate::RotateOutcome::Invalid
    );
}
