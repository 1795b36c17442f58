//! DynamoDB storage: one table, key shapes in `keys`, and the three helpers every
//! access goes through: `Store::write` (a put, update or delete with an optional
//! condition), `Store::page` (a newest-first page of a partition with a cursor bound to
//! it) and the batch reads/writes.

mod claims;
mod deliveries;
mod event_types;
mod events;
mod idempotency;
pub mod keys;
mod ordering;
mod portal;
mod projects;
mod ratelimit;
mod webhooks;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, ReturnValue, WriteRequest};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::Millis;
use crate::error::StoreError;

pub use claims::GroupClaim;
pub use deliveries::{delivery_key, DeliveryFilter, Listing, WakeContext};
pub use events::{EventRecord, StoredEvent};
pub use idempotency::{IdempotencyRecord, Reservation};
pub use ordering::Sequence;
pub use ratelimit::{RateDecision, Slot};
pub use webhooks::WebhookFailureChange;

pub type Item = HashMap<String, AttributeValue>;

/// BatchWriteItem takes at most 25 requests, BatchGetItem at most 100 keys.
const WRITE_BATCH: usize = 25;
const GET_BATCH: usize = 100;
/// Retries of unprocessed batch items (throttling) before giving up.
const BATCH_RETRIES: u32 = 6;
/// Batch calls in flight at once for one large fan-out.
const PARALLEL_BATCHES: usize = 8;
/// DynamoDB refuses sort keys longer than this.
const MAX_SORT_KEY: usize = 1024;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// The last state seen of each rate-limit bucket, to try the likely write first.
    rate_hints: ratelimit::Hints,
    /// Signs list cursors, so that a forged one is refused (docs/api.md §1).
    cursor_key: std::sync::Arc<[u8; 32]>,
}

/// A page of a list: the items and an opaque cursor for the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// A cursor from another list or project, or a forged one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not valid for this list")]
pub struct BadCursor;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// A store whose cursors are signed with a key derived from `cursor_secret` (a
    /// deployment secret: every function of one deployment must pass the same one).
    pub fn new(client: Client, table: impl Into<String>, cursor_secret: &str) -> Self {
        let table = table.into();
        let cursor_key = cursor_key(cursor_secret, &table);
        Store { client, table, rate_hints: Default::default(), cursor_key: std::sync::Arc::new(cursor_key) }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn ttl(at: Millis) -> AttributeValue {
    n(at.epoch_secs())
}

/// A failed SDK call. DynamoDB's `ValidationException` is a request it refuses (an item
/// over 400 KB, say): the caller's input, not an outage.
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if let Some(se) = e.as_service_error() {
        if se.code() == Some("ValidationException") {
            return StoreError::Rejected(se.message().unwrap_or("request refused by storage").to_string());
        }
    }
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn is_condition_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(e.code(), Some("ConditionalCheckFailedException"))
}

pub(crate) fn to_item<T: Serialize>(
    value: &T,
    attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    for (k, v) in attrs {
        // A record field named like a key or TTL attribute would be silently overwritten.
        if item.insert(k.to_string(), v).is_some() {
            return Err(StoreError::Corrupt(format!("a record field clashes with the `{k}` attribute")));
        }
    }
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

pub(crate) fn attr_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn attr_u64(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// Whether an item's TTL has passed: DynamoDB deletes expired items lazily, so reads
/// hide them themselves.
pub(crate) fn is_expired(item: &Item, now: Millis) -> bool {
    match item.get(keys::TTL) {
        Some(AttributeValue::N(v)) => v.parse::<u64>().is_ok_and(|secs| secs <= now.epoch_secs()),
        _ => false,
    }
}

/// A condition expression with its placeholders. Attribute names are always bound
/// through `#` names, so reserved words (`status`, `data`, `name`) need no care.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cond {
    expr: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Cond {
    pub fn new(expr: &str) -> Cond {
        Cond { expr: expr.to_string(), ..Cond::default() }
    }

    /// The item does not exist yet.
    pub fn absent() -> Cond {
        Cond::new("attribute_not_exists(#pk)").name("#pk", keys::PK)
    }

    /// The item exists.
    pub fn present() -> Cond {
        Cond::new("attribute_exists(#pk)").name("#pk", keys::PK)
    }

    pub fn name(mut self, placeholder: &str, attr: &str) -> Cond {
        self.names.insert(placeholder.to_string(), attr.to_string());
        self
    }

    pub fn value(mut self, placeholder: &str, v: AttributeValue) -> Cond {
        self.values.insert(placeholder.to_string(), v);
        self
    }
}

/// Adds an optional condition (expression, names, values) to a write request.
macro_rules! with_cond {
    ($req:expr, $cond:expr) => {{
        let mut req = $req;
        if let Some(c) = $cond {
            req = req.condition_expression(c.expr);
            for (k, v) in c.names {
                req = req.expression_attribute_names(k, v);
            }
            for (k, v) in c.values {
                req = req.expression_attribute_values(k, v);
            }
        }
        req
    }};
}

/// One conditional write.
pub(crate) enum Write {
    Put {
        item: Item,
        cond: Option<Cond>,
    },
    /// `SET`/`REMOVE` of whole attributes.
    Update {
        key: Item,
        set: Vec<(String, AttributeValue)>,
        remove: Vec<String>,
        cond: Option<Cond>,
    },
    Delete {
        key: Item,
        cond: Option<Cond>,
    },
}

impl Write {
    pub fn put(item: Item) -> Write {
        Write::Put { item, cond: None }
    }

    pub fn update(key: Item) -> Write {
        Write::Update { key, set: Vec::new(), remove: Vec::new(), cond: None }
    }

    pub fn delete(key: Item) -> Write {
        Write::Delete { key, cond: None }
    }

    pub fn when(mut self, c: Cond) -> Write {
        match &mut self {
            Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => *cond = Some(c),
        }
        self
    }

    pub fn set(mut self, attr: &str, v: AttributeValue) -> Write {
        if let Write::Update { set, .. } = &mut self {
            set.push((attr.to_string(), v));
        }
        self
    }
}

impl Store {
    /// Applies one write. `Ok(false)`: its condition did not hold and nothing changed.
    pub(crate) async fn write(&self, w: Write) -> Result<bool, StoreError> {
        let result = match w {
            Write::Put { item, cond } => {
                let req = self.client.put_item().table_name(&self.table).set_item(Some(item));
                with_cond!(req, cond).send().await.map(|_| ()).map_err(classify)
            }
            Write::Delete { key, cond } => {
                let req = self.client.delete_item().table_name(&self.table).set_key(Some(key));
                with_cond!(req, cond).send().await.map(|_| ()).map_err(classify)
            }
            Write::Update { key, set, remove, cond } => {
                let mut req = self.client.update_item().table_name(&self.table).set_key(Some(key));
                let mut parts = Vec::new();
                if !set.is_empty() {
                    let mut sets = Vec::new();
                    for (i, (attr, v)) in set.into_iter().enumerate() {
                        sets.push(format!("#u{i} = :u{i}"));
                        req = req
                            .expression_attribute_names(format!("#u{i}"), attr)
                            .expression_attribute_values(format!(":u{i}"), v);
                    }
                    parts.push(format!("SET {}", sets.join(", ")));
                }
                if !remove.is_empty() {
                    let mut removes = Vec::new();
                    for (i, attr) in remove.into_iter().enumerate() {
                        removes.push(format!("#r{i}"));
                        req = req.expression_attribute_names(format!("#r{i}"), attr);
                    }
                    parts.push(format!("REMOVE {}", removes.join(", ")));
                }
                let req = req.update_expression(parts.join(" ")).return_values(ReturnValue::None);
                with_cond!(req, cond).send().await.map(|_| ()).map_err(classify)
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(Failure::Condition) => Ok(false),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// A conditional put that also says what it replaced (at no extra cost):
    /// `Ok(None)`: the condition did not hold; `Ok(Some(old))`: written over `old`.
    pub(crate) async fn put_replacing(&self, item: Item, c: Cond) -> Result<Option<Option<Item>>, StoreError> {
        let req =
            self.client.put_item().table_name(&self.table).set_item(Some(item)).return_values(ReturnValue::AllOld);
        match with_cond!(req, Some(c)).send().await.map_err(classify) {
            Ok(out) => Ok(Some(out.attributes)),
            Err(Failure::Condition) => Ok(None),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// Applies puts and deletes all or none (one transaction; rare writes only, it costs
    /// twice a plain write). `Ok(false)`: a condition did not hold and nothing changed.
    pub(crate) async fn write_all(&self, writes: Vec<Write>) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Corrupt(e.to_string());
        let mut req = self.client.transact_write_items();
        for w in writes {
            let item = match w {
                Write::Put { item, cond } => {
                    let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
                    if let Some(c) = cond {
                        put = put
                            .condition_expression(c.expr)
                            .set_expression_attribute_names(Some(c.names).filter(|m| !m.is_empty()))
                            .set_expression_attribute_values(Some(c.values).filter(|m| !m.is_empty()));
                    }
                    TransactWriteItem::builder().put(put.build().map_err(built)?).build()
                }
                Write::Delete { key, cond } => {
                    let mut del = Delete::builder().table_name(&self.table).set_key(Some(key));
                    if let Some(c) = cond {
                        del = del
                            .condition_expression(c.expr)
                            .set_expression_attribute_names(Some(c.names).filter(|m| !m.is_empty()))
                            .set_expression_attribute_values(Some(c.values).filter(|m| !m.is_empty()));
                    }
                    TransactWriteItem::builder().delete(del.build().map_err(built)?).build()
                }
                Write::Update { .. } => return Err(StoreError::Corrupt("write_all takes puts and deletes".into())),
            };
            req = req.transact_items(item);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            // Cancelled: one of its conditions failed.
            Err(e) if e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception()) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    pub(crate) async fn get(&self, key: Item, now: Millis) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item.filter(|i| !is_expired(i, now)))
    }

    /// Reads many items by key (strongly consistent), 100 keys a call, retrying
    /// unprocessed keys; expired items are left out.
    pub(crate) async fn batch_get(&self, keys_to_get: Vec<Item>, now: Millis) -> Result<Vec<Item>, StoreError> {
        Ok(self.batch_get_all(keys_to_get).await?.into_iter().filter(|i| !is_expired(i, now)).collect())
    }

    /// As `batch_get`, expired items included (for callers that must tell "expired"
    /// from "never written").
    pub(crate) async fn batch_get_all(&self, keys_to_get: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys_to_get.len());
        let mut pending = keys_to_get;
        let mut retries = 0;
        while !pending.is_empty() {
            let chunk: Vec<Item> = pending.drain(..pending.len().min(GET_BATCH)).collect();
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let out = self.client.batch_get_item().request_items(&self.table, ka).send().await.map_err(sdk_error)?;
            if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                found.extend(items);
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

    /// Writes items unconditionally in BatchWriteItem chunks of 25, several chunks at
    /// once, re-sending throttled items; returns the number of calls made.
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> Result<usize, StoreError> {
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
                .map_err(sdk_error)?;
            pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(calls);
            }
        }
        Err(StoreError::Unavailable("writes throttled".into()))
    }

    /// A page of partition `pk`, newest first (docs/api.md §1), skipping expired items and
    /// those `filter` leaves out. The cursor names the partition, so it only works on this
    /// list; a page may come back short with a cursor when a filter leaves most items out (the
    /// read per request is bounded).
    pub(crate) async fn page(&self, q: PageQuery<'_>) -> Result<Page<Item>, ListError> {
        let list = q.identity();
        let cursor_at = |sk: &str| encode_cursor(&self.cursor_key, &list, sk);
        let mut start = match q.cursor {
            Some(c) => Some(key(q.pk.clone(), decode_cursor(&self.cursor_key, &list, c, q.sk_ok)?)),
            None => None,
        };
        let mut items = Vec::with_capacity(q.limit);
        for _ in 0..PAGE_READ_BUDGET {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .scan_index_forward(false)
                // Filters apply after the read: read ahead when the filter is selective.
                .limit(if q.selective { 200.max(q.limit as i32) } else { (q.limit - items.len()) as i32 })
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#ttl", keys::TTL)
                .expression_attribute_values(":pk", s(q.pk.clone()))
                .expression_attribute_values(":now", n(q.now.epoch_secs()))
                .set_exclusive_start_key(start.take());
            let mut filter = "(attribute_not_exists(#ttl) OR #ttl > :now)".to_string();
            if let Some(f) = &q.filter {
                filter.push_str(" AND ");
                filter.push_str(&f.expr);
                for (k, v) in &f.names {
                    req = req.expression_attribute_names(k, v);
                }
                for (k, v) in &f.values {
                    req = req.expression_attribute_values(k, v.clone());
                }
            }
            req = match &q.range {
                Some((low, high)) => req
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":low", s(low.clone()))
                    .expression_attribute_values(":high", s(high.clone())),
                None => req.key_condition_expression("#pk = :pk"),
            };
            let out = req.filter_expression(filter).send().await.map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                if items.len() == q.limit {
                    let cursor = attr_s(&items[items.len() - 1], keys::SK).map(cursor_at);
                    return Ok(Page { items, next_cursor: cursor });
                }
                items.push(item);
            }
            match out.last_evaluated_key {
                None => return Ok(Page { items, next_cursor: None }),
                Some(lek) => {
                    if items.len() == q.limit {
                        let cursor = attr_s(&items[items.len() - 1], keys::SK).map(cursor_at);
                        return Ok(Page { items, next_cursor: cursor });
                    }
                    start = Some(lek);
                }
            }
        }
        let cursor = start.as_ref().and_then(|lek| attr_s(lek, keys::SK)).map(cursor_at);
        Ok(Page { items, next_cursor: cursor })
    }
}

/// Query calls one list request may make before it answers with what it has.
const PAGE_READ_BUDGET: usize = 4;

/// What `Store::page` reads.
pub(crate) struct PageQuery<'a> {
    pub pk: String,
    /// Only sort keys in `[low, high]`.
    pub range: Option<(String, String)>,
    pub filter: Option<Cond>,
    /// The filter leaves out many items (a status or type filter), not just a few.
    pub selective: bool,
    pub limit: usize,
    pub cursor: Option<&'a str>,
    /// Checks that a cursor's sort key has this list's shape.
    pub sk_ok: fn(&str) -> bool,
    pub now: Millis,
}

enum Failure {
    Condition,
    Store(StoreError),
}

fn classify<E, R>(e: SdkError<E, R>) -> Failure
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if e.as_service_error().is_some_and(is_condition_failure) {
        Failure::Condition
    } else {
        Failure::Store(sdk_error(e))
    }
}

impl PageQuery<'_> {
    /// What a cursor is bound to: the partition, the key range and the filter. A cursor
    /// of another list, project or filter does not verify.
    fn identity(&self) -> String {
        let mut id = format!("{}\0{:?}", self.pk, self.range);
        if let Some(f) = &self.filter {
            let mut values: Vec<_> = f.values.iter().collect();
            values.sort_by(|a, b| a.0.cmp(b.0));
            id.push_str(&format!("\0{}\0{values:?}", f.expr));
        }
        id
    }
}

/// The key that signs cursors: from a deployment secret and the table.
fn cursor_key(secret: &str, table: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(b"hookline list cursors\0")
        .chain_update(secret.as_bytes())
        .chain_update([0])
        .chain_update(table.as_bytes())
        .finalize()
        .into()
}

/// Bytes of HMAC kept in a cursor: 128 bits, beyond guessing.
const CURSOR_TAG: usize = 16;

fn cursor_mac(key: &[u8; 32], list: &str, sk: &str) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(list.as_bytes());
    mac.update(&[0]);
    mac.update(sk.as_bytes());
    mac
}

/// `<base64url sort key>.<base64url tag>`: the last sort key returned, signed for its list.
fn encode_cursor(key: &[u8; 32], list: &str, sk: &str) -> String {
    use hmac::Mac;
    let tag = cursor_mac(key, list, sk).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(sk), URL_SAFE_NO_PAD.encode(&tag[..CURSOR_TAG]))
}

/// The sort key a cursor continues after, if it was made by this deployment for this
/// list and has the list's shape; anything else is the client's error, never a storage one.
fn decode_cursor(key: &[u8; 32], list: &str, cursor: &str, sk_ok: fn(&str) -> bool) -> Result<String, BadCursor> {
    use hmac::Mac;
    let (sk, tag) = cursor.trim().split_once('.').ok_or(BadCursor)?;
    let sk = String::from_utf8(URL_SAFE_NO_PAD.decode(sk).map_err(|_| BadCursor)?).map_err(|_| BadCursor)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| BadCursor)?;
    if tag.len() != CURSOR_TAG || sk.is_empty() || sk.len() > MAX_SORT_KEY {
        return Err(BadCursor);
    }
    cursor_mac(key, list, &sk).verify_truncated_left(&tag).map_err(|_| BadCursor)?;
    if !sk_ok(&sk) {
        return Err(BadCursor);
    }
    Ok(sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_only_work_on_their_own_list() {
        let ok = |sk: &str| sk.starts_with("evt_");
        let k = cursor_key("secret", "table");
        let c = encode_cursor(&k, "EVT#1", "evt_01");
        assert_eq!(decode_cursor(&k, "EVT#1", &c, ok), Ok("evt_01".to_string()));
        assert!(decode_cursor(&k, "EVT#2", &c, ok).is_err(), "another project's list");
        assert!(decode_cursor(&cursor_key("other", "table"), "EVT#1", &c, ok).is_err(), "another deployment");
        // A forged sort key, with the tag of another one or none.
        let tag = c.split_once('.').unwrap().1;
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("evt_02"));
        assert!(decode_cursor(&k, "EVT#1", &forged, ok).is_err());
        assert!(decode_cursor(&k, "EVT#1", &URL_SAFE_NO_PAD.encode("evt_02"), ok).is_err());
        assert!(decode_cursor(&k, "EVT#1", &encode_cursor(&k, "EVT#1", "wh_x"), ok).is_err(), "wrong shape");
        assert!(decode_cursor(&k, "EVT#1", "not base64 !", ok).is_err());
        assert!(decode_cursor(&k, "EVT#1", &c[..c.len() - 2], ok).is_err(), "truncated");
        let long = format!("evt_{}", "A".repeat(2000));
        assert!(decode_cursor(&k, "EVT#1", &encode_cursor(&k, "EVT#1", &long), ok).is_err());
    }

    #[test]
    fn a_cursor_is_bound_to_the_filter_of_its_list() {
        let q = |filter: Option<Cond>| PageQuery {
            pk: "DLV#1#wh#g".into(),
            range: None,
            filter,
            selective: true,
            limit: 10,
            cursor: None,
            sk_ok: |_| true,
            now: Millis::ZERO,
        };
        let status = |v: &str| Some(Cond::new("#s = :s").name("#s", "status").value(":s", s(v)));
        assert_eq!(q(status("error")).identity(), q(status("error")).identity());
        assert_ne!(q(status("error")).identity(), q(status("success")).identity());
        assert_ne!(q(status("error")).identity(), q(None).identity());
    }
}
