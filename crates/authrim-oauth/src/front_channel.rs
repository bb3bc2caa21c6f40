//! The ID Token the authorization endpoint returns in the hybrid and
//! implicit flows (OIDC Core §3.2.2.10, §3.3.2.11).
//!
//! Beside the usual claims it carries `nonce` (required for these flows),
//! `c_hash` when a code is returned with it and `at_hash` when an access
//! token is, each the left half of the hash of the value under the ID
//! Token's signing alg. The End-User's claims follow OIDC Core §5.4: the
//! scope's claims go into the ID Token only when no access token results
//! from the request (`response_type=id_token`); otherwise UserInfo serves
//! them and the ID Token holds only what the `claims` parameter asked for
//! in its `id_token` member.

use crate::authorize::AuthorizationRequest;
use crate::claims::release_claims;
use crate::id_token::IdToken;
use authrim_jose::Alg;
use authrim_protocol::Issuer;
use serde_json::{Map, Value};

/// Who authenticated, and how (the login session).
#[derive(Clone, Copy, Debug)]
pub struct Authentication<'a> {
    pub sub: &'a str,
    pub auth_time: i64,
    pub acr: Option<&'a str>,
    pub amr: &'a [String],
    pub sid: Option<&'a str>,
}

/// What the front channel returns beside the ID Token, for its hashes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Companions<'a> {
    pub code: Option<&'a str>,
    pub access_token: Option<&'a str>,
}

/// The claims of the front-channel ID Token for `request`, signed with
/// `alg` (the client's `id_token_signed_response_alg`).
#[allow(clippy::too_many_arguments)]
pub fn id_token(
    issuer: &Issuer,
    request: &AuthorizationRequest,
    auth: &Authentication<'_>,
    user_claims: &Map<String, Value>,
    alg: Alg,
    companions: Companions<'_>,
    now: i64,
    lifetime: i64,
) -> IdToken {
    let released = release_claims(
        auth.sub,
        user_claims,
        &request.scope,
        request.claims.as_ref(),
        request.access_token_results(),
    );
    let mut token = IdToken::new(
        issuer,
        auth.sub,
        request.client_id.as_str(),
        now,
        lifetime,
        auth.auth_time,
    )
    .with_nonce(request.nonce.as_deref())
    .with_acr(auth.acr)
    .with_amr(auth.amr)
    .with_sid(auth.sid)
    .with_extra_claims(&released.id_token);
    if let Some(code) = companions.code {
        token = token.with_code(alg, code);
    }
    if let Some(at) = companions.access_token {
        token = token.with_access_token(alg, at);
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{validate, AuthorizeConfig, ClientRef, Origin};
    use crate::client_metadata::{ClientId, ClientMetadata};
    use crate::form::Params;
    use serde_json::json;

    fn request(response_type: &str, extra: &str) -> AuthorizationRequest {
        let metadata = ClientMetadata::from_json(
            r#"{"redirect_uris":["https://client.example.org/cb"],
                "grant_types":["authorization_code","implicit"],
                "response_types":["code id_token","code token","code id_token token",
                                  "id_token","id_token token"]}"#,
        )
        .unwrap();
        let client_id = ClientId::parse("s6BhdRkqt3").unwrap();
        let q = format!(
            "client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb\
             &scope=openid+email&nonce=n-0S6_WzA2Mj&response_type={response_type}{extra}"
        );
        let client = ClientRef {
            client_id: &client_id,
            metadata: &metadata,
        };
        validate(
            &Params::parse(&q).unwrap(),
            client,
            Origin::Authorize,
            &AuthorizeConfig::default(),
        )
        .unwrap()
    }

    fn claims(rt: &str, extra: &str, companions: Companions<'_>) -> Value {
        let user = json!({"email": "jane@example.com", "name": "Jane"});
        let amr = ["pwd".to_string()];
        let auth = Authentication {
            sub: "248289761001",
            auth_time: 900,
            acr: Some("urn:acr:1"),
            amr: &amr,
            sid: Some("sid-1"),
        };
        let iss = Issuer::parse("https://server.example.com").unwrap();
        let t = id_token(
            &iss,
            &request(rt, extra),
            &auth,
            user.as_object().unwrap(),
            Alg::RS256,
            companions,
            1000,
            600,
        );
        Value::Object(t.to_claims())
    }

    /// The code and access token of OIDC Core Appendix A.3, A.4, A.6 and
    /// their published hashes.
    const CODE: &str = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    const C_HASH: &str = "LDktKdoQak3Pk0cnXxCltA";
    const AT: &str = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    const AT_HASH: &str = "77QmUPtjPfzWtF2AnpK9RQ";

    #[test]
    fn hashes_follow_what_is_returned() {
        let both = Companions {
            code: Some(CODE),
            access_token: Some(AT),
        };
        let c = claims("code+id_token+token", "", both);
        assert_eq!(
            (c["c_hash"].as_str(), c["at_hash"].as_str()),
            (Some(C_HASH), Some(AT_HASH))
        );
        let c = claims(
            "code+id_token",
            "",
            Companions {
                code: Some(CODE),
                access_token: None,
            },
        );
        assert_eq!(c["c_hash"], C_HASH);
        assert!(c.get("at_hash").is_none());
        let c = claims(
            "id_token+token",
            "",
            Companions {
                code: None,
                access_token: Some(AT),
            },
        );
        assert_eq!(c["at_hash"], AT_HASH);
        assert!(c.get("c_hash").is_none());
    }

    #[test]
    fn protocol_claims_of_a_front_channel_id_token() {
        let c = claims("id_token+token", "", Companions::default());
        assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(c["auth_time"], 900);
        assert_eq!(c["acr"], "urn:acr:1");
        assert_eq!(c["amr"], json!(["pwd"]));
        assert_eq!(c["sid"], "sid-1");
        assert_eq!(c["aud"], "s6BhdRkqt3");
        assert_eq!(
            (c["iat"].as_i64(), c["exp"].as_i64()),
            (Some(1000), Some(1600))
        );
    }

    #[test]
    fn user_claims_only_where_no_access_token_results() {
        // id_token alone: the scope's claims are in the ID Token.
        let c = claims("id_token", "", Companions::default());
        assert_eq!(c["email"], "jane@example.com");
        assert!(c.get("name").is_none(), "name was not in scope");
        // With an access token (now or from the code): UserInfo serves them.
        for rt in ["id_token+token", "code+id_token", "code+id_token+token"] {
            let c = claims(rt, "", Companions::default());
            assert!(c.get("email").is_none(), "{rt}");
        }
        // ... unless the claims parameter asks for them in the ID Token.
        let ask = "&claims=%7B%22id_token%22%3A%7B%22name%22%3Anull%7D%7D";
        let c = claims("code+id_token", ask, Companions::default());
        assert_eq!(c["name"], "Jane");
        assert!(c.get("email").is_none());
    }
}
