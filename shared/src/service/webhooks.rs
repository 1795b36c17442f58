//! Webhooks of a project, and 003's single project web hook (`wh_default`).

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::clock::now_ms;
use crate::credentials::{generate_secret, generate_verification_key};
use crate::error::ApiError;
use crate::http::list_result;
use crate::ids::{self, DEFAULT_WEBHOOK_ID};
use crate::model::{PayloadFormat, Project, Webhook, SECRET_OVERLAP_MS};
use crate::store::{ListError, WriteMode};
use crate::validate::{url_to_endpoint, WebhookChanges};

fn new_webhook(id: String, project_id: u64, now: u64) -> Webhook {
    Webhook {
        id,
        project_id,
        name: String::new(),
        url: String::new(),
        enabled: true,
        event_types: Vec::new(),
        headers: Default::default(),
        authorization: None,
        authorization_enabled: true,
        custom_parameters: Default::default(),
        content_type: Default::default(),
        payload_format: Default::default(),
        secret: generate_secret(),
        previous_secret: None,
        previous_secret_until: None,
        verification_key: generate_verification_key(),
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn list_error(e: ListError) -> ApiError {
    match e {
        ListError::Cursor(c) => ApiError::invalid("cursor", c.to_string()),
        ListError::Store(s) => s.into(),
    }
}

pub async fn list(app: &App, pid: u64, limit: usize, cursor: Option<&str>) -> Result<Value, ApiError> {
    let page = app.store.list_webhooks(pid, limit, cursor).await.map_err(list_error)?;
    Ok(list_result(&page.items, Webhook::view, page.next_cursor))
}

pub async fn create(app: &App, pid: u64, body: &Map<String, Value>) -> Result<Value, ApiError> {
    let changes = WebhookChanges::parse(body, &app.settings, true)?;
    let now = now_ms();
    let mut wh = new_webhook(ids::new_id(ids::WEBHOOK, now), pid, now);
    changes.apply(&mut wh);
    if !app.store.put_webhook(&wh, WriteMode::Create).await? {
        return Err(ApiError::Conflict("a webhook with this id already exists".into()));
    }
    Ok(wh.view_with_secrets())
}

pub async fn load(app: &App, pid: u64, id: &str) -> Result<Webhook, ApiError> {
    if !ids::is_valid_webhook_id(id) {
        return Err(ApiError::not_found("webhook"));
    }
    app.store.get_webhook(pid, id).await?.ok_or_else(|| ApiError::not_found("webhook"))
}

pub async fn get(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    Ok(load(app, pid, id).await?.view())
}

/// Writes `wh` over `old`, refusing if someone else changed it in between.
async fn replace(app: &App, old: &Webhook, mut wh: Webhook) -> Result<Webhook, ApiError> {
    wh.updated_at = now_ms().max(old.updated_at + 1);
    if !app.store.put_webhook(&wh, WriteMode::Replace { expected_updated_at: old.updated_at }).await? {
        return Err(ApiError::Conflict("the webhook was changed concurrently; retry".into()));
    }
    Ok(wh)
}

pub async fn patch(app: &App, pid: u64, id: &str, body: &Map<String, Value>) -> Result<Value, ApiError> {
    let old = load(app, pid, id).await?;
    let changes = WebhookChanges::parse(body, &app.settings, false)?;
    let mut wh = old.clone();
    changes.apply(&mut wh);
    Ok(replace(app, &old, wh).await?.view())
}

pub async fn delete(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    if !ids::is_valid_webhook_id(id) || !app.store.delete_webhook(pid, id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(json!("deleted"))
}

/// New secret and verification key; the old secret keeps signing for 24 hours.
pub async fn rotate_secret(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    let old = load(app, pid, id).await?;
    let now = now_ms();
    let mut wh = old.clone();
    wh.previous_secret = Some(old.secret.clone());
    wh.previous_secret_until = Some(now + SECRET_OVERLAP_MS);
    wh.secret = generate_secret();
    wh.verification_key = generate_verification_key();
    Ok(replace(app, &old, wh).await?.view_with_secrets())
}

/// 003's view of the project web hook.
fn web_hook_view(project: &Project, wh: &Webhook) -> Value {
    json!({
        "client_id": project.client_id,
        "project_id": project.project_id,
        "endpoint": url_to_endpoint(&wh.url),
        "enable_http_authorization": wh.authorization_enabled,
        "enable_web_hook": wh.enabled,
        "custom_parameters": wh.custom_parameters,
    })
}

pub async fn get_web_hook(app: &App, project: &Project) -> Result<Value, ApiError> {
    let wh = app
        .store
        .get_webhook(project.project_id, DEFAULT_WEBHOOK_ID)
        .await?
        .ok_or_else(|| ApiError::not_found("web hook"))?;
    Ok(web_hook_view(project, &wh))
}

pub async fn put_web_hook(app: &App, project: &Project, body: &Map<String, Value>) -> Result<Value, ApiError> {
    let changes = WebhookChanges::parse_web_hook(body, &app.settings)?;
    let pid = project.project_id;
    match app.store.get_webhook(pid, DEFAULT_WEBHOOK_ID).await? {
        Some(old) => {
            let mut wh = old.clone();
            changes.apply(&mut wh);
            Ok(web_hook_view(project, &replace(app, &old, wh).await?))
        }
        None => {
            if changes.url.is_none() {
                return Err(ApiError::invalid("endpoint", "is required to create the web hook"));
            }
            let now = now_ms();
            let mut wh = new_webhook(DEFAULT_WEBHOOK_ID.to_string(), pid, now);
            wh.name = "Project web hook".into();
            wh.payload_format = PayloadFormat::Flat;
            // 003: HTTP authorization is off until enabled.
            wh.authorization_enabled = false;
            changes.apply(&mut wh);
            if !app.store.put_webhook(&wh, WriteMode::Create).await? {
                return Err(ApiError::Conflict("the web hook was created concurrently; retry".into()));
            }
            Ok(web_hook_view(project, &wh))
        }
    }
}

pub async fn delete_web_hook(app: &App, project: &Project) -> Result<Value, ApiError> {
    if !app.store.delete_webhook(project.project_id, DEFAULT_WEBHOOK_ID).await? {
        return Err(ApiError::not_found("web hook"));
    }
    Ok(json!("deleted"))
}
