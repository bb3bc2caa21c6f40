//! `grant_type=urn:openid:params:grant-type:ciba` (CIBA Core §10.1, §11):
//! poll and ping mode clients fetch the result of a backchannel
//! authentication request with its `auth_req_id`; push mode clients get
//! it delivered (§10.3, [`push`], reached through `crate::chained`).
//!
//! A push mode client is `unauthorized_client` at `/token` (§11: its
//! tokens are delivered to it, never fetched). Otherwise one atomic poll
//! (`ciba-requests.poll`) for the id's hash and the client, then what
//! `super::decoupled` does for every decoupled grant. Only pushed ID
//! Tokens carry `urn:openid:params:jwt:claim:auth_req_id` and `rt_hash`:
//! §10.3.1 asks for them in push mode only.

use authrim_jose::Jwks;
use authrim_oauth::ciba::MAX_AUTH_REQ_ID_LEN;
use authrim_oauth::client_metadata::BackchannelDeliveryMode;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};

use super::decoupled::{self, Approval, Delivery, Names, Poll};
use crate::client::Client;
use crate::env::Env;
use crate::issue::{invalid_grant, TokenResponse};
use crate::store::{fault, CibaPollOutcome, Store};

const NAMES: Names = Names {
    pending: "the user has not yet been authenticated",
    expired: "the auth_req_id has expired",
    invalid: "auth_req_id is invalid, was issued to another client, or was already used",
};

fn is_push(client: &Client) -> bool {
    client.metadata.backchannel_token_delivery_mode == Some(BackchannelDeliveryMode::Push)
}

/// The grant at `/token` (poll and ping mode).
pub fn exchange<S: Store>(
    params: &Params,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
    proof: Option<&Proof>,
) -> Result<TokenResponse, OAuthError> {
    if is_push(client) {
        return Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            "the client is registered for push mode: its tokens are delivered, not fetched",
        ));
    }
    let id = params.require("auth_req_id")?;
    let poll = poll(store, env, id, client)?;
    decoupled::redeem(
        poll,
        &NAMES,
        client,
        keys,
        store,
        env,
        Delivery::Fetched(proof),
    )
}

/// Push mode (§10.3.1): the token response for the approved request
/// `auth_req_id` of the push-mode `client`, with `auth_req_id` in it and
/// in the ID Token. Redeems the request exactly as a poll would, so it is
/// delivered once; any other state is the poll's error.
pub fn push<S: Store>(
    auth_req_id: &str,
    client: &Client,
    keys: Option<&Jwks>,
    store: &S,
    env: &Env,
) -> Result<TokenResponse, OAuthError> {
    if !is_push(client) {
        return Err(OAuthError::invalid_request(
            "the client is not registered for push mode",
        ));
    }
    let poll = poll(store, env, auth_req_id, client)?;
    decoupled::redeem(
        poll,
        &NAMES,
        client,
        keys,
        store,
        env,
        Delivery::Pushed { auth_req_id },
    )
}

/// One atomic poll of `id` by `client` (`ciba-requests.poll`).
fn poll<S: Store>(store: &S, env: &Env, id: &str, client: &Client) -> Result<Poll, OAuthError> {
    if id.len() > MAX_AUTH_REQ_ID_LEN {
        return Err(invalid_grant(NAMES.invalid));
    }
    Ok(
        match store
            .poll_ciba(&hash_token(id), client.id.as_str(), env.now)
            .map_err(fault("ciba-requests.poll"))?
        {
            CibaPollOutcome::Pending(_) => Poll::Pending,
            CibaPollOutcome::SlowDown(interval) => Poll::SlowDown(interval),
            CibaPollOutcome::Denied => Poll::Denied,
            CibaPollOutcome::Expired => Poll::Expired,
            CibaPollOutcome::Invalid => Poll::Invalid,
            CibaPollOutcome::Approved((request, a)) => {
                debug_assert_eq!(request.client_id, client.id.as_str());
                Poll::Approved(Approval {
                    user_id: request.user_id,
                    sid: a.sid,
                    scope: a.scope,
                    grant_json: a.grant_json,
                })
            }
        },
    )
}
