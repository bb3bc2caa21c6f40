//! The little JSON the store itself needs, without a JSON library (whose
//! generic machinery would be a fifth of this component's size):
//! validating that a claims set is a JSON object, and the `amr` list
//! stored as a JSON array of strings.

const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.s.get(self.i..self.i + 4)?;
        let text = std::str::from_utf8(hex).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(text, 16).ok()
    }

    /// A string (after its opening quote), decoded into `out` if given.
    fn string(&mut self, mut out: Option<&mut String>) -> Option<()> {
        loop {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.i += 1;
            }
            if let Some(out) = out.as_deref_mut() {
                // The input is a &str and we stopped at ASCII bytes, so the
                // run is valid UTF-8.
                out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            }
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    let c = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return None;
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            self.i -= 1; // the common `self.i += 1` below
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    self.i += 1;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                _ => return None, // control character
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.eat(b'}') {
                    return Some(());
                }
                loop {
                    self.ws();
                    if !self.eat(b'"') {
                        return None;
                    }
                    self.string(None)?;
                    self.ws();
                    if !self.eat(b':') {
                        return None;
                    }
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b'}') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.eat(b']') {
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b']') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'"' => {
                self.i += 1;
                self.string(None)
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }
}

/// Whether `text` is exactly one JSON object (RFC 8259), surrounding
/// whitespace allowed.
pub fn is_object(text: &str) -> bool {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    if p.peek() != Some(b'{') || p.value(0).is_none() {
        return false;
    }
    p.ws();
    p.i == p.s.len()
}

/// Writes `s` as a JSON string.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let v = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[v >> 4]));
                out.push(char::from(HEX[v & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `["a","b"]`
pub fn string_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, item);
    }
    out.push(']');
    out
}

/// Reads a JSON array of strings.
pub fn parse_string_array(text: &str) -> Option<Vec<String>> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut items = Vec::new();
    p.ws();
    if !p.eat(b'[') {
        return None;
    }
    p.ws();
    if !p.eat(b']') {
        loop {
            p.ws();
            if !p.eat(b'"') {
                return None;
            }
            let mut item = String::new();
            p.string(Some(&mut item))?;
            items.push(item);
            p.ws();
            if p.eat(b']') {
                break;
            }
            if !p.eat(b',') {
                return None;
            }
        }
    }
    p.ws();
    (p.i == p.s.len()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects() {
        for ok in [
            "{}",
            " { } ",
            r#"{"sub":"a","n":-1.5e+3,"z":0,"l":[1,[],{}],"t":true,"f":false,"x":null}"#,
            r#"{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}"#,
            "{\"é\":\"ü\"}",
        ] {
            assert!(is_object(ok), "{ok}");
        }
        for bad in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{}}",
            "{} x",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{a:1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":"\x"}"#,
            r#"{"a":"\ud83d"}"#,
            r#"{"a":"\u12"}"#,
        ] {
            assert!(!is_object(bad), "{bad}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(!is_object(&deep), "depth limit");
    }

    #[test]
    fn string_arrays() {
        let items: Vec<String> = ["pwd", "", "a\"b\\c", "line\nbreak\u{1}", "é😀"]
            .map(String::from)
            .to_vec();
        let json = string_array(&items);
        assert_eq!(parse_string_array(&json).unwrap(), items);
        assert_eq!(string_array(&[]), "[]");
        assert_eq!(parse_string_array(" [ ] ").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_string_array(r#"["\u00e9\ud83d\ude00"]"#).unwrap(),
            ["é😀"]
        );
        assert!(parse_string_array(r#"["a",]"#).is_none());
        assert!(parse_string_array(r#"["a"] x"#).is_none());
        assert!(parse_string_array(r#"[1]"#).is_none());
    }
}
