//! Requests from other components of this app, through Spin's local
//! service chaining (`http://op-token.spin.internal/...`). What keeps them
//! internal is the path: op-token's only route is the exact `/token`, so
//! any other path reaches it only through chaining (an authority or
//! `spin-*` header can be forged by an outside client; the authority is
//! checked as well, as a second fence).
//!
//! `POST /ciba/push` (CIBA Core §10.3): op-async, having recorded a
//! user's approval of a push-mode request, asks for its token response
//! (form `auth_req_id`, `client_id`) and delivers it to the client's
//! notification endpoint; token minting stays here, in the component
//! that owns it. The request is redeemed as a poll would redeem it, so
//! its tokens are minted once.

use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::{HttpResponse, OAuthError};

use crate::client;
use crate::endpoint::{self, Request};
use crate::env::Env;
use crate::grants::ciba;
use crate::store::Store;

/// The authority of chained requests to this component.
pub const CHAINED_HOST: &str = "op-token.spin.internal";
/// op-async's request for a push-mode token response.
pub const CIBA_PUSH_PATH: &str = "/ciba/push";

/// Whether a request (its target's authority and path) is op-async's
/// chained push request.
pub fn is_chained(authority: Option<&str>, path: &str) -> bool {
    authority.is_some_and(|a| a.eq_ignore_ascii_case(CHAINED_HOST)) && path == CIBA_PUSH_PATH
}

/// `POST /ciba/push`: 200 with the push payload (a token response with
/// `auth_req_id`), or the token endpoint's error.
pub async fn respond<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> HttpResponse {
    endpoint::render(push(req, store, env).await)
}

async fn push<S: Store>(
    req: &Request<'_>,
    store: &S,
    env: impl FnOnce() -> Result<Env, OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    if req.method != "POST" {
        return Err(OAuthError::method_not_allowed("POST"));
    }
    if !req.content_type.is_some_and(is_form_content_type) {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse_bytes(req.body)?;
    let auth_req_id = params.require("auth_req_id")?;
    let client_id = params.require("client_id")?;
    let env = env()?;
    let Some(client) = client::registered(store, client_id)? else {
        return Err(OAuthError::invalid_request("unknown client"));
    };
    let keys = client::id_token_keys(&client, store).await?;
    Ok(ciba::push(auth_req_id, &client, keys.as_ref(), store, &env)?.into_response())
}
