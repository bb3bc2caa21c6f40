//! The issuer identifier (OIDC Discovery §3, RFC 8414 §2).

use std::fmt;

/// A validated issuer: an `https` URL without query or fragment (`http` only
/// for loopback hosts, for development), stored without a trailing slash so
/// that endpoint URLs are `issuer + path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

#[derive(Debug, PartialEq, Eq)]
pub struct InvalidIssuer(pub String);

impl fmt::Display for InvalidIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid issuer: {}", self.0)
    }
}

impl std::error::Error for InvalidIssuer {}

impl Issuer {
    pub fn parse(s: &str) -> Result<Self, InvalidIssuer> {
        let bad = |why: &str| Err(InvalidIssuer(format!("{s:?}: {why}")));
        // A hand-written check rather than a URL parser: the `url` crate's
        // IDNA tables would double the size of every component.
        let (scheme, rest) = match s.split_once("://") {
            Some(parts) => parts,
            None => return bad("not an absolute URL"),
        };
        if s.contains(['?', '#']) {
            return bad("must not have a query or fragment");
        }
        if s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
            return bad("must not contain spaces or control characters");
        }
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return bad("must not carry credentials");
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((h, _)) => h,
                None => return bad("unterminated IPv6 address"),
            },
            None => authority.split(':').next().unwrap_or(""),
        };
        if host.is_empty() {
            return bad("has no host");
        }
        if let Some((_, port)) = authority
            .rsplit_once(':')
            .filter(|_| !authority.ends_with(']'))
        {
            if !port.chars().all(|c| c.is_ascii_digit()) || port.is_empty() {
                return bad("has an invalid port");
            }
        }
        match scheme {
            "https" => {}
            "http" if is_loopback(host) => {}
            _ => return bad("must use https (http is allowed for loopback hosts only)"),
        }
        Ok(Issuer(s.trim_end_matches('/').to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute URL of an endpoint path (which starts with `/`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http() {
        for ok in [
            "https://id.example.com",
            "https://id.example.com/",
            "https://example.com/tenant/a",
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(Issuer::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Issuer::parse("https://id.example.com/").unwrap().as_str(),
            "https://id.example.com"
        );
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "id.example.com",
            "http://id.example.com",
            "https://id.example.com/?a=b",
            "https://id.example.com/#x",
            "https://user:pw@id.example.com",
            "ftp://id.example.com",
            "https://",
            "https:///path",
            "https://id.example.com:x",
            "https://id .example.com",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
    }
}
