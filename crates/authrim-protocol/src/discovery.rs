//! Provider metadata: OIDC Discovery 1.0 §3 and RFC 8414 §2.
//!
//! The document lists only what is implemented and enabled. Each capability
//! that lands (authorization endpoint, token endpoint, ...) adds its fields
//! here behind its entry in [`Capabilities`]; nothing is advertised ahead of
//! the code that serves it.

use crate::issuer::Issuer;
use serde::Serialize;

pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
pub const OAUTH_AUTHORIZATION_SERVER_PATH: &str = "/.well-known/oauth-authorization-server";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Seconds a discovery document may be cached (the seed: one hour).
pub const METADATA_MAX_AGE: u32 = 3600;
/// Seconds a JWKS may be cached. Key rotation publishes a new key at least
/// twice this long before it signs (`authrim admin keys rotate`, default
/// publish delay 1200 s), so a cached JWKS never lacks a signing key.
pub const JWKS_MAX_AGE: u32 = 600;

/// What this deployment implements and has enabled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether anything in this deployment issues ID Tokens. Until then the
    /// ID Token fields (signing algorithms, subject types) are left out.
    pub issues_id_tokens: bool,
    /// JWS algorithms the key manager signs with.
    pub signing_algs: Vec<String>,
}

/// Provider metadata. A struct rather than a JSON map: fields appear only
/// when their capability is on, and the component carries no generic JSON
/// value serialiser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
}

/// Fields common to both documents.
fn common(issuer: &Issuer, caps: &Capabilities) -> ProviderMetadata {
    let id_tokens = caps.issues_id_tokens;
    ProviderMetadata {
        issuer: issuer.as_str().to_string(),
        jwks_uri: issuer.endpoint(JWKS_PATH),
        subject_types_supported: id_tokens.then(|| vec!["public"]),
        id_token_signing_alg_values_supported: id_tokens.then(|| caps.signing_algs.clone()),
    }
}

/// `/.well-known/openid-configuration` (OIDC Discovery 1.0 §3).
pub fn openid_configuration(issuer: &Issuer, caps: &Capabilities) -> ProviderMetadata {
    common(issuer, caps)
}

/// `/.well-known/oauth-authorization-server` (RFC 8414 §2). The same facts;
/// RFC 8414 §3.2 requires `issuer` to match the one it was fetched for.
pub fn oauth_authorization_server(issuer: &Issuer, caps: &Capabilities) -> ProviderMetadata {
    common(issuer, caps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn to_json(m: &ProviderMetadata) -> Value {
        serde_json::to_value(m).unwrap()
    }

    fn issuer() -> Issuer {
        Issuer::parse("https://id.example.com/").unwrap()
    }

    #[test]
    fn lists_only_what_exists() {
        let doc = to_json(&openid_configuration(&issuer(), &Capabilities::default()));
        assert_eq!(
            doc,
            json!({
                "issuer": "https://id.example.com",
                "jwks_uri": "https://id.example.com/.well-known/jwks.json",
            })
        );
    }

    #[test]
    fn id_token_fields_follow_the_capability() {
        let caps = Capabilities {
            issues_id_tokens: true,
            signing_algs: vec!["RS256".into(), "ES256".into()],
        };
        let doc = to_json(&openid_configuration(&issuer(), &caps));
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
    }

    #[test]
    fn rfc8414_document_has_the_same_issuer() {
        let doc = to_json(&oauth_authorization_server(
            &issuer(),
            &Capabilities::default(),
        ));
        assert_eq!(doc["issuer"], "https://id.example.com");
    }
}
