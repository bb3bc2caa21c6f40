use super::{user, NOW};
use crate::testing::TestDb;
use crate::{user_codes, users, StoreError};

const HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

#[test]
fn set_get_replace_clear() {
    let db = TestDb::new();
    user(&db, "u1");
    assert_eq!(user_codes::get(&db, "u1").unwrap(), None);
    user_codes::set(&db, "u1", HASH, NOW).unwrap();
    assert_eq!(user_codes::get(&db, "u1").unwrap().as_deref(), Some(HASH));
    let other = format!("{HASH}x");
    user_codes::set(&db, "u1", &other, NOW + 1).unwrap();
    assert_eq!(user_codes::get(&db, "u1").unwrap(), Some(other));
    assert!(user_codes::clear(&db, "u1").unwrap());
    assert!(!user_codes::clear(&db, "u1").unwrap());
    assert_eq!(user_codes::get(&db, "u1").unwrap(), None);
}

#[test]
fn refuses_unknown_users_and_plain_codes() {
    let db = TestDb::new();
    user(&db, "u1");
    assert_eq!(
        user_codes::set(&db, "nobody", HASH, NOW),
        Err(StoreError::NotFound)
    );
    assert!(matches!(
        user_codes::set(&db, "u1", "1234", NOW),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(user_codes::get(&db, "u1").unwrap(), None);
}

#[test]
fn deleting_the_user_deletes_the_code() {
    for fk in [true, false] {
        let db = TestDb::with_foreign_keys(fk);
        user(&db, "u1");
        user_codes::set(&db, "u1", HASH, NOW).unwrap();
        assert!(users::delete(&db, "u1").unwrap());
        user(&db, "u1");
        assert_eq!(user_codes::get(&db, "u1").unwrap(), None, "fk {fk}");
    }
}
