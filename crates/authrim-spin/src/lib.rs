//! Glue every endpoint component shares: the imported store interfaces and
//! the conversion between spin-sdk HTTP types and `authrim-protocol` values.

pub mod store {
    //! Bindings for `authrim:store` (wit/store.wit), imported from op-store.
    wit_bindgen::generate!({
        path: "../../wit",
        world: "authrim:store/store-client",
    });
    pub use self::authrim::store::*;
}

pub mod http {
    use authrim_protocol::http::HttpResponse;
    use spin_sdk::http::{Method, Request, Response};

    /// A request header as text; `None` when absent or not UTF-8.
    pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
        req.header(name).and_then(|v| v.as_str())
    }

    pub fn method_name(req: &Request) -> &str {
        match req.method() {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Other(m) => m.as_str(),
        }
    }

    pub fn into_spin(resp: HttpResponse) -> Response {
        let mut b = Response::builder();
        b.status(resp.status);
        for (name, value) in resp.headers {
            b.header(name, value);
        }
        b.body(resp.body).build()
    }
}
