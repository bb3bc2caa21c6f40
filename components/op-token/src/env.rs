//! The settings and the clock one request runs with.

use authrim_protocol::Issuer;

/// Access token lifetime when the `access_token_ttl` variable is unset.
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 3600;
/// ID Token lifetime when the `id_token_ttl` variable is unset.
pub const DEFAULT_ID_TOKEN_TTL: i64 = 3600;
/// Absolute lifetime of a refresh-token family (`refresh_token_ttl`): 30 days.
pub const DEFAULT_REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub issuer: Issuer,
    /// UNIX seconds.
    pub now: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// RFC 9449 §8: DPoP proofs must carry a server nonce
    /// (`dpop_require_nonce`).
    pub dpop_require_nonce: bool,
}

impl Env {
    /// The token endpoint's URL.
    pub fn token_endpoint(&self) -> String {
        self.issuer.endpoint(crate::TOKEN_PATH)
    }

    /// The `aud` values a client assertion may name (RFC 7523 §3, OIDC
    /// Core §9): the issuer identifier and the token endpoint URL.
    pub fn assertion_audiences(&self) -> Vec<String> {
        vec![self.issuer.as_str().to_string(), self.token_endpoint()]
    }
}

/// Parses a lifetime variable: whole positive seconds.
pub fn parse_ttl(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_values() {
        assert_eq!(parse_ttl("3600"), Some(3600));
        assert_eq!(parse_ttl(" 60 "), Some(60));
        for bad in ["0", "-1", "", "1h", "3.5"] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }
}
