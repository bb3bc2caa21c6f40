//! Finding the access token of a request (RFC 6750 §2).
//!
//! Accepted: the `Authorization: Bearer` header (§2.1), or, in a POST with
//! an `application/x-www-form-urlencoded` body, the `access_token` body
//! parameter (§2.2). Refused with `invalid_request`: a token in the query
//! string (§2.3 is not offered: URLs end up in logs and `Referer` headers),
//! a token sent by more than one method (§2: "Clients MUST NOT use more than
//! one method"), and a malformed `Bearer` header.

use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::error::Challenge;
use authrim_protocol::{ErrorCode, OAuthError};

/// Longest token looked up. Ours are JWTs of well under 2 KB.
pub const MAX_TOKEN_LEN: usize = 4096;

/// How the token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1): a proof must come with it.
    Dpop,
}

/// Where the token was found, before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<'a> {
    Token(&'a str, Scheme),
    /// No token at all: RFC 6750 §3.1 wants a bare challenge.
    Missing,
}

pub fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::invalid_request(description).challenge(Challenge::Bearer)
}

pub fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidToken, description).challenge(Challenge::Bearer)
}

/// `b64token` (RFC 6750 §2.1): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
/// / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The token in an `Authorization` header; `None` for other schemes.
fn from_header(value: &str) -> Result<Option<(&str, Scheme)>, OAuthError> {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(match scheme {
            Scheme::Bearer => invalid_request("malformed Bearer authorization header"),
            Scheme::Dpop => OAuthError::invalid_request("malformed DPoP authorization header")
                .challenge(Challenge::Dpop),
        });
    }
    Ok(Some((token, scheme)))
}

/// Extracts the token from the parts of a request. `body_params` is only
/// read for a POST with a form content type.
pub fn extract<'a>(
    method: &str,
    authorization: Option<&'a str>,
    query: &str,
    content_type: Option<&str>,
    body_params: &'a Option<Params>,
) -> Result<Found<'a>, OAuthError> {
    if !query.is_empty() {
        let q = Params::parse(query).map_err(|_| invalid_request("malformed query string"))?;
        if q.contains("access_token") {
            return Err(invalid_request(
                "access_token in the query string is not accepted",
            ));
        }
    }
    let header = match authorization {
        Some(v) => from_header(v)?,
        None => None,
    };
    let body = match body_params {
        Some(p) if method == "POST" && content_type.is_some_and(is_form_content_type) => {
            p.get("access_token").map(|t| (t, Scheme::Bearer))
        }
        _ => None,
    };
    let token = match (header, body) {
        (Some(_), Some(_)) => {
            return Err(invalid_request(
                "the access token was sent by more than one method",
            ))
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Ok(Found::Missing),
    };
    if token.0.len() > MAX_TOKEN_LEN {
        return Err(invalid_token("the access token is invalid"));
    }
    Ok(Found::Token(token.0, token.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        method: &str,
        auth: Option<&str>,
        query: &str,
        ct: Option<&str>,
        body: &str,
    ) -> Result<Option<String>, (ErrorCode, String)> {
        let params = Some(Params::parse(body).unwrap());
        match extract(method, auth, query, ct, &params) {
            Ok(Found::Token(t, _)) => Ok(Some(t.to_string())),
            Ok(Found::Missing) => Ok(None),
            Err(e) => Err((e.code, e.description.unwrap_or_default().into_owned())),
        }
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    /// (method, authorization, query, content type, body, expected)
    type Row<'a, T> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        &'a str,
        T,
    );

    #[test]
    fn finds_the_token() {
        let table: &[Row<Option<&str>>] = &[
            (
                "GET",
                Some("Bearer abc.def-ghi"),
                "",
                None,
                "",
                Some("abc.def-ghi"),
            ),
            ("GET", Some("bearer abc"), "", None, "", Some("abc")),
            ("GET", Some("BEARER abc=="), "", None, "", Some("abc==")),
            ("GET", Some("Bearer  abc"), "", None, "", Some("abc")),
            ("POST", None, "", FORM, "access_token=abc", Some("abc")),
            ("POST", Some("Bearer abc"), "", FORM, "other=1", Some("abc")),
            // A body token needs a POST with a form body.
            ("GET", None, "", FORM, "access_token=abc", None),
            (
                "POST",
                None,
                "",
                Some("application/json"),
                "access_token=abc",
                None,
            ),
            ("GET", None, "", None, "", None),
            ("GET", Some("Basic YTpi"), "", None, "", None),
            ("GET", Some("DPoP abc"), "", None, "", Some("abc")),
            ("GET", Some("dpop abc"), "", None, "", Some("abc")),
            ("GET", Some("Bearer abc"), "x=1", None, "", Some("abc")),
        ];
        for (method, auth, query, ct, body, want) in table {
            assert_eq!(
                run(method, *auth, query, *ct, body),
                Ok(want.map(str::to_string)),
                "{method} {auth:?} {query} {body}"
            );
        }
    }

    #[test]
    fn refuses_bad_requests() {
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        let table: &[Row<ErrorCode>] = &[
            (
                "GET",
                None,
                "access_token=abc",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer abc"),
                "access_token=abc",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            ("GET", None, "a=%zz", None, "", ErrorCode::InvalidRequest),
            (
                "POST",
                Some("Bearer abc"),
                "",
                FORM,
                "access_token=abc",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer"),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer "),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer a b"),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer a=b"),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer ==="),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            (
                "GET",
                Some("Bearer a\"b"),
                "",
                None,
                "",
                ErrorCode::InvalidRequest,
            ),
            ("GET", Some(&long), "", None, "", ErrorCode::InvalidToken),
        ];
        for (method, auth, query, ct, body, code) in table {
            let got = run(method, *auth, query, *ct, body);
            assert_eq!(
                got.map_err(|e| e.0),
                Err(*code),
                "{method} {auth:?} {query}"
            );
        }
    }
}
