//! What every grant issues the same way: grants, access tokens, refresh
//! tokens and the token response (RFC 6749 §5.1).

use authrim_jose::{Alg, Jwks};
use authrim_oauth::claims::{release_claims, ClaimsRequest};
use authrim_oauth::client_metadata::GrantType;
use authrim_oauth::dpop::Proof;
use authrim_oauth::encryption::seal_id_token;
use authrim_oauth::id_token::{
    mint_access_token, AccessTokenGrant, IdToken, ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP, ID_TOKEN_TYP,
};
use authrim_oauth::scope::{Scope, OFFLINE_ACCESS};
use authrim_protocol::secret::{hash_token, random_token};
use authrim_protocol::{ErrorCode, HttpResponse, OAuthError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::env::Env;
use crate::store::{fault, internal, AccessToken, Grant, Store, User};

/// The `grant-json` of codes (written by op-auth) and of grants (written
/// here): the authentication the grant rests on and the claims request.
/// Unknown members are ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrantData {
    /// When the End-User authenticated (UNIX seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The `claims` request parameter (OIDC Core §5.5): its JSON object, or
    /// that object serialised as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
    /// Codes only: whether the authorization request carried
    /// `redirect_uri` (RFC 6749 §4.1.3). Absent counts as true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri_in_request: Option<bool>,
    /// RFC 9449: the thumbprint of the DPoP key this code (`dpop_jkt` of
    /// the authorization request, §10) or this grant's refresh token (a
    /// public client's, §5) is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// JWT bearer grants (RFC 7523 §2.1) of an issuer configured for
    /// service subjects: the asserted `sub`, which becomes the access
    /// token's `sub` (the grant has no user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_subject: Option<String>,
}

impl GrantData {
    /// Reads stored `grant-json`; anything unreadable is a server fault.
    pub fn from_json(json: &str) -> Result<GrantData, OAuthError> {
        if json.trim().is_empty() {
            return Ok(GrantData::default());
        }
        match serde_json::from_str::<Value>(json) {
            Ok(v @ Value::Object(_)) => {
                serde_json::from_value(v).map_err(|e| internal(format_args!("grant-json: {e}")))
            }
            _ => Err(internal("grant-json is not a JSON object")),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// The claims request, if the authorization request made one.
    pub fn claims_request(&self) -> Result<Option<ClaimsRequest>, OAuthError> {
        let parsed = match &self.claims {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => ClaimsRequest::parse(s),
            Some(v @ Value::Object(_)) => ClaimsRequest::parse(&v.to_string()),
            Some(_) => return Err(internal("grant-json: claims is not an object")),
        };
        parsed
            .map(Some)
            .map_err(|e| internal(format_args!("grant-json: claims: {e}")))
    }
}

/// A fresh random identifier or token (256 bits).
pub fn new_secret() -> Result<String, OAuthError> {
    random_token().map_err(|e| internal(format_args!("random: {e}")))
}

/// A scope read back from the store (it was valid when stored).
pub fn stored_scope(scope: &str) -> Result<Scope, OAuthError> {
    Scope::parse(scope).map_err(|e| internal(format_args!("stored scope: {e}")))
}

pub fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidGrant, description)
}

/// A new grant starting now.
pub fn new_grant(
    client_id: &str,
    user_id: Option<&str>,
    sid: Option<&str>,
    scope: &Scope,
    data: &GrantData,
    now: i64,
    lifetime: i64,
) -> Result<Grant, OAuthError> {
    Ok(Grant {
        id: new_secret()?,
        client_id: client_id.to_string(),
        user_id: user_id.map(str::to_string),
        sid: sid.map(str::to_string),
        scope: scope.to_string(),
        grant_json: data.to_json(),
        created_at: now,
        expires_at: now.saturating_add(lifetime),
        revoked_at: None,
    })
}

/// A grant that carries only an access token (client_credentials, JWT
/// bearer): no refresh token, no ID Token, no session.
pub fn access_only_grant<S: Store>(
    store: &S,
    env: &Env,
    client_id: &str,
    user_id: Option<&str>,
    scope: &Scope,
    data: &GrantData,
    jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let grant = new_grant(
        client_id,
        user_id,
        None,
        scope,
        data,
        env.now,
        env.access_token_ttl,
    )?;
    store
        .create_grant(&grant, None, grant.expires_at)
        .map_err(fault("grants.create"))?;
    let access = access_token(store, env, &grant, scope, data, jkt)?;
    Ok(TokenResponse::new(access, scope))
}

/// A JWT access token (RFC 9068) issued in `grant` with `scope`, recorded
/// by its hash so that this OP recognises (and can revoke) it. It expires
/// with its grant at the latest (`authrim_oauth::id_token::mint_access_token`,
/// shared with the authorization endpoint).
pub fn access_token<S: Store>(
    store: &S,
    env: &Env,
    grant: &Grant,
    scope: &Scope,
    data: &GrantData,
    jkt: Option<&str>,
) -> Result<IssuedAccessToken, OAuthError> {
    let jti = new_secret()?;
    let minted = AccessTokenGrant {
        client_id: &grant.client_id,
        user_id: grant.user_id.as_deref().or(data.service_subject.as_deref()),
        expires_at: grant.expires_at,
        authentication: data
            .auth_time
            .map(|t| (t, data.acr.as_deref(), data.amr.as_slice())),
    };
    let (claims, expires_at) = mint_access_token(
        &env.issuer,
        &minted,
        scope,
        &jti,
        env.now,
        env.access_token_ttl,
    );
    let claims = claims.with_jkt(jkt);
    let token = store
        .sign_jwt(
            ACCESS_TOKEN_ALG.as_str(),
            Some(ACCESS_TOKEN_TYP),
            &claims.to_claims_json(),
        )
        .map_err(fault("keys.sign-jwt"))?;
    store
        .record_access_token(
            &AccessToken {
                token_hash: hash_token(&token),
                grant_id: grant.id.clone(),
                expires_at,
            },
            jkt,
        )
        .map_err(fault("dpop.record-access-token"))?;
    Ok(IssuedAccessToken {
        token,
        expires_in: expires_at - env.now,
        bound: jkt.is_some(),
    })
}

/// What a grant made by a user (through a code or a device approval)
/// rests on.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    /// `sid` of the session the user approved in.
    pub sid: Option<&'a str>,
    /// The granted scope.
    pub scope: &'a Scope,
    /// auth_time, acr, amr and the claims request.
    pub data: &'a GrantData,
    /// RFC 9449: the thumbprint of the DPoP key the access token is bound
    /// to (the token request's proof), if any.
    pub jkt: Option<&'a str>,
    /// CIBA push mode (§10.3.1): the `auth_req_id` whose tokens are
    /// delivered to the client; the ID Token then names it and carries
    /// `rt_hash`, and the response carries it too.
    pub ciba_push: Option<&'a str>,
}

/// RFC 9449 §5: a public client's refresh token is bound to the key of the
/// proof it was issued with; a confidential client's is not (it
/// authenticates instead).
pub fn refresh_binding(client: &Client, proof: Option<&Proof>) -> Option<String> {
    proof
        .filter(|_| client.metadata.is_public())
        .map(|p| p.jkt.clone())
}

/// Creates the grant (with the session's `sid`, so that its tokens end
/// with the session, unless `offline_access` was granted) and, under the
/// refresh policy, its refresh token.
///
/// Refresh policy: a refresh token is issued when the granted scope has
/// `offline_access` (OIDC Core §11) and the client registered the
/// `refresh_token` grant type.
pub fn start_user_grant<S: Store>(
    store: &S,
    env: &Env,
    g: &UserGrant,
) -> Result<(Grant, Option<String>), OAuthError> {
    let offline = g.scope.contains(OFFLINE_ACCESS);
    let refresh = offline && g.client.metadata.allows_grant(GrantType::RefreshToken);
    let lifetime = if refresh {
        env.refresh_token_ttl
    } else {
        env.access_token_ttl
    };
    let grant = new_grant(
        g.client.id.as_str(),
        Some(&g.user.id),
        if offline { None } else { g.sid },
        g.scope,
        g.data,
        env.now,
        lifetime,
    )?;
    let refresh_token = if refresh { Some(new_secret()?) } else { None };
    store
        .create_grant(
            &grant,
            refresh_token.as_deref().map(hash_token).as_deref(),
            grant.expires_at,
        )
        .map_err(fault("grants.create"))?;
    Ok((grant, refresh_token))
}

/// The token response of a user grant: access token, ID Token (when
/// `openid` was granted) and the refresh token, if any.
pub fn user_tokens<S: Store>(
    store: &S,
    env: &Env,
    g: &UserGrant,
    grant: &Grant,
    refresh_token: Option<String>,
    nonce: Option<&str>,
    keys: Option<&Jwks>,
) -> Result<TokenResponse, OAuthError> {
    let access = access_token(store, env, grant, g.scope, g.data, g.jkt)?;
    let id_token = if g.scope.has_openid() {
        let auth_time = g
            .data
            .auth_time
            .ok_or_else(|| internal("grant-json has no auth_time"))?;
        let alg = g
            .client
            .metadata
            .id_token_signed_response_alg
            .asymmetric()
            .unwrap_or(Alg::RS256);
        let user_claims = user_claims(g.user)?;
        let claims_request = g.data.claims_request()?;
        let released = release_claims(
            &g.user.id,
            &user_claims,
            g.scope,
            claims_request.as_ref(),
            true,
        );
        let claims = IdToken::new(
            &env.issuer,
            &g.user.id,
            g.client.id.as_str(),
            env.now,
            env.id_token_ttl,
            auth_time,
        )
        .with_nonce(nonce)
        .with_acr(g.data.acr.as_deref())
        .with_amr(&g.data.amr)
        .with_sid(g.sid)
        .with_access_token(alg, &access.token)
        .with_extra_claims(&released.id_token);
        let claims = match g.ciba_push {
            Some(id) => claims.with_ciba_push(alg, id, refresh_token.as_deref()),
            None => claims,
        };
        let signed = store
            .sign_jwt(alg.as_str(), Some(ID_TOKEN_TYP), &claims.to_claims_json())
            .map_err(fault("keys.sign-jwt"))?;
        Some(seal_id_token(&g.client.metadata, keys, signed)?)
    } else {
        None
    };
    let mut response = TokenResponse::new(access, g.scope);
    response.id_token = id_token;
    response.refresh_token = refresh_token;
    response.auth_req_id = g.ciba_push.map(str::to_string);
    Ok(response)
}

/// The user of a grant, if still active; `invalid_grant` otherwise.
pub fn active_user<S: Store>(store: &S, user_id: &str) -> Result<User, OAuthError> {
    match store.user(user_id).map_err(fault("users.get"))? {
        Some(user) if !user.disabled => Ok(user),
        _ => Err(OAuthError::with_description(
            ErrorCode::InvalidGrant,
            "the user of this grant is no longer active",
        )),
    }
}

fn user_claims(user: &User) -> Result<Map<String, Value>, OAuthError> {
    match serde_json::from_str(&user.claims_json) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(internal(format_args!(
            "user {}: stored claims are not a JSON object",
            user.id
        ))),
    }
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    /// DPoP-bound (RFC 9449 §5: `token_type` `DPoP`).
    pub bound: bool,
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// CIBA push mode only (§10.3.1): the request these tokens answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_req_id: Option<String>,
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Always sent (RFC 6749 §5.1 requires it only when it differs from the
    /// request; sending it spares clients the comparison).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    pub fn new(access: IssuedAccessToken, scope: &Scope) -> TokenResponse {
        TokenResponse {
            auth_req_id: None,
            access_token: access.token,
            token_type: if access.bound { "DPoP" } else { "Bearer" },
            expires_in: access.expires_in,
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            refresh_token: None,
            id_token: None,
        }
    }

    /// 200 with the JSON body; the caching headers are added for every
    /// answer by the endpoint.
    pub fn into_response(self) -> HttpResponse {
        HttpResponse::json(200, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_data_reads_both_claims_forms_and_ignores_unknown_members() {
        let object =
            r#"{"auth_time":5,"acr":"1","amr":["pwd"],"claims":{"userinfo":{"email":null}},"x":1}"#;
        let string = r#"{"auth_time":5,"claims":"{\"userinfo\":{\"email\":null}}"}"#;
        for json in [object, string] {
            let d = GrantData::from_json(json).unwrap();
            assert_eq!(d.auth_time, Some(5));
            let c = d.claims_request().unwrap().unwrap();
            assert!(c.userinfo.contains_key("email"), "{json}");
        }
        let d = GrantData::from_json("").unwrap();
        assert_eq!(d, GrantData::default());
        assert_eq!(d.to_json(), "{}");
        assert!(d.claims_request().unwrap().is_none());
        for bad in ["[]", "{\"auth_time\":\"x\"}", "{"] {
            assert_eq!(
                GrantData::from_json(bad).unwrap_err().code,
                ErrorCode::ServerError,
                "{bad}"
            );
        }
        let bad_claims = GrantData::from_json(r#"{"claims":7}"#).unwrap();
        assert!(bad_claims.claims_request().is_err());
    }

    #[test]
    fn grant_data_round_trip() {
        let d = GrantData {
            auth_time: Some(10),
            acr: Some("urn:x".into()),
            amr: vec!["pwd".into()],
            claims: Some(serde_json::json!({"id_token":{"email":null}})),
            redirect_uri_in_request: None,
            dpop_jkt: Some("j".into()),
            service_subject: Some("svc".into()),
        };
        assert_eq!(GrantData::from_json(&d.to_json()).unwrap(), d);
    }
}
