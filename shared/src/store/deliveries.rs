//! Deliveries: each webhook incarnation's log, newest first. A delivery is written at
//! its first attempt (or first postponement); every later write is conditional on the
//! state it was decided from, so an attempt is never logged twice.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{from_item, key, keys, n, s, to_item, ttl, Cond, Item, ListError, Page, PageQuery, Store, Write};
use crate::clock::Millis;
use crate::delivery::{ClaimKey, Delivery, Status};
use crate::error::StoreError;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::{Generation, Webhook};
use crate::store::events::{event_item_key, parse_event};
use crate::store::StoredEvent;
use std::collections::{HashMap, HashSet};

/// What the delivery function reads for one batch of wake-ups, in one BatchGetItem.
#[derive(Debug, Default)]
pub struct WakeContext {
    pub events: HashMap<(ProjectId, EventId), StoredEvent>,
    pub webhooks: HashMap<(ProjectId, WebhookId), Webhook>,
    pub deliveries: HashMap<DeliveryId, Delivery>,
}

/// Which deliveries a log page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryFilter {
    pub status: Option<Status>,
    /// Only deliveries of events received in `[since, until)`.
    pub created: Option<(Millis, Millis)>,
}

/// The key of a delivery item.
pub fn delivery_key(pid: ProjectId, wh: &WebhookId, generation: &Generation, id: &DeliveryId) -> Item {
    key(keys::deliveries(pid, wh, generation), keys::delivery_sk(id))
}

fn key_of(d: &Delivery) -> Item {
    delivery_key(d.project_id, &d.webhook_id, &d.generation, &d.id)
}

/// Whether a pending delivery's record also lists it in the `due` index, where the repair
/// sweep finds a delivery whose next wake-up may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Unlisted,
    /// Its wake-up is not known to be queued (a manual re-send's write, or a queue that
    /// failed): listed until its next record.
    Due,
}

fn item(d: &Delivery, expires: Millis) -> Result<Item, StoreError> {
    to_item(
        d,
        [
            (keys::PK, s(keys::deliveries(d.project_id, &d.webhook_id, &d.generation))),
            (keys::SK, s(keys::delivery_sk(&d.id))),
            (keys::TTL, ttl(expires)),
        ],
    )
}

fn listed_item(d: &Delivery, expires: Millis, listing: Listing) -> Result<Item, StoreError> {
    let mut it = item(d, expires)?;
    if let (Listing::Due, Status::Pending, Some(due)) = (listing, d.status, d.next_attempt_at) {
        it.insert(keys::DUE_PK.into(), s(keys::DUE_PARTITION));
        it.insert(keys::DUE_SK.into(), s(keys::due_sk(due.0, &d.id)));
    }
    Ok(it)
}

fn pending() -> AttributeValue {
    s(Status::Pending.as_str())
}

/// The delivery still has `attempts` attempts and is pending.
fn unchanged(attempts: u32) -> Cond {
    Cond::new("#a = :a AND #st = :pending")
        .name("#a", "attempts")
        .name("#st", "status")
        .value(":a", n(attempts))
        .value(":pending", pending())
}

impl Store {
    /// Writes a delivery's first state; `false` when it is already written.
    pub async fn record_first(&self, d: &Delivery, expires: Millis, listing: Listing) -> Result<bool, StoreError> {
        self.write(Write::put(listed_item(d, expires, listing)?).when(Cond::absent())).await
    }

    /// Writes the state after an attempt (or a postponement) made under `lease` from a
    /// delivery that had `prev_attempts`; `false`: the lease was lost and someone else
    /// wrote, so this attempt is not logged twice.
    pub async fn record_next(
        &self,
        d: &Delivery,
        lease: Millis,
        prev_attempts: u32,
        expires: Millis,
        listing: Listing,
    ) -> Result<bool, StoreError> {
        let cond = Cond::new("#l = :lease AND #a = :a")
            .name("#l", "lease_until")
            .name("#a", "attempts")
            .value(":lease", n(lease.0))
            .value(":a", n(prev_attempts));
        self.write(Write::put(listed_item(d, expires, listing)?).when(cond)).await
    }

    /// Ends a written, pending delivery without an attempt, if it is unchanged.
    pub async fn record_drop(&self, d: &Delivery, prev_attempts: u32, expires: Millis) -> Result<bool, StoreError> {
        self.write(Write::put(item(d, expires)?).when(unchanged(prev_attempts))).await
    }

    /// Writes the state after an attempt made under retry group `group`'s claim, if the
    /// delivery still has `prev_attempts` and still names that group: a second writer
    /// for the same attempt, or one from before a postponement, finds it changed.
    pub async fn record_claimed(
        &self,
        d: &Delivery,
        group: &ClaimKey,
        prev_attempts: u32,
        expires: Millis,
        listing: Listing,
    ) -> Result<bool, StoreError> {
        let cond = Cond::new("#a = :a AND #st = :pending AND #c = :claim")
            .name("#a", "attempts")
            .name("#st", "status")
            .name("#c", "next_claim")
            .value(":a", n(prev_attempts))
            .value(":pending", pending())
            .value(":claim", s(group.to_string()));
        self.write(Write::put(listed_item(d, expires, listing)?).when(cond)).await
    }

    /// Takes the right to make attempt `attempts + 1` of a written delivery for `holder`
    /// until `lease`: only one holder at a time, and only while nothing newer is recorded.
    /// A retry of this same call (its answer lost) finds its own holder and wins.
    pub async fn claim_delivery(
        &self,
        d: &Delivery,
        holder: &str,
        lease: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        // A delivery that names a group's claim is taken only under that claim.
        let cond = Cond::new(
            "#a = :a AND #st = :pending AND attribute_not_exists(#c) \
             AND (attribute_not_exists(#l) OR #l = :null OR #l < :now OR #h = :me)",
        )
        .name("#a", "attempts")
        .name("#st", "status")
        .name("#c", "next_claim")
        .name("#l", "lease_until")
        .name("#h", "holder")
        .value(":a", n(d.attempts))
        .value(":pending", pending())
        .value(":null", AttributeValue::Null(true))
        .value(":now", n(now.0))
        .value(":me", s(holder));
        self.write(Write::update(key_of(d)).set("lease_until", n(lease.0)).set("holder", s(holder)).when(cond)).await
    }

    /// Writes a manual re-send of `old` (now `new`), if `old` is unchanged. The delivery
    /// goes into the sparse `due` index until its attempt is recorded, so the repair
    /// sweep finds it should its wake-up be lost.
    pub async fn record_retry(&self, new: &Delivery, old: &Delivery, expires: Millis) -> Result<bool, StoreError> {
        let it = listed_item(new, expires, Listing::Due)?;
        let due = new.next_attempt_at.unwrap_or_default();
        // Also unchanged in the group claim it names: a re-send read before a
        // postponement must not bring a group's claim back.
        let claim = match &old.next_claim {
            Some(_) => "#c = :claim",
            None => "attribute_not_exists(#c)",
        };
        let mut cond = Cond::new(&format!(
            "#a = :a AND #st = :st AND {claim} AND (attribute_not_exists(#l) OR #l = :null OR #l < :now)"
        ))
        .name("#a", "attempts")
        .name("#st", "status")
        .name("#c", "next_claim")
        .name("#l", "lease_until")
        .value(":a", n(old.attempts))
        .value(":st", s(old.status.as_str()))
        .value(":null", AttributeValue::Null(true))
        .value(":now", n(due.0));
        if let Some(group) = &old.next_claim {
            cond = cond.value(":claim", s(group.to_string()));
        }
        self.write(Write::put(it).when(cond)).await
    }

    pub async fn get_delivery(
        &self,
        pid: ProjectId,
        wh: &WebhookId,
        generation: &Generation,
        id: &DeliveryId,
        now: Millis,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get(delivery_key(pid, wh, generation, id), now).await?.map(from_item).transpose()
    }

    /// Several deliveries by key; those not written yet are simply absent.
    pub async fn get_deliveries(&self, wanted: Vec<Item>, now: Millis) -> Result<Vec<Delivery>, StoreError> {
        self.batch_get(wanted, now).await?.into_iter().map(from_item).collect()
    }

    /// The events, webhooks and written deliveries a batch of wake-ups names.
    pub async fn load_wake_context(
        &self,
        events: &[(ProjectId, EventId)],
        webhooks: &[(ProjectId, WebhookId)],
        deliveries: &[(ProjectId, WebhookId, Generation, DeliveryId)],
        now: Millis,
    ) -> Result<WakeContext, StoreError> {
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        let keys_iter = events
            .iter()
            .map(|(p, e)| event_item_key(*p, e))
            .chain(webhooks.iter().map(|(p, w)| key(keys::project(*p), keys::webhook_sk(w))))
            .chain(deliveries.iter().map(|(p, w, g, d)| delivery_key(*p, w, g, d)));
        for k in keys_iter {
            let id = (
                super::attr_s(&k, keys::PK).unwrap_or_default().to_string(),
                super::attr_s(&k, keys::SK).unwrap_or_default().to_string(),
            );
            if seen.insert(id) {
                wanted.push(k);
            }
        }
        let mut cx = WakeContext::default();
        for item in self.batch_get_all(wanted).await? {
            let pk = super::attr_s(&item, keys::PK).unwrap_or_default().to_string();
            let sk = super::attr_s(&item, keys::SK).unwrap_or_default().to_string();
            if let Some(pid) = keys::parse_events(&pk) {
                let Some(id) = EventId::parse(&sk) else { continue };
                cx.events.insert((pid, id), parse_event(item, now)?);
            } else if super::is_expired(&item, now) {
                continue;
            } else if keys::is_deliveries(&pk) {
                let d: Delivery = from_item(item)?;
                cx.deliveries.insert(d.id.clone(), d);
            } else if keys::is_webhook_sk(&sk) {
                let w: Webhook = from_item(item)?;
                cx.webhooks.insert((w.project_id, w.id.clone()), w);
            }
        }
        Ok(cx)
    }

    /// A webhook incarnation's log, newest first.
    pub async fn list_deliveries(
        &self,
        wh: &Webhook,
        filter: DeliveryFilter,
        limit: usize,
        cursor: Option<&str>,
        now: Millis,
    ) -> Result<Page<Delivery>, ListError> {
        let page = self
            .page(PageQuery {
                pk: keys::deliveries(wh.project_id, &wh.id, &wh.generation),
                range: filter.created.map(|(since, until)| DeliveryId::range(since, until)),
                filter: filter
                    .status
                    .map(|st| Cond::new("#st = :st").name("#st", "status").value(":st", s(st.as_str()))),
                selective: filter.status.is_some(),
                limit,
                cursor,
                sk_ok: |sk| DeliveryId::parse(sk).is_some(),
                now,
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Deliveries that an API call made pending and that were due before `before`: the
    /// repair sweep's candidates for a lost wake-up.
    pub async fn due_before(
        &self,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<(ProjectId, WebhookId, Generation, DeliveryId)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::DUE_INDEX)
            .key_condition_expression("#p = :p AND #s < :before")
            .expression_attribute_names("#p", keys::DUE_PK)
            .expression_attribute_names("#s", keys::DUE_SK)
            .expression_attribute_values(":p", s(keys::DUE_PARTITION))
            .expression_attribute_values(":before", s(keys::due_bound(before.0)))
            .limit(limit as i32)
            .send()
            .await
            .map_err(super::sdk_error)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|it| {
                let (pid, wh, generation) = keys::parse_deliveries(super::attr_s(it, keys::PK)?)?;
                let id = DeliveryId::parse(super::attr_s(it, keys::SK)?)?;
                Some((pid, wh, generation, id))
            })
            .collect())
    }
}
