//! When the next attempt of a failed delivery happens.

use std::time::Duration;

use crate::clock::{self, Millis};

/// Spread of the random jitter around each scheduled delay (±10 %).
const JITTER: f64 = 0.10;
/// Never retry sooner than this, whatever a `Retry-After` says.
const MIN_DELAY: Duration = Duration::from_secs(1);

/// The delay before the next attempt after `attempts_done` attempts failed, or
/// `None` when the schedule is used up. `jitter` is a random number in [-1, 1].
/// A `Retry-After` is honoured when it falls within the schedule's next step.
pub fn next_delay(
    schedule: &[Duration],
    attempts_done: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    let step = *schedule.get(attempts_done.checked_sub(1)? as usize)?;
    if let Some(ra) = retry_after.filter(|ra| *ra <= step) {
        return Some(ra.max(MIN_DELAY.min(step)));
    }
    let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
    Some(step.mul_f64(factor))
}

/// `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: Millis) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    clock::parse_http_date(v).map(|at| at.since(now))
}

pub fn random_jitter() -> f64 {
    rand::random_range(-1.0..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &[u64]) -> Vec<Duration> {
        s.iter().map(|x| Duration::from_secs(*x)).collect()
    }

    #[test]
    fn follows_the_schedule_then_stops() {
        let s = secs(&[5, 300, 1800]);
        assert_eq!(next_delay(&s, 1, None, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(next_delay(&s, 2, None, 0.0), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(&s, 3, None, 0.0), Some(Duration::from_secs(1800)));
        assert_eq!(next_delay(&s, 4, None, 0.0), None);
        assert_eq!(next_delay(&s, 0, None, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let s = secs(&[300]);
        assert_eq!(next_delay(&s, 1, None, 1.0), Some(Duration::from_secs(330)));
        assert_eq!(next_delay(&s, 1, None, -1.0), Some(Duration::from_secs(270)));
        assert_eq!(next_delay(&s, 1, None, 7.0), Some(Duration::from_secs(330)));
    }

    #[test]
    fn retry_after_within_the_next_step_is_honoured() {
        let s = secs(&[300]);
        assert_eq!(next_delay(&s, 1, Some(Duration::from_secs(60)), 0.5), Some(Duration::from_secs(60)));
        assert_eq!(next_delay(&s, 1, Some(Duration::from_secs(0)), 0.5), Some(Duration::from_secs(1)));
        // Beyond the step: the schedule wins.
        assert_eq!(next_delay(&s, 1, Some(Duration::from_secs(3600)), 0.0), Some(Duration::from_secs(300)));
    }

    #[test]
    fn parses_retry_after_forms() {
        assert_eq!(parse_retry_after("120", Millis(0)), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 15 Jan 2024 10:30:10 GMT", Millis(1_705_314_600_000)),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("later", Millis(0)), None);
    }
}
