//! The settings and the clock one request runs with.

use authrim_protocol::secret::constant_time_eq;
use authrim_protocol::Issuer;

/// Who may register clients at `POST /register` (Spin variables
/// `registration_mode` and `initial_access_token`).
#[derive(Clone, PartialEq, Eq)]
pub enum Registration {
    /// `registration_mode = "open"`: anyone (RFC 7591 §3 open registration).
    Open,
    /// `registration_mode = "token"` (the default): only requests bearing
    /// the initial access token (RFC 7591 §3). An empty token closes
    /// registration: nothing matches it.
    Token(String),
}

/// Secrets stay out of logs.
impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Registration::Open => f.write_str("Open"),
            Registration::Token(_) => f.write_str("Token(..)"),
        }
    }
}

impl Registration {
    /// Reads `registration_mode` (`None` when unset: the default, `token`)
    /// and `initial_access_token`. `Err` names a bad mode, for the log.
    pub fn from_variables(mode: Option<&str>, token: Option<&str>) -> Result<Self, String> {
        match mode.map(str::trim).unwrap_or("token") {
            "open" => Ok(Registration::Open),
            "token" => Ok(Registration::Token(
                token.map(str::trim).unwrap_or_default().to_string(),
            )),
            other => Err(format!(
                "registration_mode must be `open` or `token`, not `{other}`"
            )),
        }
    }

    /// Whether a request with this bearer token (if any) may register.
    pub fn admits(&self, presented: Option<&str>) -> bool {
        match self {
            Registration::Open => true,
            Registration::Token(expected) => presented.is_some_and(|p| {
                !expected.is_empty() && constant_time_eq(p.as_bytes(), expected.as_bytes())
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub issuer: Issuer,
    /// UNIX seconds.
    pub now: i64,
    pub registration: Registration,
}

impl Env {
    /// The `aud` values a client assertion may name here: the issuer
    /// identifier, the token endpoint (what clients usually put, RFC 7523
    /// §3) and the endpoint being called.
    pub fn assertion_audiences(&self, endpoint_path: &str) -> Vec<String> {
        vec![
            self.issuer.as_str().to_string(),
            self.issuer.endpoint("/token"),
            self.issuer.endpoint(endpoint_path),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_modes() {
        assert_eq!(
            Registration::from_variables(None, None),
            Ok(Registration::Token(String::new()))
        );
        assert_eq!(
            Registration::from_variables(Some(" open "), Some("x")),
            Ok(Registration::Open)
        );
        assert_eq!(
            Registration::from_variables(Some("token"), Some(" t0k \n")),
            Ok(Registration::Token("t0k".into()))
        );
        assert!(Registration::from_variables(Some("closed"), None).is_err());
        assert!(Registration::from_variables(Some("Open"), None).is_err());
    }

    #[test]
    fn admission() {
        assert!(Registration::Open.admits(None));
        assert!(Registration::Open.admits(Some("anything")));
        let token = Registration::Token("s3cret".into());
        assert!(token.admits(Some("s3cret")));
        for bad in [
            None,
            Some(""),
            Some("s3cre"),
            Some("s3cret "),
            Some("S3CRET"),
        ] {
            assert!(!token.admits(bad), "{bad:?}");
        }
        let closed = Registration::Token(String::new());
        assert!(!closed.admits(Some("")));
        assert!(!closed.admits(None));
        assert_eq!(format!("{token:?}"), "Token(..)");
    }
}
