//! Projects, their id counter and their API keys.

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::{
    attr_s, decode_cursor, encode_cursor, from_item, key, keys, n, s, sdk_error, to_item, BadCursor, Item, ListError,
    Page, Store,
};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::ProjectId;
use crate::model::Project;

impl Store {
    /// The next project id from an atomic counter: 1, 2, 3, …
    pub async fn next_project_id(&self) -> Result<ProjectId, StoreError> {
        let (pk, sk) = keys::counter();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error)?;
        out.attributes
            .and_then(|a| super::attr_u64(&a, "value"))
            .map(ProjectId)
            .ok_or_else(|| StoreError::Corrupt("project counter".into()))
    }

    /// Writes the project and its key lookup together, or neither.
    pub async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let project_item = project_item(project)?;
        // The key item carries a copy of the project so authentication is one read.
        let key_item = key_item(project)?;
        self.client
            .transact_write_items()
            .transact_items(create(&self.table, project_item)?)
            .transact_items(create(&self.table, key_item)?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Every project, newest first: the ids are a counter, so a page reads down from the
    /// newest id (or the cursor's) in batches, skipping deleted ones. No listing item is
    /// written per project, and projects made before this list existed are in it.
    pub async fn list_projects(&self, limit: usize, cursor: Option<&str>) -> Result<Page<Project>, ListError> {
        const LIST: &str = "PROJECTS";
        let mut next = match cursor {
            Some(c) => {
                decode_cursor(&self.cursor_key, LIST, c, |sk| sk.parse::<u64>().is_ok_and(|n| n > 0))?
                    .parse::<u64>()
                    .map_err(|_| BadCursor)?
                    - 1
            }
            None => {
                let (pk, sk) = keys::counter();
                self.get(key(pk, sk), Millis::ZERO).await?.and_then(|i| super::attr_u64(&i, "value")).unwrap_or(0)
            }
        };
        let mut items: Vec<Project> = Vec::new();
        while next > 0 && items.len() < limit {
            let low = next.saturating_sub(100.min(2 * (limit - items.len()) as u64));
            let wanted = ((low + 1)..=next).map(|pid| key(keys::project(ProjectId(pid)), keys::PROJECT_SK)).collect();
            let mut found: Vec<Project> =
                self.batch_get(wanted, Millis::ZERO).await?.into_iter().map(from_item).collect::<Result<_, _>>()?;
            found.sort_by_key(|p| std::cmp::Reverse(p.project_id.0));
            let room = limit - items.len();
            if found.len() > room {
                found.truncate(room);
                next = found[room - 1].project_id.0 - 1;
                items.extend(found);
                break;
            }
            items.extend(found);
            next = low;
        }
        let next_cursor = match items.last() {
            Some(last) if next > 0 => Some(encode_cursor(&self.cursor_key, LIST, &last.project_id.0.to_string())),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// Removes the project and its key lookup together: its key stops working at once.
    pub async fn delete_project(&self, project: &Project) -> Result<(), StoreError> {
        let delete = |pk: String, sk: &str| -> Result<TransactWriteItem, StoreError> {
            let d = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(TransactWriteItem::builder().delete(d).build())
        };
        self.client
            .transact_write_items()
            .transact_items(delete(keys::project(project.project_id), keys::PROJECT_SK)?)
            .transact_items(delete(keys::api_key(&project.api_key_hash), keys::KEY_SK)?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Project 0's external id: `candidate` stored the first time, the stored one after
    /// (a concurrent caller's wins). Project 0 is not stored, so its id has an item of its own.
    pub async fn operations_external_id(&self, candidate: &str) -> Result<String, StoreError> {
        let at = || key(keys::project(ProjectId::OPERATIONS), keys::EXTERNAL_ID_SK);
        let stored = || async {
            Ok::<_, StoreError>(
                self.get(at(), Millis::ZERO).await?.and_then(|i| attr_s(&i, "external_id").map(str::to_owned)),
            )
        };
        // Read first: it is written once per deployment and read on every ask.
        if let Some(id) = stored().await? {
            return Ok(id);
        }
        let mut item = at();
        item.insert("external_id".into(), s(candidate));
        if self.write(super::Write::put(item).when(super::Cond::absent())).await? {
            return Ok(candidate.to_string());
        }
        stored().await?.ok_or_else(|| StoreError::Corrupt("project 0's external id".into()))
    }

    /// Gives a project made before external ids its one, once (a concurrent caller's wins).
    pub async fn set_external_id(&self, project: &Project, external_id: &str) -> Result<Project, StoreError> {
        for (pk, sk) in [
            (keys::project(project.project_id), keys::PROJECT_SK),
            (keys::api_key(&project.api_key_hash), keys::KEY_SK),
        ] {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression("SET external_id = :e")
                .condition_expression(
                    "attribute_exists(#pk) AND (attribute_not_exists(external_id) OR external_id = :empty)",
                )
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":e", s(external_id))
                .expression_attribute_values(":empty", s(""))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Ok(self.get_project(project.project_id).await?.unwrap_or_else(|| project.clone()))
    }

    pub async fn get_project(&self, pid: ProjectId) -> Result<Option<Project>, StoreError> {
        self.get(key(keys::project(pid), keys::PROJECT_SK), Millis::ZERO).await?.map(from_item).transpose()
    }

    /// The project whose current API key hashes to `hash`.
    pub async fn project_by_key_hash(&self, hash: &str) -> Result<Option<Project>, StoreError> {
        self.get(key(keys::api_key(hash), keys::KEY_SK), Millis::ZERO).await?.map(from_item).transpose()
    }

    /// Replaces the project's key: the old key stops working in the same transaction.
    /// Returns `false` when the key was rotated concurrently.
    pub async fn rotate_api_key(&self, project: &Project, new_hash: &str) -> Result<bool, StoreError> {
        let mut updated = project.clone();
        updated.api_key_hash = new_hash.to_string();
        let remove_old = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::api_key(&project.api_key_hash), keys::KEY_SK)))
            .condition_expression(format!("attribute_exists({})", keys::PK))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let point_project = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::project(project.project_id), keys::PROJECT_SK)))
            .update_expression("SET api_key_hash = :new")
            .condition_expression("api_key_hash = :old")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(project.api_key_hash.clone()))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(remove_old).build())
            .transact_items(create(&self.table, key_item(&updated)?)?)
            .transact_items(TransactWriteItem::builder().update(point_project).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // A cancelled transaction: one of its conditions failed (a concurrent rotation).
            Err(e) if e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception()) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

fn project_item(p: &Project) -> Result<Item, StoreError> {
    to_item(p, [(keys::PK, s(keys::project(p.project_id))), (keys::SK, s(keys::PROJECT_SK))])
}

fn key_item(p: &Project) -> Result<Item, StoreError> {
    to_item(p, [(keys::PK, s(keys::api_key(&p.api_key_hash))), (keys::SK, s(keys::KEY_SK))])
}

/// A transaction `Put` only where no item exists yet.
fn create(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(format!("attribute_not_exists({})", keys::PK))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}
