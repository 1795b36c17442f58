//! `Idempotency-Key` records: the event id the first request with a key reserved, the
//! hash of its body, and a lease while that request is in flight.

use serde::{Deserialize, Serialize};

use super::{from_item, key, keys, n, s, to_item, ttl, Cond, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{EventId, ProjectId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The event id reserved by the first request, reused by any retry of it.
    pub event_id: EventId,
    pub received_at: Millis,
    /// SHA-256 of the request: the same key with another request is a conflict.
    pub request_hash: String,
    /// Until then the first request may still be running: a repeat gets 409.
    pub lease_until: Millis,
    /// The end of the 24-hour window.
    pub expires: Millis,
}

/// What reserving a key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is ours.
    Reserved,
    /// An earlier request holds it.
    Existing(IdempotencyRecord),
}

impl Store {
    /// Reserves `key_hash` for project `pid`, unless a live record holds it.
    pub async fn reserve_idempotency(
        &self,
        pid: ProjectId,
        key_hash: &str,
        rec: &IdempotencyRecord,
        now: Millis,
    ) -> Result<Reservation, StoreError> {
        let k = keys::idempotency(pid, key_hash);
        let item =
            to_item(rec, [(keys::PK, s(k.clone())), (keys::SK, s(keys::IDEM_SK)), (keys::TTL, ttl(rec.expires))])?;
        // An expired record that TTL has not swept yet may be taken over.
        let cond = Cond::new("attribute_not_exists(#pk) OR #ttl <= :now")
            .name("#pk", keys::PK)
            .name("#ttl", keys::TTL)
            .value(":now", n(now.epoch_secs()));
        if self.write(Write::put(item).when(cond)).await? {
            return Ok(Reservation::Reserved);
        }
        match self.get(key(k, keys::IDEM_SK), now).await? {
            Some(item) => Ok(Reservation::Existing(from_item(item)?)),
            // Expired between the two calls: nothing holds it any more.
            None => Ok(Reservation::Existing(IdempotencyRecord { lease_until: Millis::ZERO, ..rec.clone() })),
        }
    }

    /// Takes over a reservation whose request died (its lease `old_lease` ran out).
    pub async fn take_over_idempotency(
        &self,
        pid: ProjectId,
        key_hash: &str,
        old_lease: Millis,
        new_lease: Millis,
    ) -> Result<bool, StoreError> {
        let w = Write::update(key(keys::idempotency(pid, key_hash), keys::IDEM_SK))
            .set("lease_until", n(new_lease.0))
            .when(Cond::new("#l = :old").name("#l", "lease_until").value(":old", n(old_lease.0)));
        self.write(w).await
    }

    /// Gives a key back after a request failed before anything was queued, so that an
    /// immediate retry is not told the first one is still in flight.
    pub async fn release_idempotency(
        &self,
        pid: ProjectId,
        key_hash: &str,
        event_id: &EventId,
    ) -> Result<(), StoreError> {
        let w = Write::delete(key(keys::idempotency(pid, key_hash), keys::IDEM_SK))
            .when(Cond::new("#e = :e").name("#e", "event_id").value(":e", s(event_id.as_str())));
        self.write(w).await.map(|_| ())
    }

    /// Ends the lease once the request answered, so a repeat replays at once.
    pub async fn finish_idempotency(
        &self,
        pid: ProjectId,
        key_hash: &str,
        event_id: &EventId,
    ) -> Result<(), StoreError> {
        let w = Write::update(key(keys::idempotency(pid, key_hash), keys::IDEM_SK))
            .set("lease_until", n(0))
            .when(Cond::new("#e = :e").name("#e", "event_id").value(":e", s(event_id.as_str())));
        self.write(w).await.map(|_| ())
    }
}
