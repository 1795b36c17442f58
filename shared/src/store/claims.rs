//! Claims on groups of first attempts: one conditional write wins a group for a lease,
//! so two copies of one intake message processed at once make one POST per delivery.

use std::time::Duration;

use super::{key, keys, n, s, ttl, Cond, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;

/// A claim item outlives any redelivery of its message.
const CLAIM_TTL: Duration = Duration::from_secs(86_400);

impl Store {
    /// Takes group `group` for `holder` until `lease`, unless another holder's lease is
    /// live. A retry of this same call (its answer lost) finds its own holder and wins.
    pub async fn claim_group(&self, group: &str, holder: &str, lease: Millis, now: Millis) -> Result<bool, StoreError> {
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
        self.write(Write::put(item).when(cond)).await
    }
}
