//! `authrim admin issuer add|list|remove`: trusted issuers of JWT bearer
//! assertions (RFC 7523), kept by op-store.

use std::fs;

use crate::harness::{admin, admin_command, DataDir};

const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

fn jwks_file(data: &DataDir, text: &str) -> String {
    let path = data.dir.path().join("issuer-jwks.json");
    fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn add_list_replace_remove() {
    let data = DataDir::new();
    assert_eq!(admin(&data, &["issuer", "list"]), "");
    let jwks = jwks_file(&data, JWKS);
    let out = admin(
        &data,
        &[
            "issuer",
            "add",
            "--issuer",
            "https://idp.example",
            "--jwks",
            &jwks,
            "--subject",
            "*",
            "--scope",
            "openid profile",
            "--mapping",
            "user",
        ],
    );
    assert!(out.contains("https://idp.example"), "{out}");
    admin(
        &data,
        &[
            "issuer",
            "add",
            "--issuer",
            "https://svc.example",
            "--jwks-uri",
            "https://svc.example/jwks",
            "--subject",
            "svc-a",
            "--subject",
            "svc-b",
            "--mapping",
            "service",
        ],
    );
    let list = admin(&data, &["issuer", "list"]);
    assert_eq!(
        list,
        "https://idp.example\tuser\tsubjects=*\tscope=openid profile\tjwks by value\n\
         https://svc.example\tservice\tsubjects=svc-a,svc-b\tscope=\thttps://svc.example/jwks\n"
    );
    // Adding again replaces.
    admin(
        &data,
        &[
            "issuer",
            "add",
            "--issuer",
            "https://idp.example",
            "--jwks",
            &jwks,
            "--subject",
            "alice",
            "--scope",
            "profile",
            "--mapping",
            "user",
        ],
    );
    let list = admin(&data, &["issuer", "list"]);
    assert!(
        list.starts_with("https://idp.example\tuser\tsubjects=alice\tscope=profile\t"),
        "{list}"
    );
    assert_eq!(list.lines().count(), 2);
    let out = admin(&data, &["issuer", "remove", "https://idp.example"]);
    assert!(out.contains("removed"), "{out}");
    let list = admin(&data, &["issuer", "list"]);
    assert!(list.starts_with("https://svc.example\t"), "{list}");
    assert_eq!(list.lines().count(), 1);
}

#[test]
fn refuses_bad_input() {
    let data = DataDir::new();
    let not_jwks = jwks_file(&data, r#"{"kty":"EC"}"#);
    let table: [(&[&str], &str); 5] = [
        (
            &["issuer", "remove", "https://nobody.example"],
            "no trusted issuer",
        ),
        (
            &[
                "issuer",
                "add",
                "--issuer",
                "https://a.example",
                "--jwks",
                &not_jwks,
                "--subject",
                "*",
                "--mapping",
                "user",
            ],
            "not a JWK Set",
        ),
        (
            &[
                "issuer",
                "add",
                "--issuer",
                "https://a.example",
                "--jwks-uri",
                "http://a.example/jwks",
                "--subject",
                "*",
                "--mapping",
                "user",
            ],
            "https",
        ),
        // Neither key source.
        (
            &[
                "issuer",
                "add",
                "--issuer",
                "https://a.example",
                "--subject",
                "*",
                "--mapping",
                "user",
            ],
            "--jwks",
        ),
        // No subject.
        (
            &[
                "issuer",
                "add",
                "--issuer",
                "https://a.example",
                "--jwks-uri",
                "https://a.example/jwks",
                "--mapping",
                "user",
            ],
            "--subject",
        ),
    ];
    for (args, expect) in table {
        let out = admin_command(&data, args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
    assert_eq!(admin(&data, &["issuer", "list"]), "");
}
