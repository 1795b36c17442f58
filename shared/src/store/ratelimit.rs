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

impl Store {
    /// Spends one request of project `pid`'s budget: `per_minute` sustained, `burst` at once.
    pub async fn rate_acquire(
        &self,
        pid: u64,
        per_minute: u32,
        burst: u32,
        now_ms: u64,
    ) -> Result<RateDecision, StoreError> {
        let interval = 60_000 / u64::from(per_minute.max(1));
        let tolerance = interval * u64::from(burst.max(1) - 1);
        // Another request fits while TAT stays within now + tolerance.
        let remaining = |tat: u64| {
            if tat > now_ms + tolerance {
                0
            } else {
                ((now_ms + tolerance - tat) / interval + 1) as u32
            }
        };

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
                let wait_ms = old.map_or(interval, |tat| tat.saturating_sub(now_ms + tolerance).max(1));
                Ok(RateDecision { allowed: false, remaining: 0, retry_after_secs: wait_ms.div_ceil(1000).max(1) })
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
