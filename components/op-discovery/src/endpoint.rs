//! The endpoint logic, free of I/O: the caller supplies the issuer and the
//! JWK Set lazily, so a 404 or 405 costs neither.

use authrim_protocol::discovery::{self, Capabilities};
use authrim_protocol::http::{if_none_match_matches, HttpResponse};
use authrim_protocol::{Issuer, OAuthError};

pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub if_none_match: Option<&'a str>,
}

const ALLOW: &str = "GET, HEAD, OPTIONS";

enum Document {
    OpenIdConfiguration,
    OAuthAuthorizationServer,
    Jwks,
}

pub fn respond(
    req: &Request,
    caps: &Capabilities,
    issuer: impl FnOnce() -> Result<Issuer, OAuthError>,
    jwks: impl FnOnce() -> Result<String, OAuthError>,
) -> HttpResponse {
    cors(match serve(req, caps, issuer, jwks) {
        Ok(resp) => resp,
        Err(err) => err.to_response(),
    })
}

fn serve(
    req: &Request,
    caps: &Capabilities,
    issuer: impl FnOnce() -> Result<Issuer, OAuthError>,
    jwks: impl FnOnce() -> Result<String, OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    let doc = match req.path {
        discovery::OPENID_CONFIGURATION_PATH => Document::OpenIdConfiguration,
        discovery::OAUTH_AUTHORIZATION_SERVER_PATH => Document::OAuthAuthorizationServer,
        discovery::JWKS_PATH => Document::Jwks,
        _ => return Err(OAuthError::not_found()),
    };
    match req.method {
        "GET" | "HEAD" => {}
        // CORS preflight (Fetch standard): browsers may ask before a GET
        // with custom headers.
        "OPTIONS" => {
            return Ok(HttpResponse::new(204)
                .header("allow", ALLOW)
                .header("access-control-allow-methods", ALLOW)
                .header("access-control-allow-headers", "*")
                .header("access-control-max-age", "86400"))
        }
        _ => return Err(OAuthError::method_not_allowed(ALLOW)),
    }
    let (body, max_age, content_type) = match doc {
        Document::OpenIdConfiguration => (
            serde_json::to_vec(&discovery::openid_configuration(&issuer()?, caps)),
            discovery::METADATA_MAX_AGE,
            "application/json",
        ),
        Document::OAuthAuthorizationServer => (
            serde_json::to_vec(&discovery::oauth_authorization_server(&issuer()?, caps)),
            discovery::METADATA_MAX_AGE,
            "application/json",
        ),
        // RFC 7517 §8.5: application/jwk-set+json.
        Document::Jwks => (
            Ok(jwks()?.into_bytes()),
            discovery::JWKS_MAX_AGE,
            "application/jwk-set+json",
        ),
    };
    let body = body.map_err(|_| OAuthError::server_error())?;
    let etag = etag(&body);
    let cache_control = format!("public, max-age={max_age}");
    let resp = HttpResponse::new(200)
        .header("content-type", content_type)
        .header("cache-control", &cache_control)
        .header("etag", &etag);
    if req
        .if_none_match
        .is_some_and(|v| if_none_match_matches(v, &etag))
    {
        let mut not_modified = resp.without_body();
        not_modified.status = 304;
        not_modified.headers.retain(|(n, _)| n != "content-type");
        return Ok(not_modified);
    }
    Ok(if req.method == "HEAD" {
        resp.without_body()
    } else {
        resp.body(body)
    })
}

/// A strong validator for the body. It only needs to change when the body
/// does (it protects nothing), so 64-bit FNV-1a serves and keeps a hash
/// implementation out of this component.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{h:016x}-{:x}\"", body.len())
}

/// Every answer may be read by browser-based clients (OIDC Discovery and
/// JWKS are public documents).
fn cors(resp: HttpResponse) -> HttpResponse {
    resp.header("access-control-allow-origin", "*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;
    use serde_json::Value;

    const JWKS: &str = r#"{"keys":[{"kty":"EC","kid":"k1","use":"sig","alg":"ES256","crv":"P-256","x":"x","y":"y"}]}"#;

    fn get(method: &str, path: &str, inm: Option<&str>) -> HttpResponse {
        let req = Request {
            method,
            path,
            if_none_match: inm,
        };
        respond(
            &req,
            &crate::capabilities::deployed(false),
            || Ok(Issuer::parse("https://id.example.com").unwrap()),
            || Ok(JWKS.to_string()),
        )
    }

    fn json(resp: &HttpResponse) -> Value {
        serde_json::from_slice(&resp.body).unwrap()
    }

    #[test]
    fn serves_metadata_with_cache_and_cors() {
        let r = get("GET", "/.well-known/openid-configuration", None);
        assert_eq!(r.status, 200);
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        assert_eq!(
            r.header_value("cache-control"),
            Some("public, max-age=3600")
        );
        assert_eq!(r.header_value("access-control-allow-origin"), Some("*"));
        assert_eq!(json(&r)["issuer"], "https://id.example.com");
        let r = get("GET", "/.well-known/oauth-authorization-server", None);
        assert_eq!(
            json(&r)["jwks_uri"],
            "https://id.example.com/.well-known/jwks.json"
        );
    }

    #[test]
    fn serves_jwks_verbatim() {
        let r = get("GET", "/.well-known/jwks.json", None);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header_value("content-type"),
            Some("application/jwk-set+json")
        );
        assert_eq!(r.header_value("cache-control"), Some("public, max-age=600"));
        assert_eq!(r.body, JWKS.as_bytes());
    }

    #[test]
    fn conditional_get_and_head() {
        let r = get("GET", "/.well-known/jwks.json", None);
        let etag = r.header_value("etag").unwrap().to_string();
        let nm = get("GET", "/.well-known/jwks.json", Some(&etag));
        assert_eq!(nm.status, 304);
        assert!(nm.body.is_empty());
        assert_eq!(nm.header_value("etag"), Some(etag.as_str()));
        let head = get("HEAD", "/.well-known/openid-configuration", None);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
    }

    #[test]
    fn error_table() {
        let table = [
            ("POST", "/.well-known/openid-configuration", 405),
            ("PUT", "/.well-known/jwks.json", 405),
            ("DELETE", "/.well-known/oauth-authorization-server", 405),
            ("GET", "/.well-known/nope", 404),
            ("GET", "/.well-known/jwks.json/", 404),
            ("POST", "/.well-known/nope", 404),
        ];
        for (method, path, status) in table {
            let r = get(method, path, None);
            assert_eq!(r.status, status, "{method} {path}");
            assert_eq!(r.header_value("access-control-allow-origin"), Some("*"));
            let code = if status == 404 {
                ErrorCode::NotFound
            } else {
                ErrorCode::MethodNotAllowed
            };
            assert_eq!(json(&r)["error"], code.as_str());
            if status == 405 {
                assert_eq!(r.header_value("allow"), Some("GET, HEAD, OPTIONS"));
            }
        }
    }

    /// The whole document, compared with a golden file (regenerate with
    /// `UPDATE_GOLDEN=1 cargo test -p op-discovery`).
    #[test]
    fn openid_configuration_matches_the_golden_file() {
        let r = get("GET", "/.well-known/openid-configuration", None);
        let actual = serde_json::to_string_pretty(&json(&r)).unwrap() + "\n";
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/openid-configuration.json"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            std::fs::write(path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(path).expect("golden file");
        assert_eq!(
            actual, expected,
            "discovery metadata changed: review and regenerate"
        );
    }

    #[test]
    fn preflight() {
        let r = get("OPTIONS", "/.well-known/jwks.json", None);
        assert_eq!(r.status, 204);
        assert_eq!(r.header_value("access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn a_broken_issuer_is_a_server_error_without_detail() {
        let req = Request {
            method: "GET",
            path: "/.well-known/openid-configuration",
            if_none_match: None,
        };
        let r = respond(
            &req,
            &crate::capabilities::deployed(false),
            || Err(OAuthError::server_error()),
            || unreachable!("jwks is not needed"),
        );
        assert_eq!(r.status, 500);
        assert_eq!(json(&r)["error"], "server_error");
    }
}
