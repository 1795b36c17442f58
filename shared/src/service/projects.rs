//! Projects and their API keys.

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::clock::now_ms;
use crate::credentials::{generate_api_key, sha256_hex};
use crate::error::{ApiError, FieldError};
use crate::model::Project;

pub async fn create(app: &App, body: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut errors = Vec::new();
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 100 => Some(n.clone()),
        Some(_) => {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
            None
        }
        None => {
            errors.push(FieldError::new("name", "is required"));
            None
        }
    };
    let client_id = match body.get("client_id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => {
                errors.push(FieldError::new("client_id", "must be a positive integer"));
                None
            }
        },
    };
    for key in body.keys() {
        if key != "name" && key != "client_id" {
            errors.push(FieldError::new(key, "unknown field"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::from_fields(errors));
    }
    let api_key = generate_api_key();
    let project = Project {
        project_id: app.store.next_project_id().await?,
        client_id,
        name: name.unwrap_or_default(),
        api_key_hash: sha256_hex(&api_key),
        created_at: now_ms(),
    };
    app.store.create_project(&project).await?;
    let mut view = project.view();
    view["api_key"] = json!(api_key);
    Ok(view)
}

pub async fn rotate_key(app: &App, project: &Project) -> Result<Value, ApiError> {
    let api_key = generate_api_key();
    if !app.store.rotate_api_key(project, &sha256_hex(&api_key)).await? {
        return Err(ApiError::Conflict("the key was rotated concurrently; use the newest key".into()));
    }
    let mut view = project.view();
    view["api_key"] = json!(api_key);
    Ok(view)
}
