//! Deployment settings, read from Spin variables by the component.

use authrim_oauth::device::{
    parse_setting, DEFAULT_DEVICE_CODE_TTL, DEFAULT_POLL_INTERVAL, INTERVAL_RANGE, TTL_RANGE,
};
use authrim_protocol::Issuer;

use crate::ciba::webhook::Webhook;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub issuer: Issuer,
    /// Spin variable `device_code_ttl`: lifetime of a device code, seconds
    /// (60 to 86400; default 600).
    pub device_code_ttl: i64,
    /// Spin variable `device_poll_interval`: seconds a client must wait
    /// between polls (1 to 300; default 5).
    pub device_poll_interval: i64,
    /// Spin variables `ciba_webhook_url` and `ciba_webhook_secret`: the
    /// outbound webhook for new CIBA requests (`ciba::webhook`); off when
    /// the URL is empty.
    pub ciba_webhook: Option<Webhook>,
}

impl Config {
    /// Reads the variables through `get` (absent → default). Errors name
    /// the variable; they are the operator's, so the caller logs them.
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let raw = get("issuer").ok_or("variable `issuer` is not set")?;
        let issuer = Issuer::parse(raw.trim()).map_err(|e| e.to_string())?;
        let ttl = get("device_code_ttl");
        let device_code_ttl = parse_setting(ttl.as_deref(), DEFAULT_DEVICE_CODE_TTL, TTL_RANGE)
            .ok_or("variable `device_code_ttl` must be 60 to 86400 seconds")?;
        let interval = get("device_poll_interval");
        let device_poll_interval =
            parse_setting(interval.as_deref(), DEFAULT_POLL_INTERVAL, INTERVAL_RANGE)
                .ok_or("variable `device_poll_interval` must be 1 to 300 seconds")?;
        let ciba_webhook = Webhook::from_settings(
            &get("ciba_webhook_url").unwrap_or_default(),
            &get("ciba_webhook_secret").unwrap_or_default(),
        )?;
        Ok(Config {
            issuer,
            device_code_ttl,
            device_poll_interval,
            ciba_webhook,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_variables(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_values_and_errors() {
        let c = read(&[("issuer", "https://id.example.com")]).unwrap();
        assert_eq!((c.device_code_ttl, c.device_poll_interval), (600, 5));
        assert_eq!(c.ciba_webhook, None);
        assert!(read(&[
            ("issuer", "https://id.example.com"),
            ("ciba_webhook_url", "http://hooks.example/x")
        ])
        .is_err());
        let c = read(&[
            ("issuer", "https://id.example.com"),
            ("device_code_ttl", "900"),
            ("device_poll_interval", "10"),
        ])
        .unwrap();
        assert_eq!((c.device_code_ttl, c.device_poll_interval), (900, 10));
        assert!(read(&[]).is_err());
        assert!(read(&[
            ("issuer", "https://id.example.com"),
            ("device_code_ttl", "5")
        ])
        .is_err());
        assert!(read(&[
            ("issuer", "https://id.example.com"),
            ("device_poll_interval", "0")
        ])
        .is_err());
    }
}
