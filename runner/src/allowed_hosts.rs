//! `allowed_outbound_hosts`, with Spin's syntax and matching rules
//! (`spin-outbound-networking-config`):
//!
//! `<scheme>://<host>[:<port>]`, where the scheme may be `*`, the host may be
//! `*`, `*.example.com`, a literal name or IP, or a CIDR range, and the port
//! may be `*`, a number or a range `8000..8010`; without a port the scheme's
//! well-known port applies. `self` (and `self.alt`) allows relative requests
//! to the app itself.
//!
//! Local service chaining (`http://<component-id>.spin.internal`) follows
//! Spin's code (`spin-outbound-networking-config`'s `allowed_hosts.rs`,
//! `spin-trigger-http`'s `outbound_http.rs`): `*.spin.internal` is expanded
//! to one entry per component of the app, and a request whose host is
//! `<label>.spin.internal` is chained whenever the list allows its URL. So
//! `self` never grants chaining (it allows no host at all), while `*://*:*`
//! or a template resolved to a `spin.internal` host does at run time, as in
//! Spin; SIP 017's "does not by itself enable chaining" is about Spin
//! inferring the lock file's host requirement, not about the request check.

use std::net::IpAddr;

use url::Host;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    hosts: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    original: String,
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    AnySubdomain(String),
    ToSelf,
    Literal(Host<String>),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Port(u16),
    /// Half-open, like Spin's `start..end`.
    Range(u16, u16),
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Spin's service-chaining domain.
const CHAINING_SUFFIX: &str = ".spin.internal";

/// The component a chained request is for: `<id>` when `host` (with or
/// without a port) is `<id>.spin.internal`, as Spin's
/// `parse_service_chaining_host` reads it.
pub fn chaining_target(host: &str) -> Option<&str> {
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let (first, rest) = host.split_once('.')?;
    (rest == &CHAINING_SUFFIX[1..]).then_some(first)
}

impl AllowedHosts {
    /// Parses resolved (template-free) `allowed_outbound_hosts` entries,
    /// expanding `*.spin.internal` to the app's `component_ids` (as Spin
    /// does, so it never matches a component the app does not have).
    pub fn parse<S: AsRef<str>>(entries: &[S], component_ids: &[&str]) -> Result<Self, String> {
        if entries.len() == 1 && entries[0].as_ref() == "insecure:allow-all" {
            return Err(
                "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic".into(),
            );
        }
        let mut hosts = Vec::new();
        for e in entries {
            let e = e.as_ref();
            // Spin skips entries that a variable made empty ("optional endpoint").
            if e.is_empty() || e == "http://" || e == "https://" {
                continue;
            }
            let host = AllowedHost::parse(e).map_err(|m| format!("{e:?}: {m}"))?;
            if host.host == HostPattern::AnySubdomain(CHAINING_SUFFIX.into()) {
                for id in component_ids {
                    let domain = format!("{id}{CHAINING_SUFFIX}");
                    let Ok(literal) = Host::parse(&domain) else {
                        continue;
                    };
                    hosts.push(AllowedHost {
                        host: HostPattern::Literal(literal),
                        ..host.clone()
                    });
                }
            } else {
                hosts.push(host);
            }
        }
        Ok(Self { hosts })
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether a request to `scheme://host[:port]` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        self.hosts.iter().any(|h| h.allows(scheme, &host, port))
    }

    /// Whether a URL string is allowed (`{default_scheme}://` is prepended
    /// when it has none, as Spin does).
    pub fn allows_url(&self, url: &str, default_scheme: &str) -> bool {
        let parsed = match url::Url::parse(url) {
            Ok(u) if u.has_host() => u,
            _ => match url::Url::parse(&format!("{default_scheme}://{url}")) {
                Ok(u) => u,
                Err(_) => return false,
            },
        };
        let Some(host) = parsed.host_str() else {
            return false;
        };
        self.allows(parsed.scheme(), host, parsed.port())
    }

    /// Whether relative ("self") requests with one of `schemes` are allowed.
    pub fn allows_relative(&self, schemes: &[&str]) -> bool {
        self.hosts.iter().any(|h| {
            matches!(h.host, HostPattern::Any | HostPattern::ToSelf)
                && schemes
                    .iter()
                    .any(|s| h.scheme.as_deref().is_none_or(|hs| hs == *s))
        })
    }
}

impl AllowedHost {
    fn parse(original: &str) -> Result<Self, String> {
        let url = original.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(match url {
                "*" | ":" | "" | "?" => "is not an allowed outbound host format. Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each".into(),
                _ => "does not contain a scheme (e.g., 'http://' or '*://')".into(),
            });
        };
        let (host, port) = match rest.rsplit_once(':') {
            None => (rest, ""),
            Some((h, "")) => (h, ""),
            Some((h, tail)) => {
                if HostPattern::parse(rest).is_ok() {
                    (rest, "")
                } else {
                    let port = match tail.split_once('/') {
                        Some((port, path)) => {
                            if !path.is_empty() {
                                return Err("has a path but is not allowed to".into());
                            }
                            port
                        }
                        None => tail,
                    };
                    (h, port)
                }
            }
        };
        let port = PortPattern::parse(port, scheme)?;
        let scheme = if scheme == "*" {
            None
        } else {
            if scheme.starts_with('{') {
                return Err("scheme lists are not supported".into());
            }
            if scheme.is_empty() || !scheme.chars().all(|c| c.is_alphabetic()) {
                return Err("invalid scheme: only alphabetic characters are allowed".into());
            }
            Some(scheme.to_string())
        };
        let host = HostPattern::parse(host)?;
        Ok(Self {
            original: original.to_string(),
            scheme,
            host,
            port,
        })
    }

    fn allows(&self, scheme: &str, host: &Host<String>, port: Option<u16>) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && self.host.allows(host)
            && self.port.allows(port, scheme)
    }
}

impl HostPattern {
    fn parse(host: &str) -> Result<Self, String> {
        let host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host == "self" || host == "self.alt" {
            return Ok(Self::ToSelf);
        }
        if host.starts_with('{') {
            return Err("host lists are not yet supported".into());
        }
        if let Some((ip, bits)) = host.split_once('/')
            && let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>())
        {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if bits > max {
                return Err(format!("invalid CIDR prefix length {bits}"));
            }
            return Ok(Self::Cidr(ip, bits));
        }
        let host = host.strip_suffix('/').unwrap_or(host);
        if host.contains('/') {
            return Err("must not include a path".into());
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                return Err("wildcards are allowed only as prefixes".into());
            }
            return match Host::parse(domain) {
                Ok(Host::Domain(d)) => Ok(Self::AnySubdomain(format!(".{d}"))),
                Ok(_) => Err("wildcard suffix must be a domain".into()),
                Err(e) => Err(format!("invalid wildcard host \"*.{domain}\": {e}")),
            };
        }
        if host.contains('*') {
            return Err("wildcards are allowed only as subdomains".into());
        }
        Ok(Self::Literal(
            Host::parse(host).map_err(|e| format!("invalid host: {e}"))?,
        ))
    }

    fn allows(&self, host: &Host<String>) -> bool {
        match (self, host) {
            (Self::Any, _) => true,
            (Self::AnySubdomain(suffix), Host::Domain(d)) => d.ends_with(suffix.as_str()),
            (Self::Literal(l), h) => l == h,
            (Self::Cidr(net, bits), Host::Ipv4(ip)) => cidr_contains(*net, *bits, IpAddr::V4(*ip)),
            (Self::Cidr(net, bits), Host::Ipv6(ip)) => cidr_contains(*net, *bits, IpAddr::V6(*ip)),
            _ => false,
        }
    }
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

impl PortPattern {
    fn parse(port: &str, scheme: &str) -> Result<Self, String> {
        if port.is_empty() {
            return well_known_port(scheme).map(Self::Port).ok_or_else(|| {
                format!(
                    "no port was provided and the scheme {scheme:?} does not have a known default port number"
                )
            });
        }
        if port == "*" {
            return Ok(Self::Any);
        }
        if port.starts_with('{') {
            return Err("port lists are not yet supported".into());
        }
        if let Some((a, b)) = port.split_once("..") {
            let a = a
                .parse()
                .map_err(|_| format!("port range {port:?} contains non-number"))?;
            let b = b
                .parse()
                .map_err(|_| format!("port range {port:?} contains non-number"))?;
            return Ok(Self::Range(a, b));
        }
        port.parse()
            .map(Self::Port)
            .map_err(|_| format!("port {port:?} is not a number"))
    }

    fn allows(&self, port: Option<u16>, scheme: &str) -> bool {
        let port = match port.or_else(|| well_known_port(scheme)) {
            Some(p) => p,
            None => return matches!(self, Self::Any),
        };
        match self {
            Self::Any => true,
            Self::Port(p) => *p == port,
            Self::Range(a, b) => (*a..*b).contains(&port),
        }
    }
}

impl std::fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<&str> = self.hosts.iter().map(|h| h.original.as_str()).collect();
        write!(f, "{}", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(list, &[]).unwrap()
    }

    #[test]
    fn matching_table() {
        // (allowed, url, expected)
        let table: &[(&str, &str, bool)] = &[
            ("http://127.0.0.1:*", "http://127.0.0.1:8080/x", true),
            ("http://127.0.0.1:*", "http://127.0.0.1/x", true),
            ("http://127.0.0.1:*", "https://127.0.0.1:8080/x", false),
            ("http://127.0.0.1:*", "http://127.0.0.2:8080/x", false),
            ("http://127.0.0.1:*", "http://localhost:8080/x", false),
            ("https://example.com", "https://example.com/a?b", true),
            ("https://example.com", "https://example.com:443/", true),
            ("https://example.com", "https://example.com:8443/", false),
            ("https://example.com", "http://example.com/", false),
            ("https://example.com", "https://EXAMPLE.com/", true),
            ("https://example.com", "https://a.example.com/", false),
            ("https://*.example.com", "https://a.example.com/", true),
            ("https://*.example.com", "https://a.b.example.com/", true),
            ("https://*.example.com", "https://example.com/", false),
            ("https://*.example.com", "https://badexample.com/", false),
            ("*://example.com:*", "http://example.com:1/", true),
            ("*://example.com:*", "ftp://example.com:21/", true),
            ("*://*:*", "https://anything.test:9/", true),
            (
                "http://example.com:8000..8010",
                "http://example.com:8005/",
                true,
            ),
            (
                "http://example.com:8000..8010",
                "http://example.com:8010/",
                false,
            ),
            ("http://10.0.0.0/8", "http://10.1.2.3/", true),
            ("http://10.0.0.0/8", "http://11.1.2.3/", false),
            ("http://10.0.0.0/8", "http://ten.example/", false),
            ("http://[::1]:*", "http://[::1]:3000/", true),
            ("http://[::1]:*", "http://127.0.0.1:3000/", false),
            ("https://example.com/", "https://example.com/", true),
        ];
        for (allowed, url, expected) in table {
            let h = hosts(&[allowed]);
            assert_eq!(h.allows_url(url, "https"), *expected, "{allowed} vs {url}");
        }
        assert!(!AllowedHosts::default().allows_url("https://example.com", "https"));
    }

    #[test]
    fn relative_requests_need_self_or_any() {
        assert!(hosts(&["http://self"]).allows_relative(&["http", "https"]));
        assert!(hosts(&["*://*:*"]).allows_relative(&["http", "https"]));
        assert!(!hosts(&["https://example.com"]).allows_relative(&["http", "https"]));
        assert!(!AllowedHosts::default().allows_relative(&["http"]));
    }

    #[test]
    fn invalid_entries_are_refused() {
        for bad in [
            "example.com",
            "*",
            "https://example.com/path",
            "https://*.*.example.com",
            "https://ex*ample.com",
            "htt-p://example.com",
            "foo://example.com",
            "https://example.com:port",
            "{http,https}://example.com",
        ] {
            assert!(
                AllowedHosts::parse(&[bad], &[]).is_err(),
                "{bad} was accepted"
            );
        }
        assert!(AllowedHosts::parse(&["insecure:allow-all"], &[]).is_err());
        // Empty entries (e.g. a variable resolved to "") are skipped.
        assert!(
            AllowedHosts::parse(&["", "https://"], &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn chaining_targets_like_spin() {
        for (host, target) in [
            ("op-token.spin.internal", Some("op-token")),
            ("op-token.spin.internal:8080", Some("op-token")),
            ("a.b.spin.internal", None),
            ("spin.internal", None),
            ("op-token.spin.internal.example.com", None),
            ("op-token.spin.internalx", None),
            ("example.com", None),
            ("127.0.0.1:3000", None),
            ("", None),
        ] {
            assert_eq!(chaining_target(host), target, "{host}");
        }
    }

    #[test]
    fn chaining_permissions_like_spin() {
        let ids = ["front", "back", "op-token"];
        let parse = |list: &[&str]| AllowedHosts::parse(list, &ids).unwrap();
        // (allowed, url, expected)
        let table: &[(&str, &str, bool)] = &[
            (
                "http://back.spin.internal",
                "http://back.spin.internal/x",
                true,
            ),
            (
                "http://back.spin.internal",
                "http://front.spin.internal/",
                false,
            ),
            (
                "http://back.spin.internal",
                "https://back.spin.internal/",
                false,
            ),
            (
                "http://back.spin.internal",
                "http://back.spin.internal:81/",
                false,
            ),
            // The wildcard names exactly the app's components.
            (
                "http://*.spin.internal",
                "http://op-token.spin.internal/t",
                true,
            ),
            ("http://*.spin.internal", "http://back.spin.internal/", true),
            (
                "http://*.spin.internal",
                "http://ghost.spin.internal/",
                false,
            ),
            (
                "http://*.spin.internal",
                "http://a.back.spin.internal/",
                false,
            ),
            (
                "http://*.spin.internal",
                "https://back.spin.internal/",
                false,
            ),
            (
                "https://*.spin.internal",
                "https://back.spin.internal/",
                true,
            ),
            // A literal entry may name a component the app lacks (Spin
            // accepts it; the request then fails).
            (
                "http://ghost.spin.internal",
                "http://ghost.spin.internal/",
                true,
            ),
            // `self` allows no host, so no chaining.
            ("http://self", "http://back.spin.internal/", false),
            ("http://self.alt", "http://back.spin.internal/", false),
            // Allow-all matches any URL, chaining ones included (Spin's
            // request check is the same URL match).
            ("*://*:*", "http://back.spin.internal/", true),
            ("https://*.example.com", "http://back.spin.internal/", false),
        ];
        for (allowed, url, expected) in table {
            assert_eq!(
                parse(&[allowed]).allows_url(url, "https"),
                *expected,
                "{allowed} vs {url}"
            );
        }
        // The expansion keeps the other entries.
        let h = parse(&["https://example.com", "http://*.spin.internal"]);
        assert!(h.allows_url("https://example.com/", "https"));
        assert!(h.allows_url("http://front.spin.internal/", "https"));
        assert!(!parse(&["http://*.spin.internal"]).allows_relative(&["http", "https"]));
    }
}
