//! Projects and their API keys.

use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{generate_api_key, sha256_hex};
use crate::error::ApiError;
use crate::model::Project;

/// Creates a project; returns it with its API key, shown this once.
pub async fn create(app: &App, name: String, client_id: Option<i64>) -> Result<(Project, String), ApiError> {
    let api_key = generate_api_key();
    let project = Project {
        project_id: app.store.next_project_id().await?,
        client_id,
        name,
        api_key_hash: sha256_hex(&api_key),
        created_at: Millis::now(),
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
