//! Claims about the End-User: the standard claims (OIDC Core §5.1), the
//! claims each scope value stands for (§5.4), the `claims` request
//! parameter (§5.5) and the decision which claims go where.
//!
//! Release rule (§5.4): when an access token is issued (every flow Authrim
//! supports today), the claims of the `profile`, `email`, `address` and
//! `phone` scopes are returned from the UserInfo endpoint only; the ID Token
//! carries only what the `claims` parameter asks for in its `id_token`
//! member. Only standard claims (and their language-tagged forms, §5.2) are
//! ever released; `sub` always comes from the caller, never from the user's
//! stored claims. `value`/`values` in a claims request are not enforced
//! here: the component acts on them for `sub` and `acr` (§5.5.1.1).

use crate::form::safe_text;
use crate::scope::Scope;
use authrim_protocol::OAuthError;
use serde::Serialize;
use serde_json::{Map, Value};

/// The JSON type a standard claim must have (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimType {
    String,
    Boolean,
    Number,
    Object,
}

/// Every standard claim of OIDC Core §5.1 with its JSON type.
pub const STANDARD_CLAIMS: &[(&str, ClaimType)] = &[
    ("sub", ClaimType::String),
    ("name", ClaimType::String),
    ("given_name", ClaimType::String),
    ("family_name", ClaimType::String),
    ("middle_name", ClaimType::String),
    ("nickname", ClaimType::String),
    ("preferred_username", ClaimType::String),
    ("profile", ClaimType::String),
    ("picture", ClaimType::String),
    ("website", ClaimType::String),
    ("email", ClaimType::String),
    ("email_verified", ClaimType::Boolean),
    ("gender", ClaimType::String),
    ("birthdate", ClaimType::String),
    ("zoneinfo", ClaimType::String),
    ("locale", ClaimType::String),
    ("phone_number", ClaimType::String),
    ("phone_number_verified", ClaimType::Boolean),
    ("address", ClaimType::Object),
    ("updated_at", ClaimType::Number),
];

/// §5.4: claims requested by the `profile` scope.
pub const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
/// §5.4: claims requested by the `email` scope.
pub const EMAIL_CLAIMS: &[&str] = &["email", "email_verified"];
/// §5.4: claims requested by the `address` scope.
pub const ADDRESS_CLAIMS: &[&str] = &["address"];
/// §5.4: claims requested by the `phone` scope.
pub const PHONE_CLAIMS: &[&str] = &["phone_number", "phone_number_verified"];

/// Longest `claims` parameter accepted, in bytes.
pub const MAX_CLAIMS_REQUEST_LEN: usize = 8192;
/// Most claims one member (`userinfo` or `id_token`) may name.
pub const MAX_REQUESTED_CLAIMS: usize = 64;

/// The claims a scope value stands for (§5.4); empty for any other value.
pub fn claims_for_scope_value(value: &str) -> &'static [&'static str] {
    match value {
        "profile" => PROFILE_CLAIMS,
        "email" => EMAIL_CLAIMS,
        "address" => ADDRESS_CLAIMS,
        "phone" => PHONE_CLAIMS,
        _ => &[],
    }
}

/// The §5.1 type of a standard claim, `None` for any other name.
pub fn standard_claim_type(name: &str) -> Option<ClaimType> {
    STANDARD_CLAIMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// Checks that the standard claims in a user's claims object have their
/// §5.1 types (for code that writes users). Other members are not checked.
pub fn check_standard_claims(user: &Map<String, Value>) -> Result<(), OAuthError> {
    for (name, value) in user {
        let base = name.split('#').next().unwrap_or(name);
        if let Some(ty) = standard_claim_type(base) {
            if !has_type(value, ty) {
                return Err(OAuthError::invalid_request(format!(
                    "claim {} must be a JSON {ty:?}",
                    safe_text(name, 64)
                )));
            }
        }
    }
    Ok(())
}

fn has_type(value: &Value, ty: ClaimType) -> bool {
    match ty {
        ClaimType::String => value.is_string(),
        ClaimType::Boolean => value.is_boolean(),
        ClaimType::Number => value.is_number(),
        ClaimType::Object => value.is_object(),
    }
}

/// One entry of a claims request (§5.5.1): `null`, or an object with
/// `essential`, `value` and/or `values`. Unknown members are ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClaimRequest {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// The `claims` request parameter (§5.5). Top-level members other than
/// `userinfo` and `id_token` are ignored, as §5.5 requires. Members are
/// kept as validated JSON, so that serialising (to store with the code)
/// reproduces the request; `userinfo_claim`/`id_token_claim` give the
/// typed view.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClaimsRequest {
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub userinfo: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub id_token: Map<String, Value>,
}

impl ClaimsRequest {
    /// Parses and validates the parameter. Errors are `invalid_request`.
    pub fn parse(json: &str) -> Result<ClaimsRequest, OAuthError> {
        if json.len() > MAX_CLAIMS_REQUEST_LEN {
            return Err(OAuthError::invalid_request("claims parameter is too long"));
        }
        let value = parse_strict_json(json).ok_or_else(|| {
            OAuthError::invalid_request("claims parameter is not valid JSON (or repeats a member)")
        })?;
        let Value::Object(top) = value else {
            return Err(OAuthError::invalid_request(
                "claims parameter must be a JSON object",
            ));
        };
        Ok(ClaimsRequest {
            userinfo: parse_member(&top, "userinfo")?,
            id_token: parse_member(&top, "id_token")?,
        })
    }

    /// The request for `name` in the `userinfo` member.
    pub fn userinfo_claim(&self, name: &str) -> Option<ClaimRequest> {
        self.userinfo.get(name).map(typed)
    }

    /// The request for `name` in the `id_token` member (e.g. `acr` with
    /// `values`, `auth_time` as essential, `sub` with `value`).
    pub fn id_token_claim(&self, name: &str) -> Option<ClaimRequest> {
        self.id_token.get(name).map(typed)
    }

    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty()
    }

    /// The JSON form, for storing with an authorization code.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

fn parse_member(top: &Map<String, Value>, member: &str) -> Result<Map<String, Value>, OAuthError> {
    let Some(value) = top.get(member) else {
        return Ok(Map::new());
    };
    let Value::Object(entries) = value else {
        return Err(OAuthError::invalid_request(format!(
            "claims.{member} must be a JSON object"
        )));
    };
    if entries.len() > MAX_REQUESTED_CLAIMS {
        return Err(OAuthError::invalid_request(format!(
            "claims.{member} names too many claims"
        )));
    }
    for (name, entry) in entries {
        if name.is_empty() {
            return Err(OAuthError::invalid_request("a claim name is empty"));
        }
        let bad = |what: &str| {
            Err(OAuthError::invalid_request(format!(
                "claims.{member}.{}: {what}",
                safe_text(name, 64)
            )))
        };
        match entry {
            Value::Null => {}
            Value::Object(o) => {
                if o.get("essential").is_some_and(|e| !e.is_boolean()) {
                    return bad("essential must be a boolean");
                }
                if o.get("values").is_some_and(|v| !v.is_array()) {
                    return bad("values must be an array");
                }
            }
            _ => return bad("must be null or an object"),
        }
    }
    Ok(entries.clone())
}

/// Parses JSON, refusing objects that repeat a member name (RFC 8259 §4
/// leaves their meaning open; two parsers may disagree on which one wins).
fn parse_strict_json(json: &str) -> Option<Value> {
    serde_json::from_str::<Strict>(json).ok().map(|s| s.0)
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key, v).is_some() {
                return Err(serde::de::Error::custom("duplicate member"));
            }
        }
        Ok(Value::Object(out))
    }
}

fn typed(entry: &Value) -> ClaimRequest {
    match entry {
        Value::Object(o) => ClaimRequest {
            essential: o.get("essential").and_then(Value::as_bool).unwrap_or(false),
            value: o.get("value").cloned(),
            values: o.get("values").and_then(Value::as_array).cloned(),
        },
        _ => ClaimRequest::default(),
    }
}

/// The claims to release for one grant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReleasedClaims {
    /// The UserInfo response object; always has `sub`.
    pub userinfo: Map<String, Value>,
    /// Claims to add to the ID Token besides the protocol claims (never
    /// `sub`, which the ID Token builder sets).
    pub id_token: Map<String, Value>,
}

/// The standard claim names a grant may reveal, for the consent page:
/// those of the scope values plus those named in the claims request.
pub fn requested_claim_names(scope: &Scope, request: Option<&ClaimsRequest>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    let mut add = |n: &'static str| {
        if n != "sub" && !names.contains(&n) {
            names.push(n);
        }
    };
    for v in scope.iter() {
        claims_for_scope_value(v).iter().for_each(|n| add(n));
    }
    if let Some(r) = request {
        for key in r.userinfo.keys().chain(r.id_token.keys()) {
            let base = key.split('#').next().unwrap_or(key);
            if let Some((n, _)) = STANDARD_CLAIMS.iter().find(|(n, _)| *n == base) {
                add(n);
            }
        }
    }
    names
}

/// Decides which of the user's claims go to the UserInfo response and
/// which into the ID Token (see the module documentation for the rule).
/// `user` is the user's stored claims object; values of the wrong §5.1
/// type are left out rather than passed on.
pub fn release_claims(
    sub: &str,
    user: &Map<String, Value>,
    scope: &Scope,
    request: Option<&ClaimsRequest>,
    access_token_issued: bool,
) -> ReleasedClaims {
    let mut scope_names: Vec<&str> = Vec::new();
    for v in scope.iter() {
        scope_names.extend_from_slice(claims_for_scope_value(v));
    }
    let empty = Map::new();
    let (ui_req, id_req) = match request {
        Some(r) => (&r.userinfo, &r.id_token),
        None => (&empty, &empty),
    };

    let mut userinfo = Map::new();
    userinfo.insert("sub".to_string(), Value::String(sub.to_string()));
    let mut id_token = Map::new();
    for (key, value) in user {
        let base = key.split('#').next().unwrap_or(key);
        let Some(ty) = standard_claim_type(base) else {
            continue;
        };
        if base == "sub" || !has_type(value, ty) {
            continue;
        }
        let by_scope = scope_names.contains(&base);
        let requested = |m: &Map<String, Value>| m.contains_key(key) || m.contains_key(base);
        if (by_scope && access_token_issued) || requested(ui_req) {
            userinfo.insert(key.clone(), value.clone());
        }
        if (by_scope && !access_token_issued) || requested(id_req) {
            id_token.insert(key.clone(), value.clone());
        }
    }
    ReleasedClaims { userinfo, id_token }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        json!({
            "sub": "attacker-chosen",
            "name": "Jane Doe",
            "family_name#ja-Kana-JP": "ドウ",
            "email": "jane@example.com",
            "email_verified": true,
            "phone_number": "+1 555 0100",
            "address": {"country": "JP"},
            "updated_at": 1700000000,
            "employee_id": "E-1",
            "locale": 7,
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    #[test]
    fn scope_values_map_to_claims() {
        assert_eq!(claims_for_scope_value("email"), EMAIL_CLAIMS);
        assert_eq!(claims_for_scope_value("phone"), PHONE_CLAIMS);
        assert_eq!(claims_for_scope_value("address"), ADDRESS_CLAIMS);
        assert!(claims_for_scope_value("profile").contains(&"updated_at"));
        assert!(claims_for_scope_value("openid").is_empty());
        for (name, _) in STANDARD_CLAIMS {
            let in_a_scope = ["profile", "email", "address", "phone"]
                .iter()
                .any(|s| claims_for_scope_value(s).contains(name));
            assert_eq!(in_a_scope, *name != "sub", "{name}");
        }
    }

    #[test]
    fn parses_claims_requests() {
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"given_name":{"essential":true},"email":null},
                "id_token":{"auth_time":{"essential":true},
                            "acr":{"values":["urn:a","urn:b"]},
                            "sub":{"value":"248289761001"}},
                "future_member":{"x":1}}"#,
        )
        .unwrap();
        assert!(r.userinfo_claim("given_name").unwrap().essential);
        assert_eq!(r.userinfo_claim("email"), Some(ClaimRequest::default()));
        assert!(r.userinfo_claim("name").is_none());
        assert_eq!(
            r.id_token_claim("acr").unwrap().values,
            Some(vec![json!("urn:a"), json!("urn:b")])
        );
        assert_eq!(
            r.id_token_claim("sub").unwrap().value,
            Some(json!("248289761001"))
        );
        let round = ClaimsRequest::parse(&r.to_json()).unwrap();
        assert_eq!(round, r);
        assert!(ClaimsRequest::parse("{}").unwrap().is_empty());
        // Client-supplied names reach error_description only sanitised.
        let e = ClaimsRequest::parse(r#"{"userinfo":{"a\"b\u0001":{"essential":1}}}"#).unwrap_err();
        assert_eq!(
            e.description.as_deref(),
            Some("claims.userinfo.a'b: essential must be a boolean")
        );
    }

    #[test]
    fn refuses_malformed_claims_requests() {
        let long = format!(
            r#"{{"userinfo":{{"name":"{}"}}}}"#,
            "x".repeat(MAX_CLAIMS_REQUEST_LEN)
        );
        let many = format!(
            r#"{{"userinfo":{{{}}}}}"#,
            (0..=MAX_REQUESTED_CLAIMS)
                .map(|i| format!("\"c{i}\":null"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let table: Vec<(&str, &str)> = vec![
            ("not json", "invalid JSON"),
            ("{\"userinfo\":", "truncated"),
            ("[]", "array at top level"),
            ("\"claims\"", "string at top level"),
            ("null", "null at top level"),
            (r#"{"userinfo":[]}"#, "member is an array"),
            (r#"{"id_token":"email"}"#, "member is a string"),
            (r#"{"userinfo":null}"#, "member is null"),
            (r#"{"userinfo":{"email":true}}"#, "entry is a boolean"),
            (r#"{"userinfo":{"email":"yes"}}"#, "entry is a string"),
            (
                r#"{"userinfo":{"email":{"essential":"true"}}}"#,
                "essential not boolean",
            ),
            (
                r#"{"id_token":{"acr":{"values":"urn:a"}}}"#,
                "values not array",
            ),
            (r#"{"userinfo":{"":null}}"#, "empty claim name"),
            (
                r#"{"userinfo":{"email":null},"userinfo":{"email":null}}"#,
                "duplicated member",
            ),
            (
                r#"{"userinfo":{"email":null,"email":{"essential":true}}}"#,
                "duplicated claim",
            ),
            (
                r#"{"id_token":{"acr":{"values":["a"],"values":["b"]}}}"#,
                "nested duplicate",
            ),
            (&long, "oversized"),
            (&many, "too many claims"),
        ];
        for (input, why) in table {
            let err = ClaimsRequest::parse(input).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{why}");
        }
    }

    #[test]
    fn scope_claims_go_to_userinfo_when_an_access_token_is_issued() {
        let r = release_claims("u1", &user(), &scope("openid email"), None, true);
        assert_eq!(
            Value::Object(r.userinfo),
            json!({"sub": "u1", "email": "jane@example.com", "email_verified": true})
        );
        assert!(r.id_token.is_empty());

        let r = release_claims("u1", &user(), &scope("openid email"), None, false);
        assert_eq!(
            Value::Object(r.id_token),
            json!({"email": "jane@example.com", "email_verified": true})
        );
    }

    #[test]
    fn claims_request_adds_individual_claims() {
        let req = ClaimsRequest::parse(
            r#"{"userinfo":{"phone_number":null,"employee_id":null},
                "id_token":{"name":{"essential":true},"sub":null,"email":null}}"#,
        )
        .unwrap();
        let r = release_claims("u1", &user(), &scope("openid profile"), Some(&req), true);
        assert_eq!(
            Value::Object(r.userinfo),
            json!({
                "sub": "u1",
                "name": "Jane Doe",
                "family_name#ja-Kana-JP": "ドウ",
                "updated_at": 1700000000,
                "phone_number": "+1 555 0100",
            })
        );
        // Wrong-typed `locale` (a number) and non-standard `employee_id` are
        // never released; `sub` never comes from stored claims.
        assert_eq!(
            Value::Object(r.id_token),
            json!({"name": "Jane Doe", "email": "jane@example.com"})
        );
    }

    #[test]
    fn userinfo_always_has_sub() {
        let r = release_claims("u1", &Map::new(), &scope("openid"), None, true);
        assert_eq!(Value::Object(r.userinfo), json!({"sub": "u1"}));
    }

    #[test]
    fn consent_page_names() {
        let req =
            ClaimsRequest::parse(r#"{"id_token":{"phone_number":null,"custom":null,"sub":null}}"#)
                .unwrap();
        assert_eq!(
            requested_claim_names(&scope("openid email"), Some(&req)),
            vec!["email", "email_verified", "phone_number"]
        );
    }

    #[test]
    fn standard_claim_types_are_checked() {
        let table = [
            (json!({"email_verified": true, "updated_at": 1}), true),
            (json!({"email_verified": "true"}), false),
            (json!({"updated_at": "2020-01-01"}), false),
            (json!({"address": "Tokyo"}), false),
            (json!({"name#ja-Jpan-JP": 5}), false),
            (json!({"custom": 5}), true),
        ];
        for (claims, ok) in table {
            let got = check_standard_claims(claims.as_object().unwrap());
            assert_eq!(got.is_ok(), ok, "{claims}");
        }
    }
}
