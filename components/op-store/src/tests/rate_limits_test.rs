use std::collections::BTreeSet;

use super::NOW;
use crate::rate_limits::{hit, peek, reset};
use crate::testing::{race, TestDb};
use crate::StoreError;

/// The start of the window containing `now`, computed here rather than
/// assumed from NOW.
fn window_of(now: i64, len: i64) -> i64 {
    now - now.rem_euclid(len)
}

#[test]
fn counts_within_a_fixed_window() {
    let db = TestDb::new();
    let start = window_of(NOW, 60);
    assert_eq!(peek(&db, "login:alice", 60, start).unwrap(), 0);
    assert_eq!(hit(&db, "login:alice", 60, start).unwrap(), 1);
    assert_eq!(hit(&db, "login:alice", 60, start + 30).unwrap(), 2);
    assert_eq!(hit(&db, "login:alice", 60, start + 59).unwrap(), 3);
    assert_eq!(peek(&db, "login:alice", 60, start + 59).unwrap(), 3);
    assert_eq!(
        hit(&db, "login:bob", 60, start).unwrap(),
        1,
        "buckets are separate"
    );
    // The next window starts again.
    assert_eq!(peek(&db, "login:alice", 60, start + 60).unwrap(), 0);
    assert_eq!(hit(&db, "login:alice", 60, start + 60).unwrap(), 1);
    assert_eq!(hit(&db, "login:alice", 60, start + 119).unwrap(), 2);
    assert_eq!(hit(&db, "login:alice", 60, start + 1000).unwrap(), 1);
}

#[test]
fn a_late_hit_counts_in_the_newer_window() {
    let db = TestDb::new();
    let start = window_of(NOW, 60);
    assert_eq!(hit(&db, "ip:1", 60, start + 60).unwrap(), 1);
    // An instance whose clock is behind: counted, not a reset.
    assert_eq!(hit(&db, "ip:1", 60, start + 59).unwrap(), 2);
    assert_eq!(peek(&db, "ip:1", 60, start + 61).unwrap(), 2);
}

#[test]
fn reset_and_invalid_windows() {
    let db = TestDb::new();
    hit(&db, "b", 300, NOW).unwrap();
    hit(&db, "b", 300, NOW).unwrap();
    reset(&db, "b").unwrap();
    assert_eq!(peek(&db, "b", 300, NOW).unwrap(), 0);
    assert_eq!(hit(&db, "b", 300, NOW).unwrap(), 1);
    reset(&db, "never-used").unwrap();
    for w in [0, -1, i64::MIN] {
        assert!(
            matches!(hit(&db, "b", w, NOW), Err(StoreError::Invalid(_))),
            "{w}"
        );
        assert!(
            matches!(peek(&db, "b", w, NOW), Err(StoreError::Invalid(_))),
            "{w}"
        );
    }
    assert!(matches!(
        hit(&db, "b", 7, i64::MIN),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        hit(&db, "neg", 60, -30).unwrap(),
        1,
        "times before 1970 work"
    );
}

/// N concurrent hits on one bucket, each on its own connection: the
/// counts returned are exactly 1..=N, each once.
#[test]
fn concurrent_hits_count_each_event_once() {
    const N: usize = 16;
    let path = TestDb::shared_file("rate-limits");
    let counts = race(&path, N, |db, _| hit(db, "login:alice", 60, NOW).unwrap());
    let distinct: BTreeSet<u32> = counts.iter().copied().collect();
    let expected: BTreeSet<u32> = (1..=N as u32).collect();
    assert_eq!(distinct, expected, "{counts:?}");
    assert_eq!(counts.len(), N);
    assert_eq!(
        peek(&TestDb::open(&path), "login:alice", 60, NOW).unwrap(),
        N as u32
    );
}
