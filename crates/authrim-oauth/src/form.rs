//! `application/x-www-form-urlencoded` bodies and query strings.
//!
//! RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they
//! were omitted from the request" and "Request and response parameters MUST
//! NOT be included more than once." [`Params`] enforces both, bounds the
//! input, and refuses malformed percent-encoding and non-UTF-8 text rather
//! than guessing. Every failure is `invalid_request`.
//!
//! Decoding follows the WHATWG `application/x-www-form-urlencoded` parser
//! (`+` is a space, `&` separates pairs, the first `=` splits name from
//! value), except that it is strict where that parser is lenient: a `%` not
//! followed by two hex digits is an error, not a literal.

use authrim_protocol::OAuthError;

/// Bounds on what [`Params::parse_with`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest input, in bytes (before decoding).
    pub max_bytes: usize,
    /// Most `name=value` pairs (empty-valued ones included).
    pub max_params: usize,
    /// Names that may legitimately appear more than once (e.g. RFC 8707
    /// `resource`); read them with [`Params::get_all`].
    pub repeatable: &'static [&'static str],
}

impl ParseOptions {
    /// 64 KiB and 64 parameters: room for a client assertion or a request
    /// object, far below anything that costs real memory.
    pub const DEFAULT: ParseOptions = ParseOptions {
        max_bytes: 64 * 1024,
        max_params: 64,
        repeatable: &[],
    };
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions::DEFAULT
    }
}

/// Decoded request parameters: each name at most once (except the
/// repeatable names the parser was told about), empty values absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Every pair in input order, empty values included (they count as
    /// occurrences for the duplicate rule but are never returned).
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a form body or query string (without the leading `?`) with
    /// [`ParseOptions::DEFAULT`].
    pub fn parse(input: &str) -> Result<Params, OAuthError> {
        Self::parse_with(input.as_bytes(), &ParseOptions::DEFAULT)
    }

    /// Parses raw body bytes with [`ParseOptions::DEFAULT`].
    pub fn parse_bytes(input: &[u8]) -> Result<Params, OAuthError> {
        Self::parse_with(input, &ParseOptions::DEFAULT)
    }

    /// Parses with explicit bounds and repeatable names.
    pub fn parse_with(input: &[u8], options: &ParseOptions) -> Result<Params, OAuthError> {
        if input.len() > options.max_bytes {
            return Err(OAuthError::invalid_request(
                "request parameters are too large",
            ));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for segment in input.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
            if pairs.len() == options.max_params {
                return Err(OAuthError::invalid_request("too many request parameters"));
            }
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &b""[..]),
            };
            let name = decode_bytes(name)?;
            let value = decode_bytes(value)?;
            if name.is_empty() {
                // `=value`: no name to recognise, so nothing to use.
                continue;
            }
            if pairs.iter().any(|(n, _)| *n == name) && !options.repeatable.contains(&&*name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{}` is included more than once",
                    safe_text(&name, 64)
                )));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, or `None` when absent or empty. For a
    /// repeatable name this is its first non-empty value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`, in input order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("missing required parameter `{name}`"))
        })
    }

    /// Whether `name` has a non-empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every parameter with a non-empty value, in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many parameters have a non-empty value.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a `Content-Type` header value is `application/x-www-form-urlencoded`
/// (parameters such as `charset` allowed, case-insensitive).
pub fn is_form_content_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Decodes one form-encoded component: `+` is a space, `%XX` a byte, and
/// the result must be UTF-8. Used for HTTP Basic client credentials too
/// (RFC 6749 §2.3.1).
pub fn form_decode(input: &str) -> Result<String, OAuthError> {
    decode_bytes(input.as_bytes())
}

fn decode_bytes(input: &[u8]) -> Result<String, OAuthError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |j: usize| input.get(j).and_then(|&b| (b as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(OAuthError::invalid_request("malformed percent-encoding")),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| OAuthError::invalid_request("request parameters must be UTF-8"))
}

/// Serialises pairs as `application/x-www-form-urlencoded` (the WHATWG
/// serializer: `*-._` and alphanumerics stay, space becomes `+`, every other
/// byte is `%XX`). For query strings and fragments of redirect URIs
/// (RFC 6749 §4.1.2) and for form bodies.
pub fn form_urlencode<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

/// One form-encoded component (see [`form_urlencode`]).
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    encode_into(&mut out, value);
    out
}

fn encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
    }
}

/// Client-supplied text made fit for an `error_description`: RFC 6749
/// §5.2 allows only %x20-21 / %x23-5B / %x5D-7E, so `"` becomes `'`, other
/// characters outside that set are dropped, and the result is cut to `max`
/// characters.
pub(crate) fn safe_text(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c == '"' { '\'' } else { c };
        if !matches!(c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E) {
            continue;
        }
        if out.len() == max {
            out.push_str("...");
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use authrim_protocol::ErrorCode;

    fn pairs(p: &Params) -> Vec<(&str, &str)> {
        p.iter().collect()
    }

    #[test]
    fn parses_valid_inputs() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("a=1", &[("a", "1")]),
            ("a=1&b=2", &[("a", "1"), ("b", "2")]),
            ("a=1&&b=2&", &[("a", "1"), ("b", "2")]),
            ("scope=openid+profile", &[("scope", "openid profile")]),
            ("scope=openid%20profile", &[("scope", "openid profile")]),
            ("x=a%2Bb", &[("x", "a+b")]),
            ("x=%3d%3D", &[("x", "==")]),
            ("x=a=b", &[("x", "a=b")]),
            ("x=%C3%A9", &[("x", "é")]),
            ("x=é", &[("x", "é")]),
            ("red%69rect_uri=x", &[("redirect_uri", "x")]),
            ("state=&a=1", &[("a", "1")]),
            ("state&a=1", &[("a", "1")]),
            ("=orphan&a=1", &[("a", "1")]),
            (
                "redirect_uri=https%3A%2F%2Fc.example%2Fcb%3Fx%3D1",
                &[("redirect_uri", "https://c.example/cb?x=1")],
            ),
        ];
        for (input, expected) in table {
            let p = Params::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(pairs(&p), *expected, "{input:?}");
        }
    }

    #[test]
    fn refuses_malformed_and_duplicated_inputs() {
        let table: &[(&[u8], &str)] = &[
            (b"a=%", "malformed percent-encoding"),
            (b"a=%4", "malformed percent-encoding"),
            (b"a=%G1", "malformed percent-encoding"),
            (b"a=%%41", "malformed percent-encoding"),
            (b"%zz=1", "malformed percent-encoding"),
            (b"a=%FF", "request parameters must be UTF-8"),
            (b"a=%C3", "request parameters must be UTF-8"),
            (b"a=\xff", "request parameters must be UTF-8"),
            (b"a=1&a=2", "parameter `a` is included more than once"),
            (b"a=1&a=1", "parameter `a` is included more than once"),
            // An empty occurrence still makes the request ambiguous.
            (b"a=&a=2", "parameter `a` is included more than once"),
            (b"a=1&a", "parameter `a` is included more than once"),
            (
                b"sc%6fpe=x&scope=y",
                "parameter `scope` is included more than once",
            ),
            (
                b"%22x%22=1&%22x%22=2",
                "parameter `'x'` is included more than once",
            ),
        ];
        for (input, description) in table {
            let e = Params::parse_bytes(input).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{input:?}");
            assert_eq!(e.description.as_deref(), Some(*description), "{input:?}");
        }
    }

    #[test]
    fn enforces_bounds() {
        let options = ParseOptions {
            max_bytes: 16,
            max_params: 3,
            repeatable: &[],
        };
        let ok: &[&str] = &["a=1&b=2&c=3", "aaaaaaaaaaaaaa=1", "a=1&&&&&&b=2"];
        for input in ok {
            Params::parse_with(input.as_bytes(), &options).unwrap();
        }
        let too_big: &[(&str, &str)] = &[
            ("a=1&b=2&c=3&d=4", "too many request parameters"),
            ("a&b&c&d", "too many request parameters"),
            ("aaaaaaaaaaaaaaa=1", "request parameters are too large"),
        ];
        for (input, description) in too_big {
            let e = Params::parse_with(input.as_bytes(), &options).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert_eq!(e.description.as_deref(), Some(*description), "{input}");
        }
        let huge = format!("a={}", "x".repeat(ParseOptions::DEFAULT.max_bytes));
        assert!(Params::parse(&huge).is_err());
        let many: Vec<String> = (0..=ParseOptions::DEFAULT.max_params)
            .map(|i| format!("p{i}=1"))
            .collect();
        assert!(Params::parse(&many.join("&")).is_err());
        assert!(Params::parse(&many[1..].join("&")).is_ok());
    }

    #[test]
    fn repeatable_names_keep_every_value() {
        let options = ParseOptions {
            repeatable: &["resource"],
            ..ParseOptions::DEFAULT
        };
        let p = Params::parse_with(
            b"resource=https%3A%2F%2Fa&resource=&resource=b&x=1",
            &options,
        )
        .unwrap();
        assert_eq!(
            p.get_all("resource").collect::<Vec<_>>(),
            ["https://a", "b"]
        );
        assert_eq!(p.get("resource"), Some("https://a"));
        assert!(Params::parse_with(b"x=1&x=2", &options).is_err());
    }

    #[test]
    fn accessors_treat_empty_as_absent() {
        let p = Params::parse("a=1&b=&c").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), None);
        assert!(p.contains("a") && !p.contains("b") && !p.contains("zz"));
        assert_eq!(p.len(), 1);
        assert_eq!(p.require("a").unwrap(), "1");
        let e = p.require("b").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(
            e.description.as_deref(),
            Some("missing required parameter `b`")
        );
        assert!(Params::parse("").unwrap().is_empty());
    }

    #[test]
    fn encodes_and_round_trips() {
        let table: &[(&str, &str)] = &[
            ("", ""),
            ("abcXYZ019", "abcXYZ019"),
            ("*-._", "*-._"),
            ("a b", "a+b"),
            ("a+b", "a%2Bb"),
            ("~", "%7E"),
            (
                "https://c.example/cb?x=1&y=2#f",
                "https%3A%2F%2Fc.example%2Fcb%3Fx%3D1%26y%3D2%23f",
            ),
            ("é", "%C3%A9"),
            ("%", "%25"),
        ];
        for (plain, encoded) in table {
            assert_eq!(form_encode(plain), *encoded);
            assert_eq!(form_decode(encoded).unwrap(), *plain);
        }
        let query = form_urlencode([("code", "a/b"), ("state", "x y"), ("iss", "https://i")]);
        assert_eq!(query, "code=a%2Fb&state=x+y&iss=https%3A%2F%2Fi");
        let back = Params::parse(&query).unwrap();
        assert_eq!(
            pairs(&back),
            [("code", "a/b"), ("state", "x y"), ("iss", "https://i")]
        );
        assert_eq!(form_urlencode(std::iter::empty()), "");
    }

    #[test]
    fn content_type() {
        for ok in [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-Urlencoded ;charset=utf-8",
        ] {
            assert!(is_form_content_type(ok), "{ok}");
        }
        for bad in [
            "application/json",
            "",
            "multipart/form-data",
            "application/x-www-form-urlencodedx",
        ] {
            assert!(!is_form_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn safe_text_keeps_descriptions_in_the_allowed_set() {
        assert_eq!(safe_text("a\"b\\c\u{7f}\né", 64), "a'bc");
        assert_eq!(safe_text("abcdef", 3), "abc...");
        assert_eq!(safe_text("abc", 3), "abc");
    }
}
