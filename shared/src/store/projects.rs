//! Projects, their id counter and their API keys.

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::{from_item, is_condition_failure, key, keys, n, s, to_item, unavailable, Store};
use crate::error::StoreError;
use crate::model::Project;

impl Store {
    /// The next project id from an atomic counter: 1, 2, 3, …
    pub async fn next_project_id(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key("COUNTER".into(), "PROJECT")))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        out.attributes
            .and_then(|a| a.get("value").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()))
            .ok_or_else(|| StoreError::Corrupt("project counter".into()))
    }

    /// Writes the project and its key lookup together, or neither.
    pub async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let project_item = to_item(project, &[("pk", keys::project(project.project_id)), ("sk", "PRJ".into())])?;
        // The key item carries a copy of the project so authentication is one read.
        let key_item = to_item(project, &[("pk", keys::api_key(&project.api_key_hash)), ("sk", "KEY".into())])?;
        self.client
            .transact_write_items()
            .transact_items(put(&self.table, project_item, true)?)
            .transact_items(put(&self.table, key_item, true)?)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn get_project(&self, pid: u64) -> Result<Option<Project>, StoreError> {
        self.get(key(keys::project(pid), "PRJ"), 0).await?.map(from_item).transpose()
    }

    /// The project whose current API key hashes to `hash`.
    pub async fn project_by_key_hash(&self, hash: &str) -> Result<Option<Project>, StoreError> {
        self.get(key(keys::api_key(hash), "KEY"), 0).await?.map(from_item).transpose()
    }

    /// Replaces the project's key: the old key stops working in the same transaction.
    /// Returns `false` when the key was rotated concurrently.
    pub async fn rotate_api_key(&self, project: &Project, new_hash: &str) -> Result<bool, StoreError> {
        let mut updated = project.clone();
        updated.api_key_hash = new_hash.to_string();
        let key_item = to_item(&updated, &[("pk", keys::api_key(new_hash)), ("sk", "KEY".into())])?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(keys::api_key(&project.api_key_hash), "KEY")))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .map_err(unavailable)?,
                    )
                    .build(),
            )
            .transact_items(put(&self.table, key_item, true)?)
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(keys::project(project.project_id), "PRJ")))
                            .update_expression("SET api_key_hash = :new")
                            .condition_expression("api_key_hash = :old")
                            .expression_attribute_values(":new", s(new_hash))
                            .expression_attribute_values(":old", s(project.api_key_hash.clone()))
                            .build()
                            .map_err(unavailable)?,
                    )
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// A transaction `Put`, optionally only where no item exists yet.
pub(crate) fn put(table: &str, item: super::Item, create_only: bool) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder().table_name(table).set_item(Some(item));
    if create_only {
        p = p.condition_expression("attribute_not_exists(pk)");
    }
    Ok(TransactWriteItem::builder().put(p.build().map_err(unavailable)?).build())
}
