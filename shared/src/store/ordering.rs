//! Ordered delivery (docs/api.md §15): per ordered webhook incarnation and ordering key,
//! one item naming the key's last delivery. Intake appends a delivery by swapping it in and
//! learns the delivery before it, which its first attempt then waits for.

use aws_sdk_dynamodb::types::ReturnValue;

use super::{attr_s, classify, key, keys, s, ttl, Failure, Store};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{DeliveryId, ProjectId, WebhookId};
use crate::model::Generation;

const LAST: &str = "last";
const BEFORE_LAST: &str = "before_last";

/// One ordered sequence: a webhook incarnation's deliveries of one ordering key.
#[derive(Debug, Clone, Copy)]
pub struct Sequence<'a> {
    pub project_id: ProjectId,
    pub webhook_id: &'a WebhookId,
    pub generation: &'a Generation,
    pub ordering_key: &'a str,
}

impl Store {
    /// Makes `delivery` the last of `seq` and returns the delivery before it (`None`: the
    /// first of its key). One write. Appending the same delivery again (a retried intake
    /// request, same event id) returns the same answer as the first time.
    pub async fn append_ordered(
        &self,
        seq: Sequence<'_>,
        delivery: &DeliveryId,
        expires: Millis,
    ) -> Result<Option<DeliveryId>, StoreError> {
        let k = key(keys::ordering(seq.project_id, seq.webhook_id, seq.generation), seq.ordering_key);
        // The right-hand sides read the item as it was: `before_last` gets the old `last`.
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k.clone()))
            // A key's first delivery has no `last`: `before_last` is then the empty string.
            .update_expression("SET #b = if_not_exists(#l, :none), #l = :me, #t = :t")
            .condition_expression("attribute_not_exists(#l) OR #l <> :me")
            .expression_attribute_names("#l", LAST)
            .expression_attribute_names("#b", BEFORE_LAST)
            .expression_attribute_names("#t", keys::TTL)
            .expression_attribute_values(":me", s(delivery.as_str()))
            .expression_attribute_values(":t", ttl(expires))
            .expression_attribute_values(":none", s(""))
            .return_values(ReturnValue::UpdatedOld);
        let before = match req.send().await.map_err(classify) {
            Ok(out) => out.attributes.and_then(|old| attr_s(&old, LAST).map(str::to_owned)),
            // Already the last: this is a repeat, and the item still says what came before.
            Err(Failure::Condition) => {
                let item = self.get(k, Millis::now()).await?;
                item.and_then(|i| attr_s(&i, BEFORE_LAST).map(str::to_owned))
            }
            Err(Failure::Store(e)) => return Err(e),
        };
        Ok(before.and_then(|b| DeliveryId::parse(&b)))
    }
}
