//! Events, deliveries and attempts.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, TransactWriteItem, WriteRequest};

use super::projects::put;
use super::{
    from_item, is_condition_failure, is_expired, key, keys, n, s, to_item, unavailable, Item, ListError, ListQuery,
    Page, Store,
};
use crate::error::StoreError;
use crate::model::{Attempt, Delivery, DeliveryStatus, Event};

/// BatchWriteItem takes at most 25 requests, BatchGetItem at most 100 keys.
const WRITE_BATCH: usize = 25;
const GET_BATCH: usize = 100;
/// Retries of unprocessed batch items (throttling) before giving up.
const BATCH_RETRIES: u32 = 8;
/// Batch calls in flight at once for one large fan-out.
const PARALLEL_BATCHES: usize = 8;

pub(crate) fn event_item(e: &Event) -> Result<Item, StoreError> {
    to_item(
        e,
        &[
            ("pk", keys::event(&e.id)),
            ("sk", "EVT".into()),
            ("gsi1pk", keys::project_events(e.project_id)),
            ("gsi1sk", e.id.clone()),
            ("gsi2pk", keys::project_events_of_type(e.project_id, &e.event_type)),
            ("gsi2sk", e.id.clone()),
        ],
    )
}

pub(crate) fn delivery_item(d: &Delivery) -> Result<Item, StoreError> {
    to_item(
        d,
        &[
            ("pk", keys::delivery(&d.id)),
            ("sk", "MSG".into()),
            ("gsi1pk", keys::event_deliveries(&d.event_id)),
            ("gsi1sk", d.id.clone()),
            ("gsi2pk", keys::webhook_deliveries(d.project_id, &d.webhook_id)),
            ("gsi2sk", d.id.clone()),
            ("gsi3pk", keys::webhook_deliveries_with_status(d.project_id, &d.webhook_id, d.status.as_str())),
            ("gsi3sk", d.id.clone()),
        ],
    )
}

fn attempt_item(a: &Attempt) -> Result<Item, StoreError> {
    to_item(a, &[("pk", keys::delivery(&a.delivery_id)), ("sk", keys::attempt_sk(a.attempt))])
}

/// A delivery and its attempts, oldest attempt first.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// Everything the delivery function needs for one message, read in one call.
#[derive(Debug, Default)]
pub struct DeliveryContext {
    pub deliveries: HashMap<String, Delivery>,
    pub events: HashMap<String, Event>,
    /// Keyed by (project id, webhook id).
    pub webhooks: HashMap<(u64, String), crate::model::Webhook>,
}

impl Store {
    /// Writes the event and its deliveries with as few calls as batching allows,
    /// retrying throttled items; returns the number of BatchWriteItem calls made.
    pub async fn put_event_and_deliveries(&self, event: &Event, deliveries: &[Delivery]) -> Result<usize, StoreError> {
        let mut items = Vec::with_capacity(deliveries.len() + 1);
        items.push(event_item(event)?);
        for d in deliveries {
            items.push(delivery_item(d)?);
        }
        self.batch_put(items).await
    }

    /// Writes items in BatchWriteItem chunks of 25, several chunks at once;
    /// returns the number of calls made.
    async fn batch_put(&self, items: Vec<Item>) -> Result<usize, StoreError> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set"))
                    .build()
            })
            .collect();
        // A plain loop, not a closure: keeps the future `Send` for any caller.
        let mut writes = Vec::new();
        for chunk in requests.chunks(WRITE_BATCH) {
            writes.push(self.write_chunk(chunk.to_vec()));
        }
        let results: Vec<Result<usize, StoreError>> =
            stream::iter(writes).buffer_unordered(PARALLEL_BATCHES).collect().await;
        results.into_iter().sum()
    }

    /// One BatchWriteItem chunk, re-sending throttled (unprocessed) items with backoff.
    async fn write_chunk(&self, mut pending: Vec<WriteRequest>) -> Result<usize, StoreError> {
        let mut calls = 0;
        for retry in 0..=BATCH_RETRIES {
            if retry > 0 {
                tokio::time::sleep(Duration::from_millis(25 << retry.min(6))).await;
            }
            calls += 1;
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(unavailable)?;
            pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(calls);
            }
        }
        Err(StoreError::Unavailable("writes throttled".into()))
    }

    /// Reads many items by key, in batches of 100, retrying unprocessed keys.
    pub(crate) async fn batch_get(&self, keys_to_get: Vec<Item>, now_ms: u64) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys_to_get.len());
        let mut pending = keys_to_get;
        let mut retries = 0;
        while !pending.is_empty() {
            let chunk: Vec<Item> = pending.drain(..pending.len().min(GET_BATCH)).collect();
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let out = self.client.batch_get_item().request_items(&self.table, ka).send().await.map_err(unavailable)?;
            if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                found.extend(items.into_iter().filter(|i| !is_expired(i, now_ms)));
            }
            if let Some(left) = out.unprocessed_keys.and_then(|mut m| m.remove(&self.table)) {
                if !left.keys.is_empty() {
                    retries += 1;
                    if retries > BATCH_RETRIES {
                        return Err(StoreError::Unavailable("reads throttled".into()));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << retries.min(6))).await;
                    pending.extend(left.keys);
                }
            }
        }
        Ok(found)
    }

    /// The deliveries of a batch with their events and webhooks, in one BatchGetItem.
    pub async fn delivery_context(
        &self,
        wanted: &[(String, String, u64, String)],
        now_ms: u64,
    ) -> Result<DeliveryContext, StoreError> {
        let mut keys_to_get: Vec<Item> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (msg, evt, pid, wh) in wanted {
            for (pk, sk) in [
                (keys::delivery(msg), "MSG".to_string()),
                (keys::event(evt), "EVT".to_string()),
                (keys::project(*pid), keys::webhook_sk(wh)),
            ] {
                if seen.insert((pk.clone(), sk.clone())) {
                    keys_to_get.push(key(pk, &sk));
                }
            }
        }
        let mut ctx = DeliveryContext::default();
        for item in self.batch_get(keys_to_get, now_ms).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if sk == "MSG" {
                let d: Delivery = from_item(item)?;
                ctx.deliveries.insert(d.id.clone(), d);
            } else if sk == "EVT" {
                let e: Event = from_item(item)?;
                ctx.events.insert(e.id.clone(), e);
            } else if sk.starts_with("WH#") {
                let w: crate::model::Webhook = from_item(item)?;
                ctx.webhooks.insert((w.project_id, w.id.clone()), w);
            }
        }
        Ok(ctx)
    }

    pub async fn get_event(&self, id: &str, now_ms: u64) -> Result<Option<Event>, StoreError> {
        self.get(key(keys::event(id), "EVT"), now_ms).await?.map(from_item).transpose()
    }

    pub async fn get_delivery(&self, id: &str, now_ms: u64) -> Result<Option<Delivery>, StoreError> {
        self.get(key(keys::delivery(id), "MSG"), now_ms).await?.map(from_item).transpose()
    }

    /// Deliveries that exist among `ids` (used when an interrupted intake resumes).
    pub async fn existing_deliveries(&self, ids: &[String], now_ms: u64) -> Result<Vec<Delivery>, StoreError> {
        let keys_to_get = ids.iter().map(|id| key(keys::delivery(id), "MSG")).collect();
        self.batch_get(keys_to_get, now_ms).await?.into_iter().map(from_item).collect()
    }

    /// A delivery and every attempt, in one query of its partition.
    pub async fn delivery_log(&self, id: &str, now_ms: u64) -> Result<Option<DeliveryLog>, StoreError> {
        let mut delivery = None;
        let mut attempts = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::delivery(id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                if is_expired(&item, now_ms) {
                    continue;
                }
                match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                    Some("MSG") => delivery = Some(from_item::<Delivery>(item)?),
                    Some(_) => attempts.push(from_item::<Attempt>(item)?),
                    None => {}
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        attempts.sort_by_key(|a| a.attempt);
        Ok(delivery.map(|delivery| DeliveryLog { delivery, attempts }))
    }

    pub async fn list_events(
        &self,
        pid: u64,
        event_type: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Result<Page<Event>, ListError> {
        let (index, pk) = match event_type {
            Some(t) => (keys::GSI2, keys::project_events_of_type(pid, t)),
            None => (keys::GSI1, keys::project_events(pid)),
        };
        let (items, next_cursor) = self
            .list(ListQuery {
                index: Some(index),
                pk_attr: keys::index_attrs(index).0,
                pk,
                sk_prefix: None,
                limit,
                cursor,
                now_ms,
            })
            .await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Every delivery of an event (bounded by the fan-out), newest first.
    pub async fn deliveries_of_event(&self, evt: &str, now_ms: u64) -> Result<Vec<Delivery>, StoreError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = self
                .list(ListQuery {
                    index: Some(keys::GSI1),
                    pk_attr: "gsi1pk",
                    pk: keys::event_deliveries(evt),
                    sk_prefix: None,
                    limit: 1000,
                    cursor: cursor.as_deref(),
                    now_ms,
                })
                .await
                .map_err(|e| match e {
                    ListError::Store(s) => s,
                    ListError::Cursor(c) => StoreError::Corrupt(c.to_string()),
                })?;
            for item in items {
                out.push(from_item(item)?);
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn list_deliveries(
        &self,
        pid: u64,
        webhook_id: &str,
        status: Option<DeliveryStatus>,
        limit: usize,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Result<Page<Delivery>, ListError> {
        let (index, pk) = match status {
            Some(st) => (keys::GSI3, keys::webhook_deliveries_with_status(pid, webhook_id, st.as_str())),
            None => (keys::GSI2, keys::webhook_deliveries(pid, webhook_id)),
        };
        let (items, next_cursor) = self
            .list(ListQuery {
                index: Some(index),
                pk_attr: keys::index_attrs(index).0,
                pk,
                sk_prefix: None,
                limit,
                cursor,
                now_ms,
            })
            .await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Takes the right to make attempt `attempts_done + 1`: only one holder at a
    /// time, and only while no later attempt has been recorded.
    pub async fn claim_delivery(
        &self,
        id: &str,
        attempts_done: u32,
        lease_until: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::delivery(id), "MSG")))
            .update_expression("SET lease_until = :lease")
            .condition_expression(
                "attempts = :done AND #st = :pending AND (attribute_not_exists(lease_until) OR lease_until = :null OR lease_until < :now)",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":done", n(attempts_done))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":null", aws_sdk_dynamodb::types::AttributeValue::Null(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Records an attempt and the delivery's new state together, only while the
    /// lease taken by `claim_delivery` is still ours. `false`: someone else recorded.
    pub async fn record_attempt(&self, delivery: &Delivery, attempt: &Attempt, lease: u64) -> Result<bool, StoreError> {
        let put_delivery = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(delivery_item(delivery)?))
            .condition_expression("lease_until = :lease AND attempts = :prev")
            .expression_attribute_values(":lease", n(lease))
            .expression_attribute_values(":prev", n(attempt.attempt - 1))
            .build()
            .map_err(unavailable)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(&self.table, attempt_item(attempt)?, true)?)
            .transact_items(TransactWriteItem::builder().put(put_delivery).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Replaces a delivery if it still has `expected_attempts` attempts (no lost update).
    pub async fn replace_delivery(&self, delivery: &Delivery, expected_attempts: u32) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(delivery)?))
            .condition_expression("attempts = :a")
            .expression_attribute_values(":a", n(expected_attempts))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Ends a pending delivery without an attempt (its webhook is gone or disabled).
    pub async fn drop_delivery(&self, delivery: &Delivery, reason: &str) -> Result<(), StoreError> {
        let mut d = delivery.clone();
        d.status = DeliveryStatus::Error;
        d.error = Some(reason.to_string());
        d.next_attempt_at = None;
        d.lease_until = None;
        self.replace_delivery(&d, delivery.attempts).await.map(|_| ())
    }
}
