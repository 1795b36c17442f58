//! The deployment's event-type catalogue (§11): one small partition.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{from_item, key, keys, n, s, to_item, Cond, Item, ListError, Page, PageQuery, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::matching::is_valid_event_type;
use crate::model::EventType;

fn item(t: &EventType) -> Result<Item, StoreError> {
    to_item(t, [(keys::PK, s(keys::event_types())), (keys::SK, s(t.name.clone()))])
}

impl Store {
    /// `false` when the name exists.
    pub async fn create_event_type(&self, t: &EventType) -> Result<bool, StoreError> {
        self.write(Write::put(item(t)?).when(Cond::absent())).await
    }

    /// Replaces a type if it is still at `old_version`.
    pub async fn replace_event_type(&self, t: &EventType, old_version: u64) -> Result<bool, StoreError> {
        let cond = Cond::new("#v = :v").name("#v", "version").value(":v", n(old_version));
        self.write(Write::put(item(t)?).when(cond)).await
    }

    pub async fn get_event_type(&self, name: &str) -> Result<Option<EventType>, StoreError> {
        self.get(key(keys::event_types(), name), Millis::ZERO).await?.map(from_item).transpose()
    }

    pub async fn delete_event_type(&self, name: &str) -> Result<bool, StoreError> {
        self.write(Write::delete(key(keys::event_types(), name)).when(Cond::present())).await
    }

    pub async fn list_event_types(
        &self,
        include_archived: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<EventType>, ListError> {
        let filter = (!include_archived)
            .then(|| Cond::new("#a = :f").name("#a", "archived").value(":f", AttributeValue::Bool(false)));
        let page = self
            .page(PageQuery {
                pk: keys::event_types(),
                range: None,
                filter,
                selective: !include_archived,
                ascending: true,
                limit,
                cursor,
                sk_ok: is_valid_event_type,
                now: Millis::ZERO,
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }
}
