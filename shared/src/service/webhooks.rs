//! Webhooks of a project, and 003's single project web hook (`wh_default`).

use std::collections::BTreeMap;

use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{generate_secret, generate_verification_key};
use crate::error::ApiError;
use crate::ids::{new_generation, ProjectId, WebhookId};
use crate::model::{ContentType, PayloadFormat, Webhook};
use crate::store::{ListError, Page};

/// Webhooks a project may have: the event keeps its whole fan-out in one item.
pub const MAX_WEBHOOKS_PER_PROJECT: usize = 2000;

/// A checked set of changes to a webhook, from a create, a PATCH or 003's PUT.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WebhookChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears the stored value.
    pub authorization: Option<Option<String>>,
    pub authorization_enabled: Option<bool>,
    pub custom_parameters: Option<BTreeMap<String, String>>,
    pub content_type: Option<ContentType>,
    pub payload_format: Option<PayloadFormat>,
    pub secret: Option<String>,
    /// `Some(None)` removes the limit.
    pub rate_limit: Option<Option<u32>>,
}

impl WebhookChanges {
    pub fn apply(self, wh: &mut Webhook) {
        if let Some(v) = self.name {
            wh.name = v;
        }
        if let Some(v) = self.url {
            wh.url = v;
        }
        if let Some(v) = self.enabled {
            wh.set_enabled(v);
        }
        if let Some(v) = self.event_types {
            wh.event_types = v;
        }
        if let Some(v) = self.headers {
            wh.headers = v;
        }
        if let Some(v) = self.authorization {
            wh.authorization = v;
        }
        if let Some(v) = self.authorization_enabled {
            wh.authorization_enabled = v;
        }
        if let Some(v) = self.custom_parameters {
            wh.custom_parameters = v;
        }
        if let Some(v) = self.content_type {
            wh.content_type = v;
        }
        if let Some(v) = self.payload_format {
            wh.payload_format = v;
        }
        if let Some(v) = self.secret {
            wh.secret = v;
        }
        if let Some(v) = self.rate_limit {
            wh.rate_limit = v;
        }
    }
}

fn new_webhook(id: WebhookId, project_id: ProjectId, now: Millis) -> Webhook {
    Webhook {
        id,
        generation: new_generation(),
        project_id,
        name: String::new(),
        url: String::new(),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        rate_limit: None,
        event_types: Vec::new(),
        headers: BTreeMap::new(),
        authorization: None,
        authorization_enabled: true,
        custom_parameters: BTreeMap::new(),
        content_type: ContentType::default(),
        payload_format: PayloadFormat::default(),
        secret: generate_secret(),
        previous_secrets: Vec::new(),
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

pub async fn list(app: &App, pid: ProjectId, limit: usize, cursor: Option<&str>) -> Result<Page<Webhook>, ApiError> {
    app.store.list_webhooks(pid, limit, cursor).await.map_err(list_error)
}

async fn check_room(app: &App, pid: ProjectId) -> Result<(), ApiError> {
    if app.store.count_webhooks(pid).await? >= MAX_WEBHOOKS_PER_PROJECT {
        return Err(ApiError::Conflict(format!("a project may have at most {MAX_WEBHOOKS_PER_PROJECT} webhooks")));
    }
    Ok(())
}

/// Creates a webhook; the answer is the only one that shows its secret.
pub async fn create(app: &App, pid: ProjectId, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    check_room(app, pid).await?;
    let now = Millis::now();
    let mut wh = new_webhook(WebhookId::new(now), pid, now);
    changes.apply(&mut wh);
    if !app.store.create_webhook(&wh).await? {
        return Err(ApiError::Conflict("a webhook with this id already exists".into()));
    }
    Ok(wh)
}

pub async fn load(app: &App, pid: ProjectId, id: &WebhookId) -> Result<Webhook, ApiError> {
    app.store.get_webhook(pid, id).await?.ok_or_else(|| ApiError::not_found("webhook"))
}

/// Writes `wh` over `old`, refusing if someone else changed it in between.
async fn replace(app: &App, old: &Webhook, mut wh: Webhook) -> Result<Webhook, ApiError> {
    wh.updated_at = Millis::now().max(Millis(old.updated_at.0 + 1));
    if !app.store.replace_webhook(&wh, old).await? {
        return Err(ApiError::Conflict("the webhook was changed concurrently; retry".into()));
    }
    Ok(wh)
}

pub async fn patch(app: &App, pid: ProjectId, id: &WebhookId, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    let old = load(app, pid, id).await?;
    let mut wh = old.clone();
    changes.apply(&mut wh);
    replace(app, &old, wh).await
}

/// Deletes a webhook; its pending deliveries are dropped when they wake up (they belong
/// to this incarnation, which no new webhook with the same id continues).
pub async fn delete(app: &App, pid: ProjectId, id: &WebhookId) -> Result<(), ApiError> {
    if !app.store.delete_webhook(pid, id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(())
}

/// New secret and verification key; each old secret keeps signing for 24 hours.
pub async fn rotate_secret(app: &App, pid: ProjectId, id: &WebhookId) -> Result<Webhook, ApiError> {
    let old = load(app, pid, id).await?;
    let mut wh = old.clone();
    wh.rotate(generate_secret(), generate_verification_key(), Millis::now());
    replace(app, &old, wh).await
}

pub async fn get_web_hook(app: &App, pid: ProjectId) -> Result<Webhook, ApiError> {
    app.store.get_webhook(pid, &WebhookId::default_web_hook()).await?.ok_or_else(|| ApiError::not_found("web hook"))
}

/// 003's PUT: creates the project web hook or updates it.
pub async fn put_web_hook(app: &App, pid: ProjectId, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    match app.store.get_webhook(pid, &WebhookId::default_web_hook()).await? {
        Some(old) => {
            let mut wh = old.clone();
            changes.apply(&mut wh);
            replace(app, &old, wh).await
        }
        None => {
            if changes.url.is_none() {
                return Err(ApiError::invalid("endpoint", "is required to create the web hook"));
            }
            check_room(app, pid).await?;
            let now = Millis::now();
            let mut wh = new_webhook(WebhookId::default_web_hook(), pid, now);
            wh.name = "Project web hook".into();
            wh.payload_format = PayloadFormat::Flat;
            // 003: HTTP authorization is off until enabled.
            wh.authorization_enabled = false;
            changes.apply(&mut wh);
            if !app.store.create_webhook(&wh).await? {
                return Err(ApiError::Conflict("the web hook was created concurrently; retry".into()));
            }
            Ok(wh)
        }
    }
}

pub async fn delete_web_hook(app: &App, pid: ProjectId) -> Result<(), ApiError> {
    if !app.store.delete_webhook(pid, &WebhookId::default_web_hook()).await? {
        return Err(ApiError::not_found("web hook"));
    }
    Ok(())
}
