//! base64url without padding (RFC 7515 section 2, RFC 4648 section 5).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::JoseError;

/// Encodes `bytes` as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding. Strict: padding, characters outside
/// the URL-safe alphabet and non-canonical trailing bits are rejected.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| JoseError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"\xff\xfe\xfd\xfc"] {
            assert_eq!(decode(encode(input)).unwrap(), input);
        }
        assert_eq!(encode([0xfb, 0xff]), "-_8");
        assert_eq!(decode("Zm9v").unwrap(), b"foo");
        assert_eq!(decode("Zg=="), Err(JoseError::Base64));
        assert_eq!(decode("Zm+v"), Err(JoseError::Base64));
        assert_eq!(decode("Zm/v"), Err(JoseError::Base64));
        // "Zh" carries non-zero trailing bits: not the canonical encoding of "f".
        assert_eq!(decode("Zh"), Err(JoseError::Base64));
    }
}
