//! Webhooks of a project, and the failure state the delivery function keeps on them.

use super::{from_item, key, keys, n, s, sdk_error, to_item, Cond, Item, ListError, Page, PageQuery, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{ProjectId, WebhookId};
use crate::model::{Generation, Webhook, WebhookRoute};

/// A change of a webhook's failure state (docs/api.md §12), written only when the state changes so
/// that a healthy webhook's deliveries pay nothing for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFailureChange {
    /// The first failure since the last success.
    StartFailing { since: Millis },
    /// A success after failures.
    Recovered,
    /// Failing long enough: disabled with reason `failing`.
    Disable { now: Millis },
}

fn item(wh: &Webhook) -> Result<Item, StoreError> {
    to_item(wh, [(keys::PK, s(keys::project(wh.project_id))), (keys::SK, s(keys::webhook_sk(&wh.id)))])
}

fn webhook_key(pid: ProjectId, id: &WebhookId) -> Item {
    key(keys::project(pid), keys::webhook_sk(id))
}

/// The sort-key range of a project's webhooks within its partition.
fn webhook_range() -> (String, String) {
    (keys::WEBHOOK_SK_PREFIX.to_string(), format!("{}~", keys::WEBHOOK_SK_PREFIX))
}

impl Store {
    /// Writes a new webhook; `false` when one with this id exists.
    pub async fn create_webhook(&self, wh: &Webhook) -> Result<bool, StoreError> {
        self.write(Write::put(item(wh)?).when(Cond::absent())).await
    }

    /// Writes `wh` over `old`; `false` when someone (a person or the delivery function's
    /// failure bookkeeping) changed it in between.
    pub async fn replace_webhook(&self, wh: &Webhook, old: &Webhook) -> Result<bool, StoreError> {
        let since = old.failing_since.map_or(aws_sdk_dynamodb::types::AttributeValue::Null(true), |m| n(m.0));
        let cond = Cond::new("#u = :u AND #e = :e AND (attribute_not_exists(#f) OR #f = :f)")
            .name("#u", "updated_at")
            .name("#e", "enabled")
            .name("#f", "failing_since")
            .value(":u", n(old.updated_at.0))
            .value(":e", aws_sdk_dynamodb::types::AttributeValue::Bool(old.enabled))
            .value(":f", since);
        self.write(Write::put(item(wh)?).when(cond)).await
    }

    pub async fn get_webhook(&self, pid: ProjectId, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        self.get(webhook_key(pid, id), Millis::ZERO).await?.map(from_item).transpose()
    }

    /// Deletes a webhook; `false` when there was none.
    pub async fn delete_webhook(&self, pid: ProjectId, id: &WebhookId) -> Result<bool, StoreError> {
        self.write(Write::delete(webhook_key(pid, id)).when(Cond::present())).await
    }

    pub async fn list_webhooks(
        &self,
        pid: ProjectId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Webhook>, ListError> {
        let page = self
            .page(PageQuery {
                pk: keys::project(pid),
                range: Some(webhook_range()),
                filter: None,
                selective: false,
                limit,
                cursor,
                sk_ok: |sk| sk.strip_prefix(keys::WEBHOOK_SK_PREFIX).and_then(WebhookId::parse).is_some(),
                now: Millis::ZERO,
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Every webhook of a project, whole (strongly consistent).
    pub async fn all_webhooks(&self, pid: ProjectId) -> Result<Vec<Webhook>, StoreError> {
        self.read_webhooks(pid, Read::Whole).await
    }

    /// What the intake fans an event out by, of every webhook of a project (strongly
    /// consistent, as `all_webhooks`).
    pub async fn webhook_routes(&self, pid: ProjectId) -> Result<Vec<WebhookRoute>, StoreError> {
        self.read_webhooks(pid, Read::Routes).await
    }

    async fn read_webhooks<T: serde::de::DeserializeOwned>(
        &self,
        pid: ProjectId,
        read: Read,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each_webhook_page(pid, read, |items, _| {
            for item in items {
                out.push(from_item(item)?);
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Applies a failure-state change to the incarnation `generation` of a webhook.
    /// `false`: the state was already changed (or the webhook is gone).
    pub async fn change_webhook_failure(
        &self,
        pid: ProjectId,
        id: &WebhookId,
        generation: &Generation,
        change: WebhookFailureChange,
    ) -> Result<bool, StoreError> {
        let w = Write::update(webhook_key(pid, id));
        let cond = |expr: &str| {
            Cond::new(&format!("#g = :g AND {expr}")).name("#g", "generation").value(":g", s(generation.as_str()))
        };
        let w = match change {
            WebhookFailureChange::StartFailing { since } => w.set("failing_since", n(since.0)).when(
                cond("(attribute_not_exists(#f) OR #f = :null)").name("#f", "failing_since").value(":null", null()),
            ),
            WebhookFailureChange::Recovered => w
                .set("failing_since", null())
                .when(cond("attribute_exists(#f) AND #f <> :null").name("#f", "failing_since").value(":null", null())),
            WebhookFailureChange::Disable { now } => w
                .set("enabled", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
                .set("disabled_reason", s("failing"))
                .set("updated_at", n(now.0))
                .when(
                    cond("#e = :t")
                        .name("#e", "enabled")
                        .value(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
                ),
        };
        self.write(w).await
    }

    /// Number of webhooks a project has (bounded by the per-project cap).
    pub async fn count_webhooks(&self, pid: ProjectId) -> Result<usize, StoreError> {
        let mut count = 0usize;
        self.each_webhook_page(pid, Read::Count, |_, n| {
            count += n;
            Ok(())
        })
        .await?;
        Ok(count)
    }

    /// Walks every page of a project's webhook range: strongly consistent items, whole or
    /// their routes, or just counts for the cap check.
    async fn each_webhook_page(
        &self,
        pid: ProjectId,
        read: Read,
        mut visit: impl FnMut(Vec<Item>, usize) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let (low, high) = webhook_range();
        let mut start = None;
        loop {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(keys::project(pid)))
                .expression_attribute_values(":low", s(low.clone()))
                .expression_attribute_values(":high", s(high.clone()))
                .set_exclusive_start_key(start);
            let q = match read {
                Read::Count => q.select(aws_sdk_dynamodb::types::Select::Count),
                Read::Whole => q.consistent_read(true),
                Read::Routes => WebhookRoute::ATTRIBUTES
                    .iter()
                    .enumerate()
                    .fold(q.consistent_read(true), |q, (i, a)| q.expression_attribute_names(format!("#a{i}"), *a))
                    .projection_expression(
                        (0..WebhookRoute::ATTRIBUTES.len()).map(|i| format!("#a{i}")).collect::<Vec<_>>().join(", "),
                    ),
            };
            let page = q.send().await.map_err(sdk_error)?;
            visit(page.items.unwrap_or_default(), page.count as usize)?;
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }
}

/// How much of each webhook a walk of the range reads.
#[derive(Clone, Copy)]
enum Read {
    Count,
    Whole,
    Routes,
}

fn null() -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::Null(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_reads_from_the_projected_attributes_of_a_stored_webhook() {
        let mut wh = crate::model::webhook_fixture();
        wh.filter = Some(r#"{"data":{"n":1}}"#.into());
        wh.ordered = true;
        wh.event_types = vec!["a.b".into()];
        let stored = item(&wh).unwrap();
        // What the query's projection leaves of the item.
        let projected: Item =
            stored.into_iter().filter(|(k, _)| WebhookRoute::ATTRIBUTES.contains(&k.as_str())).collect();
        assert_eq!(projected.len(), WebhookRoute::ATTRIBUTES.len(), "every route attribute is stored under its name");
        let route: WebhookRoute = from_item(projected).unwrap();
        assert_eq!(route, WebhookRoute::from(&wh));
    }
}
