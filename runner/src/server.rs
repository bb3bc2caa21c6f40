//! The HTTP server: hyper 1 (HTTP/1.1, keep-alive), Spin routing and
//! headers, one component instance per request, a body-size bound, a
//! per-request time limit, one log line per request, graceful shutdown.
//! It also runs chained requests (`http://<id>.spin.internal/...`, Spin's
//! local service chaining) through the same code path as routed ones.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use wasmtime::{Result, Store, Trap, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use crate::app::{App, LoadedComponent};
use crate::host::{ChainTarget, HostState};
use crate::routes::{Route, RouteMatch, WELL_KNOWN_PREFIX, spin_headers, strip_forbidden_headers};

/// Largest request head (request line and headers) accepted, in bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest request body accepted; larger is 413.
    pub max_body_bytes: usize,
    /// Time limit of one request, guest execution included.
    pub request_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Extra time after the epoch deadline before a guest that is stuck in a
/// host call (e.g. waiting on an outbound request) is cancelled.
const HOST_CALL_GRACE: Duration = Duration::from_secs(1);

struct Server {
    app: Arc<App>,
    opts: ServeOptions,
    local_addr: SocketAddr,
    /// Instance slots of routed requests.
    routed_slots: Arc<Semaphore>,
    /// Instance slots of chained requests, kept apart so that a chained
    /// call never waits for a slot held by routed requests, its own caller
    /// among them (which would deadlock once every routed slot is held by a
    /// caller waiting for its callee).
    chained_slots: Arc<Semaphore>,
    /// Held by every connection and guest task; shutdown waits for all.
    inflight: mpsc::Sender<()>,
}

/// What happened to a request, for the log line.
struct Outcome {
    component: String,
    response: Response<HyperOutgoingBody>,
}

fn text(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let mut r = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    if !body.is_empty() {
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    r
}

/// Prints the start-up lines Spin prints: the base URL, then each route.
pub fn print_routes(app: &App, addr: SocketAddr) {
    let base = format!("http://{addr}");
    println!("Serving {base}");
    println!("Available Routes:");
    for r in app.router.routes() {
        println!("  {}: {base}{}", r.component, r.display());
        if let Some(c) = app.components.get(&r.component)
            && !c.description.is_empty()
        {
            println!("    {}", c.description);
        }
    }
}

/// Serves until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish (up to the grace period) and closes the databases.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let local_addr = listener.local_addr()?;
    let (inflight_tx, mut inflight_rx) = mpsc::channel::<()>(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Keep a few instance slots for admin work done alongside serving, and
    // a quarter of the rest for chained requests.
    let permits = app.engine_max_instances().saturating_sub(2).max(1) as usize;
    let chained = (permits / 4).max(1);
    let routed = permits.saturating_sub(chained).max(1);
    let server = Arc::new(Server {
        app: app.clone(),
        opts: opts.clone(),
        local_addr,
        routed_slots: Arc::new(Semaphore::new(routed)),
        chained_slots: Arc::new(Semaphore::new(chained)),
        inflight: inflight_tx,
    });

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("authrim: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let mut stop = stop_rx.clone();
                let guard = server.inflight.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    let svc_server = server.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let s = svc_server.clone();
                        async move { Ok::<_, std::convert::Infallible>(s.handle(req, client).await) }
                    });
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder
                        .keep_alive(true)
                        // Bounds the request line plus headers: larger heads
                        // get 431 (hyper's default would accept ~400 KiB).
                        .max_buf_size(MAX_HEAD_BYTES)
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30));
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    let mut stopping = *stop.borrow();
                    if stopping {
                        conn.as_mut().graceful_shutdown();
                    }
                    loop {
                        tokio::select! {
                            res = conn.as_mut() => {
                                if let Err(e) = res
                                    && !e.is_incomplete_message()
                                {
                                    eprintln!("authrim: connection from {client}: {e}");
                                }
                                break;
                            }
                            changed = stop.changed(), if !stopping => {
                                stopping = true;
                                if changed.is_ok() {
                                    conn.as_mut().graceful_shutdown();
                                }
                            }
                        }
                    }
                });
            }
        }
    }

    // Stop accepting (the listener is dropped), finish what is in flight.
    drop(listener);
    eprintln!("authrim: shutting down: waiting for in-flight requests");
    let _ = stop_tx.send(true);
    drop(server);
    if tokio::time::timeout(opts.shutdown_grace, inflight_rx.recv())
        .await
        .is_err()
    {
        eprintln!(
            "authrim: shutdown grace period ({:?}) over; abandoning in-flight requests",
            opts.shutdown_grace
        );
    }
    app.dbs.close();
    eprintln!("authrim: stopped");
    Ok(())
}

impl Server {
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let start = Instant::now();
        let method = req.method().clone();
        // The path only: a query string may carry secrets.
        let path = req.uri().path().to_string();
        let out = self.route(req, client).await;
        let status = out.response.status().as_u16();
        eprintln!(
            "{method} {path} {} {status} {:.1}ms",
            if out.component.is_empty() {
                "-"
            } else {
                &out.component
            },
            start.elapsed().as_secs_f64() * 1000.0
        );
        out.response
    }

    async fn route(self: &Arc<Self>, mut req: Request<Incoming>, client: SocketAddr) -> Outcome {
        let none = |response| Outcome {
            component: String::new(),
            response,
        };
        strip_forbidden_headers(req.headers_mut());
        let path = req.uri().path().to_string();

        if let Some(rest) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            return none(match rest {
                "health" => text(StatusCode::OK, "OK"),
                "info" => {
                    let mut info =
                        serde_json::json!({ "name": self.app.manifest.application.name });
                    if !self.app.manifest.application.version.is_empty() {
                        info["version"] = self.app.manifest.application.version.clone().into();
                    }
                    let mut r = Response::new(
                        Full::new(Bytes::from(serde_json::to_vec_pretty(&info).unwrap()))
                            .map_err(|never| match never {})
                            .boxed_unsync(),
                    );
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    r
                }
                _ => text(StatusCode::NOT_FOUND, ""),
            });
        }

        let Some(m) = self.app.router.route(&path) else {
            return none(text(StatusCode::NOT_FOUND, ""));
        };
        let component_id = m.route.component.clone();
        let response = match self.app.components.get(&component_id).cloned() {
            Some(component) => {
                self.serve(component, &m, req, client, &self.routed_slots)
                    .await
            }
            None => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"),
        };
        Outcome {
            component: component_id,
            response,
        }
    }

    /// Runs a request that has found its component, routed or chained:
    /// checks the authority, bounds the body, sets Spin's headers for the
    /// route match `m`, and runs the component on one of `slots`.
    async fn serve<B>(
        self: &Arc<Self>,
        component: Arc<LoadedComponent>,
        m: &RouteMatch<'_>,
        req: Request<B>,
        client: SocketAddr,
        slots: &Arc<Semaphore>,
    ) -> Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // The authority: the Host header or the request target, which must
        // agree when both are present (as Spin requires).
        let header_authority = match req.headers().get(http::header::HOST).map(|h| {
            h.to_str()
                .ok()
                .and_then(|s| s.parse::<http::uri::Authority>().ok())
        }) {
            None => None,
            Some(Some(a)) => Some(a),
            Some(None) => return text(StatusCode::BAD_REQUEST, "invalid Host header\n"),
        };
        let authority = match (header_authority, req.uri().authority().cloned()) {
            (None, None) => return text(StatusCode::BAD_REQUEST, "missing Host header\n"),
            (Some(a), None) | (None, Some(a)) => a,
            (Some(a), Some(b)) if a != b => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Host header does not match the request target\n",
                );
            }
            (Some(a), Some(_)) => a,
        };
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| "localhost".into());

        // Bound the body.
        let max = self.opts.max_body_bytes;
        if let Some(len) = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && len > max as u64
        {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
        }
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
                }
                return text(StatusCode::BAD_REQUEST, "cannot read request body\n");
            }
        };

        // The request the component sees: Spin's headers replace any the
        // client sent under the same names (so a client cannot spoof, e.g.,
        // spin-client-addr).
        let uri = match format!("http://{authority}{path_and_query}").parse::<http::Uri>() {
            Ok(u) => u,
            Err(_) => return text(StatusCode::BAD_REQUEST, "invalid request target\n"),
        };
        parts.uri = uri;
        for (name, value) in spin_headers(m, &path_and_query, &host, client) {
            match HeaderValue::from_str(&value) {
                Ok(v) => {
                    parts.headers.insert(name, v);
                }
                Err(_) => {
                    parts.headers.remove(name);
                }
            }
        }
        let req = Request::from_parts(parts, Full::new(body));
        self.run(component, req, slots).await
    }

    /// Instantiates the component on one of `slots` and runs
    /// `wasi:http/incoming-handler`.
    async fn run(
        self: &Arc<Self>,
        component: Arc<LoadedComponent>,
        req: Request<Full<Bytes>>,
        slots: &Arc<Semaphore>,
    ) -> Response<HyperOutgoingBody> {
        let limit = self.opts.request_timeout;
        // Waiting for a slot is bounded by the request time limit too.
        let permit = match tokio::time::timeout(limit, slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
            Err(_) => {
                eprintln!(
                    "authrim: component {}: no instance slot within the request time limit ({limit:?})",
                    component.id
                );
                return text(StatusCode::SERVICE_UNAVAILABLE, "request timed out\n");
            }
        };
        let deadline = Instant::now() + limit;
        let mut store = Store::new(
            &self.app.engine,
            HostState::new(
                component.grants.clone(),
                self.app.dbs.clone(),
                Some(self.local_addr),
                Some(self.clone()),
            ),
        );
        // Yield to the executor at every epoch tick; trap after the deadline.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let prepared = (|| -> Result<_> {
            let r = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, req)?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let out = store.data_mut().http().new_response_outparam(tx)?;
            Ok((r, out, rx))
        })();
        let (wasi_req, out, rx) = match prepared {
            Ok(x) => x,
            Err(e) => {
                eprintln!("authrim: component {}: {e:#}", component.id);
                return text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
            }
        };
        let guard = self.inflight.clone();
        let pre = component.pre.clone();
        let id = component.id.clone();
        let task = tokio::spawn(async move {
            let end = {
                let call = async {
                    let proxy = pre.instantiate_async(&mut store).await?;
                    proxy
                        .wasi_http_incoming_handler()
                        .call_handle(&mut store, wasi_req, out)
                        .await
                };
                match tokio::time::timeout(limit + HOST_CALL_GRACE, call).await {
                    Ok(Ok(())) => GuestEnd::Done,
                    Ok(Err(e)) => {
                        if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                            GuestEnd::TimedOut
                        } else {
                            GuestEnd::Failed(e)
                        }
                    }
                    Err(_) => GuestEnd::TimedOut,
                }
            };
            // Free the instance slot before the permit that guards it.
            drop(store);
            drop(permit);
            drop(guard);
            end
        });
        match rx.await {
            Ok(Ok(resp)) => {
                // The guest may still be writing the body; report a late
                // failure when it ends.
                tokio::spawn(async move {
                    match task.await {
                        Ok(GuestEnd::Failed(e)) => {
                            eprintln!("authrim: component {id} failed after responding: {e:?}")
                        }
                        Ok(GuestEnd::TimedOut) => eprintln!(
                            "authrim: component {id} timed out after responding (limit {limit:?})"
                        ),
                        _ => {}
                    }
                });
                resp
            }
            Ok(Err(code)) => {
                eprintln!("authrim: component {id} responded with error {code:?}");
                text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
            }
            Err(_) => match task.await {
                Ok(GuestEnd::TimedOut) => {
                    eprintln!(
                        "authrim: component {id} exceeded the request time limit ({limit:?})"
                    );
                    text(StatusCode::SERVICE_UNAVAILABLE, "request timed out\n")
                }
                Ok(GuestEnd::Failed(e)) => {
                    eprintln!("authrim: component {id} failed: {e:?}");
                    text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
                }
                Ok(GuestEnd::Done) => {
                    eprintln!("authrim: component {id} returned without setting a response");
                    text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
                }
                Err(e) => {
                    eprintln!("authrim: component {id} task failed: {e}");
                    text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
                }
            },
        }
    }
}

/// The client address chained requests carry (`spin-client-addr`), as in
/// Spin's `outbound_http.rs`.
const CHAINED_CLIENT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

impl ChainTarget for Server {
    fn call(
        self: Arc<Self>,
        caller: String,
        target: String,
        request: Request<WasiBody>,
    ) -> Pin<Box<dyn Future<Output = wasmtime_wasi_http::Result<Response<WasiBody>>> + Send>> {
        Box::pin(async move {
            let start = Instant::now();
            let Some(component) = self.app.components.get(&target).cloned() else {
                // Spin fails the caller here too ("unknown routing
                // destination"): the id names no component with an HTTP
                // trigger.
                eprintln!(
                    "authrim: component {caller}: chained request to {target:?}, which has no HTTP trigger"
                );
                return Err(wasmtime_wasi_http::Error::DestinationNotFound);
            };
            let method = request.method().clone();
            let path = request.uri().path().to_string();
            let (mut parts, body) = request.into_parts();
            // Spin's outbound HTTP drops the Host header before chaining, so
            // the callee's authority is the request target's
            // (`<id>.spin.internal`) and spin-full-url falls back to
            // "localhost", as for any request without a Host header.
            parts.headers.remove(http::header::HOST);
            let route = Route::chained(&target);
            let m = RouteMatch {
                route: &route,
                path_info: path.clone(),
            };
            let response = self
                .serve(
                    component,
                    &m,
                    Request::from_parts(parts, body),
                    CHAINED_CLIENT_ADDR,
                    &self.chained_slots,
                )
                .await;
            eprintln!(
                "{method} {path} {target} {} {:.1}ms (chained from {caller})",
                response.status().as_u16(),
                start.elapsed().as_secs_f64() * 1000.0
            );
            Ok(response)
        })
    }
}

enum GuestEnd {
    Done,
    TimedOut,
    Failed(wasmtime::Error),
}
