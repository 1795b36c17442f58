//! Rate limits kept as GCRA state (a token bucket as one number, the "theoretical
//! arrival time"), updated atomically by conditional writes, so every function and
//! every concurrent instance shares one budget: per project for API requests (docs/api.md §2), and
//! per webhook for deliveries (docs/api.md §12's `rate_limit`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{key, keys, n, sdk_error, Item, Store};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{ProjectId, WebhookId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests that would still be allowed right now.
    pub remaining: u32,
    /// When refused: seconds until one request is allowed again.
    pub retry_after_secs: u64,
}

/// A delivery's turn under a webhook's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send now.
    Now,
    /// A later turn is reserved for it: send at this instant.
    At(Millis),
}

/// The GCRA parameters, in milliseconds: one request per `interval`, and up to
/// `tolerance` of credit for bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gcra {
    interval: u64,
    tolerance: u64,
}

impl Gcra {
    fn per_minute(per_minute: u32, burst: u32) -> Gcra {
        // Millisecond resolution: rates above 60 000/min behave as 60 000/min, never as zero.
        let interval = (60_000 / u64::from(per_minute.max(1))).max(1);
        Gcra { interval, tolerance: interval * u64::from(burst.max(1) - 1) }
    }

    /// `per_second` deliveries a second, bursts of up to one second's worth.
    fn per_second(per_second: u32) -> Gcra {
        let interval = (1_000 / u64::from(per_second.max(1))).max(1);
        Gcra { interval, tolerance: 1_000u64.saturating_sub(interval) }
    }

    /// Requests still allowed right now once TAT is `tat`.
    fn remaining(self, tat: u64, now: u64) -> u32 {
        if tat > now + self.tolerance {
            0
        } else {
            ((now + self.tolerance - tat) / self.interval + 1).min(u64::from(u32::MAX)) as u32
        }
    }

    /// Whole seconds until a refused caller fits again.
    fn retry_after_secs(self, old_tat: Option<u64>, now: u64) -> u64 {
        let wait_ms = old_tat.map_or(self.interval, |tat| tat.saturating_sub(now + self.tolerance).max(1));
        wait_ms.div_ceil(1000).max(1)
    }
}

fn read_tat(item: Option<&Item>) -> Option<u64> {
    item.and_then(|i| super::attr_u64(i, "tat"))
}

/// The TAT last seen per bucket in this process. A bucket is either idle (its TAT in the
/// past, or unknown here: restart it) or busy (add one interval); trying the likely case
/// first makes one write in either steady state instead of a refused write and then the
/// right one.
pub(crate) type Hints = Arc<Mutex<HashMap<String, u64>>>;

/// Buckets remembered per process; past this the hints start over (they are only hints).
const MAX_HINTS: usize = 10_000;

/// What taking one turn did.
enum Taken {
    /// Granted; the bucket's TAT is now this.
    Yes(u64),
    /// Refused: the turn would pass `limit`; the TAT found.
    Full(u64),
}

impl Store {
    fn hint(&self, bucket: &str) -> Option<u64> {
        self.rate_hints.lock().ok()?.get(bucket).copied()
    }

    fn remember(&self, bucket: &str, tat: u64) {
        if let Ok(mut h) = self.rate_hints.lock() {
            if h.len() >= MAX_HINTS && !h.contains_key(bucket) {
                h.clear();
            }
            h.insert(bucket.to_string(), tat);
        }
    }

    /// Takes one turn of bucket `pk` (GCRA: TAT = max(TAT, now) + interval), refused
    /// when the new TAT would pass `limit` (`None`: never refused, the turn may be later).
    async fn take_turn(&self, pk: String, g: Gcra, now: u64, limit: Option<u64>) -> Result<Taken, StoreError> {
        let k = key(pk.clone(), keys::RATE_SK);
        let expires = Millis(now).plus(Duration::from_secs(86_400));
        // No hint: this process has not seen the bucket lately, so it is most likely idle.
        let mut restart_first = self.hint(&pk).is_none_or(|tat| tat < now);
        // Each failed try means another writer moved the bucket between our two calls.
        for _ in 0..3 {
            if restart_first && self.restart_bucket(k.clone(), g, now, expires).await? {
                self.remember(&pk, now + g.interval);
                return Ok(Taken::Yes(now + g.interval));
            }
            let cond = match limit {
                Some(_) => "tat >= :now AND tat <= :limit",
                None => "tat >= :now",
            };
            let mut add = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(k.clone()))
                .update_expression("ADD tat :interval")
                .condition_expression(cond)
                .expression_attribute_values(":interval", n(g.interval))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            if let Some(limit) = limit {
                add = add.expression_attribute_values(":limit", n(limit));
            }
            match add.send().await {
                Ok(out) => {
                    let tat = read_tat(out.attributes.as_ref()).unwrap_or(now + g.interval);
                    self.remember(&pk, tat);
                    return Ok(Taken::Yes(tat));
                }
                Err(e) => match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => match read_tat(c.item.as_ref()) {
                        Some(tat) if tat >= now => {
                            self.remember(&pk, tat);
                            return Ok(Taken::Full(tat));
                        }
                        // Idle or new: restart it.
                        _ => restart_first = true,
                    },
                    _ => return Err(sdk_error(e)),
                },
            }
        }
        Err(StoreError::Unavailable("rate-limit bucket contended".into()))
    }

    /// Restarts an idle bucket (TAT in the past) at `now + interval`; `false` if busy.
    async fn restart_bucket(&self, k: Item, g: Gcra, now: u64, expires: Millis) -> Result<bool, StoreError> {
        let fresh = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .update_expression("SET tat = :tat, #ttl = :exp")
            .condition_expression("attribute_not_exists(tat) OR tat < :now")
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":tat", n(now + g.interval))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(expires.epoch_secs()))
            .send()
            .await;
        match fresh {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception) => {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Spends one request of `bucket`'s budget: `per_minute` sustained, `burst` at once.
    pub async fn rate_acquire(
        &self,
        bucket: keys::RateBucket,
        per_minute: u32,
        burst: u32,
        now: Millis,
    ) -> Result<RateDecision, StoreError> {
        let g = Gcra::per_minute(per_minute, burst);
        let now = now.0;
        // Within the burst: the TAT may run ahead of now by the tolerance, plus this turn.
        match self.take_turn(keys::rate(bucket), g, now, Some(now + g.tolerance)).await? {
            Taken::Yes(tat) => {
                Ok(RateDecision { allowed: true, remaining: g.remaining(tat, now), retry_after_secs: 0 })
            }
            Taken::Full(tat) => {
                Ok(RateDecision { allowed: false, remaining: 0, retry_after_secs: g.retry_after_secs(Some(tat), now) })
            }
        }
    }

    /// Reserves the next turn of webhook `wh` under `per_second`: one write per
    /// delivery. A delivery beyond the rate gets a later turn of its own (not a refusal),
    /// so postponed deliveries come back spread out instead of all at once.
    pub async fn webhook_slot(
        &self,
        pid: ProjectId,
        wh: &WebhookId,
        per_second: u32,
        now: Millis,
    ) -> Result<Slot, StoreError> {
        let g = Gcra::per_second(per_second);
        let tat = match self.take_turn(keys::webhook_rate(pid, wh), g, now.0, None).await? {
            Taken::Yes(tat) | Taken::Full(tat) => tat,
        };
        // This delivery's turn starts one interval before the new TAT; within the burst
        // tolerance it goes now.
        let turn = tat.saturating_sub(g.interval).saturating_sub(g.tolerance);
        Ok(if turn <= now.0 { Slot::Now } else { Slot::At(Millis(turn)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_sustained_rate() {
        let g = Gcra::per_minute(100, 200);
        assert_eq!(g, Gcra { interval: 600, tolerance: 600 * 199 });
        // After the first request of an idle bucket, 199 more fit.
        assert_eq!(g.remaining(1_000 + 600, 1_000), 199);
        // After the 200th, none; the 201st waits one interval.
        assert_eq!(g.remaining(1_000 + 200 * 600, 1_000), 0);
        assert_eq!(g.retry_after_secs(Some(1_000 + 200 * 600), 1_000), 1);
    }

    #[test]
    fn extreme_settings_never_divide_by_zero() {
        let g = Gcra::per_minute(1_000_000, 1);
        assert_eq!(g.interval, 1);
        assert_eq!(g.remaining(5, 5), 1);
        assert_eq!(Gcra::per_minute(0, 0), Gcra { interval: 60_000, tolerance: 0 });
        assert_eq!(Gcra::per_second(10_000), Gcra { interval: 1, tolerance: 999 });
        assert_eq!(Gcra::per_second(1), Gcra { interval: 1_000, tolerance: 0 });
    }
}
