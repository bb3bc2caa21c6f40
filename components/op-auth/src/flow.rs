//! The authorization flow after the request is valid, shared by
//! `/authorize`, `/login` and `/consent`: who is signed in, whether they
//! must sign in (again), whether they must consent, and finally the code.
//!
//! [`proceed`] runs these steps in order; each is a small pure function:
//! 1. [`login_needed`]: no session; or `prompt=login`/`select_account`,
//!    `max_age` exceeded, or an `id_token_hint` for someone else, unless
//!    the session was created by a login in this very interaction.
//!    With `prompt=none` → `login_required`.
//! 2. [`consent_needed`]: `prompt=consent` not yet answered in this
//!    interaction, or no stored consent covering every scope value and
//!    every claim named in the `claims` parameter. With `prompt=none` →
//!    `consent_required`.
//! 3. [`issue_response`]: what the response type asks for, delivered in
//!    the request's response mode with `iss`: the code (60 s, stored by
//!    hash) with what the token endpoint needs; an access token (an RFC
//!    9068 JWT minted as op-token mints them, recorded in a grant tied to
//!    the session so UserInfo, introspection and revocation know it); an
//!    ID Token with `c_hash`/`at_hash` (`authrim_oauth::front_channel`),
//!    encrypted to the client's key if it registered so (`keys`), as is
//!    an encrypted JARM response.

use crate::config::CODE_TTL;
use crate::interaction::{self, Interaction};
use crate::store::{AccessToken, AuthCode, Consent, Grant, Session, StoredClient, User};
use crate::{cookie, keys, new_token, Env};
use authrim_jose::Jwks;
use authrim_oauth::authorize::{self, AuthorizationRequest, ClientRef, Origin};
use authrim_oauth::claims::requested_claim_names;
use authrim_oauth::client_metadata::{ClientId, ClientMetadata};
use authrim_oauth::encryption::seal_id_token;
use authrim_oauth::front_channel::{self, Authentication, Companions};
use authrim_oauth::id_token::{
    mint_access_token, AccessTokenGrant, ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP, ID_TOKEN_TYP,
};
use authrim_oauth::response_mode::{Issued, Jarm};
use authrim_oauth::scope::Scope;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde_json::{json, Value};

/// A validated request and its client.
pub struct Pending {
    pub request: AuthorizationRequest,
    pub client: ClientMetadata,
}

impl Pending {
    /// The name shown to the user: `client_name`, else the client id.
    pub fn client_name(&self) -> &str {
        self.client
            .client_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(self.request.client_id.as_str())
    }
}

/// The stored client and its metadata; `None` when there is no such client.
pub fn load_client(
    env: &Env,
    client_id: &str,
) -> Result<Option<(StoredClient, ClientMetadata)>, OAuthError> {
    let Some(stored) = env.store.client(client_id)? else {
        return Ok(None);
    };
    let metadata = ClientMetadata::from_json(&stored.metadata_json).map_err(|e| {
        crate::log(&format!("stored metadata of client {client_id:?}: {e}"));
        OAuthError::server_error()
    })?;
    Ok(Some((stored, metadata)))
}

/// Validates a stored interaction's request again (its client may have
/// changed or gone since). Errors are for the user's eyes.
pub fn revalidate(env: &Env, interaction: &Interaction) -> Result<Pending, OAuthError> {
    let params = interaction.params()?;
    let unknown = || authorize::AuthorizeError::unknown_client().error;
    let raw_id = params.get("client_id").ok_or_else(unknown)?;
    let client_id = ClientId::parse(raw_id).ok_or_else(unknown)?;
    let (_, metadata) = load_client(env, raw_id)?.ok_or_else(unknown)?;
    let origin = if interaction.pushed {
        Origin::Pushed { client_id: raw_id }
    } else {
        Origin::Authorize
    };
    let client = ClientRef {
        client_id: &client_id,
        metadata: &metadata,
    };
    let request = authorize::validate(&params, client, origin, &env.config.authorize_config())
        .map_err(|e| e.error)?;
    Ok(Pending {
        request,
        client: metadata,
    })
}

/// The active session named by the request's cookie, with its user, when
/// that user still exists and is not disabled.
pub fn current_session(
    env: &Env,
    cookie_header: Option<&str>,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(value) = cookie::read(&env.config.issuer, cookie_header) else {
        return Ok(None);
    };
    let Some(session) = env.store.active_session(&hash_token(value), env.now)? else {
        return Ok(None);
    };
    match env.store.user(&session.user_id)? {
        Some(user) if !user.disabled => Ok(Some((session, user))),
        _ => Ok(None),
    }
}

/// Step 1. `Err` when the request must fail (an `id_token_hint` for another
/// user than the one who just signed in).
pub fn login_needed(
    request: &AuthorizationRequest,
    interaction: &Interaction,
    session: Option<&Session>,
    now: i64,
) -> Result<bool, OAuthError> {
    let Some(s) = session else {
        return Ok(true);
    };
    let hint_mismatch = interaction
        .hint_sub
        .as_deref()
        .is_some_and(|sub| sub != s.user_id);
    if interaction.fresh_sid.as_deref() == Some(s.sid.as_str()) {
        if hint_mismatch {
            return Err(OAuthError::with_description(
                ErrorCode::LoginRequired,
                "the End-User who signed in is not the one id_token_hint identifies",
            ));
        }
        return Ok(false);
    }
    let too_old = request.max_age.is_some_and(|max| {
        now.saturating_sub(s.auth_time) >= i64::try_from(max).unwrap_or(i64::MAX)
    });
    Ok(request.prompt.login || request.prompt.select_account || too_old || hint_mismatch)
}

/// Claim names requested through the `claims` parameter (the scope's
/// claims are covered by the scope values themselves).
pub fn claims_parameter_names(request: &AuthorizationRequest) -> Vec<&'static str> {
    requested_claim_names(&Scope::default(), request.claims.as_ref())
}

/// Step 2.
pub fn consent_needed(
    request: &AuthorizationRequest,
    interaction: &Interaction,
    stored: Option<&Consent>,
) -> bool {
    if interaction.consented {
        return false;
    }
    if request.prompt.consent {
        return true;
    }
    let Some(c) = stored else {
        return true;
    };
    let granted_scope: Vec<&str> = c.scope.split(' ').collect();
    let granted_claims = claim_list(&c.claims_json);
    let covered = request.scope.iter().all(|t| granted_scope.contains(&t))
        && claims_parameter_names(request)
            .iter()
            .all(|n| granted_claims.iter().any(|g| g == n));
    !covered
}

/// A stored consent's claim names (a JSON array of strings; anything
/// else counts as none).
fn claim_list(json: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The consent to store after approval: what was granted before plus
/// this request.
pub fn merged_consent(
    request: &AuthorizationRequest,
    user_id: &str,
    previous: Option<&Consent>,
    now: i64,
) -> Consent {
    let mut scope: Vec<String> = previous
        .map(|c| {
            c.scope
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for t in request.scope.iter() {
        if !scope.iter().any(|s| s == t) {
            scope.push(t.to_string());
        }
    }
    let mut claims: Vec<String> = previous
        .map(|c| claim_list(&c.claims_json))
        .unwrap_or_default();
    for n in claims_parameter_names(request) {
        if !claims.iter().any(|c| c == n) {
            claims.push(n.to_string());
        }
    }
    Consent {
        user_id: user_id.to_string(),
        client_id: request.client_id.as_str().to_string(),
        scope: scope.join(" "),
        claims_json: Value::from(claims).to_string(),
        granted_at: now,
    }
}

/// A 303 to the next page of the interaction.
fn go_to(
    env: &Env,
    page: &str,
    interaction: &Interaction,
    id: Option<&str>,
) -> Result<HttpResponse, OAuthError> {
    let id = match id {
        Some(id) => id.to_string(),
        None => interaction::save(env.store, interaction, env.now)?,
    };
    // A relative reference: it resolves against /authorize, /login or
    // /consent alike, whatever path prefix the app is served under.
    Ok(HttpResponse::new(303)
        .header("location", &format!("{page}?interaction={id}"))
        .header("cache-control", "no-store"))
}

/// Runs the steps for a valid request. `id` names the stored interaction
/// when there is one (it is taken when the code is issued); without it,
/// a new one is stored if a page must be shown.
pub fn proceed(
    env: &Env,
    pending: &Pending,
    interaction: &Interaction,
    id: Option<&str>,
    session: Option<&(Session, User)>,
) -> Result<HttpResponse, OAuthError> {
    let request = &pending.request;
    let refuse = |e: OAuthError| Ok(request.error_response(&env.config.issuer, e, &env.jarm()));
    let login = match login_needed(request, interaction, session.map(|(s, _)| s), env.now) {
        Ok(needed) => needed,
        Err(e) => return refuse(e),
    };
    let Some((session, user)) = session.filter(|_| !login) else {
        if request.prompt.none {
            return refuse(OAuthError::with_description(
                ErrorCode::LoginRequired,
                "the End-User must sign in",
            ));
        }
        return go_to(env, "login", interaction, id);
    };
    let stored = env.store.consent(&user.id, request.client_id.as_str())?;
    if consent_needed(request, interaction, stored.as_ref()) {
        if request.prompt.none {
            return refuse(OAuthError::with_description(
                ErrorCode::ConsentRequired,
                "the End-User must consent",
            ));
        }
        return go_to(env, "consent", interaction, id);
    }
    if let Some(id) = id {
        if interaction::take(env.store, id, env.now)?.is_none() {
            return Err(interaction::expired());
        }
    }
    issue_response(env, pending, session, user)
}

/// What the token endpoint needs besides the code's own columns
/// (`codes.auth-code.grant-json`).
pub fn grant_json(request: &AuthorizationRequest, session: &Session) -> String {
    let claims = request
        .claims
        .as_ref()
        .and_then(|c| serde_json::from_str::<Value>(&c.to_json()).ok());
    json!({
        "auth_time": session.auth_time,
        "acr": session.acr,
        "amr": session.amr,
        "nonce": request.nonce,
        "claims": claims,
        "max_age": request.max_age,
        "redirect_uri_in_request": request.redirect_uri_in_request,
        "dpop_jkt": request.dpop_jkt,
    })
    .to_string()
}

/// Step 3: the code, access token and ID Token the response type names.
pub fn issue_response(
    env: &Env,
    pending: &Pending,
    session: &Session,
    user: &User,
) -> Result<HttpResponse, OAuthError> {
    let request = &pending.request;
    let rt = request.response_type;
    // The client's keys first, when the ID Token or the JARM response is
    // to be encrypted: without them nothing is issued.
    let mut needs = Vec::new();
    if let Some((alg, _)) = pending
        .client
        .id_token_encryption()
        .filter(|_| rt.has_id_token())
    {
        needs.push((keys::ID_TOKEN_MEMBER, alg));
    }
    if let Some((alg, _)) = request
        .jarm
        .encryption
        .filter(|_| request.response_mode.is_jwt())
    {
        needs.push((keys::JARM_MEMBER, alg));
    }
    let client_keys = match keys::keys_for(env, &request.client_id, &pending.client, &needs) {
        Ok(k) => k,
        Err(e) => return Ok(request.error_response(&env.config.issuer, e, &env.jarm())),
    };
    let code = if rt.has_code() {
        Some(issue_code(env, request, session)?)
    } else {
        None
    };
    let access = if rt.has_token() {
        let (token, expires_in, grant_id) = issue_access_token(env, request, session)?;
        if let Some(code) = &code {
            // A replay of the code at /token revokes this token too
            // (RFC 6749 §4.1.2: everything issued on that authorization).
            env.store.link_code_grant(&hash_token(code), &grant_id)?;
        }
        Some((token, expires_in))
    } else {
        None
    };
    let id_token = if rt.has_id_token() {
        let alg = pending
            .client
            .id_token_signed_response_alg
            .asymmetric()
            .unwrap_or(authrim_jose::Alg::RS256);
        let claims = match serde_json::from_str::<Value>(&user.claims_json) {
            Ok(Value::Object(map)) => map,
            _ => {
                crate::log(&format!(
                    "user {}: stored claims are not an object",
                    user.id
                ));
                return Err(OAuthError::server_error());
            }
        };
        let auth = Authentication {
            sub: &user.id,
            auth_time: session.auth_time,
            acr: session.acr.as_deref(),
            amr: &session.amr,
            sid: Some(&session.sid),
        };
        let companions = Companions {
            code: code.as_deref(),
            access_token: access.as_ref().map(|(t, _)| t.as_str()),
        };
        let token = front_channel::id_token(
            &env.config.issuer,
            request,
            &auth,
            &claims,
            alg,
            companions,
            env.now,
            env.config.id_token_ttl,
        );
        let signed = env
            .store
            .sign_jwt(alg.as_str(), ID_TOKEN_TYP, &token.to_claims_json())?;
        Some(seal_id_token(
            &pending.client,
            client_keys.as_ref(),
            signed,
        )?)
    } else {
        None
    };
    let scope = request.scope.to_string();
    let issued = Issued {
        code: code.as_deref(),
        access_token: access.as_ref().map(|(t, _)| t.as_str()),
        expires_in: access.as_ref().map_or(0, |(_, e)| *e),
        scope: Some(scope.as_str()).filter(|s| !s.is_empty()),
        id_token: id_token.as_deref(),
    };
    // The JARM response reuses the keys fetched above.
    let prefetched = |_: &str| -> Result<Jwks, OAuthError> {
        client_keys.clone().ok_or_else(OAuthError::server_error)
    };
    let jarm = Jarm {
        now: env.now,
        sign: env,
        keys: &prefetched,
    };
    Ok(request.success_response(&env.config.issuer, &issued, &jarm))
}

/// An access token from the authorization endpoint, in a grant of its own
/// that ends with it and with the session (no refresh token: RFC 6749
/// §4.2.2), its lifetime in seconds and the grant's id.
fn issue_access_token(
    env: &Env,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<(String, i64, String), OAuthError> {
    let grant = Grant {
        id: new_token()?,
        client_id: request.client_id.as_str().to_string(),
        user_id: session.user_id.clone(),
        sid: Some(session.sid.clone()),
        scope: request.scope.to_string(),
        grant_json: grant_json(request, session),
        created_at: env.now,
        expires_at: env.now.saturating_add(env.config.access_token_ttl),
    };
    env.store.create_grant(&grant)?;
    let minted = AccessTokenGrant {
        client_id: &grant.client_id,
        user_id: Some(&grant.user_id),
        expires_at: grant.expires_at,
        authentication: Some((session.auth_time, session.acr.as_deref(), &session.amr)),
    };
    let jti = new_token()?;
    let (claims, expires_at) = mint_access_token(
        &env.config.issuer,
        &minted,
        &request.scope,
        &jti,
        env.now,
        env.config.access_token_ttl,
    );
    let token = env.store.sign_jwt(
        ACCESS_TOKEN_ALG.as_str(),
        ACCESS_TOKEN_TYP,
        &claims.to_claims_json(),
    )?;
    env.store.record_access_token(&AccessToken {
        token_hash: hash_token(&token),
        grant_id: grant.id.clone(),
        expires_at,
    })?;
    Ok((token, expires_at - env.now, grant.id))
}

/// The code, stored by hash with what the token endpoint needs.
fn issue_code(
    env: &Env,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, OAuthError> {
    let code = new_token()?;
    env.store.put_code(&AuthCode {
        code_hash: hash_token(&code),
        client_id: request.client_id.as_str().to_string(),
        user_id: session.user_id.clone(),
        sid: Some(session.sid.clone()),
        redirect_uri: request.redirect_uri.as_str().to_string(),
        scope: request.scope.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request
            .code_challenge
            .as_ref()
            .map(|c| c.challenge().to_string()),
        code_challenge_method: request
            .code_challenge
            .as_ref()
            .map(|c| c.method().as_str().to_string()),
        grant_json: grant_json(request, session),
        expires_at: env.now + CODE_TTL,
    })?;
    Ok(code)
}
