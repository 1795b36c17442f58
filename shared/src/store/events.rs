//! Events: the project's activity list, newest first.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{from_item, key, keys, s, to_item, ttl, Cond, Item, ListError, Page, PageQuery, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{EventId, ProjectId};
use crate::model::Event;

/// Marks an event whose intake was answered with an error after its messages were
/// queued: it is never listed, and its wake-ups do nothing.
const WITHDRAWN: &str = "withdrawn";
/// How long a withdrawal is kept: far longer than any late write could arrive.
const WITHDRAWAL_TTL: std::time::Duration = std::time::Duration::from_secs(86_400);

/// An event as storage has it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredEvent {
    Found(Event),
    Withdrawn,
    /// Past its retention (DynamoDB deletes expired items some time later).
    Expired,
}

/// An event to write, with the instant its retention ends.
pub struct EventRecord<'a> {
    pub event: &'a Event,
    pub expires: Millis,
    /// The intake attempt writing it (a random token): its own withdrawal is final
    /// against its own late write, while a later retry of the request may write again.
    pub writer: &'a str,
}

/// Who withdrew an event: the `writer` of the failed attempt.
const WITHDRAWN_BY: &str = "withdrawn_by";

fn event_key(pid: ProjectId, id: &EventId) -> Item {
    key(keys::events(pid), keys::event_sk(id))
}

fn item(r: &EventRecord<'_>) -> Result<Item, StoreError> {
    to_item(
        r.event,
        [
            (keys::PK, s(keys::events(r.event.project_id))),
            (keys::SK, s(keys::event_sk(&r.event.id))),
            (keys::TTL, ttl(r.expires)),
        ],
    )
}

pub(crate) fn parse_event(item: Item, now: Millis) -> Result<StoredEvent, StoreError> {
    if matches!(item.get(WITHDRAWN), Some(AttributeValue::Bool(true))) {
        return Ok(StoredEvent::Withdrawn);
    }
    if super::is_expired(&item, now) {
        return Ok(StoredEvent::Expired);
    }
    from_item(item).map(StoredEvent::Found)
}

pub(crate) fn event_item_key(pid: ProjectId, id: &EventId) -> Item {
    event_key(pid, id)
}

impl Store {
    /// Writes an event unless it exists (a retried intake). A withdrawal by another
    /// attempt is overwritten (a retry with the same `Idempotency-Key` brings the event
    /// back); its own is not, so this write landing late after a timeout can never undo
    /// the withdrawal that followed it. `false`: the event is already stored.
    pub async fn put_event(&self, r: &EventRecord<'_>) -> Result<bool, StoreError> {
        let cond = Cond::new("attribute_not_exists(#pk) OR (#w = :t AND #by <> :me)")
            .name("#pk", keys::PK)
            .name("#w", WITHDRAWN)
            .name("#by", WITHDRAWN_BY)
            .value(":t", AttributeValue::Bool(true))
            .value(":me", s(r.writer));
        self.write(Write::put(item(r)?).when(cond)).await
    }

    /// Writes new events (fresh ids) in batches; returns the number of calls made.
    pub async fn put_events(&self, records: &[EventRecord<'_>]) -> Result<usize, StoreError> {
        self.batch_put(records.iter().map(item).collect::<Result<_, _>>()?).await
    }

    /// Withdraws events whose intake failed after queueing. The put is unconditional, so
    /// whichever of the event's write and this one lands last, a late event write
    /// (conditional on absence) can never bring it back.
    pub async fn withdraw_events(
        &self,
        pid: ProjectId,
        ids: &[EventId],
        writer: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let items = ids
            .iter()
            .map(|id| {
                let mut k = event_key(pid, id);
                k.insert(WITHDRAWN.to_string(), AttributeValue::Bool(true));
                k.insert(WITHDRAWN_BY.to_string(), s(writer));
                k.insert(keys::TTL.to_string(), ttl(now.plus(WITHDRAWAL_TTL)));
                k
            })
            .collect();
        self.batch_put(items).await.map(|_| ())
    }

    pub async fn get_event(
        &self,
        pid: ProjectId,
        id: &EventId,
        now: Millis,
    ) -> Result<Option<StoredEvent>, StoreError> {
        self.get(event_key(pid, id), now).await?.map(|i| parse_event(i, now)).transpose()
    }

    /// The project's events, newest first, optionally of one type.
    pub async fn list_events(
        &self,
        pid: ProjectId,
        event_type: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
        now: Millis,
    ) -> Result<Page<Event>, ListError> {
        let mut filter = Cond::new("attribute_not_exists(#w)").name("#w", WITHDRAWN);
        if let Some(t) = event_type {
            filter = Cond::new("attribute_not_exists(#w) AND #t = :t")
                .name("#w", WITHDRAWN)
                .name("#t", "event_type")
                .value(":t", s(t));
        }
        let page = self
            .page(PageQuery {
                pk: keys::events(pid),
                range: None,
                filter: Some(filter),
                selective: event_type.is_some(),
                limit,
                cursor,
                sk_ok: |sk| EventId::parse(sk).is_some(),
                now,
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }
}
