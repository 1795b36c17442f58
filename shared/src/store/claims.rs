//! Claims on groups of attempts (first attempts, or retries sharing a wake-up): one
//! conditional write wins a group for a lease, so two copies of one message processed at
//! once make one POST per delivery.

use std::time::Duration;

use super::{key, keys, n, s, ttl, Cond, Store};
use crate::clock::Millis;
use crate::delivery::ClaimKey;
use crate::error::StoreError;

/// A claim item outlives any redelivery of its message.
const CLAIM_TTL: Duration = Duration::from_secs(86_400);

/// How a claim on a group went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupClaim {
    /// Another holder's lease is live.
    Lost,
    /// Won. `took_over`: from another holder whose lease had ended, which may still be
    /// running late and have recorded some of the group since this holder read it.
    Won { took_over: bool },
}

impl Store {
    /// Takes group `group` for `holder` until `lease`, unless another holder's lease is
    /// live. A retry of this same call (its answer lost) finds its own holder and wins.
    pub async fn claim_group(
        &self,
        group: &ClaimKey,
        holder: &str,
        lease: Millis,
        now: Millis,
    ) -> Result<GroupClaim, StoreError> {
        let mut item = key(keys::claim(group), keys::CLAIM_SK);
        item.insert("lease_until".into(), n(lease.0));
        item.insert("holder".into(), s(holder));
        item.insert(keys::TTL.into(), ttl(now.plus(CLAIM_TTL)));
        let cond = Cond::new("attribute_not_exists(#pk) OR #l < :now OR #h = :me")
            .name("#pk", keys::PK)
            .name("#l", "lease_until")
            .name("#h", "holder")
            .value(":now", n(now.0))
            .value(":me", s(holder));
        Ok(match self.put_replacing(item, cond).await? {
            None => GroupClaim::Lost,
            Some(old) => GroupClaim::Won {
                took_over: old.as_ref().and_then(|o| super::attr_s(o, "holder")).is_some_and(|h| h != holder),
            },
        })
    }

    /// Whether another holder has group `group` now (a manual re-send checks it before
    /// re-opening a delivery whose retry that group is making).
    pub async fn group_claimed(&self, group: &ClaimKey, now: Millis) -> Result<bool, StoreError> {
        let item = self.get(key(keys::claim(group), keys::CLAIM_SK), now).await?;
        Ok(item.and_then(|i| super::attr_u64(&i, "lease_until")).is_some_and(|until| until > now.0))
    }
}
