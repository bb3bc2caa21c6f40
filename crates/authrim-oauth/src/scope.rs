//! Scope values (RFC 6749 §3.3, OIDC Core §5.4 and §11).
//!
//! A [`Scope`] is a set of scope tokens that remembers the order in which
//! they were first given, so that it renders the way the client wrote it.
//! Parsing is strict about the token character set and lenient about runs of
//! spaces (they cannot smuggle anything and some clients emit them).

use authrim_protocol::{ErrorCode, OAuthError};
use std::fmt;

/// `openid`: marks an OpenID Connect request (OIDC Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// `offline_access`: asks for a refresh token usable while the End-User is
/// not present (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Longest `scope` string accepted, in bytes.
pub const MAX_SCOPE_LEN: usize = 2048;
/// Most distinct scope tokens accepted in one request.
pub const MAX_SCOPE_TOKENS: usize = 64;

/// A set of scope tokens, order-stable, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a space-delimited `scope` value. Every token must be made of
    /// `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3); duplicates collapse.
    /// Errors are `invalid_scope`.
    pub fn parse(s: &str) -> Result<Scope, OAuthError> {
        if s.len() > MAX_SCOPE_LEN {
            return Err(invalid("scope is too long"));
        }
        let mut tokens: Vec<String> = Vec::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(invalid("scope contains a character outside RFC 6749 §3.3"));
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_string());
            }
            if tokens.len() > MAX_SCOPE_TOKENS {
                return Err(invalid("scope has too many values"));
            }
        }
        Ok(Scope(tokens))
    }

    /// A scope made of tokens known to be valid (server configuration,
    /// tests). Invalid or duplicate tokens are dropped.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Scope {
        let mut scope = Scope::default();
        for t in tokens {
            if !t.is_empty() && t.bytes().all(is_scope_char) && !scope.contains(t) {
                scope.0.push(t.to_string());
            }
        }
        scope
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    pub fn has_openid(&self) -> bool {
        self.contains(OPENID)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// The tokens of `self` that are also in `other`, in `self`'s order.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(
            self.0
                .iter()
                .filter(|t| other.contains(t))
                .cloned()
                .collect(),
        )
    }

    /// `self` without `token`.
    pub fn without(&self, token: &str) -> Scope {
        Scope(self.0.iter().filter(|t| *t != token).cloned().collect())
    }

    /// Limits a requested scope to the client's registered `scope` (RFC 7591
    /// §2), when it registered one. `openid` is a protocol marker, not an
    /// access right, and is always kept. An empty result is `invalid_scope`.
    pub fn restrict_to_registered(&self, registered: Option<&Scope>) -> Result<Scope, OAuthError> {
        let granted = match registered {
            None => self.clone(),
            Some(reg) => Scope(
                self.0
                    .iter()
                    .filter(|t| *t == OPENID || reg.contains(t))
                    .cloned()
                    .collect(),
            ),
        };
        if granted.is_empty() {
            return Err(invalid(
                "none of the requested scope values is allowed for this client",
            ));
        }
        Ok(granted)
    }

    /// The scope of a refreshed token (RFC 6749 §6): the original grant when
    /// nothing is requested, the requested scope when it narrows the grant,
    /// `invalid_scope` when it would widen it.
    pub fn narrow(&self, requested: Option<&Scope>) -> Result<Scope, OAuthError> {
        match requested {
            None => Ok(self.clone()),
            Some(r) if r.is_empty() => Ok(self.clone()),
            Some(r) if r.is_subset_of(self) => Ok(r.clone()),
            Some(_) => Err(invalid(
                "the requested scope exceeds the scope originally granted",
            )),
        }
    }

    /// OIDC Core §11: `offline_access` is ignored unless the response type
    /// returns an authorization code and either `prompt` contains `consent`
    /// or another condition permits offline access (`otherwise_permitted`,
    /// e.g. an administrator's pre-authorisation of the client).
    pub fn apply_offline_access_rule(
        &self,
        returns_code: bool,
        prompt_has_consent: bool,
        otherwise_permitted: bool,
    ) -> Scope {
        if self.contains(OFFLINE_ACCESS)
            && !(returns_code && (prompt_has_consent || otherwise_permitted))
        {
            self.without(OFFLINE_ACCESS)
        } else {
            self.clone()
        }
    }
}

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidScope, description)
}

/// RFC 6749 §3.3: `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl fmt::Display for Scope {
    /// Space-delimited, in first-seen order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl serde::Serialize for Scope {
    /// As the space-delimited string (e.g. the `scope` claim of RFC 9068).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn parses_and_renders_in_order() {
        let table = [
            ("openid", "openid"),
            ("openid profile email", "openid profile email"),
            ("email openid email profile openid", "email openid profile"),
            ("  openid   profile ", "openid profile"),
            ("", ""),
            (
                "urn:example:read https://api.example.com/x!",
                "urn:example:read https://api.example.com/x!",
            ),
            ("a#[]{}~", "a#[]{}~"),
        ];
        for (input, rendered) in table {
            assert_eq!(scope(input).to_string(), rendered, "{input:?}");
        }
    }

    #[test]
    fn refuses_malformed_scope() {
        let long = "a".repeat(MAX_SCOPE_LEN + 1);
        let many = (0..=MAX_SCOPE_TOKENS)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let table: Vec<(&str, &str)> = vec![
            ("openid\tprofile", "tab"),
            ("openid\nprofile", "newline"),
            ("open\"id", "double quote"),
            ("open\\id", "backslash"),
            ("caf\u{e9}", "non-ASCII"),
            ("openid\u{7f}", "DEL"),
            (&long, "oversized"),
            (&many, "too many tokens"),
        ];
        for (input, why) in table {
            let err = Scope::parse(input).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidScope, "{why}");
        }
    }

    #[test]
    fn duplicates_do_not_count_towards_the_token_limit() {
        let repeated = vec!["openid"; MAX_SCOPE_TOKENS * 2].join(" ");
        assert_eq!(scope(&repeated).len(), 1);
    }

    #[test]
    fn set_operations() {
        let granted = scope("openid profile email offline_access");
        assert!(granted.has_openid());
        assert!(granted.contains("email"));
        assert!(!granted.contains("phone"));
        assert!(scope("email openid").is_subset_of(&granted));
        assert!(!scope("email phone").is_subset_of(&granted));
        assert!(Scope::default().is_subset_of(&granted));
        assert_eq!(
            scope("phone email openid")
                .intersection(&granted)
                .to_string(),
            "email openid"
        );
    }

    #[test]
    fn refresh_narrows_but_never_widens() {
        let granted = scope("openid profile email");
        let table: [(Option<&str>, Result<&str, ()>); 5] = [
            (None, Ok("openid profile email")),
            (Some(""), Ok("openid profile email")),
            (Some("email"), Ok("email")),
            (Some("email openid profile"), Ok("email openid profile")),
            (Some("email phone"), Err(())),
        ];
        for (requested, expected) in table {
            let requested = requested.map(scope);
            let got = granted.narrow(requested.as_ref());
            match expected {
                Ok(s) => assert_eq!(got.unwrap().to_string(), s),
                Err(()) => assert_eq!(got.unwrap_err().code, ErrorCode::InvalidScope),
            }
        }
    }

    #[test]
    fn restricted_to_the_registered_scope() {
        let registered = scope("profile email");
        let table: [(&str, Option<&Scope>, Result<&str, ()>); 5] = [
            (
                "openid profile phone",
                Some(&registered),
                Ok("openid profile"),
            ),
            ("openid", Some(&registered), Ok("openid")),
            ("phone", Some(&registered), Err(())),
            ("phone", None, Ok("phone")),
            ("", None, Err(())),
        ];
        for (requested, reg, expected) in table {
            let got = scope(requested).restrict_to_registered(reg);
            match expected {
                Ok(s) => assert_eq!(got.unwrap().to_string(), s, "{requested}"),
                Err(()) => assert_eq!(got.unwrap_err().code, ErrorCode::InvalidScope),
            }
        }
    }

    #[test]
    fn offline_access_needs_code_and_consent() {
        let s = scope("openid offline_access email");
        // (returns_code, prompt_has_consent, otherwise_permitted, kept)
        let table = [
            (true, true, false, true),
            (true, false, true, true),
            (true, false, false, false),
            (false, true, true, false),
        ];
        for (code, consent, other, kept) in table {
            let got = s.apply_offline_access_rule(code, consent, other);
            assert_eq!(
                got.contains(OFFLINE_ACCESS),
                kept,
                "{code} {consent} {other}"
            );
            assert!(got.contains("email") && got.has_openid());
        }
    }

    #[test]
    fn from_tokens_drops_invalid_values() {
        let s = Scope::from_tokens(["openid", "", "bad value", "openid", "email"]);
        assert_eq!(s.to_string(), "openid email");
    }

    #[test]
    fn serialises_as_a_string() {
        assert_eq!(
            serde_json::to_string(&scope("openid email")).unwrap(),
            "\"openid email\""
        );
    }
}
