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

pub mod client_records {
    //! The store half of `authrim_oauth::client_lookup` (client
    //! authentication, client keys), once for every endpoint component:
    //! each component's store trait extends [`ClientRecords`], and
    //! [`Lookup`] turns any of them into the `ClientLookup` the shared
    //! code asks for.

    use std::future::Future;

    use authrim_oauth::client_lookup::{ClientLookup, StoredClient};
    use authrim_protocol::OAuthError;

    use crate::store::clients::Client;
    use crate::store::types::StoreError;

    /// What client authentication needs from op-store, and one outbound
    /// GET (a client's `jwks_uri`).
    pub trait ClientRecords {
        /// `clients.get`.
        fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
        /// `clients.verify-secret-mac`.
        fn verify_secret_mac(
            &self,
            client_id: &str,
            alg: &str,
            signing_input: &[u8],
            mac: &[u8],
        ) -> Result<bool, StoreError>;
        /// `one-time.mark-used`.
        fn mark_used(
            &self,
            namespace: &str,
            key: &str,
            expires_at: i64,
            now: i64,
        ) -> Result<bool, StoreError>;
        /// GETs a client's `jwks_uri`; the error is for the log.
        fn fetch_jwks(&self, uri: &str) -> impl Future<Output = Result<String, String>>;
    }

    /// `ClientLookup` over a component's [`ClientRecords`]. Store failures
    /// are logged through `log` (the component's prefix) and answered as
    /// `server_error`.
    pub struct Lookup<'a, S> {
        pub records: &'a S,
        pub log: fn(&str),
    }

    impl<S> Lookup<'_, S> {
        fn fault(&self, doing: &str, e: StoreError) -> OAuthError {
            (self.log)(&format!("store {doing}: {e:?}"));
            OAuthError::server_error()
        }
    }

    impl<S: ClientRecords> ClientLookup for Lookup<'_, S> {
        fn client(&self, client_id: &str) -> Result<Option<StoredClient>, OAuthError> {
            Ok(self
                .records
                .client(client_id)
                .map_err(|e| self.fault("clients.get", e))?
                .map(|c| StoredClient {
                    metadata_json: c.metadata_json,
                    secret_hash: c.secret_hash,
                }))
        }

        fn verify_secret_mac(
            &self,
            client_id: &str,
            alg: &str,
            signing_input: &[u8],
            mac: &[u8],
        ) -> bool {
            self.records
                .verify_secret_mac(client_id, alg, signing_input, mac)
                .unwrap_or_else(|e| {
                    (self.log)(&format!("store clients.verify-secret-mac: {e:?}"));
                    false
                })
        }

        fn mark_used(
            &self,
            namespace: &str,
            key: &str,
            expires_at: i64,
            now: i64,
        ) -> Result<bool, OAuthError> {
            self.records
                .mark_used(namespace, key, expires_at, now)
                .map_err(|e| self.fault("one-time.mark-used", e))
        }

        async fn fetch_jwks(&self, uri: &str) -> Result<String, String> {
            self.records.fetch_jwks(uri).await
        }

        fn log(&self, message: &str) {
            (self.log)(message);
        }
    }
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

/// The raw `wasi:http` handler side, for components that must stay small:
/// reading an `IncomingRequest` and writing an `HttpResponse` directly
/// keeps spin-sdk's `Request`/`Response` conversions (header maps, URI
/// parsing, `anyhow` and its backtrace printing) out of the component,
/// about 70-100 KB of a 500 KB budget. Use with
/// `#[http_component] async fn handle(req: IncomingRequest, out: ResponseOutparam)`.
#[cfg(target_arch = "wasm32")]
pub mod wasi_http {
    use authrim_protocol::{HttpResponse, OAuthError};
    use spin_sdk::http::{
        Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
    };

    /// What endpoint logic reads from a request.
    pub struct RawRequest {
        pub method: String,
        /// The path without the query.
        pub path: String,
        /// The query string without `?` (empty when there is none).
        pub query: String,
        /// The request target's authority: for a chained request (Spin's
        /// local service chaining) `<component>.spin.internal`.
        pub authority: Option<String>,
        pub content_type: Option<String>,
        pub authorization: Option<String>,
        /// Every `Cookie` field, joined with `; ` (RFC 9113 §8.2.3).
        pub cookie: Option<String>,
        /// `spin-client-addr`, set by the host.
        pub client_addr: Option<String>,
        /// The `DPoP` proof (RFC 9449 §4.1); `invalid_dpop_proof` when the
        /// header is repeated (§4.3 step 1).
        pub dpop: Option<String>,
        pub body: Vec<u8>,
    }

    /// Reads the request. A `Content-Type`, `Authorization` or
    /// `spin-client-addr` header sent more than once, or any header read
    /// that is not UTF-8, is `invalid_request`.
    pub async fn read_request(req: IncomingRequest) -> Result<RawRequest, OAuthError> {
        let method = match req.method() {
            Method::Get => "GET".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Other(m) => m,
        };
        let path_with_query = req.path_with_query().unwrap_or_default();
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_string(), query.to_string()),
            None => (path_with_query, String::new()),
        };
        let headers = req.headers();
        let header = |name: &str| -> Result<Option<String>, OAuthError> {
            let mut values = headers.get(name).into_iter();
            match (values.next(), values.next()) {
                (None, _) => Ok(None),
                (Some(v), None) => String::from_utf8(v).map(Some).map_err(|_| {
                    OAuthError::invalid_request("a request header is not valid UTF-8")
                }),
                (Some(_), Some(_)) => {
                    Err(OAuthError::invalid_request("a request header is repeated"))
                }
            }
        };
        let authority = req.authority();
        let content_type = header("content-type")?;
        let authorization = header("authorization")?;
        let client_addr = header("spin-client-addr")?;
        let dpop = header("dpop").map_err(|e| {
            OAuthError::with_description(
                authrim_protocol::ErrorCode::InvalidDpopProof,
                e.description.unwrap_or_default(),
            )
        })?;
        let cookies = headers
            .get("cookie")
            .into_iter()
            .map(|v| {
                String::from_utf8(v)
                    .map_err(|_| OAuthError::invalid_request("a request header is not valid UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cookie = (!cookies.is_empty()).then(|| cookies.join("; "));
        drop(headers);
        let body = req.into_body().await.map_err(|e| {
            eprintln!("reading the request body: {e:?}");
            OAuthError::invalid_request("the request body could not be read")
        })?;
        Ok(RawRequest {
            method,
            path,
            query,
            authority,
            content_type,
            authorization,
            cookie,
            client_addr,
            dpop,
            body,
        })
    }

    /// `GET https://{authority}{path}` through Spin's outbound HTTP (so only
    /// hosts in the calling component's `allowed_outbound_hosts` are
    /// reachable), for documents such as a client's `jwks_uri`: status 200
    /// and at most `max_bytes` of UTF-8, or an error naming the URL.
    pub async fn get_https_text(
        authority: &str,
        path: &str,
        accept: &str,
        max_bytes: usize,
    ) -> Result<String, String> {
        use spin_sdk::http::{IncomingResponse, OutgoingRequest};
        let uri = format!("https://{authority}{path}");
        let headers = Fields::from_list(&[("accept".to_string(), accept.as_bytes().to_vec())])
            .map_err(|e| format!("{e:?}"))?;
        let request = OutgoingRequest::new(headers);
        if !set_target(&request, true, authority, path) {
            return Err(format!("{uri} is not a valid request target"));
        }
        let response: IncomingResponse = spin_sdk::http::send(request)
            .await
            .map_err(|e| format!("GET {uri}: {e}"))?;
        if response.status() != 200 {
            return Err(format!("GET {uri}: status {}", response.status()));
        }
        let body = read_limited(response, max_bytes, &uri).await?;
        String::from_utf8(body).map_err(|_| format!("GET {uri}: not UTF-8"))
    }

    /// [`get_https_text`] of an `https` URL; an error for any other URL.
    pub async fn get_https_url(
        uri: &str,
        accept: &str,
        max_bytes: usize,
    ) -> Result<String, String> {
        let (authority, path) = authrim_oauth::client_lookup::split_https_uri(uri)
            .ok_or_else(|| format!("{uri} is not an https URL"))?;
        get_https_text(authority, &path, accept, max_bytes).await
    }

    /// A client's or a trusted assertion issuer's `jwks_uri`, at most
    /// `client_lookup::MAX_JWKS_BYTES`. Fails unless the calling component's
    /// `allowed_outbound_hosts` lists the host. The error is for the log.
    pub async fn get_jwks(uri: &str) -> Result<String, String> {
        get_https_url(
            uri,
            "application/jwk-set+json, application/json",
            authrim_oauth::client_lookup::MAX_JWKS_BYTES,
        )
        .await
    }

    /// `POST {scheme}://{authority}{path}` with `body` and `headers` (its
    /// `content-type` among them), through Spin's outbound HTTP (only
    /// hosts in the calling component's `allowed_outbound_hosts`, and
    /// `<component>.spin.internal` for local service chaining): the
    /// response status and at most `max_response` bytes of its body (a
    /// longer body is an error), or an error naming the URL.
    pub async fn post(
        https: bool,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_response: usize,
    ) -> Result<(u16, Vec<u8>), String> {
        use spin_sdk::http::{IncomingResponse, Method, OutgoingRequest};
        let scheme = if https { "https" } else { "http" };
        let uri = format!("{scheme}://{authority}{path}");
        let mut fields: Vec<(String, Vec<u8>)> =
            vec![("content-length".into(), body.len().to_string().into_bytes())];
        fields.extend(
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())),
        );
        let fields = Fields::from_list(&fields).map_err(|e| format!("{e:?}"))?;
        let request = OutgoingRequest::new(fields);
        if request.set_method(&Method::Post).is_err()
            || !set_target(&request, https, authority, path)
        {
            return Err(format!("{uri} is not a valid request target"));
        }
        let outgoing = request
            .body()
            .map_err(|_| format!("POST {uri}: no request body"))?;
        let stream = outgoing
            .write()
            .map_err(|_| format!("POST {uri}: no request body stream"))?;
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("POST {uri}: writing the body: {e:?}"))?;
        }
        drop(stream);
        // Finished before the request is handed over (wasi:http allows
        // either order); bodies here are small documents.
        OutgoingBody::finish(outgoing, None).map_err(|e| format!("POST {uri}: {e:?}"))?;
        let response: IncomingResponse = spin_sdk::http::send(request)
            .await
            .map_err(|e| format!("POST {uri}: {e}"))?;
        let status = response.status();
        let answer = read_limited(response, max_response, &uri).await?;
        Ok((status, answer))
    }

    /// Sets scheme, authority and path; false when one is invalid.
    fn set_target(
        request: &spin_sdk::http::OutgoingRequest,
        https: bool,
        authority: &str,
        path: &str,
    ) -> bool {
        use spin_sdk::http::Scheme;
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        request.set_scheme(Some(&scheme)).is_ok()
            && request.set_authority(Some(authority)).is_ok()
            && request.set_path_with_query(Some(path)).is_ok()
    }

    /// The response body, at most `max_bytes`.
    async fn read_limited(
        response: spin_sdk::http::IncomingResponse,
        max_bytes: usize,
        uri: &str,
    ) -> Result<Vec<u8>, String> {
        use futures::StreamExt;
        let mut body = Vec::new();
        let mut stream = std::pin::pin!(response.take_body_stream());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("{uri}: {e:?}"))?;
            if body.len() + chunk.len() > max_bytes {
                return Err(format!("{uri}: response larger than {max_bytes} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Writes the response.
    pub fn send_response(out: ResponseOutparam, resp: HttpResponse) {
        let fields: Vec<(String, Vec<u8>)> = resp
            .headers
            .into_iter()
            .map(|(n, v)| (n, v.into_bytes()))
            .collect();
        let response = match Fields::from_list(&fields) {
            Ok(headers) => OutgoingResponse::new(headers),
            Err(e) => {
                eprintln!("invalid response header: {e:?}");
                OutgoingResponse::new(Fields::new())
            }
        };
        if response.set_status_code(resp.status).is_err() {
            eprintln!("invalid response status {}", resp.status);
        }
        let Ok(body) = response.body() else { return };
        out.set(response);
        let Ok(stream) = body.write() else { return };
        for chunk in resp.body.chunks(4096) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                eprintln!("writing the response: {e:?}");
                return;
            }
        }
        drop(stream);
        if let Err(e) = OutgoingBody::finish(body, None) {
            eprintln!("finishing the response: {e:?}");
        }
    }
}
