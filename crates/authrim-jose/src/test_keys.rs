//! Fixed keys for tests only (feature `test-keys`): RSA key generation is
//! slow in unoptimised test builds. Never use these keys for anything else.

use crate::{Alg, SigningKey};

/// PKCS#8 DER of an RSA-2048 key generated for these tests.
pub const RSA_2048_PKCS8: &[u8] = include_bytes!("../testdata/rsa2048-test-only.der");

/// The fixed RSA test key.
pub fn rsa() -> SigningKey {
    SigningKey::from_pkcs8_der(Alg::RS256, RSA_2048_PKCS8).expect("fixture key")
}
