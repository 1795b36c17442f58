//! Test deliveries (§7): one delivery of a test event to one webhook, whatever
//! its enabled flag and subscriptions, answered as 003's "Web Hook Event".

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::clock::{epoch_seconds, now_ms};
use crate::error::ApiError;
use crate::ids::{self, DEFAULT_WEBHOOK_ID};
use crate::matching::is_valid_event_type;
use crate::model::{Delivery, Event, Project, Webhook};
use crate::service::intake::{new_delivery, record_and_queue};
use crate::service::webhooks;

/// 003's Web Hook Event; `response_*` are null until the attempt has finished.
pub fn web_hook_event(event: &Event, delivery: Option<&Delivery>) -> Value {
    let done = delivery.filter(|d| d.attempts > 0);
    json!({
        "id": event.id,
        "client_id": event.client_id,
        "project_id": event.project_id,
        "session_id": event.session_id,
        "event_type": event.event_type,
        "event_timestamp": epoch_seconds(event.received_at),
        "response_code": done.and_then(|d| d.response_code),
        "response_message": done.and_then(|d| d.response_body.clone().or_else(|| d.error.clone())),
    })
}

fn sample_data(event_type: &str) -> Map<String, Value> {
    json!({
        "message": "This is a test event sent by Hookline.",
        "event_type": event_type,
        "sample": true,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

async fn send_test(
    app: &App,
    project: &Project,
    wh: &Webhook,
    event_type: String,
    data: Map<String, Value>,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let event = Event {
        id: ids::new_id(ids::EVENT, now),
        project_id: project.project_id,
        client_id: project.client_id,
        event_type,
        session_id: None,
        data,
        received_at: now,
        webhook_ids: vec![wh.id.clone()],
        test: true,
        expires_at: app.expires_at(now),
    };
    // A test is one attempt: its result is what the person polling wants to see.
    let delivery = new_delivery(&event, &wh.id, 1);
    record_and_queue(app, &event, vec![delivery], false).await?;
    Ok(web_hook_event(&event, None))
}

/// `POST …/webhooks/{id}/test` with optional `event_type` and `data`.
pub async fn test_webhook(
    app: &App,
    project: &Project,
    webhook_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let wh = webhooks::load(app, project.project_id, webhook_id).await?;
    let event_type = match body.get("event_type") {
        None | Some(Value::Null) => "webhook.test".to_string(),
        Some(Value::String(t)) if is_valid_event_type(t) => t.clone(),
        Some(_) => return Err(ApiError::invalid("event_type", "must be 1 to 128 characters of [A-Za-z0-9_.-]")),
    };
    let data = match body.get("data") {
        None | Some(Value::Null) => sample_data(&event_type),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::invalid("data", "must be a JSON object")),
    };
    if let Some(k) = body.keys().find(|k| !matches!(k.as_str(), "event_type" | "data")) {
        return Err(ApiError::invalid(k, "unknown field"));
    }
    send_test(app, project, &wh, event_type, data).await
}

/// 003's `trigger_session_test`: `session.test`, null session, flat payload.
pub async fn trigger_session_test(app: &App, project: &Project) -> Result<Value, ApiError> {
    let wh = app
        .store
        .get_webhook(project.project_id, DEFAULT_WEBHOOK_ID)
        .await?
        .ok_or_else(|| ApiError::not_found("web hook"))?;
    let data = json!({"ssl_version": 1.2}).as_object().cloned().unwrap_or_default();
    send_test(app, project, &wh, "session.test".into(), data).await
}
