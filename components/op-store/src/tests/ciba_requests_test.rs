use super::*;
use crate::ciba_requests::{approve, create, deny, list_pending, poll};
use crate::keys::master_key_from_secret;
use crate::testing::{race, TestDb};
use crate::{CibaApproval, CibaPollOutcome, CibaRequest, StoreError};
use authrim_jose::seal::MasterKey;

fn master() -> Result<MasterKey, StoreError> {
    master_key_from_secret("0123456789abcdef0123456789abcdef")
}

fn request(hash: &str) -> CibaRequest {
    CibaRequest {
        auth_req_id_hash: hash.into(),
        client_id: "c1".into(),
        user_id: "u1".into(),
        scope: "openid profile".into(),
        acr_values: None,
        binding_message: Some("W4SCT".into()),
        delivery_mode: "poll".into(),
        notification_token: None,
        created_at: NOW,
        expires_at: NOW + 600,
        interval: 5,
    }
}

fn approval() -> CibaApproval {
    CibaApproval {
        sid: Some("sid1".into()),
        scope: "openid".into(),
        grant_json: r#"{"auth_time":1700000000}"#.into(),
    }
}

#[test]
fn create_and_list_pending_for_the_named_user_only() {
    let db = world();
    user(&db, "u2");
    create(&db, &master, &request("r1"), NOW).unwrap();
    let mut second = request("r2");
    second.created_at = NOW + 1;
    second.expires_at = NOW + 601;
    second.delivery_mode = "ping".into();
    second.notification_token = Some("8d67dc78".into());
    create(&db, &master, &second, NOW + 1).unwrap();
    let mut other = request("r3");
    other.user_id = "u2".into();
    create(&db, &master, &other, NOW).unwrap();
    assert_eq!(
        list_pending(&db, &master, "u1", NOW + 1).unwrap(),
        vec![second.clone(), request("r1")]
    );
    assert_eq!(list_pending(&db, &master, "u2", NOW).unwrap(), vec![other]);
    assert_eq!(
        list_pending(&db, &master, "u1", NOW + 600).unwrap(),
        vec![second]
    );
    assert_eq!(list_pending(&db, &master, "nobody", NOW).unwrap(), vec![]);
    // At most a page, newest first.
    for i in 0..30 {
        let mut r = request(&format!("many{i:02}"));
        r.user_id = "u2".into();
        r.created_at = NOW + i;
        create(&db, &master, &r, NOW).unwrap();
    }
    let listed = list_pending(&db, &master, "u2", NOW).unwrap();
    assert_eq!(listed.len(), 20);
    assert_eq!(
        listed[0].auth_req_id_hash,
        request("many29").auth_req_id_hash
    );
    // Taken hash, unknown client, unknown user, bad lifetime or mode.
    assert!(matches!(
        create(&db, &master, &request("r1"), NOW),
        Err(StoreError::Conflict(_))
    ));
    for bad in [
        CibaRequest {
            client_id: "nope".into(),
            ..request("x1")
        },
        CibaRequest {
            user_id: "ghost".into(),
            ..request("x2")
        },
        CibaRequest {
            interval: 0,
            ..request("x3")
        },
        CibaRequest {
            delivery_mode: "carrier-pigeon".into(),
            ..request("x4")
        },
    ] {
        assert!(
            matches!(create(&db, &master, &bad, NOW), Err(StoreError::Invalid(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        create(&db, &master, &request("x5"), NOW + 600),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn pending_polls_record_time_and_slow_down_grows_the_interval() {
    let db = world();
    create(&db, &master, &request("r1"), NOW).unwrap();
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW).unwrap(),
        CibaPollOutcome::Pending(5)
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 2).unwrap(),
        CibaPollOutcome::SlowDown(10)
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 12).unwrap(),
        CibaPollOutcome::Pending(10)
    );
    assert_eq!(
        poll(&db, &master, "r1", "c2", NOW + 30).unwrap(),
        CibaPollOutcome::Invalid
    );
    assert_eq!(
        poll(&db, &master, "zz", "c1", NOW + 30).unwrap(),
        CibaPollOutcome::Invalid
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 600).unwrap(),
        CibaPollOutcome::Expired
    );
}

#[test]
fn only_the_named_user_decides_and_approval_is_delivered_once() {
    let db = world();
    user(&db, "u2");
    create(&db, &master, &request("r1"), NOW).unwrap();
    // Another user can neither approve nor deny it.
    assert_eq!(
        approve(&db, &master, "r1", "u2", &approval(), NOW).unwrap(),
        None
    );
    assert_eq!(deny(&db, &master, "r1", "u2", NOW).unwrap(), None);
    assert_eq!(
        approve(&db, &master, "r1", "u1", &approval(), NOW + 1).unwrap(),
        Some(request("r1"))
    );
    // Decided: not again, not denied, no longer pending.
    assert_eq!(
        approve(&db, &master, "r1", "u1", &approval(), NOW + 1).unwrap(),
        None
    );
    assert_eq!(deny(&db, &master, "r1", "u1", NOW + 1).unwrap(), None);
    assert_eq!(list_pending(&db, &master, "u1", NOW + 1).unwrap(), vec![]);
    assert_eq!(
        poll(&db, &master, "r1", "c2", NOW + 2).unwrap(),
        CibaPollOutcome::Invalid
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 2).unwrap(),
        CibaPollOutcome::Approved((request("r1"), approval()))
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 10).unwrap(),
        CibaPollOutcome::Invalid
    );
}

#[test]
fn denial_and_expiry() {
    let db = world();
    create(&db, &master, &request("r1"), NOW).unwrap();
    assert_eq!(
        deny(&db, &master, "r1", "u1", NOW).unwrap(),
        Some(request("r1"))
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW).unwrap(),
        CibaPollOutcome::Denied
    );
    assert_eq!(
        poll(&db, &master, "r1", "c1", NOW + 600).unwrap(),
        CibaPollOutcome::Expired
    );
    create(&db, &master, &request("r2"), NOW).unwrap();
    assert_eq!(
        approve(&db, &master, "r2", "u1", &approval(), NOW + 600).unwrap(),
        None
    );
    assert_eq!(deny(&db, &master, "r2", "u1", NOW + 600).unwrap(), None);
    // Approved but not redeemed before it expired.
    create(&db, &master, &request("r3"), NOW).unwrap();
    assert!(approve(&db, &master, "r3", "u1", &approval(), NOW)
        .unwrap()
        .is_some());
    assert_eq!(
        poll(&db, &master, "r3", "c1", NOW + 600).unwrap(),
        CibaPollOutcome::Expired
    );
}

#[test]
fn concurrent_polls_of_an_approved_request_deliver_once() {
    let path = TestDb::shared_file("ciba-race");
    {
        let db = TestDb::open(&path);
        populate(&db);
        create(&db, &master, &request("r1"), NOW).unwrap();
        assert!(approve(&db, &master, "r1", "u1", &approval(), NOW)
            .unwrap()
            .is_some());
    }
    let outcomes = race(&path, 8, |db, _| {
        poll(db, &master, "r1", "c1", NOW + 1).unwrap()
    });
    let approved = outcomes
        .iter()
        .filter(|o| matches!(o, CibaPollOutcome::Approved(_)))
        .count();
    let invalid = outcomes
        .iter()
        .filter(|o| **o == CibaPollOutcome::Invalid)
        .count();
    assert_eq!((approved, invalid), (1, 7), "{outcomes:?}");
}

#[test]
fn notification_tokens_are_sealed_at_rest_and_bound_to_their_row() {
    let db = world();
    let mut r = request("r1");
    r.delivery_mode = "ping".into();
    r.notification_token = Some(r#"{"auth_req_id":"abc","token":"t"}"#.into());
    create(&db, &master, &r, NOW).unwrap();
    let raw: String =
        db.0.query_row("SELECT notification_token FROM ciba_requests", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert!(!raw.contains("abc"), "sealed: {raw}");
    assert_eq!(
        approve(&db, &master, "r1", "u1", &approval(), NOW).unwrap(),
        Some(r.clone())
    );
    // Moved to another row, it no longer opens.
    let mut other = request("r2");
    other.delivery_mode = "ping".into();
    create(&db, &master, &other, NOW).unwrap();
    db.0.execute(
        "UPDATE ciba_requests SET notification_token = ?1 WHERE auth_req_id_hash = 'r2'",
        [&raw],
    )
    .unwrap();
    assert!(matches!(
        list_pending(&db, &master, "u1", NOW),
        Err(StoreError::Unavailable(_))
    ));
}
