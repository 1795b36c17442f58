//! Event intake: record the event and one delivery per matching webhook, queue
//! them, and only then answer 202.

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::clock::{now_ms, rfc3339};
use crate::credentials::sha256_hex;
use crate::error::ApiError;
use crate::ids;
use crate::matching::{is_valid_event_type, subscribed};
use crate::model::{Delivery, DeliveryStatus, Event, Project};
use crate::queue::{DeliveryMessage, Outgoing};
use crate::store::IdempotencyRecord;

const IDEMPOTENCY_WINDOW_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq)]
pub struct EventInput {
    pub event_type: String,
    pub data: Map<String, Value>,
    pub session_id: Option<String>,
}

/// `POST /api/v1/events`: `{"event_type", "data", "session_id"?}`.
pub fn parse_event(body: &Map<String, Value>) -> Result<EventInput, ApiError> {
    let mut errors = Vec::new();
    let event_type = match body.get("event_type") {
        Some(Value::String(t)) if is_valid_event_type(t) => t.clone(),
        Some(_) => {
            errors.push(crate::error::FieldError::new("event_type", "must be 1 to 128 characters of [A-Za-z0-9_.-]"));
            String::new()
        }
        None => {
            errors.push(crate::error::FieldError::new("event_type", "is required"));
            String::new()
        }
    };
    let data = match body.get("data") {
        Some(Value::Object(m)) => m.clone(),
        None => Map::new(),
        Some(_) => {
            errors.push(crate::error::FieldError::new("data", "must be a JSON object"));
            Map::new()
        }
    };
    let session_id = match body.get("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
        Some(_) => {
            errors.push(crate::error::FieldError::new("session_id", "must be a string of 1 to 256 characters"));
            None
        }
    };
    for key in body.keys() {
        if !matches!(key.as_str(), "event_type" | "data" | "session_id") {
            errors.push(crate::error::FieldError::new(key, "unknown field"));
        }
    }
    if errors.is_empty() {
        Ok(EventInput { event_type, data, session_id })
    } else {
        Err(ApiError::from_fields(errors))
    }
}

/// 000's custom-event hook: the whole object is the data; the type comes from `action`.
pub fn parse_custom_event(body: Map<String, Value>) -> EventInput {
    let action = body.get("action").and_then(Value::as_str).filter(|a| {
        !a.is_empty()
            && a.len() <= 64
            && a.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    });
    let event_type = action.map_or_else(|| "custom.event".to_string(), |a| format!("custom.{a}"));
    let session_id = body
        .get("context")
        .and_then(|c| c.get("session_id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .map(str::to_string);
    EventInput { event_type, data: body, session_id }
}

/// A new pending delivery of `event` to webhook `webhook_id`. Its id is derived
/// from the pair, so a resumed intake re-creates the same delivery.
pub fn new_delivery(event: &Event, webhook_id: &str, max_attempts: u32) -> Delivery {
    Delivery {
        id: ids::derived_id(ids::DELIVERY, event.received_at, &[&event.id, webhook_id]),
        project_id: event.project_id,
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        webhook_id: webhook_id.to_string(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        max_attempts,
        response_code: None,
        response_body: None,
        error: None,
        created_at: event.received_at,
        last_attempt_at: None,
        next_attempt_at: Some(event.received_at),
        lease_until: None,
        test: event.test,
        expires_at: event.expires_at,
    }
}

pub fn message_for(d: &Delivery, attempt: u32) -> DeliveryMessage {
    DeliveryMessage {
        delivery_id: d.id.clone(),
        event_id: d.event_id.clone(),
        project_id: d.project_id,
        webhook_id: d.webhook_id.clone(),
        attempt,
    }
}

/// Storage and queue calls an intake made (reported by benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    pub store_batches: usize,
    pub queue_batches: usize,
}

/// Writes an event and its deliveries, then queues the pending ones. When
/// `resume` is set, deliveries that already exist are kept as they are.
pub async fn record_and_queue(
    app: &App,
    event: &Event,
    deliveries: Vec<Delivery>,
    resume: bool,
) -> Result<Calls, ApiError> {
    let now = now_ms();
    let (to_write, to_queue) = if resume {
        let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
        let existing = app.store.existing_deliveries(&ids, now).await?;
        let fresh: Vec<Delivery> =
            deliveries.iter().filter(|d| !existing.iter().any(|e| e.id == d.id)).cloned().collect();
        let mut queue: Vec<Delivery> =
            existing.into_iter().filter(|e| e.status == DeliveryStatus::Pending && e.attempts == 0).collect();
        queue.extend(fresh.iter().cloned());
        (fresh, queue)
    } else {
        (deliveries.clone(), deliveries)
    };
    let store_batches = app.store.put_event_and_deliveries(event, &to_write).await?;
    let messages: Vec<Outgoing> = to_queue
        .iter()
        .map(|d| Outgoing { message: message_for(d, d.attempts + 1), delay: std::time::Duration::ZERO })
        .collect();
    let queue_batches = app.queue.send_all(&messages).await?;
    Ok(Calls { store_batches, queue_batches })
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntakeOutcome {
    pub result: Value,
    /// The answer is the stored one of an earlier request with the same key.
    pub replayed: bool,
    pub calls: Calls,
}

fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(ApiError::invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters"));
    }
    Ok(())
}

/// Records an event for `project` and queues its deliveries.
pub async fn ingest(
    app: &App,
    project: &Project,
    input: EventInput,
    idempotency_key: Option<&str>,
    raw_body: &[u8],
) -> Result<IntakeOutcome, ApiError> {
    let now = now_ms();
    let pid = project.project_id;
    let mut resume = false;
    let mut idem_hash = None;
    let (event_id, received_at) = match idempotency_key {
        None => (ids::new_id(ids::EVENT, now), now),
        Some(key) => {
            check_idempotency_key(key)?;
            let key_hash = sha256_hex(key);
            let request_hash = hex_sha256(raw_body);
            let fresh = IdempotencyRecord {
                event_id: ids::new_id(ids::EVENT, now),
                received_at: now,
                request_hash: request_hash.clone(),
                response: None,
                expires_at: now / 1000 + IDEMPOTENCY_WINDOW_SECS,
            };
            let record = if app.store.start_idempotency(pid, &key_hash, &fresh, now).await? {
                fresh
            } else {
                resume = true;
                app.store
                    .get_idempotency(pid, &key_hash, now)
                    .await?
                    .ok_or_else(|| ApiError::Conflict("a request with this Idempotency-Key is in progress".into()))?
            };
            if record.request_hash != request_hash {
                return Err(ApiError::Conflict("this Idempotency-Key was used with a different request body".into()));
            }
            if let Some(response) = &record.response {
                let result = serde_json::from_str(response).unwrap_or(Value::Null);
                return Ok(IntakeOutcome { result, replayed: true, calls: Calls::default() });
            }
            idem_hash = Some(key_hash);
            (record.event_id, record.received_at)
        }
    };

    // A resumed intake keeps the fan-out fixed by its first try.
    let stored = if resume { app.store.get_event(&event_id, now).await? } else { None };
    let event = match stored {
        Some(e) => e,
        None => {
            let webhook_ids = app
                .store
                .all_webhooks(pid)
                .await?
                .into_iter()
                .filter(|w| w.enabled && subscribed(&w.event_types, &input.event_type))
                .map(|w| w.id)
                .collect();
            Event {
                id: event_id,
                project_id: pid,
                client_id: project.client_id,
                event_type: input.event_type,
                session_id: input.session_id,
                data: input.data,
                received_at,
                webhook_ids,
                test: false,
                expires_at: app.expires_at(received_at),
            }
        }
    };
    let max_attempts = app.settings.max_attempts();
    let deliveries: Vec<Delivery> = event.webhook_ids.iter().map(|wh| new_delivery(&event, wh, max_attempts)).collect();
    let calls = record_and_queue(app, &event, deliveries, resume).await?;
    let result = intake_result(&event, event.webhook_ids.len());
    if let Some(key_hash) = idem_hash {
        app.store.complete_idempotency(pid, &key_hash, &result.to_string()).await?;
    }
    Ok(IntakeOutcome { result, replayed: false, calls })
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

pub fn intake_result(event: &Event, deliveries: usize) -> Value {
    json!({
        "event_id": event.id,
        "event_type": event.event_type,
        "received_at": rfc3339(event.received_at),
        "deliveries": deliveries,
    })
}
