//! Trusted issuers of JWT bearer assertions (interface `trusted-issuers`,
//! RFC 7523 section 2.1). Each operation is one statement.

use crate::json;
use crate::sql::{first, params, Columns, Row, Sql};
use crate::{StoreError, SubjectMapping, TrustedIssuer};

const COLS: &str = "issuer, jwks_json, jwks_uri, allowed_subjects_json, allowed_scopes_json,
     subject_mapping, created_at";

fn mapping_text(m: SubjectMapping) -> &'static str {
    match m {
        SubjectMapping::User => "user",
        SubjectMapping::Service => "service",
    }
}

fn from_row(r: &Row) -> Result<TrustedIssuer, StoreError> {
    let list = |i: usize| {
        json::parse_string_array(&r.text(i)?)
            .ok_or_else(|| StoreError::Unavailable("corrupt trusted issuer list".into()))
    };
    Ok(TrustedIssuer {
        issuer: r.text(0)?,
        jwks_json: r.opt_text(1)?,
        jwks_uri: r.opt_text(2)?,
        allowed_subjects: list(3)?,
        allowed_scopes: list(4)?,
        subject_mapping: match r.text(5)?.as_str() {
            "user" => SubjectMapping::User,
            _ => SubjectMapping::Service,
        },
        created_at: r.int(6)?,
    })
}

/// Inserts or replaces the issuer. `invalid` unless the issuer is
/// non-empty and exactly one of a JSON-object `jwks-json` and `jwks-uri`
/// is set.
pub fn put(db: &dyn Sql, i: &TrustedIssuer) -> Result<(), StoreError> {
    if i.issuer.is_empty() {
        return Err(StoreError::Invalid("issuer must not be empty".into()));
    }
    match (&i.jwks_json, &i.jwks_uri) {
        (Some(j), None) if json::is_object(j) => {}
        (None, Some(u)) if !u.is_empty() => {}
        _ => {
            return Err(StoreError::Invalid(
                "exactly one of jwks-json (a JSON object) and jwks-uri is required".into(),
            ))
        }
    }
    db.execute(
        "INSERT INTO trusted_issuers (issuer, jwks_json, jwks_uri, allowed_subjects_json,
           allowed_scopes_json, subject_mapping, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (issuer) DO UPDATE SET jwks_json = excluded.jwks_json,
           jwks_uri = excluded.jwks_uri, allowed_subjects_json = excluded.allowed_subjects_json,
           allowed_scopes_json = excluded.allowed_scopes_json,
           subject_mapping = excluded.subject_mapping",
        params![
            &i.issuer,
            i.jwks_json.as_deref(),
            i.jwks_uri.as_deref(),
            json::string_array(&i.allowed_subjects),
            json::string_array(&i.allowed_scopes),
            mapping_text(i.subject_mapping),
            i.created_at
        ],
    )?;
    Ok(())
}

pub fn get(db: &dyn Sql, issuer: &str) -> Result<Option<TrustedIssuer>, StoreError> {
    first(
        db,
        &format!("SELECT {COLS} FROM trusted_issuers WHERE issuer = ?1"),
        params![issuer],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

pub fn list(db: &dyn Sql) -> Result<Vec<TrustedIssuer>, StoreError> {
    db.execute(
        &format!("SELECT {COLS} FROM trusted_issuers ORDER BY issuer"),
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn remove(db: &dyn Sql, issuer: &str) -> Result<bool, StoreError> {
    let rows = db.execute(
        "DELETE FROM trusted_issuers WHERE issuer = ?1 RETURNING 1",
        params![issuer],
    )?;
    Ok(!rows.is_empty())
}
