//! A pending authorization between `/authorize`, `/login` and `/consent`:
//! the validated request parameters and the CSRF token of the forms, kept
//! in op-store's `one-time` table for [`INTERACTION_TTL`] under the SHA-256
//! of a random id that travels in the page URL (`?interaction=ID`).
//!
//! A record is read with `peek` while the user works on a page and taken
//! (one-time) when a step completes: a successful login or a consent
//! decision takes it and, if the flow goes on, stores its successor under
//! a new id with a new CSRF token. So a form can be submitted
//! successfully once, and a replayed or stale form finds nothing.

use crate::config::INTERACTION_TTL;
use crate::new_token;
use crate::store::Store;
use authrim_oauth::form::{form_urlencode, Params};
use authrim_protocol::secret::{constant_time_eq, hash_token};
use authrim_protocol::{ErrorCode, OAuthError};

/// The op-store `one-time` namespace of pending interactions.
pub const NAMESPACE: &str = "interaction";

/// Stored form-encoded (the parser every component already carries),
/// not as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// The authorization request's parameters, form-encoded, exactly as
    /// `authorize::validate` accepted them.
    pub params: String,
    /// Whether they came from a pushed request (validated again as such).
    pub pushed: bool,
    /// The CSRF token every form of this interaction carries.
    pub csrf: String,
    /// `sub` of a verified `id_token_hint`.
    pub hint_sub: Option<String>,
    /// `sid` of the session a login in this interaction created: that
    /// login satisfies `prompt=login` and `max_age`.
    pub fresh_sid: Option<String>,
    /// The user approved in this interaction (satisfies `prompt=consent`).
    pub consented: bool,
    /// A sign-in for another page of this OP (op-async's `/device` and
    /// `/bc-approve`):
    /// the local path to return to after signing in, instead of an
    /// authorization request (`params` is then empty). Always one of
    /// [`return_path`]'s.
    pub return_to: Option<String>,
}

impl Interaction {
    pub fn new(
        params: &Params,
        pushed: bool,
        hint_sub: Option<String>,
    ) -> Result<Interaction, OAuthError> {
        Ok(Interaction {
            params: form_urlencode(params.iter()),
            pushed,
            csrf: new_token()?,
            hint_sub,
            fresh_sid: None,
            consented: false,
            return_to: None,
        })
    }

    /// A sign-in that returns to the local page `path` afterwards.
    pub fn returning_to(path: &str) -> Result<Interaction, OAuthError> {
        Ok(Interaction {
            return_to: Some(path.to_string()),
            ..Interaction::new(&Params::default(), false, None)?
        })
    }

    pub fn params(&self) -> Result<Params, OAuthError> {
        Params::parse(&self.params).map_err(|e| {
            crate::log(&format!("stored interaction parameters: {e}"));
            OAuthError::server_error()
        })
    }

    /// The same request for the next step, with a fresh CSRF token.
    pub fn successor(&self) -> Result<Interaction, OAuthError> {
        Ok(Interaction {
            csrf: new_token()?,
            ..self.clone()
        })
    }

    fn encode(&self) -> String {
        let flag = |on: bool| if on { "1" } else { "" };
        form_urlencode([
            ("params", self.params.as_str()),
            ("pushed", flag(self.pushed)),
            ("csrf", &self.csrf),
            ("hint_sub", self.hint_sub.as_deref().unwrap_or("")),
            ("fresh_sid", self.fresh_sid.as_deref().unwrap_or("")),
            ("consented", flag(self.consented)),
            ("return_to", self.return_to.as_deref().unwrap_or("")),
        ])
    }

    fn decode(bytes: &[u8]) -> Option<Interaction> {
        let p = Params::parse_bytes(bytes).ok()?;
        let owned = |name: &str| p.get(name).map(str::to_string);
        Some(Interaction {
            params: owned("params").unwrap_or_default(),
            pushed: p.contains("pushed"),
            csrf: owned("csrf")?,
            hint_sub: owned("hint_sub"),
            fresh_sid: owned("fresh_sid"),
            consented: p.contains("consented"),
            return_to: owned("return_to").filter(|p| return_path(p).is_some()),
        })
    }

    /// Compares a form's CSRF token with ours in constant time.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| constant_time_eq(p.as_bytes(), self.csrf.as_bytes()))
    }
}

/// The pages of this OP a sign-in may return to (`/login?return_to=`):
/// op-async's device verification page, `/device` with an optional query
/// of URL-safe characters, and its CIBA approval page, `/bc-approve`
/// (no query). Anything else (other paths, other hosts,
/// `//evil`, backslashes) is refused, so `return_to` is no open redirect.
pub fn return_path(path: &str) -> Option<&str> {
    let query = match path.split_once('?') {
        Some(("/device", q)) => q,
        None if path == "/device" || path == "/bc-approve" => "",
        _ => return None,
    };
    let safe = query.len() <= 256
        && query.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'=' | b'&' | b'-' | b'_' | b'%' | b'.')
        });
    safe.then_some(path)
}

/// The error page for an unknown, expired or completed interaction.
pub fn expired() -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidRequest,
        "This sign-in request has expired or was already completed.",
    )
}

/// The error page for a form whose CSRF token does not match.
pub fn csrf_mismatch() -> OAuthError {
    OAuthError::with_description(
        ErrorCode::InvalidRequest,
        "The form was not sent by this sign-in page. Go back and try again.",
    )
}

/// Ids are our own tokens; anything else names no record and costs no
/// store call.
fn well_formed(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores `interaction` under a new id, returned.
pub fn save(store: &dyn Store, interaction: &Interaction, now: i64) -> Result<String, OAuthError> {
    let id = new_token()?;
    let value = interaction.encode();
    store.one_time_put(
        NAMESPACE,
        &hash_token(&id),
        value.as_bytes(),
        now + INTERACTION_TTL,
    )?;
    Ok(id)
}

fn decode(value: Option<Vec<u8>>) -> Result<Option<Interaction>, OAuthError> {
    match value {
        None => Ok(None),
        Some(bytes) => Interaction::decode(&bytes).map(Some).ok_or_else(|| {
            crate::log("a stored interaction does not parse");
            OAuthError::server_error()
        }),
    }
}

/// The record, left in place.
pub fn peek(store: &dyn Store, id: &str, now: i64) -> Result<Option<Interaction>, OAuthError> {
    if !well_formed(id) {
        return Ok(None);
    }
    decode(store.one_time_peek(NAMESPACE, &hash_token(id), now)?)
}

/// The record, removed: of concurrent callers at most one gets it.
pub fn take(store: &dyn Store, id: &str, now: i64) -> Result<Option<Interaction>, OAuthError> {
    if !well_formed(id) {
        return Ok(None);
    }
    decode(store.one_time_take(NAMESPACE, &hash_token(id), now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    #[test]
    fn save_peek_take_once() {
        let store = MemoryStore::default();
        let params = Params::parse("client_id=c&scope=openid+profile").unwrap();
        let i = Interaction::new(&params, false, None).unwrap();
        let id = save(&store, &i, 1000).unwrap();
        assert_eq!(peek(&store, &id, 1000).unwrap().as_ref(), Some(&i));
        assert_eq!(i.params().unwrap().get("scope"), Some("openid profile"));
        assert_eq!(take(&store, &id, 1000).unwrap(), Some(i));
        assert_eq!(take(&store, &id, 1000).unwrap(), None);
        assert_eq!(peek(&store, &id, 1000).unwrap(), None);
    }

    #[test]
    fn expires_and_ignores_foreign_ids() {
        let store = MemoryStore::default();
        let i = Interaction::new(&Params::default(), false, None).unwrap();
        let id = save(&store, &i, 1000).unwrap();
        assert_eq!(peek(&store, &id, 1000 + INTERACTION_TTL).unwrap(), None);
        for bad in ["", "x", "../../etc", &"a".repeat(44)] {
            assert_eq!(peek(&store, bad, 1000).unwrap(), None);
        }
    }

    #[test]
    fn encoding_round_trips() {
        let mut i = Interaction::new(
            &Params::parse("a=1&b=x+y%26z").unwrap(),
            true,
            Some("u 1".into()),
        )
        .unwrap();
        i.fresh_sid = Some("s&1".into());
        i.consented = true;
        i.return_to = Some("/device?user_code=WDJB-MJHT".into());
        assert_eq!(Interaction::decode(i.encode().as_bytes()), Some(i.clone()));
        i.return_to = None;
        i.pushed = false;
        i.hint_sub = None;
        i.fresh_sid = None;
        i.consented = false;
        assert_eq!(Interaction::decode(i.encode().as_bytes()), Some(i));
        assert_eq!(Interaction::decode(b"params=x"), None);
    }

    #[test]
    fn only_the_device_and_approval_pages_are_return_paths() {
        for ok in [
            "/bc-approve",
            "/device",
            "/device?user_code=WDJB-MJHT",
            "/device?user_code=wdjb%20mjht",
        ] {
            assert_eq!(return_path(ok), Some(ok));
        }
        for bad in [
            "",
            "/",
            "/devices",
            "/device/x",
            "//evil.example/device",
            "https://evil.example/device",
            "/device?x=<script>",
            "/device?x=\\evil",
            "/device?x=a b",
            "/login?return_to=/device",
            "/bc-approve?x=1",
            "/bc-approve/",
            "//evil.example/bc-approve",
        ] {
            assert_eq!(return_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn csrf_and_successor() {
        let i = Interaction::new(&Params::default(), false, None).unwrap();
        assert!(i.csrf_matches(Some(&i.csrf.clone())));
        assert!(!i.csrf_matches(None));
        assert!(!i.csrf_matches(Some("")));
        assert!(!i.csrf_matches(Some(&i.csrf[1..])));
        let next = i.successor().unwrap();
        assert_ne!(next.csrf, i.csrf);
        assert_eq!(next.params, i.params);
    }
}
