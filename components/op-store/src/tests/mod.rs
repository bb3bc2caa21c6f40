//! Native tests of the store logic on the real schema (rusqlite).

mod ciba_requests_test;
mod clients_users_test;
mod codes_test;
mod consents_test;
mod device_grants_test;
mod dpop_test;
mod grants_test;
mod keys_test;
mod one_time_test;
mod rate_limits_test;
mod secrets_test;
mod sessions_test;
mod trusted_issuers_test;
mod user_codes_test;

use crate::testing::TestDb;
use crate::{
    clients, consents, grants, sessions, users, AccessToken, Client, Consent, Grant, Session, User,
};

pub const NOW: i64 = 1_700_000_000;

pub fn client(db: &TestDb, id: &str) {
    clients::create(
        db,
        &Client {
            client_id: id.into(),
            secret_hash: Some("h".into()),
            metadata_json: r#"{"redirect_uris":["https://rp.example/cb"]}"#.into(),
            registration_token_hash: None,
            created_at: NOW,
            updated_at: NOW,
        },
    )
    .unwrap();
}

pub fn user_record(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        password_hash: Some("$argon2id$...".into()),
        claims_json: r#"{"email":"a@example.com"}"#.into(),
        disabled: false,
        created_at: NOW,
        updated_at: NOW,
    }
}

pub fn user(db: &TestDb, id: &str) {
    users::create(db, &user_record(id, &format!("name-of-{id}"))).unwrap();
}

pub fn session_record(id_hash: &str, sid: &str, user_id: &str) -> Session {
    Session {
        id_hash: id_hash.into(),
        sid: sid.into(),
        user_id: user_id.into(),
        auth_time: NOW,
        acr: Some("urn:acr:1".into()),
        amr: vec!["pwd".into(), "otp".into()],
        created_at: NOW,
        expires_at: NOW + 3600,
        ended_at: None,
    }
}

pub fn session(db: &TestDb, id_hash: &str, sid: &str, user_id: &str) {
    sessions::create(db, &session_record(id_hash, sid, user_id)).unwrap();
}

pub fn grant_record(id: &str, client_id: &str, user_id: Option<&str>, sid: Option<&str>) -> Grant {
    Grant {
        id: id.into(),
        client_id: client_id.into(),
        user_id: user_id.map(Into::into),
        sid: sid.map(Into::into),
        scope: "openid offline_access".into(),
        grant_json: r#"{"auth_time":1700000000}"#.into(),
        created_at: NOW,
        expires_at: NOW + 86_400,
        revoked_at: None,
    }
}

/// Client c1, user u1 with session (s1, sid1), grant g1 in that session
/// with refresh token r1 and access token a1.
pub fn world() -> TestDb {
    let db = TestDb::new();
    populate(&db);
    db
}

pub fn populate(db: &TestDb) {
    client(db, "c1");
    user(db, "u1");
    session(db, "s1", "sid1", "u1");
    grants::create(
        db,
        &grant_record("g1", "c1", Some("u1"), Some("sid1")),
        Some("r1"),
        NOW + 3600,
    )
    .unwrap();
    access_token(db, "a1", "g1");
}

pub fn access_token(db: &TestDb, hash: &str, grant_id: &str) {
    grants::record_access_token(
        db,
        &AccessToken {
            token_hash: hash.into(),
            grant_id: grant_id.into(),
            expires_at: NOW + 600,
        },
    )
    .unwrap();
}

pub fn consent(db: &TestDb, user_id: &str, client_id: &str) {
    consents::put(
        db,
        &Consent {
            user_id: user_id.into(),
            client_id: client_id.into(),
            scope: "openid profile".into(),
            claims_json: r#"["email"]"#.into(),
            granted_at: NOW,
        },
    )
    .unwrap();
}
