//! JOSE for Authrim: what the OP needs to sign its own tokens and to verify
//! tokens signed by others (client assertions, request objects).
//!
//! Pure logic, no I/O: it builds natively (unit tests) and for
//! `wasm32-wasip2` (randomness comes from `getrandom`, which uses
//! `wasi:random` there).
//!
//! - [`b64`]: base64url without padding (RFC 7515 section 2), strict decoding.
//! - [`Alg`]: the JWS algorithms we sign with: RS256 and ES256 (RFC 7518 3.3, 3.4).
//! - [`SigningKey`]: key generation, PKCS#8 DER import/export, signing.
//! - [`Jwk`], [`Jwks`]: public keys (RFC 7517), RFC 7638 thumbprints.
//! - [`jws`]: compact JWS: building, parsing and verifying.
//! - [`jwe`]: compact JWE encryption to a client's key (ID Tokens, UserInfo).
//! - [`seal`]: private keys encrypted at rest under a master secret.

pub mod b64;
pub mod jwe;
pub mod jws;
pub mod rng;
pub mod seal;

mod alg;
mod error;
mod jwk;
mod key;
mod pkcs8;
mod rsa_verify;

pub use alg::Alg;
pub use error::JoseError;
pub use jwk::{Jwk, Jwks, PublicKey};
pub use key::SigningKey;

#[cfg(any(test, feature = "test-keys"))]
pub mod test_keys;
