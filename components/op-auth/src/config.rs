//! Deployment settings, read from Spin variables by the component.

use authrim_oauth::authorize::AuthorizeConfig;
use authrim_protocol::Issuer;

/// Default `session_ttl`: 8 hours.
pub const DEFAULT_SESSION_TTL: i64 = 8 * 3600;
/// Defaults of `access_token_ttl` and `id_token_ttl` (as op-token's).
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 3600;
pub const DEFAULT_ID_TOKEN_TTL: i64 = 3600;
/// Lifetime of an authorization code (brief: at most 60 s).
pub const CODE_TTL: i64 = 60;
/// Lifetime of a pushed request's `request_uri` (RFC 9126 §2.2).
pub const PAR_TTL: i64 = 60;
/// Lifetime of a pending interaction (login, consent, logout confirmation).
pub const INTERACTION_TTL: i64 = 600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub issuer: Issuer,
    /// Spin variable `require_pushed_authorization_requests` (RFC 9126 §5):
    /// every client must push its requests.
    pub require_par: bool,
    /// Spin variable `session_ttl`, seconds.
    pub session_ttl: i64,
    /// Spin variables `access_token_ttl` and `id_token_ttl`, seconds: the
    /// tokens the implicit and hybrid flows return from `/authorize`.
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    /// Spin variable `dpop_require_nonce` (as op-token's): DPoP proofs at
    /// PAR must carry a nonce op-store issued (RFC 9449 §8).
    pub dpop_require_nonce: bool,
}

impl Config {
    /// Reads the variables through `get` (absent → default). Errors name
    /// the variable; they are the operator's, so the caller logs them.
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let raw = get("issuer").ok_or("variable `issuer` is not set")?;
        let issuer = Issuer::parse(raw.trim()).map_err(|e| e.to_string())?;
        let flag = |name: &str| match get(name).as_deref().map(str::trim) {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(format!(
                "variable `{name}` must be true or false, not {other:?}"
            )),
        };
        let require_par = flag("require_pushed_authorization_requests")?;
        let seconds = |name: &str, default: i64| match get(name).as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!(
                    "variable `{name}` must be a positive number of seconds, not {v:?}"
                )),
            },
        };
        Ok(Config {
            issuer,
            require_par,
            session_ttl: seconds("session_ttl", DEFAULT_SESSION_TTL)?,
            access_token_ttl: seconds("access_token_ttl", DEFAULT_ACCESS_TOKEN_TTL)?,
            id_token_ttl: seconds("id_token_ttl", DEFAULT_ID_TOKEN_TTL)?,
            dpop_require_nonce: flag("dpop_require_nonce")?,
        })
    }

    pub fn authorize_config(&self) -> AuthorizeConfig {
        AuthorizeConfig {
            require_par: self.require_par,
            require_pkce: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_variables(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_and_values() {
        let c = read(&[("issuer", "https://id.example.com")]).unwrap();
        assert!(!c.require_par);
        assert_eq!(c.session_ttl, DEFAULT_SESSION_TTL);
        assert_eq!(
            (c.access_token_ttl, c.id_token_ttl),
            (DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_ID_TOKEN_TTL)
        );
        let c = read(&[
            ("issuer", "https://id.example.com"),
            ("require_pushed_authorization_requests", "true"),
            ("session_ttl", "60"),
        ])
        .unwrap();
        assert!(c.require_par && c.authorize_config().require_par);
        assert!(!c.dpop_require_nonce);
        let nonce = read(&[
            ("issuer", "https://id.example.com"),
            ("dpop_require_nonce", "true"),
        ])
        .unwrap();
        assert!(nonce.dpop_require_nonce);
        assert_eq!(c.session_ttl, 60);
    }

    #[test]
    fn refuses_bad_values() {
        for vars in [
            &[][..],
            &[("issuer", "http://id.example.com")][..],
            &[
                ("issuer", "https://id.example.com"),
                ("require_pushed_authorization_requests", "yes"),
            ][..],
            &[("issuer", "https://id.example.com"), ("session_ttl", "0")][..],
            &[("issuer", "https://id.example.com"), ("session_ttl", "x")][..],
            &[
                ("issuer", "https://id.example.com"),
                ("access_token_ttl", "-5"),
            ][..],
            &[("issuer", "https://id.example.com"), ("id_token_ttl", "0")][..],
            &[
                ("issuer", "https://id.example.com"),
                ("dpop_require_nonce", "1"),
            ][..],
        ] {
            assert!(read(vars).is_err(), "{vars:?}");
        }
    }
}
