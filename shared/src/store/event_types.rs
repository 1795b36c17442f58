//! The deployment's event-type catalogue (docs/api.md §11): one small partition.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{from_item, key, keys, n, s, to_item, Cond, Item, ListError, Page, PageQuery, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::model::EventType;

fn item(t: &EventType) -> Result<Item, StoreError> {
    to_item(t, [(keys::PK, s(keys::event_types())), (keys::SK, s(t.name.clone()))])
}

/// The copy in the newest-first list. Catalogue writes are rare; the list is one query.
fn by_time_key(t: &EventType) -> Item {
    key(keys::event_types_by_time(), keys::event_type_by_time(t.created_at, &t.name))
}

fn by_time_item(t: &EventType) -> Result<Item, StoreError> {
    let k = by_time_key(t);
    to_item(t, [(keys::PK, k[keys::PK].clone()), (keys::SK, k[keys::SK].clone())])
}

impl Store {
    /// `false` when the name exists.
    pub async fn create_event_type(&self, t: &EventType) -> Result<bool, StoreError> {
        self.write_all(vec![Write::put(item(t)?).when(Cond::absent()), Write::put(by_time_item(t)?)]).await
    }

    /// Replaces a type if it is still at `old_version`.
    pub async fn replace_event_type(&self, t: &EventType, old_version: u64) -> Result<bool, StoreError> {
        let cond = Cond::new("#v = :v").name("#v", "version").value(":v", n(old_version));
        self.write_all(vec![Write::put(item(t)?).when(cond), Write::put(by_time_item(t)?)]).await
    }

    pub async fn get_event_type(&self, name: &str) -> Result<Option<EventType>, StoreError> {
        self.get(key(keys::event_types(), name), Millis::ZERO).await?.map(from_item).transpose()
    }

    /// Deletes `t` if it is still at its version.
    pub async fn delete_event_type(&self, t: &EventType) -> Result<bool, StoreError> {
        let cond = Cond::new("#v = :v").name("#v", "version").value(":v", n(t.version));
        self.write_all(vec![
            Write::delete(key(keys::event_types(), t.name.as_str())).when(cond),
            Write::delete(by_time_key(t)),
        ])
        .await
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
                pk: keys::event_types_by_time(),
                range: None,
                filter,
                selective: !include_archived,
                limit,
                cursor,
                sk_ok: keys::is_event_type_by_time,
                now: Millis::ZERO,
            })
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }
}
