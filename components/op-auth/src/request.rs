//! The HTTP request as the endpoint logic sees it: plain borrowed values,
//! so that every endpoint is tested natively.

use authrim_oauth::form::{is_form_content_type, Params};
use authrim_protocol::OAuthError;

#[derive(Clone, Copy, Debug, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string without `?`.
    pub query: &'a str,
    pub content_type: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// Spin's `spin-client-addr` (`ip:port`), set by the host, not the client.
    pub client_addr: Option<&'a str>,
    /// The `DPoP` header (RFC 9449 §4.1), at most one.
    pub dpop: Option<&'a str>,
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The parameters of a `GET` (query) or `POST` (form body) request.
    /// A `POST` must be `application/x-www-form-urlencoded`.
    pub fn params(&self) -> Result<Params, OAuthError> {
        match self.method {
            "POST" => {
                if !self.content_type.is_some_and(is_form_content_type) {
                    return Err(OAuthError::invalid_request(
                        "the request body must be application/x-www-form-urlencoded",
                    ));
                }
                Params::parse_bytes(self.body)
            }
            _ => Params::parse(self.query),
        }
    }

    /// The client's IP address without the port (`[::1]:80` → `::1`).
    pub fn client_ip(&self) -> Option<&str> {
        let addr = self.client_addr?.trim();
        if let Some(rest) = addr.strip_prefix('[') {
            return rest.split_once(']').map(|(ip, _)| ip);
        }
        match addr.rsplit_once(':') {
            // One colon: `ip:port`. More than one: a bare IPv6 address.
            Some((ip, _)) if !ip.contains(':') => Some(ip),
            _ => Some(addr).filter(|a| !a.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;

    #[test]
    fn params_from_query_or_form_body() {
        let get = Request {
            method: "GET",
            query: "a=1",
            body: b"b=2",
            ..Default::default()
        };
        assert_eq!(get.params().unwrap().get("a"), Some("1"));
        let post = Request {
            method: "POST",
            query: "a=1",
            content_type: Some("application/x-www-form-urlencoded; charset=UTF-8"),
            body: b"b=2",
            ..Default::default()
        };
        let p = post.params().unwrap();
        assert_eq!((p.get("a"), p.get("b")), (None, Some("2")));
        let json = Request {
            content_type: Some("application/json"),
            ..post
        };
        assert_eq!(json.params().unwrap_err().code, ErrorCode::InvalidRequest);
        let none = Request {
            content_type: None,
            ..post
        };
        assert!(none.params().is_err());
    }

    #[test]
    fn client_ip_drops_the_port() {
        let ip = |a: &'static str| {
            Request {
                client_addr: Some(a),
                ..Default::default()
            }
            .client_ip()
            .map(str::to_string)
        };
        assert_eq!(ip("127.0.0.1:8777").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip("[::1]:8777").as_deref(), Some("::1"));
        assert_eq!(ip("::1").as_deref(), Some("::1"));
        assert_eq!(ip("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("").as_deref(), None);
        assert_eq!(Request::default().client_ip(), None);
    }
}
