use super::NOW;
use crate::testing::TestDb;
use crate::{trusted_issuers, StoreError, SubjectMapping, TrustedIssuer};

fn issuer(name: &str) -> TrustedIssuer {
    TrustedIssuer {
        issuer: name.into(),
        jwks_json: Some(r#"{"keys":[]}"#.into()),
        jwks_uri: None,
        allowed_subjects: vec!["*".into()],
        allowed_scopes: vec!["openid".into(), "profile".into()],
        subject_mapping: SubjectMapping::User,
        created_at: NOW,
    }
}

#[test]
fn put_get_list_remove() {
    let db = TestDb::new();
    assert_eq!(
        trusted_issuers::get(&db, "https://a.example").unwrap(),
        None
    );
    trusted_issuers::put(&db, &issuer("https://b.example")).unwrap();
    trusted_issuers::put(&db, &issuer("https://a.example")).unwrap();
    assert_eq!(
        trusted_issuers::get(&db, "https://a.example").unwrap(),
        Some(issuer("https://a.example"))
    );
    // put replaces.
    let mut svc = issuer("https://a.example");
    svc.jwks_json = None;
    svc.jwks_uri = Some("https://a.example/jwks".into());
    svc.subject_mapping = SubjectMapping::Service;
    svc.allowed_subjects = vec!["svc-1".into()];
    trusted_issuers::put(&db, &svc).unwrap();
    let all = trusted_issuers::list(&db).unwrap();
    assert_eq!(all, vec![svc, issuer("https://b.example")]);
    assert!(trusted_issuers::remove(&db, "https://a.example").unwrap());
    assert!(!trusted_issuers::remove(&db, "https://a.example").unwrap());
    assert_eq!(trusted_issuers::list(&db).unwrap().len(), 1);
}

#[test]
fn put_requires_exactly_one_key_source() {
    let db = TestDb::new();
    let mut both = issuer("https://a.example");
    both.jwks_uri = Some("https://a.example/jwks".into());
    let mut neither = issuer("https://a.example");
    neither.jwks_json = None;
    let mut not_object = issuer("https://a.example");
    not_object.jwks_json = Some("[1]".into());
    let empty = issuer("");
    for bad in [both, neither, not_object, empty] {
        assert!(matches!(
            trusted_issuers::put(&db, &bad),
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(trusted_issuers::list(&db).unwrap().is_empty());
}
