use super::*;
use crate::device_grants::{approve, create, deny, find_by_user_code, poll, slowed_interval};
use crate::testing::{race, TestDb};
use crate::{DeviceApproval, DeviceRequest, PollOutcome, StoreError};

fn request(hash: &str, user_code: &str) -> DeviceRequest {
    DeviceRequest {
        device_code_hash: hash.into(),
        user_code: user_code.into(),
        client_id: "c1".into(),
        scope: "openid profile".into(),
        created_at: NOW,
        expires_at: NOW + 600,
        interval: 5,
    }
}

fn approval() -> DeviceApproval {
    DeviceApproval {
        user_id: "u1".into(),
        sid: Some("sid1".into()),
        scope: "openid".into(),
        grant_json: r#"{"auth_time":1700000000}"#.into(),
    }
}

#[test]
fn create_find_and_user_code_reuse() {
    let db = world();
    create(&db, &request("d1", "WDJBMJHT"), NOW).unwrap();
    assert_eq!(
        find_by_user_code(&db, "WDJBMJHT", NOW).unwrap(),
        Some(request("d1", "WDJBMJHT"))
    );
    assert_eq!(find_by_user_code(&db, "WDJBMJHX", NOW).unwrap(), None);
    assert_eq!(find_by_user_code(&db, "WDJBMJHT", NOW + 600).unwrap(), None);
    // A live user code is taken; an expired one is reused.
    assert!(matches!(
        create(&db, &request("d2", "WDJBMJHT"), NOW),
        Err(StoreError::Conflict(_))
    ));
    let mut later = request("d2", "WDJBMJHT");
    later.expires_at = NOW + 1200;
    create(&db, &later, NOW + 600).unwrap();
    let mut other = request("d3", "BCDFGHJK");
    other.client_id = "nope".into();
    assert!(matches!(
        create(&db, &other, NOW),
        Err(StoreError::Invalid(_))
    ));
    // Already expired when created.
    assert!(matches!(
        create(&db, &request("d4", "BCDFGHJK"), NOW + 600),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn pending_polls_record_time_and_slow_down_grows_the_interval() {
    let db = world();
    create(&db, &request("d1", "WDJBMJHT"), NOW).unwrap();
    assert_eq!(poll(&db, "d1", "c1", NOW).unwrap(), PollOutcome::Pending(5));
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 2).unwrap(),
        PollOutcome::SlowDown(10)
    );
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 5).unwrap(),
        PollOutcome::SlowDown(15)
    );
    // Waiting the grown interval is honoured, and it stays grown.
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 20).unwrap(),
        PollOutcome::Pending(15)
    );
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 35).unwrap(),
        PollOutcome::Pending(15)
    );
    // Another client, an unknown code: invalid, and nothing recorded.
    assert_eq!(
        poll(&db, "d1", "c2", NOW + 36).unwrap(),
        PollOutcome::Invalid
    );
    assert_eq!(
        poll(&db, "zz", "c1", NOW + 36).unwrap(),
        PollOutcome::Invalid
    );
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 50).unwrap(),
        PollOutcome::Pending(15)
    );
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 600).unwrap(),
        PollOutcome::Expired
    );
}

#[test]
fn slowed_interval_table() {
    for (last, interval, now, want) in [
        (None, 5, 100, None),
        (Some(95), 5, 100, None),
        (Some(96), 5, 100, Some(10)),
        (Some(100), 5, 100, Some(10)),
        (Some(90), 15, 100, Some(20)),
        (Some(0), i64::MAX, 1, Some(i64::MAX)),
    ] {
        assert_eq!(
            slowed_interval(last, interval, now),
            want,
            "{last:?} {interval} {now}"
        );
    }
}

#[test]
fn approval_is_delivered_once() {
    let db = world();
    create(&db, &request("d1", "WDJBMJHT"), NOW).unwrap();
    assert!(approve(&db, "WDJBMJHT", &approval(), NOW + 1).unwrap());
    // Decided: neither approved again nor denied, nor shown as pending.
    assert!(!approve(&db, "WDJBMJHT", &approval(), NOW + 1).unwrap());
    assert!(!deny(&db, "WDJBMJHT", NOW + 1).unwrap());
    assert_eq!(find_by_user_code(&db, "WDJBMJHT", NOW + 1).unwrap(), None);
    // Another client cannot take it.
    assert_eq!(
        poll(&db, "d1", "c2", NOW + 2).unwrap(),
        PollOutcome::Invalid
    );
    match poll(&db, "d1", "c1", NOW + 2).unwrap() {
        PollOutcome::Approved((r, a)) => {
            assert_eq!(r, request("d1", "WDJBMJHT"));
            assert_eq!(a, approval());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 10).unwrap(),
        PollOutcome::Invalid
    );
}

#[test]
fn denial_expiry_and_unknown_users() {
    let db = world();
    create(&db, &request("d1", "WDJBMJHT"), NOW).unwrap();
    assert!(deny(&db, "WDJBMJHT", NOW).unwrap());
    assert_eq!(poll(&db, "d1", "c1", NOW).unwrap(), PollOutcome::Denied);
    assert_eq!(
        poll(&db, "d1", "c1", NOW + 600).unwrap(),
        PollOutcome::Expired
    );

    create(&db, &request("d2", "BCDFGHJK"), NOW).unwrap();
    let mut nobody = approval();
    nobody.user_id = "ghost".into();
    assert!(!approve(&db, "BCDFGHJK", &nobody, NOW).unwrap());
    assert!(!approve(&db, "BCDFGHJK", &approval(), NOW + 600).unwrap());
    assert!(!deny(&db, "BCDFGHJK", NOW + 600).unwrap());
    // Approved but never redeemed before it expired.
    create(&db, &request("d3", "LMNPQRST"), NOW).unwrap();
    assert!(approve(&db, "LMNPQRST", &approval(), NOW).unwrap());
    assert_eq!(
        poll(&db, "d3", "c1", NOW + 600).unwrap(),
        PollOutcome::Expired
    );
}

#[test]
fn concurrent_polls_of_an_approved_request_deliver_once() {
    let path = TestDb::shared_file("device-race");
    {
        let db = TestDb::open(&path);
        populate(&db);
        create(&db, &request("d1", "WDJBMJHT"), NOW).unwrap();
        assert!(approve(&db, "WDJBMJHT", &approval(), NOW).unwrap());
    }
    let outcomes = race(&path, 8, |db, _| poll(db, "d1", "c1", NOW + 1).unwrap());
    let approved = outcomes
        .iter()
        .filter(|o| matches!(o, PollOutcome::Approved(_)))
        .count();
    let invalid = outcomes
        .iter()
        .filter(|o| **o == PollOutcome::Invalid)
        .count();
    assert_eq!((approved, invalid), (1, 7), "{outcomes:?}");
}
