//! The settings of an HTTP service geosync talks to, spelt the same in every
//! section that names one (`[geoserver]`, `[geonetwork]`): a sysadmin who
//! tuned one knows the other.

use std::time::Duration;

use toml::Spanned;

use super::lower::Lowerer;

/// Timeouts and retries of one service's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// A whole request, from connecting to the last byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts after the first for an idempotent request that met a
    /// connection error or a 5xx.
    pub retries: u32,
    /// The first delay between attempts, doubled at each retry.
    pub backoff: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

/// The section's raw keys: `timeout`, `connect_timeout` (seconds),
/// `retries`, `retry_backoff_ms`.
pub struct RawHttpKeys<'a> {
    pub timeout: &'a Option<Spanned<i64>>,
    pub connect_timeout: &'a Option<Spanned<i64>>,
    pub retries: &'a Option<Spanned<i64>>,
    pub retry_backoff_ms: &'a Option<Spanned<i64>>,
}

impl RawHttpKeys<'_> {
    pub fn any(&self) -> bool {
        self.timeout.is_some()
            || self.connect_timeout.is_some()
            || self.retries.is_some()
            || self.retry_backoff_ms.is_some()
    }
}

impl Lowerer<'_> {
    /// The settings, each key checked against its bounds, the documented
    /// default for each key left out.
    pub fn http_settings(&mut self, raw: &RawHttpKeys, subject: &str) -> HttpSettings {
        let defaults = HttpSettings::default();
        let mut bounded = |value: &Option<Spanned<i64>>, what: &str, min: i64, max: i64| {
            value
                .as_ref()
                .map(|v| self.bounded(v, subject, what, min, max) as u64)
        };
        HttpSettings {
            timeout: bounded(raw.timeout, "timeout", 1, 3600).map_or(defaults.timeout, Duration::from_secs),
            connect_timeout: bounded(raw.connect_timeout, "connect_timeout", 1, 600)
                .map_or(defaults.connect_timeout, Duration::from_secs),
            retries: bounded(raw.retries, "retries", 0, 10).map_or(defaults.retries, |r| r as u32),
            backoff: bounded(raw.retry_backoff_ms, "retry_backoff_ms", 1, 60_000)
                .map_or(defaults.backoff, Duration::from_millis),
        }
    }
}
