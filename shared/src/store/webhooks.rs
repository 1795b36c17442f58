//! Webhooks of a project.

use super::{from_item, is_condition_failure, key, keys, n, to_item, unavailable, ListError, ListQuery, Page, Store};
use crate::error::StoreError;
use crate::model::Webhook;

/// How a webhook write may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Only if no webhook has this id.
    Create,
    /// Only if the stored webhook still has this `updated_at` (no lost update).
    Replace { expected_updated_at: u64 },
}

impl Store {
    /// Writes a webhook; `Ok(false)` when the condition of `mode` did not hold.
    pub async fn put_webhook(&self, wh: &Webhook, mode: WriteMode) -> Result<bool, StoreError> {
        let item = to_item(wh, &[("pk", keys::project(wh.project_id)), ("sk", keys::webhook_sk(&wh.id))])?;
        let req = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let req = match mode {
            WriteMode::Create => req.condition_expression("attribute_not_exists(pk)"),
            WriteMode::Replace { expected_updated_at } => {
                req.condition_expression("updated_at = :u").expression_attribute_values(":u", n(expected_updated_at))
            }
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn get_webhook(&self, pid: u64, id: &str) -> Result<Option<Webhook>, StoreError> {
        self.get(key(keys::project(pid), &keys::webhook_sk(id)), 0).await?.map(from_item).transpose()
    }

    /// Deletes a webhook; `false` when there was none.
    pub async fn delete_webhook(&self, pid: u64, id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::project(pid), &keys::webhook_sk(id))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn list_webhooks(
        &self,
        pid: u64,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Webhook>, ListError> {
        let (items, next_cursor) = self
            .list(ListQuery {
                index: None,
                pk_attr: "pk",
                pk: keys::project(pid),
                sk_prefix: Some(("sk", "WH#")),
                limit,
                cursor,
                now_ms: 0,
            })
            .await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Every webhook of a project, for fan-out.
    pub async fn all_webhooks(&self, pid: u64) -> Result<Vec<Webhook>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :wh)")
                .expression_attribute_values(":pk", super::s(keys::project(pid)))
                .expression_attribute_values(":wh", super::s("WH#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}
