//! Finding a presented token: this OP's access tokens (RFC 9068 JWTs,
//! recognised by `grants.check-access-token` on the hash of the whole
//! string) and refresh tokens (opaque, `grants.find-by-refresh`). Both
//! lookups answer only for live tokens (unexpired, unrevoked, the user not
//! disabled; access tokens also need their session), so anything else is
//! simply not found.
//!
//! `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1) only orders the two
//! lookups; an unknown hint is ignored. Without a hint, a token with the
//! shape of a JWS is looked up as an access token first.

use authrim_oauth::form::Params;
use authrim_protocol::secret::hash_token;
use authrim_protocol::OAuthError;

use crate::store::{fault, Grant, Store};

/// Longer tokens are not ours (ours are JWTs of a few hundred bytes and
/// 43-character refresh tokens); they are not looked up.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Clone, Debug)]
pub enum Found {
    Access { token_hash: String, grant: Grant },
    Refresh { grant: Grant },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Access,
    Refresh,
}

/// The lookup order for a request's `token` and `token_type_hint`.
fn order(token: &str, hint: Option<&str>) -> [Kind; 2] {
    let access_first = match hint {
        Some("access_token") => true,
        Some("refresh_token") => false,
        _ => token.split('.').count() == 3,
    };
    if access_first {
        [Kind::Access, Kind::Refresh]
    } else {
        [Kind::Refresh, Kind::Access]
    }
}

/// The `token` parameter (required: `invalid_request` without it) and
/// what it is, if it is a live token of this OP.
pub fn find<S: Store>(params: &Params, store: &S, now: i64) -> Result<Option<Found>, OAuthError> {
    let token = params.require("token")?;
    if token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    let token_hash = hash_token(token);
    for kind in order(token, params.get("token_type_hint")) {
        let found = match kind {
            Kind::Access => store
                .check_access_token(&token_hash, now)
                .map_err(fault("grants.check-access-token"))?
                .map(|grant| Found::Access {
                    token_hash: token_hash.clone(),
                    grant,
                }),
            Kind::Refresh => store
                .find_by_refresh(&token_hash, now)
                .map_err(fault("grants.find-by-refresh"))?
                .map(|grant| Found::Refresh { grant }),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_order_the_lookups() {
        use Kind::*;
        let jwt = "a.b.c";
        let opaque = "abcdef";
        assert_eq!(order(jwt, None), [Access, Refresh]);
        assert_eq!(order(opaque, None), [Refresh, Access]);
        assert_eq!(order(opaque, Some("access_token")), [Access, Refresh]);
        assert_eq!(order(jwt, Some("refresh_token")), [Refresh, Access]);
        assert_eq!(
            order(jwt, Some("id_token")),
            [Access, Refresh],
            "unknown hint ignored"
        );
        assert_eq!(order(opaque, Some("urn:x")), [Refresh, Access]);
    }
}
