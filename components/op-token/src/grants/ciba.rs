//! `grant_type=urn:openid:params:grant-type:ciba` (CIBA Core §10.1, §11):
//! poll and ping mode clients fetch the result of a backchannel
//! authentication request with its `auth_req_id`.
//!
//! 1. A push mode client is `unauthorized_client` (§11: its tokens are
//!    delivered to it, never fetched).
//! 2. One atomic poll (`ciba-requests.poll`) for the id's hash and the
//!    authenticated client: op-store answers pending, slow_down (and has
//!    grown the interval by 5 s), denied, expired, or approved, and
//!    consumes an approved request in the same transaction, so that of
//!    any number of concurrent polls exactly one gets tokens. An id of
//!    another client, an unknown or an already redeemed one is
//!    `invalid_grant`.
//! 3. The user must still be active and the session they approved in
//!    still alive (as for a code).
//! 4. Tokens exactly as the code grant issues them (`issue::start_user_grant`,
//!    `issue::user_tokens`). The ID Token carries no
//!    `urn:openid:params:jwt:claim:auth_req_id`: §10.3.1 asks for it in
//!    push mode only.

use authrim_jose::Jwks;
use authrim_oauth::ciba::MAX_AUTH_REQ_ID_LEN;
use authrim_oauth::client_metadata::BackchannelDeliveryMode;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::issue::{self, invalid_grant, stored_scope, GrantData, TokenResponse, UserGrant};
use crate::store::{fault, CibaPollOutcome, Store};

const INVALID: &str = "auth_req_id is invalid, was issued to another client, or was already used";

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    if client.metadata.backchannel_token_delivery_mode == Some(BackchannelDeliveryMode::Push) {
        return Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            "the client is registered for push mode: its tokens are delivered, not fetched",
        ));
    }
    let id = params.require("auth_req_id")?;
    if id.len() > MAX_AUTH_REQ_ID_LEN {
        return Err(invalid_grant(INVALID));
    }
    let outcome = store
        .poll_ciba(&hash_token(id), client.id.as_str(), env.now)
        .map_err(fault("ciba-requests.poll"))?;
    let (request, approval) = match outcome {
        CibaPollOutcome::Pending(_) => {
            return Err(OAuthError::with_description(
                ErrorCode::AuthorizationPending,
                "the user has not yet been authenticated",
            ))
        }
        CibaPollOutcome::SlowDown(interval) => {
            return Err(OAuthError::with_description(
                ErrorCode::SlowDown,
                format!("poll at most every {interval} seconds"),
            ))
        }
        CibaPollOutcome::Denied => {
            return Err(OAuthError::with_description(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ))
        }
        CibaPollOutcome::Expired => {
            return Err(OAuthError::with_description(
                ErrorCode::ExpiredToken,
                "the auth_req_id has expired",
            ))
        }
        CibaPollOutcome::Invalid => return Err(invalid_grant(INVALID)),
        CibaPollOutcome::Approved(approved) => approved,
    };
    debug_assert_eq!(request.client_id, client.id.as_str());
    let user = issue::active_user(store, &request.user_id)?;
    if let Some(sid) = &approval.sid {
        if !store
            .session_active(sid, env.now)
            .map_err(fault("sessions.get-active-by-sid"))?
        {
            return Err(invalid_grant("the login session has ended"));
        }
    }
    let scope = stored_scope(&approval.scope)?;
    let data = GrantData {
        dpop_jkt: issue::refresh_binding(client, proof),
        ..GrantData::from_json(&approval.grant_json)?
    };
    let issuing = UserGrant {
        client,
        user: &user,
        sid: approval.sid.as_deref(),
        scope: &scope,
        data: &data,
        jkt: proof.map(|p| p.jkt.as_str()),
    };
    let (grant, refresh_token) = issue::start_user_grant(store, env, &issuing)?;
    issue::user_tokens(store, env, &issuing, &grant, refresh_token, None, keys)
}
