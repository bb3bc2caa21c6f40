//! PKCS#8 DER (RFC 5208) for exactly the two kinds of private key we use:
//! RSA (RFC 8017 A.1.2) and P-256 (RFC 5915, RFC 5480).
//!
//! Hand-written because the general DER machinery of the RustCrypto crates
//! is most of a component's size budget; the structures here are fixed and
//! small. The encoder produces the same bytes as the `pkcs8`/`sec1` crates
//! (tested below), and the decoder also reads what OpenSSL writes.

use crate::JoseError;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const CONTEXT_0: u8 = 0xa0;
const CONTEXT_1: u8 = 0xa1;

/// 1.2.840.113549.1.1.1 rsaEncryption
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.10045.2.1 id-ecPublicKey
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 prime256v1 (secp256r1)
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn bad(what: &'static str) -> JoseError {
    JoseError::Key(what)
}

// ---------------------------------------------------------------- writing

fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let first = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let digits = &magnitude[first..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    tlv(out, INTEGER, &content);
}

fn algorithm(out: &mut Vec<u8>, oid: &[u8], parameter: Option<&[u8]>) {
    let mut alg = Vec::with_capacity(24);
    tlv(&mut alg, OID, oid);
    match parameter {
        Some(p) => tlv(&mut alg, OID, p),
        None => tlv(&mut alg, NULL, &[]),
    }
    tlv(out, SEQUENCE, &alg);
}

fn private_key_info(oid: &[u8], parameter: Option<&[u8]>, private_key: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(private_key.len() + 32);
    integer(&mut body, &[0]);
    algorithm(&mut body, oid, parameter);
    tlv(&mut body, OCTET_STRING, private_key);
    let mut out = Vec::with_capacity(body.len() + 4);
    tlv(&mut out, SEQUENCE, &body);
    out
}

/// PKCS#8 of an RSA key from its components, big-endian magnitudes in the
/// order of RSAPrivateKey: n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p.
pub fn encode_rsa(components: [&[u8]; 8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(1200);
    integer(&mut body, &[0]);
    for c in components {
        integer(&mut body, c);
    }
    let mut rsa = Vec::with_capacity(body.len() + 4);
    tlv(&mut rsa, SEQUENCE, &body);
    let out = private_key_info(OID_RSA, None, &rsa);
    zeroize::Zeroize::zeroize(&mut body);
    zeroize::Zeroize::zeroize(&mut rsa);
    out
}

/// PKCS#8 of a P-256 key: the secret scalar (32 octets) and the
/// uncompressed public point (65 octets).
pub fn encode_p256(secret: &[u8; 32], public_sec1: &[u8; 65]) -> Vec<u8> {
    let mut body = Vec::with_capacity(120);
    integer(&mut body, &[1]);
    tlv(&mut body, OCTET_STRING, secret);
    let mut bits = Vec::with_capacity(66);
    bits.push(0); // no unused bits
    bits.extend_from_slice(public_sec1);
    let mut public = Vec::with_capacity(70);
    tlv(&mut public, BIT_STRING, &bits);
    tlv(&mut body, CONTEXT_1, &public);
    let mut ec = Vec::with_capacity(body.len() + 4);
    tlv(&mut ec, SEQUENCE, &body);
    let out = private_key_info(OID_EC, Some(OID_P256), &ec);
    zeroize::Zeroize::zeroize(&mut body);
    zeroize::Zeroize::zeroize(&mut ec);
    out
}

// ---------------------------------------------------------------- reading

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The content of the next element, which must have tag `tag`.
    fn read(&mut self, tag: u8) -> Result<&'a [u8], JoseError> {
        let (&t, rest) = self.0.split_first().ok_or(bad("truncated DER"))?;
        if t != tag {
            return Err(bad("unexpected DER element"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(bad("truncated DER"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 || rest.len() < n || rest[0] == 0 {
                return Err(bad("unsupported DER length"));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(bad("non-minimal DER length"));
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(bad("truncated DER"));
        }
        let (content, rest) = rest.split_at(len);
        self.0 = rest;
        Ok(content)
    }

    /// A non-negative INTEGER, as its magnitude without leading zeros.
    fn unsigned(&mut self) -> Result<&'a [u8], JoseError> {
        let content = self.read(INTEGER)?;
        match content {
            [] => Err(bad("empty INTEGER")),
            [b, ..] if b & 0x80 != 0 => Err(bad("negative INTEGER")),
            [0, b, ..] if b & 0x80 == 0 => Err(bad("non-minimal INTEGER")),
            [0, rest @ ..] => Ok(rest),
            _ => Ok(content),
        }
    }

    fn small(&mut self) -> Result<u8, JoseError> {
        match self.unsigned()? {
            [] => Ok(0),
            [v] => Ok(*v),
            _ => Err(bad("unexpected version")),
        }
    }
}

/// The parts of a PrivateKeyInfo / OneAsymmetricKey we use.
struct PrivateKeyInfo<'a> {
    oid: &'a [u8],
    /// The algorithm parameter, when it is an OID (a named curve).
    parameter: Option<&'a [u8]>,
    private_key: &'a [u8],
}

fn read_private_key_info(der: &[u8]) -> Result<PrivateKeyInfo<'_>, JoseError> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.read(SEQUENCE)?);
    if !outer.is_empty() {
        return Err(bad("trailing data after PKCS#8"));
    }
    if info.small()? > 1 {
        return Err(bad("unsupported PKCS#8 version"));
    }
    let mut alg = Reader(info.read(SEQUENCE)?);
    let oid = alg.read(OID)?;
    let parameter = match alg.peek() {
        Some(OID) => Some(alg.read(OID)?),
        Some(NULL) => {
            alg.read(NULL)?;
            None
        }
        None => None,
        Some(_) => return Err(bad("unsupported algorithm parameters")),
    };
    let private_key = info.read(OCTET_STRING)?;
    // Attributes [0] and a public key [1] (PKCS#8 v2) may follow; ignored.
    Ok(PrivateKeyInfo {
        oid,
        parameter,
        private_key,
    })
}

/// The RSA components n, e, d, p, q of a PKCS#8 RSA key.
pub fn decode_rsa(der: &[u8]) -> Result<[&[u8]; 5], JoseError> {
    let info = read_private_key_info(der)?;
    if info.oid != OID_RSA {
        return Err(bad("not an RSA key"));
    }
    let mut outer = Reader(info.private_key);
    let mut rsa = Reader(outer.read(SEQUENCE)?);
    if rsa.small()? != 0 {
        return Err(bad("multi-prime RSA keys are not supported"));
    }
    Ok([
        rsa.unsigned()?,
        rsa.unsigned()?,
        rsa.unsigned()?,
        rsa.unsigned()?,
        rsa.unsigned()?,
    ])
}

/// The secret scalar of a PKCS#8 P-256 key, and its public point when the
/// key carries one.
pub fn decode_p256(der: &[u8]) -> Result<(&[u8], Option<&[u8]>), JoseError> {
    let info = read_private_key_info(der)?;
    if info.oid != OID_EC {
        return Err(bad("not an EC key"));
    }
    let mut outer = Reader(info.private_key);
    let mut ec = Reader(outer.read(SEQUENCE)?);
    if ec.small()? != 1 {
        return Err(bad("unsupported ECPrivateKey version"));
    }
    let secret = ec.read(OCTET_STRING)?;
    let mut curve = info.parameter;
    if ec.peek() == Some(CONTEXT_0) {
        curve = Some(Reader(ec.read(CONTEXT_0)?).read(OID)?);
    }
    if curve != Some(OID_P256) {
        return Err(bad("not a P-256 key"));
    }
    let mut public = None;
    if ec.peek() == Some(CONTEXT_1) {
        let bits = Reader(ec.read(CONTEXT_1)?).read(BIT_STRING)?;
        match bits.split_first() {
            Some((0, point)) => public = Some(point),
            _ => return Err(bad("malformed EC public key")),
        }
    }
    Ok((secret, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        let mut out = Vec::new();
        integer(&mut out, &[0x00, 0x80]);
        assert_eq!(out, [0x02, 0x02, 0x00, 0x80]);
        out.clear();
        integer(&mut out, &[0x00, 0x00]);
        assert_eq!(out, [0x02, 0x01, 0x00]);
        out.clear();
        tlv(&mut out, OCTET_STRING, &[7u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let mut r = Reader(&out);
        assert_eq!(r.read(OCTET_STRING).unwrap().len(), 300);
        assert!(r.is_empty());
    }

    #[test]
    fn reader_refuses_malformed() {
        assert!(
            Reader(&[0x02, 0x81, 0x05, 1, 2, 3, 4, 5])
                .read(INTEGER)
                .is_err(),
            "non-minimal length"
        );
        assert!(
            Reader(&[0x02, 0x80]).read(INTEGER).is_err(),
            "indefinite length"
        );
        assert!(Reader(&[0x02, 0x03, 1]).read(INTEGER).is_err(), "truncated");
        assert!(Reader(&[0x02, 0x01, 0x80]).unsigned().is_err(), "negative");
        assert!(
            Reader(&[0x02, 0x02, 0x00, 0x01]).unsigned().is_err(),
            "non-minimal integer"
        );
        assert!(decode_rsa(&[]).is_err());
        assert!(decode_p256(&[0x30, 0x00]).is_err());
    }
}
