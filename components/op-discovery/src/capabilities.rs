//! What this build of Authrim serves, as discovery advertises it. The lists
//! come from the code that implements them (authrim-oauth) wherever such a
//! list exists, so the document cannot drift from the endpoints.

use authrim_oauth::assertion::JWT_BEARER_GRANT_TYPE;
use authrim_oauth::authorize::RESPONSE_TYPES_SUPPORTED;
use authrim_oauth::ciba::{CIBA_GRANT_TYPE, DELIVERY_MODES_SUPPORTED};
use authrim_oauth::claims::STANDARD_CLAIMS;
use authrim_oauth::device::DEVICE_CODE_GRANT_TYPE;
use authrim_oauth::encryption::{ContentEnc, KeyAlg};
use authrim_oauth::pkce::METHODS_SUPPORTED;
use authrim_oauth::request_object::{ENCRYPTION_ALGS, SIGNING_ALGS};
use authrim_oauth::response_mode::ResponseMode;
use authrim_protocol::discovery::{
    BackchannelCapabilities, Capabilities, CoreCapabilities, ManagementCapabilities,
};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Client authentication methods of the token, PAR, introspection and
/// revocation endpoints (authrim-oauth client_auth).
const CLIENT_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];
const CLIENT_AUTH_SIGNING_ALGS: &[&str] = &["HS256", "HS384", "HS512", "RS256", "ES256"];

/// Claims an ID Token or UserInfo response may carry besides the standard
/// user claims.
const PROTOCOL_CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
];

pub fn deployed(require_pushed_authorization_requests: bool) -> Capabilities {
    let mut claims = strings(PROTOCOL_CLAIMS);
    for (name, _) in STANDARD_CLAIMS {
        if !PROTOCOL_CLAIMS.contains(name) {
            claims.push(name.to_string());
        }
    }
    Capabilities {
        signing_algs: strings(&["RS256", "ES256"]),
        core: Some(CoreCapabilities {
            scopes: strings(&[
                "openid",
                "profile",
                "email",
                "address",
                "phone",
                "offline_access",
            ]),
            claims,
            response_types: strings(&RESPONSE_TYPES_SUPPORTED),
            response_modes: strings(&ResponseMode::SUPPORTED),
            authorization_signing_algs: strings(&["RS256", "ES256"]),
            grant_types: strings(&[
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
                DEVICE_CODE_GRANT_TYPE,
                JWT_BEARER_GRANT_TYPE,
                CIBA_GRANT_TYPE,
            ]),
            token_endpoint_auth_methods: strings(CLIENT_AUTH_METHODS),
            token_endpoint_auth_signing_algs: strings(CLIENT_AUTH_SIGNING_ALGS),
            code_challenge_methods: strings(METHODS_SUPPORTED),
            prompt_values: strings(&["none", "login", "consent", "select_account"]),
            require_pushed_authorization_requests,
            // authrim-jose's JWE, for ID Tokens (op-token) and UserInfo.
            encryption_algs: KeyAlg::ALL.iter().map(|a| a.to_string()).collect(),
            encryption_encs: ContentEnc::ALL.iter().map(|e| e.to_string()).collect(),
            // op-auth (RFC 9101): signed, and optionally encrypted to the
            // OP's P-256 key (op-store `encryption-keys`).
            request_object_signing_algs: SIGNING_ALGS.iter().map(|a| a.to_string()).collect(),
            request_object_encryption_algs: ENCRYPTION_ALGS.iter().map(|a| a.to_string()).collect(),
            request_object_encryption_encs: ContentEnc::ALL.iter().map(|e| e.to_string()).collect(),
        }),
        management: Some(ManagementCapabilities {
            client_auth_methods: strings(CLIENT_AUTH_METHODS),
            client_auth_signing_algs: strings(CLIENT_AUTH_SIGNING_ALGS),
        }),
        device_authorization: true,
        // op-async's /bc-authorize; user_code for clients registered with
        // backchannel_user_code_parameter.
        backchannel: Some(BackchannelCapabilities {
            delivery_modes: DELIVERY_MODES_SUPPORTED
                .iter()
                .map(|m| m.to_string())
                .collect(),
            user_code_parameter: true,
        }),
    }
}
