//! `id_token_hint`: the shared verification (`authrim_oauth::id_token_hint`)
//! over our published JWK Set as op-store returns it.

use authrim_jose::Jwks;
pub use authrim_oauth::id_token_hint::{invalid, Hint};
use authrim_protocol::{Issuer, OAuthError};

/// Verifies `token` with `jwks` (our published JWK Set, as JSON text).
pub fn verify(token: &str, jwks: &str, issuer: &Issuer) -> Result<Hint, OAuthError> {
    let keys = Jwks::parse(jwks).map_err(|e| {
        crate::log(&format!("our own JWK Set does not parse: {e:?}"));
        OAuthError::server_error()
    })?;
    authrim_oauth::id_token_hint::verify(token, &keys, issuer)
}

#[cfg(test)]
pub(crate) mod tests {
    use authrim_jose::jws::sign_compact;
    use authrim_jose::{test_keys, Alg};

    /// Our JWK Set as op-store returns it, with the key of [`sign`].
    pub(crate) fn jwks() -> String {
        let k = test_keys::rsa();
        format!(
            "{{\"keys\":[{}]}}",
            k.public_key().to_jwk_json(&k.kid(), Alg::RS256)
        )
    }

    pub(crate) fn sign(claims: &str) -> String {
        let k = test_keys::rsa();
        sign_compact(&k, &k.kid(), Some("JWT"), claims.as_bytes()).unwrap()
    }
}
