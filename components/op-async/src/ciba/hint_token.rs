//! `login_hint_token` at `/bc-authorize` (CIBA Core §7.1; the format is
//! this OP's, README "CIBA"): a JWT from an issuer of the operator's
//! trusted-issuer registry (`authrim admin issuer add`, the one the JWT
//! bearer grant uses) with subjects mapped to users. In order:
//!
//! 1. parse (`authrim_oauth::ciba::LoginHintToken`: RS256/ES256 only, at
//!    most 8 KB), find the issuer by `iss`: unknown, or one of service
//!    subjects, is `invalid_request`;
//! 2. `aud` (our issuer identifier or the `/bc-authorize` URL), `exp`
//!    (past: `expired_login_hint_token`), `nbf`, `iat` as JWT assertions;
//! 3. the signature with the issuer's `jwks` or `jwks_uri`;
//! 4. `sub` among the issuer's allowed subjects, then mapped to a user as
//!    the JWT bearer grant maps it (a user id, else a username).
//!
//! Returns the user, if any; the caller answers `unknown_user_id` for none
//! or a disabled one.

use authrim_oauth::assertion::{issuer_keys, subject_allowed, subject_user, AssertionRules};
use authrim_oauth::ciba::LoginHintToken;
use authrim_protocol::OAuthError;

use super::AUTHORIZE_PATH;
use crate::store::{fault, Store, SubjectMapping, User};
use crate::{client, Env};

pub async fn user_of<S: Store>(env: &Env<'_, S>, token: &str) -> Result<Option<User>, OAuthError> {
    let hint = LoginHintToken::parse(token)?;
    let issuer = env
        .store
        .trusted_issuer(hint.iss())
        .map_err(fault("trusted-issuers.get"))?
        .filter(|i| i.subject_mapping == SubjectMapping::User)
        .ok_or_else(|| {
            OAuthError::invalid_request("the login_hint_token issuer is not trusted for users")
        })?;
    let ours = &env.config.issuer;
    let rules = AssertionRules::new(vec![
        ours.as_str().to_string(),
        ours.endpoint(AUTHORIZE_PATH),
    ]);
    hint.check_claims(&rules, env.now)?;
    let keys = issuer_keys(
        issuer.jwks_json.as_deref(),
        issuer.jwks_uri.as_deref(),
        &client::lookup(env.store),
    )
    .await
    .map_err(|why| {
        crate::log(&format!("trusted issuer {}: keys: {why}", issuer.issuer));
        OAuthError::invalid_request("the keys of the login_hint_token issuer are unavailable")
    })?;
    hint.verify(&keys)?;
    if !subject_allowed(&issuer.allowed_subjects, hint.sub()) {
        return Err(OAuthError::invalid_request(
            "the login_hint_token issuer may not assert this subject",
        ));
    }
    subject_user(
        hint.sub(),
        |id| env.store.user(id).map_err(fault("users.get")),
        |name| {
            env.store
                .user_by_username(name)
                .map_err(fault("users.find-by-username"))
        },
    )
}
