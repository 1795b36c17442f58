//! Time: instants are `Millis` (epoch milliseconds, UTC), spans are `std::time::Duration`,
//! and both are shown as RFC 3339 UTC. Epoch seconds exist only where DynamoDB's TTL needs them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant, as milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub fn now() -> Millis {
        Millis(now_ms())
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Millis {
        Millis(self.0.saturating_add(duration_ms(d)))
    }

    pub fn minus(self, d: Duration) -> Millis {
        Millis(self.0.saturating_sub(duration_ms(d)))
    }

    /// How long after `earlier` this instant is (zero when it is not after it).
    pub fn since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Epoch seconds, for DynamoDB's TTL attribute.
    pub fn epoch_secs(self) -> u64 {
        self.0 / 1000
    }

    pub fn rfc3339(self) -> String {
        rfc3339(self.0)
    }

    /// Float epoch seconds, as the flat payload's and the Web Hook Event's `event_timestamp`
    /// (`1512624088.977`).
    pub fn epoch_seconds_f64(self) -> f64 {
        epoch_seconds(self.0)
    }

    /// Parses an RFC 3339 date-time (any offset) into an instant.
    pub fn parse_rfc3339(text: &str) -> Option<Millis> {
        let dt = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
        u64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok().map(Millis)
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

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

/// Float epoch seconds, as the flat payload's and the Web Hook Event's `event_timestamp`
/// (`1512624088.977`).
pub fn epoch_seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Parses an HTTP-date or RFC 3339 string into an instant (used for `Retry-After`).
pub fn parse_http_date(text: &str) -> Option<Millis> {
    if let Some(m) = Millis::parse_rfc3339(text) {
        return Some(m);
    }
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let dt = time::PrimitiveDateTime::parse(text.trim(), &fmt).ok()?.assume_utc();
    u64::try_from(dt.unix_timestamp()).ok().map(|s| Millis(s * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_millis() {
        assert_eq!(rfc3339(1_705_314_600_123), "2024-01-15T10:30:00.123Z");
        assert_eq!(Millis(1_512_624_088_977).epoch_seconds_f64(), 1_512_624_088.977);
    }

    #[test]
    fn parses_rfc3339_and_http_dates() {
        assert_eq!(parse_http_date("Mon, 15 Jan 2024 10:30:00 GMT"), Some(Millis(1_705_314_600_000)));
        assert_eq!(parse_http_date("2024-01-15T10:30:00Z"), Some(Millis(1_705_314_600_000)));
        assert_eq!(Millis::parse_rfc3339("2024-01-15T11:30:00.250+01:00"), Some(Millis(1_705_314_600_250)));
        assert_eq!(parse_http_date("soon"), None);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Millis(5).minus(Duration::from_secs(1)), Millis(0));
        assert_eq!(Millis(5).since(Millis(9)), Duration::ZERO);
        assert_eq!(Millis(1_000).plus(Duration::from_millis(500)), Millis(1_500));
        assert_eq!(Millis(61_999).epoch_secs(), 61);
    }
}
