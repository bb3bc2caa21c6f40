//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
//! §3.4, §3.5): one atomic poll (`device-grants.poll`) for the code's hash
//! and the authenticated client, then what `super::decoupled` does for
//! every decoupled grant.

use authrim_jose::Jwks;
use authrim_oauth::dpop::Proof;
use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::OAuthError;

use super::decoupled::{self, Approval, Names, Poll};
use crate::client::Client;
use crate::env::Env;
use crate::issue::{invalid_grant, TokenResponse};
use crate::store::{fault, PollOutcome, Store};

/// Longest `device_code` looked up; ours are 43 characters.
const MAX_DEVICE_CODE_LEN: usize = 512;

const NAMES: Names = Names {
    pending: "the user has not yet approved the request",
    expired: "the device_code has expired",
    invalid: "device_code is invalid, was issued to another client, or was already used",
};

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
        return Err(invalid_grant(NAMES.invalid));
    }
    let poll = match store
        .poll_device(&hash_token(code), client.id.as_str(), env.now)
        .map_err(fault("device-grants.poll"))?
    {
        PollOutcome::Pending(_) => Poll::Pending,
        PollOutcome::SlowDown(interval) => Poll::SlowDown(interval),
        PollOutcome::Denied => Poll::Denied,
        PollOutcome::Expired => Poll::Expired,
        PollOutcome::Invalid => Poll::Invalid,
        PollOutcome::Approved((request, a)) => {
            debug_assert_eq!(request.client_id, client.id.as_str());
            Poll::Approved(Approval {
                user_id: a.user_id,
                sid: a.sid,
                scope: a.scope,
                grant_json: a.grant_json,
            })
        }
    };
    decoupled::redeem(
        poll,
        &NAMES,
        client,
        keys,
        store,
        env,
        decoupled::Delivery::Fetched(proof),
    )
}
