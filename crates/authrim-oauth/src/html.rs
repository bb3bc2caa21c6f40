//! Server-rendered pages (op-auth's login, consent and logout pages,
//! op-async's device verification page): one layout, one stylesheet,
//! strict headers.
//!
//! Every page is plain HTML with one inline `<style>` allowed by its hash
//! (no script, no external resource), and is sent with
//! `Content-Security-Policy: default-src 'none'; style-src 'sha256-…';
//! form-action 'self' [target]; frame-ancestors 'none'; base-uri 'none'`,
//! `X-Frame-Options: DENY`, `Cache-Control: no-store`, `nosniff` and
//! `Referrer-Policy: no-referrer` (the interaction id in our URLs never
//! reaches the client). `form-action` also names the origin the form's
//! answer may redirect to (the client's redirect URI after consent,
//! its post-logout redirect URI): browsers check `form-action` on the
//! redirects that follow a form submission too.

use crate::claims::{requested_claim_names, ClaimsRequest};
use crate::response_mode::html_escape;
use crate::scope::{Scope, OFFLINE_ACCESS, OPENID};
use authrim_protocol::{HttpResponse, OAuthError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub fn escape(s: &str) -> String {
    html_escape(s)
}

/// The one stylesheet: readable on a phone (fluid width, 16px text, 44px
/// touch targets), visible focus, light and dark.
pub const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f3f4f6;--card:#fff;--line:#6b7280;--accent:#0b57d0;--on-accent:#fff;--err:#b3261e;--muted:#4b5563}\
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#121316;--card:#1f2126;--line:#9aa0a6;--accent:#8ab4f8;--on-accent:#0b1a33;--err:#f2b8b5;--muted:#bdc1c6}}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:var(--card);border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.2)}\
@media (max-width:30rem){main{margin:0;min-height:100vh;border-radius:0;box-shadow:none}}\
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input{width:100%;min-height:44px;padding:.625rem .75rem;font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:.375rem}\
input[aria-invalid=true]{border-color:var(--err)}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}\
button{min-height:44px;padding:.625rem 1.25rem;font:inherit;font-weight:600;border-radius:.375rem;border:2px solid var(--accent);cursor:pointer}\
.primary{background:var(--accent);color:var(--on-accent)}\
.secondary{background:transparent;color:var(--accent)}\
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\
.error{color:var(--err);border-left:4px solid var(--err);padding:.5rem .75rem;margin:1rem 0;background:transparent}\
.muted{color:var(--muted);font-size:.875rem}\
ul{padding-left:1.25rem}li{margin:.25rem 0}\
code{overflow-wrap:anywhere}";

/// The CSP source expression for where a form's answer may redirect: the
/// origin of an `http(s)` URI, the scheme of a private-use one
/// (`com.example.app:`). `None` when the URI has characters that could not
/// be written safely into the header (registration refuses them anyway).
pub fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    match rest.strip_prefix("//") {
        Some(after) => {
            let authority = after.split(['/', '?', '#']).next().unwrap_or("");
            let ok = !authority.is_empty()
                && authority.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                });
            ok.then(|| format!("{scheme}://{authority}"))
        }
        None => Some(format!("{scheme}:")),
    }
}

fn csp(form_target: Option<&str>) -> String {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let extra = form_target
        .and_then(csp_source)
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'{extra}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A complete page. `main` is trusted HTML (callers escape what they put
/// in it); `form_target` is a URI the page's form may end up redirecting to.
pub fn page(status: u16, title: &str, main: &str, form_target: Option<&str>) -> HttpResponse {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>{} · Authrim</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}</main>\n</body>\n</html>\n",
        escape(title)
    );
    HttpResponse::new(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .header("content-security-policy", &csp(form_target))
        .header("x-frame-options", "DENY")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .body(body)
}

/// The page for an error that must not go to any client: its code and
/// public description. The status is the code's, except that errors about
/// the client (`invalid_client`, 401 in JSON) are a plain 400 here: there
/// is no HTTP authentication to retry.
pub fn error_page(error: &OAuthError) -> HttpResponse {
    let status = match error.code.status() {
        401 => 400,
        s => s,
    };
    let description = error
        .public_description()
        .unwrap_or("The request could not be completed.");
    let main = format!(
        "<h1>This request cannot be completed</h1>\n\
         <p id=\"error-description\">{}</p>\n\
         <p class=\"muted\">Error code: <code id=\"error-code\">{}</code></p>\n\
         <p>Return to the application you came from and try again.</p>\n",
        escape(description),
        escape(error.code.as_str())
    );
    let resp = page(status, "Error", &main, None);
    match error.allow {
        Some(allow) => resp.header("allow", allow),
        None => resp,
    }
}

/// A claim name in words.
pub fn claim_label(name: &str) -> &str {
    match name {
        "name" => "Full name",
        "given_name" => "First name",
        "family_name" => "Last name",
        "middle_name" => "Middle name",
        "nickname" => "Nickname",
        "preferred_username" => "Preferred username",
        "profile" => "Profile page address",
        "picture" => "Profile picture",
        "website" => "Website",
        "gender" => "Gender",
        "birthdate" => "Date of birth",
        "zoneinfo" => "Time zone",
        "locale" => "Language and region",
        "updated_at" => "When your profile was last updated",
        "email" => "Email address",
        "email_verified" => "Whether your email address is verified",
        "address" => "Postal address",
        "phone_number" => "Phone number",
        "phone_number_verified" => "Whether your phone number is verified",
        other => other,
    }
}

/// What the request asks for, in words, one list item each.
pub fn permission_items(scope: &Scope, claims: Option<&ClaimsRequest>) -> Vec<String> {
    let mut items = Vec::new();
    if scope.contains(OPENID) {
        items.push("Confirm your identity (a stable identifier for your account)".to_string());
    }
    let names = requested_claim_names(scope, claims);
    if !names.is_empty() {
        let list: String = names
            .iter()
            .map(|n| format!("<li>{}</li>", escape(claim_label(n))))
            .collect();
        items.push(format!("See your personal information:<ul>{list}</ul>"));
    }
    if scope.contains(OFFLINE_ACCESS) {
        items.push(
            "Keep access to this information while you are not using the application (offline access)"
                .to_string(),
        );
    }
    for t in scope.iter() {
        let known = [
            OPENID,
            OFFLINE_ACCESS,
            "profile",
            "email",
            "address",
            "phone",
        ];
        if !known.contains(&t) {
            items.push(format!("Use the permission “{}”", escape(t)));
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;

    /// Every page's fixed headers.
    fn assert_page_headers(r: &HttpResponse) {
        assert_eq!(
            r.header_value("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(r.header_value("cache-control"), Some("no-store"));
        assert_eq!(r.header_value("x-frame-options"), Some("DENY"));
        let csp = r.header_value("content-security-policy").unwrap();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }

    #[test]
    fn pages_carry_strict_headers_and_a_viewport() {
        let r = page(200, "Sign in", "<h1>x</h1>", None);
        assert_page_headers(&r);
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("<meta name=\"viewport\""));
        assert!(body.contains("<html lang=\"en\">"));
    }

    #[test]
    fn the_style_hash_matches_the_inline_style() {
        let r = page(200, "t", "", None);
        let body = String::from_utf8(r.body.clone()).unwrap();
        let start = body.find("<style>").unwrap() + 7;
        let end = body.find("</style>").unwrap();
        let hash = STANDARD.encode(Sha256::digest(&body.as_bytes()[start..end]));
        assert!(r
            .header_value("content-security-policy")
            .unwrap()
            .contains(&format!("'sha256-{hash}'")));
    }

    #[test]
    fn form_targets_in_the_csp() {
        let table = [
            (
                "https://client.example.org/cb?x=1",
                Some("https://client.example.org"),
            ),
            ("http://127.0.0.1:51004/cb", Some("http://127.0.0.1:51004")),
            ("HTTPS://C.example/cb", Some("https://C.example")),
            ("com.example.app:/cb", Some("com.example.app:")),
            ("https://a.example;script-src *", None),
            ("https://a b/", None),
            ("https:///x", None),
            ("1abc:/x", None),
            ("no-colon", None),
        ];
        for (uri, expected) in table {
            assert_eq!(csp_source(uri).as_deref(), expected, "{uri}");
        }
        let r = page(200, "t", "", Some("https://client.example.org/cb"));
        assert!(r
            .header_value("content-security-policy")
            .unwrap()
            .contains("form-action 'self' https://client.example.org;"));
    }

    #[test]
    fn error_pages_escape_and_never_redirect() {
        let e = OAuthError::with_description(ErrorCode::InvalidClient, "<b>unknown</b>");
        let r = error_page(&e);
        assert_eq!(r.status, 400);
        assert!(r.header_value("location").is_none());
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("&lt;b&gt;unknown&lt;/b&gt;"));
        assert!(body.contains("<code id=\"error-code\">invalid_client</code>"));
        let r = error_page(&OAuthError::method_not_allowed("GET, POST"));
        assert_eq!(r.status, 405);
        assert_eq!(r.header_value("allow"), Some("GET, POST"));
        assert_eq!(error_page(&OAuthError::server_error()).status, 500);
    }
}
