use super::NOW;
use crate::one_time::{mark_used, peek, purge_expired, put, take};
use crate::testing::{race, TestDb};
use crate::StoreError;

#[test]
fn mark_used_once_until_expiry() {
    let db = TestDb::new();
    assert!(mark_used(&db, "jti", "abc", NOW + 60, NOW).unwrap());
    assert!(
        !mark_used(&db, "jti", "abc", NOW + 60, NOW + 1).unwrap(),
        "replay"
    );
    assert!(
        !mark_used(&db, "jti", "abc", NOW + 999, NOW + 59).unwrap(),
        "still alive"
    );
    assert!(
        mark_used(&db, "dpop", "abc", NOW + 60, NOW).unwrap(),
        "namespaces are separate"
    );
    assert!(
        mark_used(&db, "jti", "abc", NOW + 120, NOW + 60).unwrap(),
        "expired entries may be replaced"
    );
    assert!(!mark_used(&db, "jti", "abc", NOW + 120, NOW + 61).unwrap());
}

#[test]
fn put_take_once() {
    let db = TestDb::new();
    put(&db, "par", "urn:1", b"request", NOW + 60, NOW).unwrap();
    assert!(matches!(
        put(&db, "par", "urn:1", b"other", NOW + 60, NOW),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        take(&db, "par", "urn:1", NOW + 1).unwrap().as_deref(),
        Some(&b"request"[..])
    );
    assert_eq!(take(&db, "par", "urn:1", NOW + 1).unwrap(), None, "taken");

    put(&db, "par", "urn:2", b"late", NOW + 60, NOW).unwrap();
    assert_eq!(
        take(&db, "par", "urn:2", NOW + 60).unwrap(),
        None,
        "expired"
    );
    put(&db, "par", "urn:2", b"again", NOW + 200, NOW + 100).unwrap();
    assert_eq!(
        take(&db, "device", "urn:2", NOW + 101).unwrap(),
        None,
        "other namespace"
    );
    assert_eq!(
        take(&db, "par", "urn:2", NOW + 101).unwrap().as_deref(),
        Some(&b"again"[..])
    );
}

#[test]
fn purge() {
    let db = TestDb::new();
    mark_used(&db, "jti", "old", NOW + 10, NOW).unwrap();
    mark_used(&db, "jti", "new", NOW + 100, NOW).unwrap();
    put(&db, "par", "old", b"x", NOW + 10, NOW).unwrap();
    put(&db, "par", "new", b"y", NOW + 100, NOW).unwrap();
    assert_eq!(purge_expired(&db, NOW + 10).unwrap(), 2);
    assert_eq!(purge_expired(&db, NOW + 10).unwrap(), 0);
    assert!(!mark_used(&db, "jti", "new", NOW + 100, NOW + 11).unwrap());
    assert_eq!(
        take(&db, "par", "new", NOW + 11).unwrap().as_deref(),
        Some(&b"y"[..])
    );
}

#[test]
fn concurrent_mark_used_and_take_have_one_winner() {
    let path = TestDb::shared_file("one-time");
    put(&TestDb::open(&path), "par", "urn:1", b"v", NOW + 60, NOW).unwrap();
    let marks = race(&path, 8, |db, _| {
        mark_used(db, "jti", "j1", NOW + 60, NOW).unwrap()
    });
    assert_eq!(marks.iter().filter(|&&m| m).count(), 1, "{marks:?}");
    let takes = race(&path, 8, |db, _| take(db, "par", "urn:1", NOW).unwrap());
    assert_eq!(takes.iter().filter(|t| t.is_some()).count(), 1, "{takes:?}");
}

#[test]
fn peek_reads_without_taking() {
    let db = TestDb::new();
    assert_eq!(peek(&db, "interaction", "i1", NOW).unwrap(), None);
    put(&db, "interaction", "i1", b"pending", NOW + 60, NOW).unwrap();
    for _ in 0..2 {
        assert_eq!(
            peek(&db, "interaction", "i1", NOW + 1).unwrap().as_deref(),
            Some(&b"pending"[..])
        );
    }
    assert_eq!(peek(&db, "par", "i1", NOW + 1).unwrap(), None, "namespace");
    assert_eq!(
        peek(&db, "interaction", "i1", NOW + 60).unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        take(&db, "interaction", "i1", NOW + 2).unwrap().as_deref(),
        Some(&b"pending"[..]),
        "peeking did not take it"
    );
    assert_eq!(
        peek(&db, "interaction", "i1", NOW + 2).unwrap(),
        None,
        "taken"
    );
}
