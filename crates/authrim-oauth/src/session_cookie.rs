//! The session cookie, set by op-auth's login and read by every page that
//! needs the signed-in user (op-auth, op-async): `__Host-authrim_session` on https
//! issuers (Secure, Path=/, no Domain, as the `__Host-` prefix requires),
//! `authrim_session` on http loopback issuers; HttpOnly; SameSite=Lax. The
//! value is a `random_token()`; the store keeps only its SHA-256.
//!
//! SameSite=Lax: the cookie comes with top-level GET navigations from the
//! client's site (the usual `/authorize` redirect) and with our own form
//! posts, but not with a cross-site `POST /authorize` or `POST /logout`.
//! Such a request sees no session: the user signs in again, or the logout
//! relies on the `id_token_hint`'s `sid`.

use authrim_protocol::Issuer;

pub const SECURE_NAME: &str = "__Host-authrim_session";
pub const PLAIN_NAME: &str = "authrim_session";

/// The cookie's name for this issuer.
pub fn name(issuer: &Issuer) -> &'static str {
    if issuer.is_https() {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// The session cookie's value in a `Cookie` header, if any: the first
/// well-formed one (a base64url token of plausible length).
pub fn read<'a>(issuer: &Issuer, header: Option<&'a str>) -> Option<&'a str> {
    let wanted = name(issuer);
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| n.trim() == wanted)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .find(|v| {
            (16..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn attributes(issuer: &Issuer) -> &'static str {
    if issuer.is_https() {
        "Path=/; Secure; HttpOnly; SameSite=Lax"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// `Set-Cookie` for a new session lasting `max_age` seconds.
pub fn set(issuer: &Issuer, value: &str, max_age: i64) -> String {
    format!(
        "{}={value}; Max-Age={max_age}; {}",
        name(issuer),
        attributes(issuer)
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(issuer: &Issuer) -> String {
    format!("{}=; Max-Age=0; {}", name(issuer), attributes(issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";

    #[test]
    fn names_and_attributes_follow_the_issuer() {
        let https = Issuer::parse("https://id.example.com").unwrap();
        let http = Issuer::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            set(&https, TOKEN, 60),
            format!("__Host-authrim_session={TOKEN}; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        assert_eq!(
            clear(&http),
            "authrim_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn reads_only_well_formed_values_of_our_name() {
        let https = Issuer::parse("https://id.example.com").unwrap();
        let h = format!("a=b; __Host-authrim_session={TOKEN}; c=d");
        assert_eq!(read(&https, Some(&h)), Some(TOKEN));
        let h = format!("authrim_session={TOKEN}");
        assert_eq!(read(&https, Some(&h)), None);
        let h = format!("__Host-authrim_session=bad value; __Host-authrim_session={TOKEN}");
        assert_eq!(read(&https, Some(&h)), Some(TOKEN));
        assert_eq!(read(&https, Some("__Host-authrim_session=short")), None);
        assert_eq!(read(&https, Some("__Host-authrim_session=")), None);
        assert_eq!(read(&https, None), None);
    }
}
