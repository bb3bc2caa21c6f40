//! HTTP routing exactly like Spin's (`spin-http-routes` on routefinder 0.5):
//!
//! * a route is either exact (`/token`) or a trailing wildcard
//!   (`/scim/v2/...`, also written `/scim/v2/*`);
//! * leading and trailing slashes of the request path are ignored, so
//!   `/token/` matches `/token`, and `/scim/v2/...` matches `/scim/v2`;
//! * the most specific match wins: an exact route beats any wildcard, a
//!   longer wildcard prefix beats a shorter one;
//! * no match is a 404.
//!
//! The runner refuses duplicate routes at start (Spin only logs them and
//! lets the last one win) and routes under `/.well-known/spin/`, which Spin
//! reserves for itself.

use std::collections::HashMap;
use std::net::SocketAddr;

use wasmtime::{Result, bail};

use crate::manifest::{HttpTrigger, RouteConfig};

/// Spin's reserved prefix (health and info endpoints).
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Component id.
    pub component: String,
    /// The route as written in the manifest (`spin-raw-component-route`).
    pub raw: String,
    /// The route with the base (`/`) applied (`spin-matched-route`).
    pub based: String,
    /// Whether the route ends in a wildcard.
    pub wildcard: bool,
    /// The route without its wildcard and without leading/trailing slashes.
    trimmed: String,
}

impl Route {
    fn parse(component: &str, raw: &str) -> Self {
        // Spin: absolutize, strip one trailing slash, prefix the base ("").
        let abs = if raw.starts_with('/') {
            raw.to_string()
        } else {
            format!("/{raw}")
        };
        let based = abs.strip_suffix('/').unwrap_or(&abs).to_string();
        let (prefix, wildcard) = if let Some(p) = based.strip_suffix("/...") {
            (p, true)
        } else if let Some(p) = based.strip_suffix("/*") {
            (p, true)
        } else if based == "..." || based == "*" {
            ("", true)
        } else {
            (based.as_str(), false)
        };
        // routefinder ignores empty segments in route specs.
        let trimmed = prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        Route {
            component: component.to_string(),
            raw: raw.to_string(),
            based,
            wildcard,
            trimmed,
        }
    }

    /// The route as Spin prints it at start: the path, with " (wildcard)"
    /// after the prefix of a wildcard route.
    pub fn display(&self) -> String {
        if self.wildcard {
            let p = self
                .based
                .strip_suffix("/...")
                .or_else(|| self.based.strip_suffix("/*"))
                .unwrap_or("");
            format!("{p} (wildcard)")
        } else {
            self.based.clone()
        }
    }

    /// The route a chained request (`http://<id>.spin.internal/...`) gets:
    /// as if a catch-all `/...` of the component had matched, with the whole
    /// path as `spin-path-info` (Spin's `RouteMatch::synthetic`).
    pub fn chained(component: &str) -> Self {
        Route::parse(component, "/...")
    }

    /// `spin-component-route`: the raw route without a trailing `/...`.
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
    exact: HashMap<String, usize>,
    /// Wildcard routes, longest prefix first.
    wildcards: Vec<usize>,
}

/// The result of routing one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    /// `spin-path-info`: the part of the path after a wildcard prefix
    /// (empty for exact routes).
    pub path_info: String,
}

impl Router {
    pub fn build(triggers: &[HttpTrigger]) -> Result<Self> {
        let mut router = Router::default();
        let mut seen: HashMap<(bool, String), usize> = HashMap::new();
        for t in triggers {
            let RouteConfig::Route(raw) = &t.route else {
                continue; // private endpoint: not routable over HTTP
            };
            let route = Route::parse(&t.component, raw);
            if route.based.starts_with(WELL_KNOWN_PREFIX)
                || format!("{}/", route.based) == WELL_KNOWN_PREFIX
            {
                bail!(
                    "route {raw:?} of component {:?} is under {WELL_KNOWN_PREFIX}, which Spin reserves",
                    t.component
                );
            }
            let key = (route.wildcard, route.trimmed.clone());
            if let Some(&prev) = seen.get(&key) {
                let p = &router.routes[prev];
                bail!(
                    "duplicate route: {raw:?} of component {:?} is the same route as {:?} of component {:?}",
                    t.component,
                    p.raw,
                    p.component
                );
            }
            let idx = router.routes.len();
            seen.insert(key, idx);
            if route.wildcard {
                router.wildcards.push(idx);
            } else {
                router.exact.insert(route.trimmed.clone(), idx);
            }
            router.routes.push(route);
        }
        let routes = &router.routes;
        router
            .wildcards
            .sort_by_key(|&i| std::cmp::Reverse(routes[i].trimmed.len()));
        Ok(router)
    }

    /// Routes in manifest order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// Finds the route for a request path (the raw, undecoded URI path).
    pub fn route<'a>(&'a self, path: &str) -> Option<RouteMatch<'a>> {
        let trimmed = path.trim_start_matches('/').trim_end_matches('/');
        if let Some(&i) = self.exact.get(trimmed) {
            return Some(RouteMatch {
                route: &self.routes[i],
                path_info: String::new(),
            });
        }
        for &i in &self.wildcards {
            let r = &self.routes[i];
            let captured = if r.trimmed.is_empty() {
                Some(trimmed)
            } else if trimmed == r.trimmed {
                Some("")
            } else {
                trimmed
                    .strip_prefix(r.trimmed.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
            };
            if let Some(s) = captured {
                // Spin keeps the trailing slash routefinder drops.
                let path_info = match (s.is_empty(), path.ends_with('/')) {
                    (true, false) => String::new(),
                    (true, true) => "/".to_string(),
                    (false, false) => format!("/{s}"),
                    (false, true) => format!("/{s}/"),
                };
                return Some(RouteMatch {
                    route: r,
                    path_info,
                });
            }
        }
        None
    }
}

/// Removes what a routed request must not carry (Spin's
/// `strip_forbidden_headers`): a `Host: <id>.spin.internal`, so that no
/// outside client can pass for a chained request, and `Connection`, which is
/// transport information.
pub fn strip_forbidden_headers(headers: &mut http::HeaderMap) {
    if headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(crate::allowed_hosts::chaining_target)
        .is_some()
    {
        headers.remove(http::header::HOST);
    }
    headers.remove(http::header::CONNECTION);
}

/// The headers Spin adds to the request a component sees
/// (`spin-trigger-http`, `compute_default_headers`).
pub fn spin_headers(
    m: &RouteMatch<'_>,
    path_and_query: &str,
    host: &str,
    client_addr: SocketAddr,
) -> [(&'static str, String); 7] {
    [
        ("spin-path-info", m.path_info.clone()),
        ("spin-full-url", format!("http://{host}{path_and_query}")),
        ("spin-matched-route", m.route.based.clone()),
        ("spin-base-path", "/".to_string()),
        ("spin-raw-component-route", m.route.raw.clone()),
        (
            "spin-component-route",
            m.route.component_route().to_string(),
        ),
        ("spin-client-addr", client_addr.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Result<Router> {
        let triggers: Vec<HttpTrigger> = routes
            .iter()
            .map(|(c, r)| HttpTrigger {
                component: c.to_string(),
                route: RouteConfig::Route(r.to_string()),
            })
            .collect();
        Router::build(&triggers)
    }

    #[test]
    fn routing_table() {
        let r = router(&[
            ("root", "/"),
            ("token", "/token"),
            ("jwks", "/.well-known/jwks.json"),
            ("all", "/..."),
            ("one", "/one/..."),
            ("onetwo", "/one/two/..."),
            ("onetwothree", "/one/two/three/..."),
            ("exact-one-two", "/one/two"),
            ("star", "/star/*"),
            ("slash", "/slash/"),
        ])
        .unwrap();
        // (path, component, path-info)
        let table = [
            ("/", "root", ""),
            ("", "root", ""),
            ("/token", "token", ""),
            ("/token/", "token", ""),
            ("//token//", "token", ""),
            ("/tokens", "all", "/tokens"),
            ("/Token", "all", "/Token"),
            ("/.well-known/jwks.json", "jwks", ""),
            ("/.well-known/jwks.jsonx", "all", "/.well-known/jwks.jsonx"),
            ("/one", "one", ""),
            ("/one/", "one", "/"),
            ("/one/x", "one", "/x"),
            ("/one/x/", "one", "/x/"),
            ("/onex", "all", "/onex"),
            ("/one/two", "exact-one-two", ""),
            ("/one/two/", "exact-one-two", ""),
            ("/one/two/x", "onetwo", "/x"),
            ("/one/two/three", "onetwothree", ""),
            ("/one/two/three/four", "onetwothree", "/four"),
            ("/one/two/three/four/five/", "onetwothree", "/four/five/"),
            ("/one/twothree", "one", "/twothree"),
            ("/star", "star", ""),
            ("/star/a/b", "star", "/a/b"),
            ("/slash", "slash", ""),
            ("/slash/", "slash", ""),
            ("/x/y/z", "all", "/x/y/z"),
            ("/x/y/z/", "all", "/x/y/z/"),
        ];
        for (path, component, info) in table {
            let m = r
                .route(path)
                .unwrap_or_else(|| panic!("{path:?} did not match"));
            assert_eq!(m.route.component, component, "path {path:?}");
            assert_eq!(m.path_info, info, "path-info of {path:?}");
        }
    }

    #[test]
    fn order_does_not_matter() {
        let a = router(&[("w1", "/one/..."), ("w2", "/one/two/...")]).unwrap();
        let b = router(&[("w2", "/one/two/..."), ("w1", "/one/...")]).unwrap();
        for r in [a, b] {
            assert_eq!(r.route("/one/two/x").unwrap().route.component, "w2");
            assert_eq!(r.route("/one/x").unwrap().route.component, "w1");
        }
    }

    #[test]
    fn no_match_is_none() {
        let r = router(&[("token", "/token"), ("w", "/api/...")]).unwrap();
        for path in ["/", "/tok", "/tokenx", "/apix", "/other/api"] {
            assert!(r.route(path).is_none(), "{path:?} matched");
        }
    }

    #[test]
    fn duplicates_and_reserved_routes_are_refused() {
        for routes in [
            &[("a", "/foo"), ("b", "/foo")][..],
            &[("a", "/foo"), ("b", "/foo/")][..],
            &[("a", "/foo/..."), ("b", "/foo/*")][..],
            &[("a", "/..."), ("b", "/...")][..],
            &[("a", "/"), ("b", "/")][..],
        ] {
            let err = router(routes).unwrap_err().to_string();
            assert!(err.contains("duplicate route"), "{routes:?}: {err}");
        }
        // An exact route and a wildcard with the same prefix are distinct.
        router(&[("a", "/foo"), ("b", "/foo/...")]).unwrap();
        let err = router(&[("a", "/.well-known/spin/health")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("reserves"), "{err}");
    }

    #[test]
    fn private_routes_are_not_routed() {
        let triggers = vec![
            HttpTrigger {
                component: "a".into(),
                route: RouteConfig::Private,
            },
            HttpTrigger {
                component: "b".into(),
                route: RouteConfig::Route("/b".into()),
            },
        ];
        let r = Router::build(&triggers).unwrap();
        assert_eq!(r.routes().count(), 1);
        assert!(r.route("/a").is_none());
    }

    #[test]
    fn headers_match_spin() {
        let r = router(&[("c", "/foo/..."), ("e", "/exact/"), ("all", "/...")]).unwrap();
        let addr: SocketAddr = "127.0.0.1:8777".parse().unwrap();
        let m = r.route("/foo/bar").unwrap();
        let h = spin_headers(&m, "/foo/bar?key1=value1&key2=value2", "fermyon.dev", addr);
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(
            get("spin-full-url"),
            "http://fermyon.dev/foo/bar?key1=value1&key2=value2"
        );
        assert_eq!(get("spin-path-info"), "/bar");
        assert_eq!(get("spin-matched-route"), "/foo/...");
        assert_eq!(get("spin-base-path"), "/");
        assert_eq!(get("spin-raw-component-route"), "/foo/...");
        assert_eq!(get("spin-component-route"), "/foo");
        assert_eq!(get("spin-client-addr"), "127.0.0.1:8777");

        let m = r.route("/exact").unwrap();
        let h = spin_headers(&m, "/exact", "h", addr);
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("spin-path-info"), "");
        assert_eq!(get("spin-matched-route"), "/exact");
        assert_eq!(get("spin-raw-component-route"), "/exact/");
        assert_eq!(get("spin-component-route"), "/exact/");

        let m = r.route("/zzz").unwrap();
        let h = spin_headers(&m, "/zzz", "h", addr);
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("spin-component-route"), "");
        assert_eq!(get("spin-matched-route"), "/...");
        assert_eq!(get("spin-path-info"), "/zzz");
    }

    #[test]
    fn chained_requests_get_spins_synthetic_route() {
        let route = Route::chained("op-token");
        let m = RouteMatch {
            route: &route,
            path_info: "/token/ciba".into(),
        };
        // Spin's chained client address; no Host header, hence "localhost".
        let addr: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let h = spin_headers(&m, "/token/ciba?x=1", "localhost", addr);
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("spin-path-info"), "/token/ciba");
        assert_eq!(get("spin-full-url"), "http://localhost/token/ciba?x=1");
        assert_eq!(get("spin-matched-route"), "/...");
        assert_eq!(get("spin-raw-component-route"), "/...");
        assert_eq!(get("spin-component-route"), "");
        assert_eq!(get("spin-base-path"), "/");
        assert_eq!(get("spin-client-addr"), "0.0.0.0:0");
    }

    #[test]
    fn forbidden_headers_are_stripped_like_spin() {
        let headers = |host: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::HOST, host.parse().unwrap());
            h.insert(http::header::CONNECTION, "close".parse().unwrap());
            h.insert(http::header::ACCEPT, "text/plain".parse().unwrap());
            strip_forbidden_headers(&mut h);
            h
        };
        for spoofed in ["op-token.spin.internal", "x.spin.internal:1234"] {
            let h = headers(spoofed);
            assert!(h.get(http::header::HOST).is_none(), "{spoofed}");
            assert!(h.get(http::header::CONNECTION).is_none());
            assert_eq!(h.len(), 1);
        }
        for kept in [
            "example.com",
            "127.0.0.1:3000",
            "a.b.spin.internal",
            "spin.internal",
        ] {
            let h = headers(kept);
            assert_eq!(h.get(http::header::HOST).unwrap(), kept);
            assert!(h.get(http::header::CONNECTION).is_none());
        }
    }

    #[test]
    fn routes_display_like_spin() {
        let r = router(&[("a", "/"), ("b", "/foo/..."), ("c", "/bar")]).unwrap();
        let shown: Vec<String> = r.routes().map(Route::display).collect();
        assert_eq!(shown, vec!["", "/foo (wildcard)", "/bar"]);
    }
}
