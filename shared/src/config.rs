//! Deployment settings, read once per cold start from the environment.

use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use crate::credentials;

/// The default retry schedule of docs/api.md §6: the delay before attempts 2..=8.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// Longest allowed delivery timeout; the template gives the delivery function 60 s.
pub const MAX_DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("{0} must be set")]
    Missing(&'static str),
}

/// A CIDR block that the destination guard lets through although it is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Option<IpNet> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = text.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The single DynamoDB table holding every item.
    pub table: String,
    /// The delivery queue's URL.
    pub queue_url: String,
    /// Its dead-letter queue, which the repair sweep drains back (delivery function only).
    pub dead_letter_queue_url: Option<String>,
    /// SHA-256 of the admin token; `None` means no admin route can succeed.
    pub admin_token_sha256: Option<String>,
    /// Delays before attempts 2, 3, …; its length + 1 is the number of attempts.
    pub retry_schedule: Vec<Duration>,
    pub delivery_timeout: Duration,
    /// Accept `http://` webhook URLs (local runs).
    pub allow_http: bool,
    /// Let deliveries reach any address, loopback and private included (local runs).
    pub allow_private_destinations: bool,
    /// Non-public ranges that are still allowed as destinations.
    pub allowed_networks: Vec<IpNet>,
    /// The deployment's own AWS account (docs/api.md §16): destination roles in it are refused
    /// unless `allow_own_account_roles`.
    pub aws_account_id: Option<String>,
    pub allow_own_account_roles: bool,
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub retention_days: u32,
    /// Auto-disable (docs/api.md §12): how long a webhook must have been failing, and how many of
    /// its last attempts must all have failed, before it is disabled.
    pub disable_after: Duration,
    pub disable_after_failures: u32,
    /// Base of the portal URLs (docs/api.md §13); `None`: the scheme and host the request came
    /// in on.
    pub public_url: Option<String>,
    /// CSP `frame-ancestors` sources of the dashboard (docs/api.md §13).
    pub portal_frame_ancestors: String,
    /// How long a claim outlives the HTTP timeout (the storage calls around the POST).
    /// Not an environment setting: tests shorten it to watch a crashed claim expire.
    pub lease_margin: Duration,
    /// How long queueing one intake request's wake-ups may take in all, so that many slow
    /// sends still answer 503 well within the function's 29 s. Not an environment
    /// setting either: tests shorten it.
    pub queue_budget: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            table: "hookline".into(),
            queue_url: String::new(),
            dead_letter_queue_url: None,
            admin_token_sha256: None,
            retry_schedule: parse_schedule(DEFAULT_RETRY_SCHEDULE).expect("default schedule"),
            delivery_timeout: Duration::from_secs(10),
            allow_http: false,
            allow_private_destinations: false,
            allowed_networks: Vec::new(),
            aws_account_id: None,
            allow_own_account_roles: false,
            rate_limit_per_minute: 100,
            rate_limit_burst: 200,
            retention_days: 30,
            disable_after: Duration::from_secs(5 * 86_400),
            disable_after_failures: 20,
            public_url: None,
            portal_frame_ancestors: "'self'".into(),
            lease_margin: Duration::from_secs(10),
            queue_budget: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// What a webhook's `destination` may be here (docs/api.md §16).
    pub fn destination_rules(&self) -> crate::destination::DestinationRules {
        crate::destination::DestinationRules {
            own_account: self.aws_account_id.clone(),
            allow_own_account_roles: self.allow_own_account_roles,
            allow_local: self.allow_private_destinations,
        }
    }

    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds settings from any variable source, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        if let Some(v) = get("HOOKLINE_TABLE") {
            s.table = v;
        }
        s.queue_url = get("HOOKLINE_QUEUE_URL").unwrap_or_default();
        s.dead_letter_queue_url = get("HOOKLINE_DEAD_LETTER_QUEUE_URL");
        s.admin_token_sha256 = match (get("HOOKLINE_ADMIN_TOKEN_SHA256"), get("HOOKLINE_ADMIN_TOKEN")) {
            (Some(hash), _) => {
                let hash = hash.trim().to_ascii_lowercase();
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("HOOKLINE_ADMIN_TOKEN_SHA256", "must be 64 hex digits"));
                }
                Some(hash)
            }
            (None, Some(token)) => Some(credentials::sha256_hex(token.trim())),
            (None, None) => None,
        };
        if let Some(v) = get("HOOKLINE_RETRY_SCHEDULE") {
            s.retry_schedule = parse_schedule(&v).map_err(|p| invalid("HOOKLINE_RETRY_SCHEDULE", &p))?;
        }
        if let Some(v) = get("HOOKLINE_DELIVERY_TIMEOUT") {
            s.delivery_timeout = parse_duration(&v).map_err(|p| invalid("HOOKLINE_DELIVERY_TIMEOUT", &p))?;
            // The delivery function (60 s) must outlive a timed-out attempt and its bookkeeping.
            if s.delivery_timeout.is_zero() || s.delivery_timeout > MAX_DELIVERY_TIMEOUT {
                return Err(invalid("HOOKLINE_DELIVERY_TIMEOUT", "must be between 1ms and 30s"));
            }
        }
        s.allow_http = parse_bool(&get, "HOOKLINE_ALLOW_HTTP")?.unwrap_or(false);
        s.allow_private_destinations = parse_bool(&get, "HOOKLINE_ALLOW_PRIVATE_DESTINATIONS")?.unwrap_or(false);
        s.aws_account_id = get("HOOKLINE_AWS_ACCOUNT_ID").filter(|v| !v.trim().is_empty());
        s.allow_own_account_roles = parse_bool(&get, "HOOKLINE_ALLOW_OWN_ACCOUNT_ROLES")?.unwrap_or(false);
        if let Some(v) = get("HOOKLINE_ALLOWED_NETWORKS") {
            s.allowed_networks = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    IpNet::parse(p)
                        .ok_or_else(|| invalid("HOOKLINE_ALLOWED_NETWORKS", &format!("`{p}` is not a CIDR block")))
                })
                .collect::<Result<_, _>>()?;
        }
        s.rate_limit_per_minute = parse_num(&get, "HOOKLINE_RATE_LIMIT_PER_MINUTE")?.unwrap_or(100);
        s.rate_limit_burst = parse_num(&get, "HOOKLINE_RATE_LIMIT_BURST")?.unwrap_or(200);
        s.retention_days = parse_num(&get, "HOOKLINE_RETENTION_DAYS")?.unwrap_or(30);
        if s.rate_limit_per_minute == 0 || s.rate_limit_burst == 0 || s.retention_days == 0 {
            return Err(invalid("HOOKLINE_RATE_LIMIT_*/HOOKLINE_RETENTION_DAYS", "must be positive"));
        }
        // The limiter counts in milliseconds: one request per ms is its finest rate.
        if s.rate_limit_per_minute > 60_000 {
            return Err(invalid("HOOKLINE_RATE_LIMIT_PER_MINUTE", "must be at most 60000"));
        }
        if let Some(v) = get("HOOKLINE_DISABLE_AFTER") {
            s.disable_after = parse_span(&v, MAX_DISABLE_AFTER).map_err(|p| invalid("HOOKLINE_DISABLE_AFTER", &p))?;
        }
        s.disable_after_failures = parse_num(&get, "HOOKLINE_DISABLE_AFTER_FAILURES")?.unwrap_or(20);
        if s.disable_after_failures == 0 {
            return Err(invalid("HOOKLINE_DISABLE_AFTER_FAILURES", "must be positive"));
        }
        if let Some(v) = get("HOOKLINE_PUBLIC_URL") {
            s.public_url = Some(parse_public_url(&v).map_err(|p| invalid("HOOKLINE_PUBLIC_URL", &p))?);
        }
        if let Some(v) = get("HOOKLINE_PORTAL_FRAME_ANCESTORS") {
            let v = v.trim();
            // Each source is one token; `;`, `,` or quotes out of place would break the policy header.
            let ok = v.split_ascii_whitespace().all(|src| {
                src.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"'))
                    && (!src.contains('\'') || matches!(src, "'self'" | "'none'"))
            });
            if !ok {
                return Err(invalid(
                    "HOOKLINE_PORTAL_FRAME_ANCESTORS",
                    "must be space-separated CSP sources, e.g. 'self' https://app.example.com",
                ));
            }
            s.portal_frame_ancestors = v.to_string();
        }
        Ok(s)
    }

    /// `portal_frame_ancestors` as a list of sources (docs/api.md §13).
    pub fn frame_ancestors(&self) -> Vec<String> {
        self.portal_frame_ancestors.split_whitespace().map(str::to_string).collect()
    }

    /// Total attempts a delivery gets: the first plus one per schedule step.
    pub fn max_attempts(&self) -> u32 {
        self.retry_schedule.len() as u32 + 1
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days) * 86_400)
    }
}

fn invalid(name: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid { name, problem: problem.to_string() }
}

fn parse_bool(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<bool>, ConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes") => Ok(Some(true)),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => Ok(Some(false)),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

fn parse_num(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<u32>, ConfigError> {
    get(name).map(|v| v.trim().parse::<u32>().map_err(|_| invalid(name, "must be a whole number"))).transpose()
}

/// The longest `HOOKLINE_DISABLE_AFTER` (it must stay well within the retention).
const MAX_DISABLE_AFTER: Duration = Duration::from_secs(90 * 86_400);

/// The public base URL: absolute http(s), no query or fragment, no trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|_| format!("`{text}` is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{text}` must be an http(s) URL without query or fragment"));
    }
    Ok(trimmed.to_string())
}

/// Parses `500ms`, `5s`, `5m`, `2h`, `1d` (a bare number means seconds), at most 7 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_span(text, Duration::from_secs(7 * 86_400))
}

fn parse_span(text: &str, max: Duration) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration like 5s, 5m or 2h"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return Err(format!("`{text}` has an unknown unit (use ms, s, m, h or d)")),
    };
    if !secs.is_finite() || !(0.0..=max.as_secs_f64()).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let steps =
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse_duration).collect::<Result<Vec<_>, _>>()?;
    if steps.len() > 20 {
        return Err("at most 20 retries".into());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings read from these variables alone.
    fn settings_from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn default_schedule_is_eight_attempts_over_about_28_hours() {
        let s = Settings::default();
        assert_eq!(s.max_attempts(), 8);
        let total: Duration = s.retry_schedule.iter().sum();
        assert_eq!(total.as_secs(), 5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 36_000);
    }

    #[test]
    fn reads_local_settings() {
        let s = settings_from(&[
            ("HOOKLINE_RETRY_SCHEDULE", "1s,2s,5s"),
            ("HOOKLINE_DELIVERY_TIMEOUT", "3s"),
            ("HOOKLINE_ALLOW_HTTP", "true"),
            ("HOOKLINE_ADMIN_TOKEN", "secret"),
            ("HOOKLINE_ALLOWED_NETWORKS", "10.1.0.0/16, fd00::/8"),
        ])
        .unwrap();
        assert_eq!(s.retry_schedule, vec![Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(5)]);
        assert_eq!(s.delivery_timeout, Duration::from_secs(3));
        assert!(s.allow_http);
        assert_eq!(s.admin_token_sha256.as_deref(), Some(credentials::sha256_hex("secret").as_str()));
        assert!(s.allowed_networks[0].contains("10.1.200.3".parse().unwrap()));
        assert!(!s.allowed_networks[0].contains("10.2.0.1".parse().unwrap()));
        assert!(s.allowed_networks[1].contains("fd12::1".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(settings_from(&[("HOOKLINE_RETRY_SCHEDULE", "5x")]).is_err());
        assert!(settings_from(&[("HOOKLINE_ALLOW_HTTP", "maybe")]).is_err());
        assert!(settings_from(&[("HOOKLINE_ADMIN_TOKEN_SHA256", "abc")]).is_err());
        assert!(settings_from(&[("HOOKLINE_ALLOWED_NETWORKS", "10.0.0.0/99")]).is_err());
        assert!(settings_from(&[("HOOKLINE_RATE_LIMIT_BURST", "0")]).is_err());
        assert!(settings_from(&[("HOOKLINE_RATE_LIMIT_PER_MINUTE", "1000000")]).is_err());
        assert!(settings_from(&[("HOOKLINE_DELIVERY_TIMEOUT", "45s")]).is_err());
        assert!(settings_from(&[("HOOKLINE_DISABLE_AFTER_FAILURES", "0")]).is_err());
        assert!(settings_from(&[("HOOKLINE_PUBLIC_URL", "not a url")]).is_err());
        assert!(settings_from(&[("HOOKLINE_PORTAL_FRAME_ANCESTORS", "'self'; script-src *")]).is_err());
    }

    #[test]
    fn reads_portal_and_disable_settings() {
        let s = settings_from(&[
            ("HOOKLINE_DISABLE_AFTER", "30d"),
            ("HOOKLINE_DISABLE_AFTER_FAILURES", "3"),
            ("HOOKLINE_PUBLIC_URL", "https://hooks.example.com/"),
            ("HOOKLINE_PORTAL_FRAME_ANCESTORS", "'self' https://app.example.com"),
        ])
        .unwrap();
        assert_eq!(s.disable_after, Duration::from_secs(30 * 86_400));
        assert_eq!(s.disable_after_failures, 3);
        assert_eq!(s.public_url.as_deref(), Some("https://hooks.example.com"));
        assert_eq!(s.portal_frame_ancestors, "'self' https://app.example.com");
        let d = Settings::default();
        assert_eq!((d.disable_after, d.disable_after_failures), (Duration::from_secs(5 * 86_400), 20));
    }
}
