//! Per-project rate limiting with GCRA (a token bucket kept as one number, the
//! "theoretical arrival time"), updated atomically by conditional writes so that
//! every function and every concurrent instance shares one budget.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{is_condition_failure, key, keys, n, unavailable, Store};
use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests that would still be allowed right now.
    pub remaining: u32,
    /// When refused: seconds until one request is allowed again.
    pub retry_after_secs: u64,
}

/// The GCRA parameters, in milliseconds: one request per `interval`, and up to
/// `tolerance` of credit for bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gcra {
    interval: u64,
    tolerance: u64,
}

impl Gcra {
    fn new(per_minute: u32, burst: u32) -> Gcra {
        // Millisecond resolution: rates above 60 000/min behave as 60 000/min, never as zero.
        let interval = (60_000 / u64::from(per_minute.max(1))).max(1);
        Gcra { interval, tolerance: interval * u64::from(burst.max(1) - 1) }
    }

    /// Requests still allowed right now once TAT is `tat`.
    fn remaining(self, tat: u64, now_ms: u64) -> u32 {
        if tat > now_ms + self.tolerance {
            0
        } else {
            ((now_ms + self.tolerance - tat) / self.interval + 1).min(u64::from(u32::MAX)) as u32
        }
    }

    /// Whole seconds until a refused caller fits again.
    fn retry_after_secs(self, old_tat: Option<u64>, now_ms: u64) -> u64 {
        let wait_ms = old_tat.map_or(self.interval, |tat| tat.saturating_sub(now_ms + self.tolerance).max(1));
        wait_ms.div_ceil(1000).max(1)
    }
}

impl Store {
    /// Spends one request of project `pid`'s budget: `per_minute` sustained, `burst` at once.
    pub async fn rate_acquire(
        &self,
        pid: u64,
        per_minute: u32,
        burst: u32,
        now_ms: u64,
    ) -> Result<RateDecision, StoreError> {
        let Gcra { interval, tolerance } = Gcra::new(per_minute, burst);
        let remaining = |tat: u64| Gcra { interval, tolerance }.remaining(tat, now_ms);

        // Idle bucket (TAT in the past): restart it at now + interval.
        let fresh = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate(pid), "RATE")))
            .update_expression("SET tat = :tat, expires_at = :exp")
            .condition_expression("attribute_not_exists(tat) OR tat < :now")
            .expression_attribute_values(":tat", n(now_ms + interval))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":exp", n(now_ms / 1000 + 86_400))
            .send()
            .await;
        match fresh {
            Ok(_) => {
                return Ok(RateDecision { allowed: true, remaining: remaining(now_ms + interval), retry_after_secs: 0 })
            }
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => {}
            Err(e) => return Err(unavailable(e)),
        }
        // Busy bucket: advance TAT by one interval if it stays within the burst tolerance.
        let busy = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate(pid), "RATE")))
            .update_expression("ADD tat :interval")
            .condition_expression("tat <= :limit")
            .expression_attribute_values(":interval", n(interval))
            .expression_attribute_values(":limit", n(now_ms + tolerance))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let read_tat = |item: Option<&super::Item>| {
            item.and_then(|i| i.get("tat")).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<u64>().ok())
        };
        match busy {
            Ok(out) => {
                let tat = read_tat(out.attributes.as_ref()).unwrap_or(now_ms + interval);
                Ok(RateDecision { allowed: true, remaining: remaining(tat), retry_after_secs: 0 })
            }
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => {
                let old = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                        read_tat(c.item.as_ref())
                    }
                    _ => None,
                });
                let retry_after_secs = Gcra { interval, tolerance }.retry_after_secs(old, now_ms);
                Ok(RateDecision { allowed: false, remaining: 0, retry_after_secs })
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_sustained_rate() {
        let g = Gcra::new(100, 200);
        assert_eq!(g, Gcra { interval: 600, tolerance: 600 * 199 });
        // After the first request of an idle bucket, 199 more fit.
        assert_eq!(g.remaining(1_000 + 600, 1_000), 199);
        // After the 200th, none; the 201st waits one interval.
        assert_eq!(g.remaining(1_000 + 200 * 600, 1_000), 0);
        assert_eq!(g.retry_after_secs(Some(1_000 + 200 * 600), 1_000), 1);
    }

    #[test]
    fn extreme_settings_never_divide_by_zero() {
        let g = Gcra::new(1_000_000, 1);
        assert_eq!(g.interval, 1);
        assert_eq!(g.remaining(5, 5), 1);
        assert_eq!(Gcra::new(0, 0), Gcra { interval: 60_000, tolerance: 0 });
    }
}
