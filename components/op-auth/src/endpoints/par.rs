//! `POST /as/par` (RFC 9126 §2): the client pushes its authorization
//! request over an authenticated back channel and gets a one-time
//! `request_uri` to send through the browser.
//!
//! The checks, in order: `POST`; a form body; client authentication
//! (`client_auth`, the token endpoint's methods; assertion audiences are the
//! issuer, the token endpoint and this endpoint; an assertion's `jti` is
//! recorded as used); the request's checks (`authorize::validate` with
//! `Origin::PushedAuthorizationEndpoint`: every error is a direct JSON
//! answer). A `request` parameter (RFC 9126 §3) is a signed request
//! object, verified by `jar::resolve` (its client_id must be the
//! authenticated client); its parameters are then what is pushed. The
//! parameters (without the client's credentials) are stored
//! for [`PAR_TTL`] under the SHA-256 of the `request_uri`; the answer is
//! `201 {"request_uri", "expires_in"}`.
//!
//! A `DPoP` proof (RFC 9449 §10.1) is checked as at the token endpoint
//! (`authrim_oauth::dpop::check_proof`: `htm` POST, `htu` this endpoint,
//! the `dpop_require_nonce` nonce, single-use `jti`), after client
//! authentication; its key's thumbprint becomes the request's `dpop_jkt`,
//! which binds the code. A `dpop_jkt` for another key is refused
//! (`invalid_dpop_proof`).
//!
//! `private_key_jwt` works with keys registered by value (`jwks`): a
//! `jwks_uri` is fetched only for request objects (`jar::wanted`).

use super::authorize::PAR_NAMESPACE;
use crate::config::PAR_TTL;
use crate::request::Request;
use crate::{flow, jar, new_token, Env};
use authrim_oauth::authorize::{self, ClientRef, Origin, PAR_REQUEST_URI_PREFIX};
use authrim_oauth::client_auth::{
    AssertionRules, ClientCredentials, RegisteredClient, SecretMac, UsedAssertion, JTI_NAMESPACE,
};
use authrim_oauth::client_metadata::JwsAlg;
use authrim_oauth::dpop::{self, Expected, ProofState};
use authrim_oauth::form::{form_urlencode, Params};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde_json::json;

/// Parameters that authenticate the client and are not part of the
/// authorization request.
const CREDENTIAL_PARAMS: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

pub fn handle(env: &Env, req: &Request) -> HttpResponse {
    match run(env, req) {
        Ok(resp) => resp,
        // RFC 9449 §8: the error carries the nonce to use.
        Err(e) if e.code == ErrorCode::UseDpopNonce => match env.store.dpop_nonce(env.now) {
            Ok(nonce) => e.to_response().header("dpop-nonce", &nonce),
            Err(e) => e.to_response(),
        },
        Err(e) => e.to_response(),
    }
}

/// op-store's DPoP nonces and one-time marks, for `dpop::check_proof`.
struct ProofStore<'a>(&'a Env<'a>);

impl ProofState for ProofStore<'_> {
    fn check_nonce(&self, nonce: &str, now: i64) -> Result<bool, OAuthError> {
        self.0.store.check_dpop_nonce(nonce, now)
    }

    fn mark_used(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, OAuthError> {
        self.0
            .store
            .one_time_mark_used(namespace, key, expires_at, now)
    }
}

/// RFC 9449 §10.1: the pushed request with `dpop_jkt` set to the proof's
/// key; a `dpop_jkt` naming another key is refused.
fn bind_to_proof(env: &Env, header: &str, pushed: Params) -> Result<Params, OAuthError> {
    let uri = env.config.issuer.endpoint("/as/par");
    let expected = Expected {
        method: "POST",
        uri: &uri,
        access_token: None,
        now: env.now,
    };
    let proof = dpop::check_proof(
        header,
        &expected,
        env.config.dpop_require_nonce,
        &ProofStore(env),
    )?;
    match pushed.get("dpop_jkt") {
        Some(jkt) if jkt == proof.jkt => Ok(pushed),
        Some(_) => Err(dpop::invalid_proof(
            "dpop_jkt is not the thumbprint of the DPoP proof's key",
        )),
        None => {
            let mut pairs: Vec<(&str, &str)> = pushed.iter().collect();
            pairs.push(("dpop_jkt", &proof.jkt));
            Params::parse(&form_urlencode(pairs))
        }
    }
}

/// `client_secret_jwt` MACs, checked by op-store with the sealed secret.
struct StoreMac<'a> {
    env: &'a Env<'a>,
    client_id: &'a str,
}

impl SecretMac for StoreMac<'_> {
    fn verify(&self, alg: JwsAlg, signing_input: &[u8], mac: &[u8]) -> bool {
        self.env
            .store
            .verify_secret_mac(self.client_id, alg.as_str(), signing_input, mac)
            .unwrap_or(false)
    }
}

fn run(env: &Env, req: &Request) -> Result<HttpResponse, OAuthError> {
    if req.method != "POST" {
        return Err(OAuthError::method_not_allowed("POST"));
    }
    let params = req.params()?;
    let credentials = ClientCredentials::extract(req.authorization, &params)?;
    let client_id = credentials.client_id().clone();
    let loaded = flow::load_client(env, client_id.as_str())?;
    let jwks = match &loaded {
        Some((_, metadata)) => metadata.jwks().unwrap_or_else(|e| {
            crate::log(&format!(
                "stored jwks of client {:?}: {e}",
                client_id.as_str()
            ));
            None
        }),
        None => None,
    };
    let mac = StoreMac {
        env,
        client_id: client_id.as_str(),
    };
    let registered = loaded.as_ref().map(|(stored, metadata)| RegisteredClient {
        metadata,
        secret_hash: stored.secret_hash.as_deref(),
        jwks: jwks.as_ref(),
        secret_mac: Some(&mac),
    });
    let issuer = &env.config.issuer;
    let rules = AssertionRules::new(vec![
        issuer.as_str().to_string(),
        issuer.endpoint("/token"),
        issuer.endpoint("/as/par"),
    ]);
    let authenticated = credentials.authenticate(registered.as_ref(), &rules, env.now)?;
    if let Some(used) = &authenticated.assertion {
        if !env.store.one_time_mark_used(
            JTI_NAMESPACE,
            &used.replay_key,
            used.expires_at,
            env.now,
        )? {
            return Err(UsedAssertion::replay_error());
        }
    }
    let Some((_, metadata)) = &loaded else {
        // authenticate() refuses unknown clients; never reached.
        return Err(credentials.error("client authentication failed"));
    };
    // RFC 9126 §2.1: a request_uri cannot be pushed (validate says so);
    // a request object can (§3), and is then the whole request.
    let inside = if params.contains("request_uri") {
        None
    } else {
        jar::resolve(env, &client_id, metadata, &params)?
    };
    let mut pushed = match inside {
        Some(inside) => inside,
        None if metadata.require_signed_request_object => return Err(jar::unsigned_refused()),
        None => request_params(&params, client_id.as_str())?,
    };
    if let Some(header) = req.dpop {
        pushed = bind_to_proof(env, header, pushed)?;
    }
    let client = ClientRef {
        client_id: &client_id,
        metadata,
    };
    authorize::validate(
        &pushed,
        client,
        Origin::PushedAuthorizationEndpoint,
        &env.config.authorize_config(),
    )
    .map_err(|e| e.error)?;
    let request_uri = format!("{PAR_REQUEST_URI_PREFIX}{}", new_token()?);
    env.store.one_time_put(
        PAR_NAMESPACE,
        &hash_token(&request_uri),
        form_urlencode(pushed.iter()).as_bytes(),
        env.now + PAR_TTL,
    )?;
    Ok(HttpResponse::json(
        201,
        &json!({ "request_uri": request_uri, "expires_in": PAR_TTL }),
    )
    .header("cache-control", "no-store"))
}

/// The authorization request inside the PAR body: every parameter but the
/// client's credentials, with `client_id` (HTTP Basic clients need not
/// repeat it in the body; RFC 9126 §2.1).
fn request_params(params: &Params, client_id: &str) -> Result<Params, OAuthError> {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(n, _)| !CREDENTIAL_PARAMS.contains(n))
        .collect();
    if !params.contains("client_id") {
        pairs.push(("client_id", client_id));
    }
    Params::parse(&form_urlencode(pairs))
}
