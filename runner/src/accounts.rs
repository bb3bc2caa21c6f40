//! Users and clients created by an operator (`authrim admin user add`,
//! `authrim admin client add`) and the `--dev` demo data. Input is checked
//! with the same rules the endpoints use (authrim-oauth), then written
//! through op-store.

use std::path::Path;

use authrim_oauth::client_metadata::{AuthMethod, ClientMetadata};
use authrim_protocol::secret::{hash_password, random_token};
use wasmtime::{Result, format_err};

use crate::admin::{Client, StoreClient, User};

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn new_id() -> Result<String> {
    random_token().map_err(|e| format_err!("no randomness: {e}"))
}

/// Builds a user record: the password hashed with argon2id, the claims
/// checked against OIDC Core 5.1 types.
pub fn new_user(
    id: Option<String>,
    username: &str,
    password: Option<&str>,
    claims_json: Option<&str>,
) -> Result<User> {
    let username = username.trim();
    if username.is_empty() || username.len() > 255 || username.chars().any(char::is_control) {
        return Err(format_err!(
            "--username must be 1 to 255 printable characters"
        ));
    }
    let claims: serde_json::Map<String, serde_json::Value> = match claims_json {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format_err!("--claims must be a JSON object: {e}"))?,
        None => serde_json::Map::new(),
    };
    authrim_oauth::claims::check_standard_claims(&claims)
        .map_err(|e| format_err!("--claims: {e}"))?;
    if claims.contains_key("sub") {
        return Err(format_err!(
            "--claims must not set `sub`: it is the user id (--id)"
        ));
    }
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => {
            return Err(format_err!("the password must have at least 8 characters"));
        }
        Some(p) => Some(hash_password(p).map_err(|e| format_err!("argon2: {e}"))?),
        None => None,
    };
    let t = now();
    Ok(User {
        id: match id {
            Some(id) => id,
            None => new_id()?,
        },
        username: username.to_string(),
        password_hash,
        claims_json: serde_json::Value::Object(claims).to_string(),
        disabled: false,
        created_at: t,
        updated_at: t,
    })
}

/// Shortest CIBA user code accepted: with 5 tries per user per 15 minutes
/// (op-async `ciba::user_code`), a 6-digit PIN holds for about 7 years of
/// guessing on average.
pub const MIN_USER_CODE_CHARS: usize = 6;

/// A CIBA user code (CIBA Core 1.0 section 7.1) hashed like a password
/// (argon2id), after checking it is 6 to 64 printable characters.
pub fn user_code_hash(code: &str) -> Result<String> {
    let chars = code.chars().count();
    if !(MIN_USER_CODE_CHARS..=64).contains(&chars) || code.chars().any(char::is_control) {
        return Err(format_err!(
            "the user code must be {MIN_USER_CODE_CHARS} to 64 printable characters"
        ));
    }
    hash_password(code).map_err(|e| format_err!("argon2: {e}"))
}

/// A client ready to store, and the secret to show the operator once.
pub struct NewClient {
    pub client: Client,
    pub secret: Option<String>,
    pub keep_for_mac: bool,
}

/// Builds a client from RFC 7591 metadata, validated as `/register` does.
/// Clients authenticating with a secret get the given one or a new one.
pub fn new_client(
    metadata_json: &str,
    client_id: Option<String>,
    secret: Option<String>,
) -> Result<NewClient> {
    let metadata = ClientMetadata::from_json(metadata_json)
        .map_err(|e| format_err!("client metadata: {e}"))?;
    metadata
        .validate()
        .map_err(|e| format_err!("client metadata: {e}"))?;
    let uses_secret = matches!(
        metadata.token_endpoint_auth_method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost | AuthMethod::ClientSecretJwt
    );
    let secret = match (uses_secret, secret) {
        (true, Some(s)) if s.len() < 32 => {
            return Err(format_err!(
                "--client-secret must have at least 32 characters"
            ));
        }
        (true, Some(s)) => Some(s),
        (true, None) => Some(new_id()?),
        (false, Some(_)) => {
            return Err(format_err!(
                "--client-secret given, but token_endpoint_auth_method {} uses no secret",
                metadata.token_endpoint_auth_method
            ));
        }
        (false, None) => None,
    };
    let client_id = match client_id {
        Some(id) => authrim_oauth::client_metadata::ClientId::parse(&id)
            .ok_or_else(|| format_err!("--client-id must be 1 to 255 printable ASCII characters"))?
            .as_str()
            .to_string(),
        None => new_id()?,
    };
    let t = now();
    Ok(NewClient {
        client: Client {
            client_id,
            secret_hash: None,
            metadata_json: serde_json::to_string(&metadata)
                .map_err(|e| format_err!("client metadata: {e}"))?,
            registration_token_hash: None,
            created_at: t,
            updated_at: t,
        },
        keep_for_mac: metadata.token_endpoint_auth_method == AuthMethod::ClientSecretJwt,
        secret,
    })
}

pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8400/callback";
const DEMO_CREDENTIALS_FILE: &str = ".authrim/dev-demo-credentials.json";

/// `--dev`: a demo user and a demo confidential client, created once; their
/// generated credentials are kept (mode 0600) beside the dev master key so
/// that every start can print them.
pub async fn ensure_demo(store: &StoreClient, dir: &Path, issuer: &str) -> Result<String> {
    let path = dir.join(DEMO_CREDENTIALS_FILE);
    let saved: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let field = |k: &str| {
        saved
            .as_ref()
            .and_then(|v| v[k].as_str())
            .map(str::to_string)
    };
    let (password, secret) = match (field("password"), field("client_secret")) {
        (Some(p), Some(s)) => (p, s),
        _ => (new_id()?, new_id()?),
    };
    if store.find_user(DEMO_USERNAME).await?.is_none() {
        let claims = serde_json::json!({
            "name": "Demo User",
            "given_name": "Demo",
            "family_name": "User",
            "email": "demo@example.com",
            "email_verified": true,
        });
        let user = new_user(
            None,
            DEMO_USERNAME,
            Some(&password),
            Some(&claims.to_string()),
        )?;
        store.create_user(&user).await?;
    }
    if store.get_client(DEMO_CLIENT_ID).await?.is_none() {
        let metadata = serde_json::json!({
            "client_name": "Authrim demo client",
            "redirect_uris": [DEMO_REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "post_logout_redirect_uris": ["http://127.0.0.1:8400/"],
        });
        let c = new_client(
            &metadata.to_string(),
            Some(DEMO_CLIENT_ID.into()),
            Some(secret.clone()),
        )?;
        store
            .create_client(&c.client, c.secret.as_deref(), c.keep_for_mac)
            .await?;
    }
    if saved.is_none() {
        write_private(
            &path,
            &serde_json::json!({ "password": password, "client_secret": secret }).to_string(),
        )?;
    }
    Ok(format!(
        "Demo data (development only):\n\
         \x20 user:   {DEMO_USERNAME} / {password}\n\
         \x20 client: {DEMO_CLIENT_ID} / {secret} (client_secret_basic)\n\
         \x20         redirect_uri {DEMO_REDIRECT_URI}\n\
         \x20 Try:    curl {issuer}/.well-known/openid-configuration\n\
         \x20 Login:  open {issuer}/authorize?client_id={DEMO_CLIENT_ID}&response_type=code\
         &scope=openid%20profile%20email&state=xyz&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback\n\
         \x20         sign in as {DEMO_USERNAME}, allow access: the code is in the address bar\n\
         \x20         at the redirect URI (nothing needs to listen there).\n\
         \x20 Stored in {}",
        path.display()
    ))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format_err!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_checked_and_hashed() {
        let u = new_user(
            None,
            "alice",
            Some("correct horse"),
            Some(r#"{"email":"a@example.com"}"#),
        )
        .unwrap();
        assert!(u.password_hash.unwrap().starts_with("$argon2id$"));
        assert_eq!(u.id.len(), 43);
        for (name, password, claims) in [
            ("", Some("long enough"), None),
            ("bob", Some("short"), None),
            ("bob", None, Some("[1]")),
            ("bob", None, Some(r#"{"email_verified":"yes"}"#)),
            ("bob", None, Some(r#"{"sub":"x"}"#)),
        ] {
            assert!(
                new_user(None, name, password, claims).is_err(),
                "{name} {claims:?}"
            );
        }
    }

    #[test]
    fn user_codes_are_checked_and_hashed() {
        let phc = user_code_hash("482916").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(authrim_protocol::secret::verify_password("482916", &phc));
        for bad in ["12345", "", "12345\n6", &"9".repeat(65)] {
            assert!(user_code_hash(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clients_are_validated_like_registration() {
        let ok = new_client(
            r#"{"redirect_uris":["https://rp.example.com/cb"]}"#,
            Some("rp".into()),
            None,
        )
        .unwrap();
        assert_eq!(ok.client.client_id, "rp");
        assert_eq!(ok.secret.as_deref().map(str::len), Some(43));
        assert!(!ok.keep_for_mac);
        let jwt = new_client(
            r#"{"redirect_uris":["https://rp.example.com/cb"],"token_endpoint_auth_method":"client_secret_jwt"}"#,
            None,
            Some("x".repeat(40)),
        )
        .unwrap();
        assert!(jwt.keep_for_mac);
        let public = new_client(
            r#"{"redirect_uris":["https://rp.example.com/cb"],"token_endpoint_auth_method":"none"}"#,
            None,
            None,
        )
        .unwrap();
        assert!(public.secret.is_none());
        for (metadata, secret) in [
            (r#"{"redirect_uris":["http://rp.example.com/cb"]}"#, None),
            (r#"{"redirect_uris":["https://rp.example.com/cb#f"]}"#, None),
            (r#"not json"#, None),
            (
                r#"{"redirect_uris":["https://rp.example.com/cb"]}"#,
                Some("short"),
            ),
            (
                r#"{"redirect_uris":["https://rp.example.com/cb"],"token_endpoint_auth_method":"none"}"#,
                Some("x".repeat(40).as_str()),
            ),
        ] {
            assert!(
                new_client(metadata, None, secret.map(str::to_string)).is_err(),
                "{metadata}"
            );
        }
    }
}
