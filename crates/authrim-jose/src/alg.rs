use std::fmt;
use std::str::FromStr;

use crate::JoseError;

/// A JWS algorithm this crate signs and verifies with (RFC 7518 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256; we generate RSA-2048 keys.
    RS256,
    /// ECDSA with P-256 and SHA-256; the signature is `r || s`, 64 bytes.
    ES256,
}

impl Alg {
    /// Every supported algorithm, in the order keys are created.
    pub const ALL: [Alg; 2] = [Alg::RS256, Alg::ES256];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    /// The JWK `kty` of keys for this algorithm.
    pub fn kty(self) -> &'static str {
        match self {
            Alg::RS256 => "RSA",
            Alg::ES256 => "EC",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = JoseError;

    /// Case-sensitive, as JWS algorithm names are (RFC 7515 4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(Alg::RS256),
            "ES256" => Ok(Alg::ES256),
            other => Err(JoseError::UnsupportedAlg(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>().unwrap(), alg);
        }
        assert!("none".parse::<Alg>().is_err());
        assert!("rs256".parse::<Alg>().is_err());
        assert!("HS256".parse::<Alg>().is_err());
    }
}
