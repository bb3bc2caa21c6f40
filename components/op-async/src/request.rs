//! The HTTP request as the endpoint logic sees it: plain borrowed values,
//! so that every endpoint is tested natively.

use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::{ErrorCode, OAuthError};

/// Largest request body read as parameters (a form of a few fields).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string without `?`.
    pub query: &'a str,
    pub content_type: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// Spin's `spin-client-addr` (`ip:port`), set by the host.
    pub client_addr: Option<&'a str>,
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The form body of a `POST`: `application/x-www-form-urlencoded`, at
    /// most [`MAX_BODY_BYTES`].
    pub fn form(&self) -> Result<Params, OAuthError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(OAuthError::with_description(
                ErrorCode::PayloadTooLarge,
                "the request body is too large",
            ));
        }
        if !self.content_type.is_some_and(is_form_content_type) {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        Params::parse_bytes(self.body)
    }

    /// The client's IP address without the port (`[::1]:80` → `::1`).
    pub fn client_ip(&self) -> Option<&str> {
        let addr = self.client_addr?.trim();
        if let Some(rest) = addr.strip_prefix('[') {
            return rest.split_once(']').map(|(ip, _)| ip);
        }
        match addr.rsplit_once(':') {
            Some((ip, _)) if !ip.contains(':') => Some(ip),
            _ => Some(addr).filter(|a| !a.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_and_addresses() {
        let ok = Request {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            body: b"a=1",
            ..Default::default()
        };
        assert_eq!(ok.form().unwrap().get("a"), Some("1"));
        let json = Request {
            content_type: Some("application/json"),
            ..ok
        };
        assert_eq!(json.form().unwrap_err().code, ErrorCode::InvalidRequest);
        let big = vec![b'a'; MAX_BODY_BYTES + 1];
        let large = Request { body: &big, ..ok };
        assert_eq!(large.form().unwrap_err().code, ErrorCode::PayloadTooLarge);
        for (addr, ip) in [
            ("192.0.2.1:5555", Some("192.0.2.1")),
            ("[::1]:80", Some("::1")),
            ("::1", Some("::1")),
            ("", None),
        ] {
            let r = Request {
                client_addr: Some(addr),
                ..ok
            };
            assert_eq!(r.client_ip(), ip, "{addr}");
        }
    }
}
