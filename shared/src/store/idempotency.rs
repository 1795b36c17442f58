//! `Idempotency-Key` records: what the first request with a key answered.

use serde::{Deserialize, Serialize};

use super::{from_item, is_condition_failure, key, keys, n, s, to_item, unavailable, Store};
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The event id reserved by the first request, reused by any retry of it.
    pub event_id: String,
    pub received_at: u64,
    /// SHA-256 of the request body: the same key with another body is a conflict.
    pub request_hash: String,
    /// The answer's `result` as JSON text, once the intake completed.
    pub response: Option<String>,
    /// TTL (epoch seconds): 24 hours after the first request.
    pub expires_at: u64,
}

impl Store {
    pub async fn get_idempotency(
        &self,
        pid: u64,
        key_hash: &str,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get(key(keys::idempotency(pid, key_hash), "IDEM"), now_ms).await?.map(from_item).transpose()
    }

    /// Reserves the key; `false` when another request holds a live reservation.
    pub async fn start_idempotency(
        &self,
        pid: u64,
        key_hash: &str,
        rec: &IdempotencyRecord,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let item = to_item(rec, &[("pk", keys::idempotency(pid, key_hash)), ("sk", "IDEM".into())])?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An expired record not yet swept by TTL may be taken over.
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now_ms / 1000))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn complete_idempotency(&self, pid: u64, key_hash: &str, response: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::idempotency(pid, key_hash), "IDEM")))
            .update_expression("SET #r = :r")
            .expression_attribute_names("#r", "response")
            .expression_attribute_values(":r", s(response))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
