//! The Device Authorization Grant (RFC 8628), the parts served by
//! op-async: the device authorization endpoint and the verification page.
//! The pure parts (user codes, settings) are `authrim_oauth::device`; the
//! state is op-store's `device-grants`; the token endpoint's grant is
//! op-token's `grants::device_code`.

pub mod authorization;
pub mod pages;
pub mod qr;
pub mod throttle;
pub mod verification;

#[cfg(test)]
mod tests;

/// RFC 8628 §3.1.
pub const AUTHORIZATION_PATH: &str = "/device_authorization";
/// RFC 8628 §3.2 `verification_uri`.
pub const VERIFICATION_PATH: &str = "/device";
