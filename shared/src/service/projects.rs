//! Projects and their API keys.

use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{generate_api_key, generate_external_id, sha256_hex};
use crate::error::ApiError;
use crate::ids::ProjectId;
use crate::model::Project;
use crate::service::webhooks::list_error;
use crate::store::Page;

/// Creates a project; returns it with its API key, shown this once.
pub async fn create(app: &App, name: String, client_id: Option<i64>) -> Result<(Project, String), ApiError> {
    let api_key = generate_api_key();
    let project = Project {
        project_id: app.store.next_project_id().await?,
        client_id,
        name,
        api_key_hash: sha256_hex(&api_key),
        created_at: Millis::now(),
        external_id: generate_external_id(),
    };
    app.store.create_project(&project).await?;
    Ok((project, api_key))
}

/// Issues a new key; the old one stops working at once.
pub async fn rotate_key(app: &App, project: &Project) -> Result<(Project, String), ApiError> {
    let api_key = generate_api_key();
    let hash = sha256_hex(&api_key);
    if !app.store.rotate_api_key(project, &hash).await? {
        return Err(ApiError::Conflict("the key was rotated concurrently; use the newest key".into()));
    }
    Ok((Project { api_key_hash: hash, ..project.clone() }, api_key))
}

/// The project as shown: one made before external ids gets its own now, and so does
/// project 0 (not stored, so its id is kept apart) the first time it is asked for.
pub async fn with_external_id(app: &App, project: &Project) -> Result<Project, ApiError> {
    if !project.external_id.is_empty() {
        return Ok(project.clone());
    }
    if project.project_id.is_operations() {
        let external_id = app.store.operations_external_id(&generate_external_id()).await?;
        return Ok(Project { external_id, ..project.clone() });
    }
    Ok(app.store.set_external_id(project, &generate_external_id()).await?)
}

/// Every project, newest first (docs/api.md §3).
pub async fn list(app: &App, limit: usize, cursor: Option<&str>) -> Result<Page<Project>, ApiError> {
    let page = app.store.list_projects(limit, cursor).await.map_err(list_error)?;
    let mut items = Vec::with_capacity(page.items.len());
    for p in &page.items {
        items.push(with_external_id(app, p).await?);
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Deletes a project: its webhooks first (their pending deliveries, retries included, are
/// then dropped when they wake up, never sent), then the project and its key together, so a
/// failure part way leaves a project that a second DELETE finishes. Its portal sessions stop
/// with it: every portal request reads the project.
pub async fn delete(app: &App, pid: ProjectId) -> Result<(), ApiError> {
    if pid.is_operations() {
        return Err(ApiError::Conflict("project 0, the operations project, cannot be deleted".into()));
    }
    let project = app.store.get_project(pid).await?.ok_or_else(|| ApiError::not_found("project"))?;
    for wh in app.store.all_webhooks(pid).await? {
        app.store.delete_webhook(pid, &wh.id).await?;
    }
    app.store.delete_project(&project).await?;
    Ok(())
}
