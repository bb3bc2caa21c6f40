//! What the device-code and CIBA grants share. Both redeem a request the
//! user decided on another device, through one atomic poll in op-store
//! that answers pending, slow_down (having grown the interval by 5 s),
//! denied, expired, or approved, and consumes an approved request in the
//! same transaction, so that of any number of concurrent polls exactly
//! one gets tokens. An id of another client, an unknown or an already
//! redeemed one is `invalid_grant`. Then:
//!
//! 1. the approving user must still be active, and the session they
//!    approved in still alive (as for a code);
//! 2. tokens exactly as the code grant issues them
//!    (`issue::start_user_grant`, `issue::user_tokens`), fetched by the
//!    client or, in CIBA push mode, handed to op-async for delivery.

use authrim_jose::Jwks;
use authrim_oauth::dpop::Proof;
use authrim_protocol::{ErrorCode, OAuthError};

use crate::client::Client;
use crate::env::Env;
use crate::issue::{self, invalid_grant, stored_scope, GrantData, TokenResponse, UserGrant};
use crate::store::{fault, Store};

/// One poll's answer, whichever grant asked.
pub enum Poll {
    Pending,
    SlowDown(i64),
    Denied,
    Expired,
    Invalid,
    Approved(Approval),
}

/// The user's decision, as op-store recorded it.
pub struct Approval {
    pub user_id: String,
    pub sid: Option<String>,
    pub scope: String,
    pub grant_json: String,
}

/// How a grant names what it polls, for its error descriptions.
pub struct Names {
    /// `the user has not yet ...`.
    pub pending: &'static str,
    /// `the <id> has expired`.
    pub expired: &'static str,
    /// The `invalid_grant` description.
    pub invalid: &'static str,
}

/// How the tokens reach the client.
#[derive(Clone, Copy)]
pub enum Delivery<'a> {
    /// The client fetches them from `/token`, with the request's DPoP
    /// proof, if any.
    Fetched(Option<&'a Proof>),
    /// CIBA push mode (§10.3): op-async delivers them to the client's
    /// notification endpoint; the ID Token binds `auth_req_id`.
    Pushed { auth_req_id: &'a str },
}

/// The error for any answer but approval, or the tokens for an approval.
pub fn redeem<S: Store>(
    poll: Poll,
    names: &Names,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
    delivery: Delivery,
) -> Result<TokenResponse, OAuthError> {
    let (proof, ciba_push) = match delivery {
        Delivery::Fetched(proof) => (proof, None),
        Delivery::Pushed { auth_req_id } => (None, Some(auth_req_id)),
    };
    let approval = match poll {
        Poll::Pending => {
            return Err(OAuthError::with_description(
                ErrorCode::AuthorizationPending,
                names.pending,
            ))
        }
        Poll::SlowDown(interval) => {
            return Err(OAuthError::with_description(
                ErrorCode::SlowDown,
                format!("poll at most every {interval} seconds"),
            ))
        }
        Poll::Denied => {
            return Err(OAuthError::with_description(
                ErrorCode::AccessDenied,
                "the user denied the request",
            ))
        }
        Poll::Expired => {
            return Err(OAuthError::with_description(
                ErrorCode::ExpiredToken,
                names.expired,
            ))
        }
        Poll::Invalid => return Err(invalid_grant(names.invalid)),
        Poll::Approved(approval) => approval,
    };
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
        ciba_push,
    };
    let (grant, refresh_token) = issue::start_user_grant(store, env, &issuing)?;
    issue::user_tokens(store, env, &issuing, &grant, refresh_token, None, keys)
}
