//! Wall-clock helpers: everything is stored as epoch milliseconds and shown as RFC 3339 UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// RFC 3339 with millisecond precision, e.g. `2024-01-15T10:30:00.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let dt =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (dt.year(), dt.month() as u8, dt.day());
    let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z", ms % 1000)
}

/// Float epoch seconds, as 003's `event_timestamp` (`1512624088.977`).
pub fn epoch_seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Parses an HTTP-date or RFC 3339 string into epoch ms (used for `Retry-After`).
pub fn parse_http_date(text: &str) -> Option<u64> {
    if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
        return u64::try_from(dt.unix_timestamp()).ok().map(|s| s * 1000);
    }
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let dt = time::PrimitiveDateTime::parse(text.trim(), &fmt).ok()?.assume_utc();
    u64::try_from(dt.unix_timestamp()).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_millis() {
        assert_eq!(rfc3339(1_705_314_600_123), "2024-01-15T10:30:00.123Z");
        assert_eq!(epoch_seconds(1_512_624_088_977), 1_512_624_088.977);
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(parse_http_date("Mon, 15 Jan 2024 10:30:00 GMT"), Some(1_705_314_600_000));
        assert_eq!(parse_http_date("2024-01-15T10:30:00Z"), Some(1_705_314_600_000));
        assert_eq!(parse_http_date("soon"), None);
    }
}
