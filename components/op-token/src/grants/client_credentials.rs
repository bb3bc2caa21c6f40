//! `grant_type=client_credentials` (RFC 6749 §4.4).
//!
//! Confidential clients only (the endpoint refuses public ones with
//! `unauthorized_client`). The scope is what the client asked for, limited
//! to its registered `scope`; without `scope` it is the registered scope.
//! `openid` and `offline_access` concern an End-User and are never granted
//! here. The grant has no user, no session and no refresh token; the access
//! token's `sub` is the client_id (RFC 9068 §2.2).

use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_oauth::scope::{Scope, OFFLINE_ACCESS, OPENID};
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::issue::{self, GrantData, TokenResponse};
use crate::store::Store;

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let scope = granted_scope(requested.as_ref(), client.metadata.scope.as_deref())?;
    let data = GrantData::default();
    issue::access_only_grant(
        store,
        env,
        client.id.as_str(),
        None,
        &scope,
        &data,
        proof.map(|p| p.jkt.as_str()),
    )
}

fn user_only(scope: &Scope) -> Scope {
    scope.without(OPENID).without(OFFLINE_ACCESS)
}

/// The scope to grant for a request and the client's registered scope.
pub fn granted_scope(
    requested: Option<&Scope>,
    registered: Option<&str>,
) -> Result<Scope, OAuthError> {
    let registered = registered.map(|r| user_only(&Scope::from_tokens(r.split(' '))));
    let Some(requested) = requested.map(user_only) else {
        return Ok(registered.unwrap_or_default());
    };
    let granted = match &registered {
        Some(reg) => requested.intersection(reg),
        None => requested,
    };
    if granted.is_empty() {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidScope,
            "none of the requested scope values is allowed for this client",
        ));
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Scope {
        Scope::parse(v).unwrap()
    }

    #[test]
    fn scope_table() {
        let ok: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, ""),
            (None, Some("api:read api:write"), "api:read api:write"),
            (None, Some("openid api:read"), "api:read"),
            (Some("api:read"), None, "api:read"),
            (Some("api:read"), Some("api:read api:write"), "api:read"),
            (
                Some("api:write api:x"),
                Some("api:read api:write"),
                "api:write",
            ),
            (Some("openid api:read"), Some("api:read"), "api:read"),
        ];
        for (req, reg, want) in ok {
            let got = granted_scope(req.map(s).as_ref(), *reg).unwrap();
            assert_eq!(got.to_string(), *want, "{req:?} {reg:?}");
        }
        let bad: &[(&str, Option<&str>)] = &[
            ("api:x", Some("api:read")),
            ("openid", Some("api:read")),
            ("openid offline_access", None),
        ];
        for (req, reg) in bad {
            let e = granted_scope(Some(&s(req)), *reg).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidScope, "{req} {reg:?}");
        }
    }
}
