//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1,
//! RFC 7521 §4.1).
//!
//! The client (authenticated by the endpoint like for every grant, and
//! registered for this grant type; RFC 7521 §5.2 leaves authentication to
//! the server: we require it, so a request without credentials is
//! `invalid_client` and a public client `unauthorized_client`) presents an
//! `assertion`, a JWT signed by an issuer the operator trusts
//! (`authrim admin issuer add`). In order:
//!
//! 1. parse (RS256/ES256 only, oversized refused unread; `authrim_oauth::
//!    assertion::GrantAssertion`), find the trusted issuer by `iss`,
//! 2. check `aud`/`exp`/`nbf`/`iat` with the rules client assertions use,
//! 3. verify the signature with the issuer's `jwks` or `jwks_uri` (fetched
//!    now, by the code that fetches client keys),
//! 4. check `sub` against the issuer's allowed subjects and map it: to a
//!    local user (by id, else by username) or to a service identity,
//! 5. compute the scope, record the `jti` with op-store `one-time.mark-used`
//!    (atomic: of concurrent requests with one assertion exactly one wins),
//! 6. issue an access token in a new grant.
//!
//! Every assertion problem is `invalid_grant` with a description (RFC 7521
//! §5.2). No refresh token and no ID Token: RFC 7521 §4.1 leaves refresh
//! tokens to the server, and here the short-lived assertion is the
//! credential (the client gets a new one from its issuer rather than
//! keeping a long-lived token); no End-User authenticated at this OP, so
//! there is no authentication event for an ID Token to describe. User
//! subjects with `openid` can still call UserInfo.

use authrim_oauth::assertion::{
    issuer_keys, subject_allowed, subject_user, GrantAssertion, GRANT_JTI_NAMESPACE,
};
use authrim_oauth::client_auth::AssertionRules;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_oauth::scope::{Scope, OFFLINE_ACCESS, OPENID};
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::issue::{self, invalid_grant, GrantData, TokenResponse};
use crate::store::{fault, Store, SubjectMapping, TrustedIssuer, User};

pub async fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    let assertion = GrantAssertion::parse(params.require("assertion")?)?;
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let issuer = store
        .trusted_issuer(&assertion.iss)
        .map_err(fault("trusted-issuers.get"))?
        .ok_or_else(|| invalid_grant("the assertion issuer is not trusted"))?;
    let rules = AssertionRules::new(env.assertion_audiences());
    let remember_until = assertion.check_claims(&rules, env.now)?;
    verify_signature(&assertion, &issuer, store).await?;
    if !subject_allowed(&issuer.allowed_subjects, &assertion.sub) {
        return Err(invalid_grant(
            "the assertion issuer may not assert this subject",
        ));
    }
    let user = match issuer.subject_mapping {
        SubjectMapping::User => Some(local_user(store, &assertion.sub)?),
        SubjectMapping::Service => None,
    };
    let scope = granted_scope(
        requested.as_ref(),
        &issuer.allowed_scopes,
        client.metadata.scope.as_deref(),
        user.is_some(),
    )?;
    // Last check, so that a refused request does not use up the assertion.
    if !store
        .mark_used(
            GRANT_JTI_NAMESPACE,
            &assertion.replay_key(),
            remember_until,
            env.now,
        )
        .map_err(fault("one-time.mark-used"))?
    {
        return Err(invalid_grant("the assertion was already used"));
    }
    let data = GrantData {
        service_subject: user.is_none().then(|| assertion.sub.clone()),
        ..GrantData::default()
    };
    issue::access_only_grant(
        store,
        env,
        client.id.as_str(),
        user.as_ref().map(|u| u.id.as_str()),
        &scope,
        &data,
        proof.map(|p| p.jkt.as_str()),
    )
}

/// Step 3: the issuer's keys by value, or from its `jwks_uri` (fetched on
/// each use, like a client's, so key rotation needs no restart). Keys that
/// cannot be had are logged and refuse the assertion.
async fn verify_signature<S: Store>(
    assertion: &GrantAssertion,
    issuer: &TrustedIssuer,
    store: &S,
) -> Result<(), OAuthError> {
    let keys = issuer_keys(
        issuer.jwks_json.as_deref(),
        issuer.jwks_uri.as_deref(),
        &crate::client::lookup(store),
    )
    .await
    .map_err(|why| {
        eprintln!("op-token: trusted issuer {}: keys: {why}", issuer.issuer);
        invalid_grant("the keys of the assertion issuer are unavailable")
    })?;
    assertion.verify(&keys)
}

/// Step 4 for issuers of user subjects: the enabled user whose id, or
/// else whose username, is `sub` (`assertion::subject_user`, shared with
/// CIBA's `login_hint_token`).
fn local_user<S: Store>(store: &S, sub: &str) -> Result<User, OAuthError> {
    let user = subject_user(
        sub,
        |id| store.user(id).map_err(fault("users.get")),
        |name| {
            store
                .user_by_username(name)
                .map_err(fault("users.find-by-username"))
        },
    )?;
    user.filter(|u| !u.disabled)
        .ok_or_else(|| invalid_grant("the assertion subject is not an active user"))
}

/// The scope to grant: what the request asks for (everything permitted
/// when it names none) within what the issuer may grant and the client
/// registered (no registered `scope`: no limit from the client).
/// `offline_access` never (no refresh token); `openid` only for user
/// subjects. Asking only for what is not permitted is `invalid_scope`.
pub fn granted_scope(
    requested: Option<&Scope>,
    issuer_allowed: &[String],
    registered: Option<&str>,
    user: bool,
) -> Result<Scope, OAuthError> {
    let mut permitted =
        Scope::from_tokens(issuer_allowed.iter().map(String::as_str)).without(OFFLINE_ACCESS);
    if !user {
        permitted = permitted.without(OPENID);
    }
    if let Some(registered) = registered {
        permitted = permitted.intersection(&Scope::from_tokens(registered.split(' ')));
    }
    let Some(requested) = requested else {
        return Ok(permitted);
    };
    let granted = requested.intersection(&permitted);
    if granted.is_empty() && !requested.is_empty() {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidScope,
            "none of the requested scope values may be granted on this assertion",
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

    fn list(v: &str) -> Vec<String> {
        v.split_whitespace().map(str::to_string).collect()
    }

    /// (requested, issuer allows, client registered, user subject, granted)
    type Row<'a> = (Option<&'a str>, &'a str, Option<&'a str>, bool, &'a str);

    #[test]
    fn scope_table() {
        let ok: &[Row] = &[
            (None, "openid api", None, true, "openid api"),
            (None, "openid api", None, false, "api"),
            (None, "openid api offline_access", None, true, "openid api"),
            (None, "api other", Some("api"), false, "api"),
            (None, "", None, true, ""),
            (Some("api"), "openid api", None, true, "api"),
            (Some("api x"), "api", None, false, "api"),
            (Some("openid api"), "openid api", Some("api"), true, "api"),
            (Some("openid api"), "openid api", None, false, "api"),
        ];
        for (req, allowed, reg, user, want) in ok {
            let got = granted_scope(req.map(s).as_ref(), &list(allowed), *reg, *user).unwrap();
            assert_eq!(got.to_string(), *want, "{req:?} {allowed} {reg:?} {user}");
        }
        let bad: &[(&str, &str, Option<&str>, bool)] = &[
            ("x", "api", None, true),
            ("api", "api", Some("other"), true),
            ("openid", "openid api", None, false),
            ("offline_access", "offline_access api", None, true),
            ("api", "", None, true),
        ];
        for (req, allowed, reg, user) in bad {
            let e = granted_scope(Some(&s(req)), &list(allowed), *reg, *user).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidScope, "{req} {allowed}");
        }
    }
}
