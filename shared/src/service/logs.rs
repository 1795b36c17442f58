//! The activity view and delivery logs (§8), and re-sending by hand.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::App;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::http::list_result;
use crate::ids;
use crate::matching::is_valid_event_type;
use crate::model::{Delivery, DeliveryStatus, Event};
use crate::service::intake::message_for;
use crate::service::testing::web_hook_event;
use crate::service::webhooks::{list_error, load};

pub async fn list_events(
    app: &App,
    pid: u64,
    q: &HashMap<String, String>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Value, ApiError> {
    let event_type = q.get("event_type").map(String::as_str).filter(|t| !t.is_empty());
    if let Some(t) = event_type {
        if !is_valid_event_type(t) {
            return Err(ApiError::invalid("event_type", "must be 1 to 128 characters of [A-Za-z0-9_.-]"));
        }
    }
    let page = app.store.list_events(pid, event_type, limit, cursor, now_ms()).await.map_err(list_error)?;
    Ok(list_result(&page.items, Event::view, page.next_cursor))
}

async fn load_event(app: &App, pid: u64, id: &str) -> Result<(Event, Vec<Delivery>), ApiError> {
    if !ids::is_valid(ids::EVENT, id) {
        return Err(ApiError::not_found("event"));
    }
    let now = now_ms();
    let event = app
        .store
        .get_event(id, now)
        .await?
        .filter(|e| e.project_id == pid)
        .ok_or_else(|| ApiError::not_found("event"))?;
    let deliveries = app.store.deliveries_of_event(id, now).await?;
    Ok((event, deliveries))
}

/// One event with its data and its deliveries; it also carries 003's
/// `response_code`/`response_message` so the same URL can be polled after a test.
pub async fn get_event(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    let (event, deliveries) = load_event(app, pid, id).await?;
    let mut view = web_hook_event(&event, deliveries.first());
    let full = event.view();
    for key in ["data", "received_at", "test"] {
        view[key] = full[key].clone();
    }
    view["deliveries"] = json!(deliveries.iter().map(Delivery::view).collect::<Vec<_>>());
    Ok(view)
}

/// `GET …/web_hook/events/{id}`: exactly 003's Web Hook Event.
pub async fn get_web_hook_event(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    let (event, deliveries) = load_event(app, pid, id).await?;
    Ok(web_hook_event(&event, deliveries.first()))
}

pub async fn list_deliveries(
    app: &App,
    pid: u64,
    webhook_id: &str,
    q: &HashMap<String, String>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Value, ApiError> {
    let status = match q.get("status").map(String::as_str).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(s).ok_or_else(|| ApiError::invalid("status", "must be success, error or pending"))?,
        ),
    };
    load(app, pid, webhook_id).await?;
    let page = app.store.list_deliveries(pid, webhook_id, status, limit, cursor, now_ms()).await.map_err(list_error)?;
    Ok(list_result(&page.items, Delivery::view, page.next_cursor))
}

pub async fn get_delivery(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    if !ids::is_valid(ids::DELIVERY, id) {
        return Err(ApiError::not_found("delivery"));
    }
    let log = app
        .store
        .delivery_log(id, now_ms())
        .await?
        .filter(|l| l.delivery.project_id == pid)
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    let mut view = log.delivery.view();
    view["attempts_log"] = json!(log.attempts.iter().map(|a| a.view()).collect::<Vec<_>>());
    Ok(view)
}

/// Re-sends a delivery now: one more attempt on the same `webhook-id`.
pub async fn retry_delivery(app: &App, pid: u64, id: &str) -> Result<Value, ApiError> {
    if !ids::is_valid(ids::DELIVERY, id) {
        return Err(ApiError::not_found("delivery"));
    }
    let now = now_ms();
    let d = app
        .store
        .get_delivery(id, now)
        .await?
        .filter(|d| d.project_id == pid)
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    if app.store.get_webhook(pid, &d.webhook_id).await?.is_none() {
        return Err(ApiError::Conflict("the webhook of this delivery was deleted".into()));
    }
    let mut retried = d.clone();
    retried.status = DeliveryStatus::Pending;
    retried.next_attempt_at = Some(now);
    retried.max_attempts =
        if d.status == DeliveryStatus::Pending { d.max_attempts.max(d.attempts + 1) } else { d.attempts + 1 };
    if !app.store.replace_delivery(&retried, d.attempts).await? {
        return Err(ApiError::Conflict("an attempt was just recorded; retry".into()));
    }
    app.queue.send(message_for(&retried, retried.attempts + 1), Duration::ZERO).await?;
    Ok(retried.view())
}
