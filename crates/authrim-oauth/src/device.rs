//! The Device Authorization Grant (RFC 8628), pure parts: user codes, the
//! lifetime and polling interval in force for a client, and the grant
//! type's name.
//!
//! User codes (RFC 8628 §6.1): 8 characters from 20 consonants, no vowels
//! (so no words) and none of the easily confused letters; shown as
//! `WDJB-MJHT`, accepted case- and dash-insensitively. 20^8 ≈ 2^34.6
//! codes; brute force is stopped by the rate limits of the verification
//! page, and a code lives minutes.

/// `grant_type` of the token request (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The user-code alphabet (RFC 8628 §6.1's example: "BCDFGHJKLMNPQRSTVWXZ").
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code (without the separator).
pub const USER_CODE_LEN: usize = 8;
/// Longest typed input looked at (spaces, dashes and all).
pub const MAX_USER_CODE_INPUT: usize = 64;

/// Default lifetime of a device code in seconds (spin variable
/// `device_code_ttl`).
pub const DEFAULT_DEVICE_CODE_TTL: i64 = 600;
/// Default polling interval in seconds (spin variable
/// `device_poll_interval`; RFC 8628 §3.2: "If no value is provided,
/// clients MUST use 5 as the default").
pub const DEFAULT_POLL_INTERVAL: i64 = 5;
/// Bounds for lifetimes and intervals, globally and per client.
pub const TTL_RANGE: std::ops::RangeInclusive<i64> = 60..=86_400;
pub const INTERVAL_RANGE: std::ops::RangeInclusive<i64> = 1..=300;

/// A user code, normalised: [`USER_CODE_LEN`] characters of the alphabet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// A code from random bytes, each mapped to the alphabet by rejection
    /// sampling (bytes of 240 and above are skipped: 240 = 12 × 20, so
    /// every letter is equally likely). `None` when the bytes run out
    /// first; the caller draws again.
    pub fn from_random(bytes: &[u8]) -> Option<UserCode> {
        let code: String = bytes
            .iter()
            .filter(|b| **b < 240)
            .take(USER_CODE_LEN)
            .map(|b| USER_CODE_ALPHABET[usize::from(*b % 20)] as char)
            .collect();
        (code.len() == USER_CODE_LEN).then_some(UserCode(code))
    }

    /// What a user typed: ASCII letters in any case, with any dashes and
    /// white space between them. `None` unless that leaves exactly a code
    /// of the alphabet.
    pub fn parse(input: &str) -> Option<UserCode> {
        if input.len() > MAX_USER_CODE_INPUT {
            return None;
        }
        let code: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\t' | '\u{2010}'..='\u{2015}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let ok =
            code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        ok.then_some(UserCode(code))
    }

    /// The stored form, `WDJBMJHT`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The displayed form, `WDJB-MJHT`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// Lifetime and polling interval for one client: its own registration
/// (`device_code_ttl`, `device_poll_interval`) over the deployment's.
pub fn settings(
    global_ttl: i64,
    global_interval: i64,
    client_ttl: Option<u64>,
    client_interval: Option<u64>,
) -> (i64, i64) {
    let pick =
        |own: Option<u64>, global: i64| own.and_then(|v| i64::try_from(v).ok()).unwrap_or(global);
    (
        pick(client_ttl, global_ttl),
        pick(client_interval, global_interval),
    )
}

/// Parses a deployment variable in `range`, `default` when empty.
pub fn parse_setting(
    raw: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Option<i64> {
    match raw.map(str::trim) {
        None | Some("") => Some(default),
        Some(v) => v.parse::<i64>().ok().filter(|n| range.contains(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_20_distinct_consonants() {
        let mut letters = USER_CODE_ALPHABET.to_vec();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(letters.len(), 20);
        for b in USER_CODE_ALPHABET {
            assert!(b.is_ascii_uppercase());
            assert!(!b"AEIOUY".contains(b), "{}", *b as char);
        }
    }

    #[test]
    fn codes_from_random_bytes_are_uniform_and_skip_biased_bytes() {
        let code = UserCode::from_random(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        assert_eq!(code.as_str(), "BCDFGHJK");
        assert_eq!(code.display(), "BCDF-GHJK");
        // 240..=255 would favour the first 16 letters: skipped.
        let code = UserCode::from_random(&[255, 240, 19, 39, 59, 79, 99, 119, 139, 159]).unwrap();
        assert_eq!(code.as_str(), "ZZZZZZZZ");
        assert_eq!(UserCode::from_random(&[250; 32]), None);
        assert_eq!(UserCode::from_random(&[1; 7]), None);
        // Every byte below 240 maps each letter exactly 12 times.
        let mut counts = [0u32; 20];
        for b in 0u8..240 {
            let c = UserCode::from_random(&[b; 8]).unwrap();
            let i = USER_CODE_ALPHABET
                .iter()
                .position(|x| *x == c.as_str().as_bytes()[0])
                .unwrap();
            counts[i] += 1;
        }
        assert!(counts.iter().all(|n| *n == 12), "{counts:?}");
    }

    #[test]
    fn typed_codes_are_normalised() {
        for input in [
            "WDJB-MJHT",
            "wdjb-mjht",
            "WDJBMJHT",
            " wdjb mjht ",
            "w-d-j-b-m-j-h-t",
            "WDJB\u{2013}MJHT",
        ] {
            assert_eq!(
                UserCode::parse(input).map(|c| c.as_str().to_string()),
                Some("WDJBMJHT".to_string()),
                "{input:?}"
            );
        }
        for bad in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTB",
            "WDJB-MJHA",
            "WDJB_MJHT",
            "WDJB-MJH1",
            "ＷDJB-MJHT",
            &"-".repeat(70),
        ] {
            assert_eq!(UserCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn client_settings_override_the_deployment() {
        assert_eq!(settings(600, 5, None, None), (600, 5));
        assert_eq!(settings(600, 5, Some(120), Some(10)), (120, 10));
        assert_eq!(settings(600, 5, None, Some(2)), (600, 2));
        assert_eq!(parse_setting(None, 600, TTL_RANGE), Some(600));
        assert_eq!(parse_setting(Some(" "), 5, INTERVAL_RANGE), Some(5));
        assert_eq!(parse_setting(Some("30"), 5, INTERVAL_RANGE), Some(30));
        for bad in ["0", "-1", "301", "x", "1.5"] {
            assert_eq!(parse_setting(Some(bad), 5, INTERVAL_RANGE), None, "{bad}");
        }
    }
}
