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

/// What this deployment implements and has enabled. Each endpoint group
/// contributes its fields only when it is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// JWS algorithms the key manager signs ID Tokens with.
    pub signing_algs: Vec<String>,
    /// op-auth, op-token and op-userinfo: the OpenID Provider core.
    pub core: Option<CoreCapabilities>,
    /// op-management: registration, introspection, revocation.
    pub management: Option<ManagementCapabilities>,
    /// op-async: the device authorization endpoint (RFC 8628).
    pub device_authorization: bool,
    /// op-async: the backchannel authentication endpoint (CIBA Core §4).
    pub backchannel: Option<BackchannelCapabilities>,
}

/// CIBA Core §4 provider metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackchannelCapabilities {
    /// `poll`, `ping`, `push`: only the modes that work.
    pub delivery_modes: Vec<String>,
    pub user_code_parameter: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreCapabilities {
    pub scopes: Vec<String>,
    pub claims: Vec<String>,
    pub response_types: Vec<String>,
    pub response_modes: Vec<String>,
    /// JARM §4: algs of signed authorization responses.
    pub authorization_signing_algs: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_methods: Vec<String>,
    pub token_endpoint_auth_signing_algs: Vec<String>,
    pub code_challenge_methods: Vec<String>,
    pub prompt_values: Vec<String>,
    pub require_pushed_authorization_requests: bool,
    /// JWE `alg` and `enc` values for ID Tokens and UserInfo responses.
    pub encryption_algs: Vec<String>,
    pub encryption_encs: Vec<String>,
    /// RFC 9101: algs of signed request objects (`request`, and
    /// `request_uri` values the client registered); empty when request
    /// objects are not accepted.
    pub request_object_signing_algs: Vec<String>,
    /// RFC 9101 §6.1: JWE `alg` and `enc` of encrypted request objects.
    pub request_object_encryption_algs: Vec<String>,
    pub request_object_encryption_encs: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagementCapabilities {
    pub client_auth_methods: Vec<String>,
    pub client_auth_signing_algs: Vec<String>,
}

/// Provider metadata. A struct rather than a JSON map: fields appear only
/// when their capability is on, and the component carries no generic JSON
/// value serialiser.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 8628 §4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// CIBA Core §4. No `backchannel_authentication_request_signing_alg_values_supported`:
    /// signed authentication requests are not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_authentication_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_token_delivery_modes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_user_code_parameter_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_signing_alg_values_supported: Option<Vec<String>>,
    /// JARM §4: encrypted authorization responses, as ID Tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_encryption_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_encryption_enc_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_enc_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_enc_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_parameter_supported: Option<bool>,
    /// OIDC Discovery defaults these to false / true; stated explicitly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameter_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
    /// OIDC Discovery §3: only registered `request_uri` values are used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_request_uri_registration: Option<bool>,
    /// RFC 9101 §10.1 / OIDC Discovery §3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_encryption_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_encryption_enc_values_supported: Option<Vec<String>>,
    /// RFC 9207.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// RFC 9449 §5.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// Fields common to both documents.
fn common(issuer: &Issuer, caps: &Capabilities) -> ProviderMetadata {
    let url = |path: &str| Some(issuer.endpoint(path));
    let mut m = ProviderMetadata {
        issuer: issuer.as_str().to_string(),
        jwks_uri: issuer.endpoint(JWKS_PATH),
        ..ProviderMetadata::default()
    };
    if let Some(core) = &caps.core {
        m.authorization_endpoint = url("/authorize");
        m.token_endpoint = url("/token");
        m.userinfo_endpoint = url("/userinfo");
        m.pushed_authorization_request_endpoint = url("/as/par");
        m.require_pushed_authorization_requests = Some(core.require_pushed_authorization_requests);
        m.end_session_endpoint = url("/logout");
        m.scopes_supported = Some(core.scopes.clone());
        m.response_types_supported = Some(core.response_types.clone());
        m.response_modes_supported = Some(core.response_modes.clone());
        m.authorization_signing_alg_values_supported =
            Some(core.authorization_signing_algs.clone());
        m.authorization_encryption_alg_values_supported = Some(core.encryption_algs.clone());
        m.authorization_encryption_enc_values_supported = Some(core.encryption_encs.clone());
        m.grant_types_supported = Some(core.grant_types.clone());
        m.subject_types_supported = Some(vec!["public".into()]);
        m.id_token_signing_alg_values_supported = Some(caps.signing_algs.clone());
        m.id_token_encryption_alg_values_supported = Some(core.encryption_algs.clone());
        m.id_token_encryption_enc_values_supported = Some(core.encryption_encs.clone());
        m.userinfo_signing_alg_values_supported = Some(caps.signing_algs.clone());
        m.userinfo_encryption_alg_values_supported = Some(core.encryption_algs.clone());
        m.userinfo_encryption_enc_values_supported = Some(core.encryption_encs.clone());
        m.token_endpoint_auth_methods_supported = Some(core.token_endpoint_auth_methods.clone());
        m.token_endpoint_auth_signing_alg_values_supported =
            Some(core.token_endpoint_auth_signing_algs.clone());
        m.code_challenge_methods_supported = Some(core.code_challenge_methods.clone());
        m.prompt_values_supported = Some(core.prompt_values.clone());
        m.claims_supported = Some(core.claims.clone());
        m.claims_parameter_supported = Some(true);
        let request_objects = !core.request_object_signing_algs.is_empty();
        m.request_parameter_supported = Some(request_objects);
        m.request_uri_parameter_supported = Some(request_objects);
        if request_objects {
            m.require_request_uri_registration = Some(true);
            m.request_object_signing_alg_values_supported =
                Some(core.request_object_signing_algs.clone());
            if !core.request_object_encryption_algs.is_empty() {
                m.request_object_encryption_alg_values_supported =
                    Some(core.request_object_encryption_algs.clone());
                m.request_object_encryption_enc_values_supported =
                    Some(core.request_object_encryption_encs.clone());
            }
        }
        m.authorization_response_iss_parameter_supported = Some(true);
        m.dpop_signing_alg_values_supported = Some(
            crate::error::DPOP_ALGS
                .iter()
                .map(|a| a.to_string())
                .collect(),
        );
    }
    if let Some(mgmt) = &caps.management {
        m.registration_endpoint = url("/register");
        m.introspection_endpoint = url("/introspect");
        m.introspection_endpoint_auth_methods_supported = Some(
            mgmt.client_auth_methods
                .iter()
                .filter(|a| *a != "none")
                .cloned()
                .collect(),
        );
        m.introspection_endpoint_auth_signing_alg_values_supported =
            Some(mgmt.client_auth_signing_algs.clone());
        m.revocation_endpoint = url("/revoke");
        m.revocation_endpoint_auth_methods_supported = Some(mgmt.client_auth_methods.clone());
        m.revocation_endpoint_auth_signing_alg_values_supported =
            Some(mgmt.client_auth_signing_algs.clone());
    }
    if caps.device_authorization {
        m.device_authorization_endpoint = url("/device_authorization");
    }
    if let Some(bc) = &caps.backchannel {
        m.backchannel_authentication_endpoint = url("/bc-authorize");
        m.backchannel_token_delivery_modes_supported = Some(bc.delivery_modes.clone());
        m.backchannel_user_code_parameter_supported = Some(bc.user_code_parameter);
    }
    m
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
    fn core_and_management_fields_follow_their_capabilities() {
        let caps = Capabilities {
            signing_algs: vec!["RS256".into(), "ES256".into()],
            core: Some(CoreCapabilities {
                require_pushed_authorization_requests: true,
                ..CoreCapabilities::default()
            }),
            management: Some(ManagementCapabilities {
                client_auth_methods: vec!["client_secret_basic".into(), "none".into()],
                client_auth_signing_algs: vec![],
            }),
            device_authorization: true,
            backchannel: Some(BackchannelCapabilities {
                delivery_modes: vec!["poll".into()],
                user_code_parameter: false,
            }),
        };
        let doc = to_json(&openid_configuration(&issuer(), &caps));
        assert_eq!(
            doc["backchannel_authentication_endpoint"],
            "https://id.example.com/bc-authorize"
        );
        assert_eq!(
            doc["backchannel_token_delivery_modes_supported"],
            json!(["poll"])
        );
        assert_eq!(doc["backchannel_user_code_parameter_supported"], false);
        assert!(doc
            .get("backchannel_authentication_request_signing_alg_values_supported")
            .is_none());
        assert_eq!(
            doc["authorization_endpoint"],
            "https://id.example.com/authorize"
        );
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
        assert_eq!(doc["require_pushed_authorization_requests"], true);
        assert_eq!(
            doc["device_authorization_endpoint"],
            "https://id.example.com/device_authorization"
        );
        assert_eq!(doc["request_uri_parameter_supported"], false);
        assert!(doc
            .get("request_object_signing_alg_values_supported")
            .is_none());
        let jar = Capabilities {
            core: Some(CoreCapabilities {
                request_object_signing_algs: vec!["RS256".into()],
                ..CoreCapabilities::default()
            }),
            ..caps.clone()
        };
        let doc = to_json(&openid_configuration(&issuer(), &jar));
        assert_eq!(doc["request_parameter_supported"], true);
        assert_eq!(doc["request_uri_parameter_supported"], true);
        assert_eq!(doc["require_request_uri_registration"], true);
        assert_eq!(
            doc["request_object_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic"]),
            "introspection needs an authenticated client"
        );
        assert_eq!(
            doc["revocation_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "none"])
        );
        let core_only = Capabilities {
            management: None,
            device_authorization: false,
            backchannel: None,
            ..caps
        };
        let doc = to_json(&openid_configuration(&issuer(), &core_only));
        assert!(doc.get("registration_endpoint").is_none());
        assert!(doc.get("device_authorization_endpoint").is_none());
        assert!(doc.get("backchannel_authentication_endpoint").is_none());
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
