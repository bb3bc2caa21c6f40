use std::fmt;

/// Everything that can go wrong in this crate. Messages never contain key
/// material or secrets, so they may be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoseError {
    /// Input that is not valid base64url (no padding, canonical).
    Base64,
    /// A JSON document (header, JWK) that is malformed or of the wrong shape.
    Json(&'static str),
    /// A compact JWS that is not three base64url parts, or has a bad header.
    Malformed(&'static str),
    /// An algorithm we do not support (or `none`).
    UnsupportedAlg(String),
    /// A key that is malformed, too small, or does not fit the algorithm.
    Key(&'static str),
    /// The signature does not verify.
    BadSignature,
    /// Encryption or decryption of a key at rest failed (wrong master key,
    /// tampered or swapped row).
    Sealed(&'static str),
    /// The master secret does not meet the rules of [`crate::seal::MasterKey`].
    MasterKey(&'static str),
    /// The platform's random number generator failed.
    Random,
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoseError::Base64 => f.write_str("invalid base64url"),
            JoseError::Json(m) => write!(f, "invalid JSON: {m}"),
            JoseError::Malformed(m) => write!(f, "malformed JWS: {m}"),
            JoseError::UnsupportedAlg(a) => write!(f, "unsupported algorithm {a:?}"),
            JoseError::Key(m) => write!(f, "unusable key: {m}"),
            JoseError::BadSignature => f.write_str("signature does not verify"),
            JoseError::Sealed(m) => write!(f, "sealed key: {m}"),
            JoseError::MasterKey(m) => write!(f, "master key: {m}"),
            JoseError::Random => f.write_str("random number generator failed"),
        }
    }
}

impl std::error::Error for JoseError {}
