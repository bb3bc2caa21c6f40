//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
//! §3.4, §3.5).
//!
//! 1. One atomic poll (`device-grants.poll`) for the code's hash and the
//!    authenticated client: op-store answers pending, slow_down (and has
//!    grown the interval by 5 s), denied, expired, or approved, and
//!    consumes an approved request in the same transaction, so that of
//!    any number of concurrent polls exactly one gets tokens. A code of
//!    another client, an unknown or an already redeemed code is
//!    `invalid_grant`.
//! 2. The approving user must still be active, and the session they
//!    approved in still alive (as for a code).
//! 3. Tokens exactly as the code grant issues them
//!    (`issue::start_user_grant`, `issue::user_tokens`).

use authrim_jose::Jwks;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::issue::{self, invalid_grant, stored_scope, GrantData, TokenResponse, UserGrant};
use crate::store::{fault, PollOutcome, Store};

/// Longest `device_code` looked up; ours are 43 characters.
const MAX_DEVICE_CODE_LEN: usize = 512;

const INVALID: &str = "device_code is invalid, was issued to another client, or was already used";

pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("device_code")?;
    if code.len() > MAX_DEVICE_CODE_LEN {
        return Err(invalid_grant(INVALID));
    }
    let outcome = store
        .poll_device(&hash_token(code), client.id.as_str(), env.now)
        .map_err(fault("device-grants.poll"))?;
    let (request, approval) = match outcome {
        PollOutcome::Pending(_) => {
            return Err(OAuthError::with_description(
                ErrorCode::AuthorizationPending,
                "the user has not yet approved the request",
            ))
        }
        PollOutcome::SlowDown(interval) => {
            return Err(OAuthError::with_description(
                ErrorCode::SlowDown,
                format!("poll at most every {interval} seconds"),
            ))
        }
        PollOutcome::Denied => {
            return Err(OAuthError::with_description(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ))
        }
        PollOutcome::Expired => {
            return Err(OAuthError::with_description(
                ErrorCode::ExpiredToken,
                "the device_code has expired",
            ))
        }
        PollOutcome::Invalid => return Err(invalid_grant(INVALID)),
        PollOutcome::Approved(approved) => approved,
    };
    debug_assert_eq!(request.client_id, client.id.as_str());
    let user = issue::active_user(store, &approval.user_id)?;
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
