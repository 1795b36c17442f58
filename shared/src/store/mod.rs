//! DynamoDB storage: one table, items keyed as described in `keys`.

mod events;
mod idempotency;
pub mod keys;
mod projects;
mod ratelimit;
mod webhooks;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::StoreError;

pub use events::{DeliveryContext, DeliveryLog};
pub use idempotency::IdempotencyRecord;
pub use ratelimit::RateDecision;
pub use webhooks::WriteMode;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

/// A page of a list: the items and an opaque cursor for the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A cursor that does not decode to a key of the list it is used with.
#[derive(Debug, thiserror::Error)]
#[error("cursor is not valid for this list")]
pub struct BadCursor;

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
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

/// Any SDK failure that is not an expected condition: the caller retries later.
pub(crate) fn unavailable<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// `true` when a transaction was cancelled because one of its conditions failed.
pub(crate) fn is_condition_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(e.code(), Some("ConditionalCheckFailedException"))
        || (e.code() == Some("TransactionCanceledException")
            && e.message().is_some_and(|m| m.contains("ConditionalCheckFailed")))
}

pub(crate) fn to_item<T: Serialize>(value: &T, keys: &[(&str, String)]) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    for (k, v) in keys {
        item.insert((*k).to_string(), s(v.clone()));
    }
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Whether an item's TTL has passed: DynamoDB deletes expired items lazily, so
/// reads must hide them themselves.
pub(crate) fn is_expired(item: &Item, now_ms: u64) -> bool {
    match item.get("expires_at") {
        Some(AttributeValue::N(v)) => v.parse::<u64>().is_ok_and(|secs| secs * 1000 <= now_ms),
        _ => false,
    }
}

pub(crate) fn encode_cursor(lek: Option<&Item>) -> Option<String> {
    let lek = lek?;
    let map: serde_json::Map<String, serde_json::Value> = lek
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), serde_json::Value::from(s.as_str()))))
        .collect();
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).ok()?))
}

/// Decodes a cursor and checks that it names keys of the expected shape.
pub(crate) fn decode_cursor(cursor: &str, expected: &[&str]) -> Result<Item, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if map.len() != expected.len() || !expected.iter().all(|k| map.contains_key(*k)) {
        return Err(BadCursor);
    }
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) if !s.is_empty() => Ok((k, AttributeValue::S(s))),
            _ => Err(BadCursor),
        })
        .collect()
}

/// What a paginated query needs to know about its index.
pub(crate) struct ListQuery<'a> {
    pub index: Option<&'a str>,
    pub pk_attr: &'a str,
    pub pk: String,
    /// A `begins_with` on the sort key, for lists that share a partition.
    pub sk_prefix: Option<(&'a str, &'a str)>,
    pub limit: usize,
    pub cursor: Option<&'a str>,
    pub now_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Newest-first page of a partition, skipping expired items, filled up to `limit`.
    pub(crate) async fn list(&self, q: ListQuery<'_>) -> Result<(Vec<Item>, Option<String>), ListError> {
        let key_attrs: Vec<&str> = match q.index {
            None => vec!["pk", "sk"],
            Some(ix) => {
                let (p, s) = keys::index_attrs(ix);
                vec!["pk", "sk", p, s]
            }
        };
        let mut start = q.cursor.map(|c| decode_cursor(c, &key_attrs)).transpose()?;
        let mut items = Vec::with_capacity(q.limit);
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .scan_index_forward(false)
                .limit((q.limit - items.len()) as i32)
                .expression_attribute_names("#pk", q.pk_attr)
                .expression_attribute_values(":pk", s(q.pk.clone()))
                .expression_attribute_values(":now", n(q.now_ms / 1000))
                .filter_expression("attribute_not_exists(expires_at) OR expires_at > :now")
                .set_exclusive_start_key(start.take());
            req = match q.sk_prefix {
                Some((sk_attr, prefix)) => req
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", sk_attr)
                    .expression_attribute_values(":prefix", s(prefix)),
                None => req.key_condition_expression("#pk = :pk"),
            };
            if let Some(ix) = q.index {
                req = req.index_name(ix);
            }
            let out = req.send().await.map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(lek) if items.len() < q.limit => start = Some(lek),
                lek => return Ok((items, encode_cursor(lek.as_ref()))),
            }
        }
    }

    pub(crate) async fn get(&self, key: Item, now_ms: u64) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.filter(|i| !is_expired(i, now_ms)))
    }
}
