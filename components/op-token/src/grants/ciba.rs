//! `grant_type=urn:openid:params:grant-type:ciba` (CIBA Core §10.1, §11):
//! poll and ping mode clients fetch the result of a backchannel
//! authentication request with its `auth_req_id`.
//!
//! A push mode client is `unauthorized_client` (§11: its tokens are
//! delivered to it, never fetched). Otherwise one atomic poll
//! (`ciba-requests.poll`) for the id's hash and the authenticated client,
//! then what `super::decoupled` does for every decoupled grant. The ID
//! Token carries no `urn:openid:params:jwt:claim:auth_req_id`: §10.3.1
//! asks for it in push mode only.

use authrim_jose::Jwks;
use authrim_oauth::ciba::MAX_AUTH_REQ_ID_LEN;
use authrim_oauth::client_metadata::BackchannelDeliveryMode;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, OAuthError};

use super::decoupled::{self, Approval, Names, Poll};
use crate::client::Client;
use crate::env::Env;
use crate::issue::{invalid_grant, TokenResponse};
use crate::store::{fault, CibaPollOutcome, Store};

const NAMES: Names = Names {
    pending: "the user has not yet been authenticated",
    expired: "the auth_req_id has expired",
    invalid: "auth_req_id is invalid, was issued to another client, or was already used",
};

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
        return Err(invalid_grant(NAMES.invalid));
    }
    let poll = match store
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
    };
    decoupled::redeem(poll, &NAMES, client, keys, store, env, proof)
}
