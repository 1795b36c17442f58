//! The delivery engine behind the SQS-triggered function: one message wakes one
//! delivery; the delivery item decides what, if anything, to send.

use std::time::Duration;

use futures::future::join_all;
use reqwest::header::HeaderMap;
use serde_json::value::RawValue;

use crate::app::App;
use crate::clock::now_ms;
use crate::error::{QueueError, StoreError};
use crate::model::{Attempt, Delivery, DeliveryStatus, Event, Webhook};
use crate::payload::{self, Payload, PayloadSource};
use crate::queue::{DeliveryMessage, MAX_DELAY};
use crate::retry::{next_delay, random_jitter};
use crate::sender::{header_map, SendOutcome, Sender};
use crate::service::intake::message_for;
use crate::signing::{hex_signature, signature_header};
use crate::store::DeliveryContext;

/// Time beyond the HTTP timeout that a claim stays ours (storage round trips).
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// A message this close to its delivery's due time is treated as due.
const EARLY_TOLERANCE_MS: u64 = 500;

/// One SQS record as the function receives it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub message_id: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("message body is not a delivery message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("message for attempt {0} arrived before attempt {1} was recorded")]
    AheadOfState(u32, u32),
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// An attempt was made and recorded.
    Attempted { attempt: u32, success: bool },
    /// Not yet due: sent back to the queue to wake up later.
    Postponed,
    /// Ended without an attempt: the webhook or event is gone, or the webhook is disabled.
    Dropped(&'static str),
    /// Nothing to do: a duplicate, a stale wake-up, or another instance is on it.
    Ignored(&'static str),
}

/// The headers of §6 for one attempt.
pub fn delivery_headers(
    wh: &Webhook,
    event_type: &str,
    msg_id: &str,
    attempt: u32,
    now_ms: u64,
    payload: &Payload,
) -> HeaderMap {
    let timestamp = now_ms / 1000;
    let signature = signature_header(&wh.signing_secrets(now_ms), msg_id, timestamp, &payload.body);
    let hex = hex_signature(&wh.secret, &payload.body);
    let attempt = attempt.to_string();
    let timestamp = timestamp.to_string();
    // Custom headers first, so that nothing configured can replace Hookline's own.
    let mut map = header_map(wh.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let ours = header_map([
        ("content-type", payload.content_type),
        ("webhook-id", msg_id),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
        ("x-webhook-signature", hex.as_str()),
        ("x-webhook-event", event_type),
        ("x-webhook-attempt", attempt.as_str()),
        ("x-webhook-verification-key", wh.verification_key.as_str()),
    ]);
    map.extend(ours);
    if let Some(auth) = wh.authorization_header() {
        map.extend(header_map([("authorization", auth)]));
    }
    map
}

/// Processes a batch concurrently; returns the message ids to report as failed
/// (SQS makes them visible again, and moves them to the DLQ after enough receives).
pub async fn process_batch(app: &App, sender: &Sender, batch: &[Incoming]) -> Vec<String> {
    let mut failed = Vec::new();
    let mut parsed = Vec::with_capacity(batch.len());
    for m in batch {
        match serde_json::from_str::<DeliveryMessage>(&m.body) {
            Ok(msg) => parsed.push((m.message_id.clone(), msg)),
            Err(e) => {
                tracing::error!(message_id = %m.message_id, error = %DeliveryError::Malformed(e.to_string()), "unprocessable message");
                failed.push(m.message_id.clone());
            }
        }
    }
    let wanted: Vec<(String, String, u64, String)> = parsed
        .iter()
        .map(|(_, m)| (m.delivery_id.clone(), m.event_id.clone(), m.project_id, m.webhook_id.clone()))
        .collect();
    let ctx = match app.store.delivery_context(&wanted, now_ms()).await {
        Ok(ctx) => ctx,
        Err(e) => {
            tracing::error!(error = %e, "could not load the batch");
            failed.extend(parsed.into_iter().map(|(id, _)| id));
            return failed;
        }
    };
    let results =
        join_all(parsed.iter().map(|(id, msg)| async { (id.clone(), process_message(app, sender, msg, &ctx).await) }))
            .await;
    for (id, result) in results {
        match result {
            Ok(handled) => tracing::info!(message_id = %id, ?handled, "processed"),
            Err(e) => {
                tracing::warn!(message_id = %id, error = %e, "will be retried by SQS");
                failed.push(id);
            }
        }
    }
    failed
}

pub async fn process_message(
    app: &App,
    sender: &Sender,
    msg: &DeliveryMessage,
    ctx: &DeliveryContext,
) -> Result<Handled, DeliveryError> {
    let now = now_ms();
    let Some(d) = ctx.deliveries.get(&msg.delivery_id) else {
        return Ok(Handled::Ignored("delivery no longer exists"));
    };
    if d.status != DeliveryStatus::Pending {
        return Ok(Handled::Ignored("delivery already finished"));
    }
    if msg.attempt <= d.attempts {
        return Ok(Handled::Ignored("attempt already made"));
    }
    if msg.attempt > d.attempts + 1 {
        // The previous attempt's record is still being written (or failed and
        // will be redone): let SQS bring this message back later.
        return Err(DeliveryError::AheadOfState(msg.attempt, d.attempts + 1));
    }
    if let Some(due) = d.next_attempt_at {
        if due > now + EARLY_TOLERANCE_MS {
            let wait = Duration::from_millis(due - now).min(MAX_DELAY);
            app.queue.send(msg.clone(), wait).await?;
            return Ok(Handled::Postponed);
        }
    }
    let Some(wh) = ctx.webhooks.get(&(d.project_id, d.webhook_id.clone())) else {
        app.store.drop_delivery(d, "webhook deleted").await?;
        return Ok(Handled::Dropped("webhook deleted"));
    };
    if !wh.enabled && !d.test {
        app.store.drop_delivery(d, "webhook disabled").await?;
        return Ok(Handled::Dropped("webhook disabled"));
    }
    let Some(event) = ctx.events.get(&d.event_id) else {
        app.store.drop_delivery(d, "event expired").await?;
        return Ok(Handled::Dropped("event expired"));
    };
    attempt(app, sender, d, event, wh, now).await
}

async fn attempt(
    app: &App,
    sender: &Sender,
    d: &Delivery,
    event: &Event,
    wh: &Webhook,
    now: u64,
) -> Result<Handled, DeliveryError> {
    let lease = now + (app.settings.delivery_timeout + LEASE_MARGIN).as_millis() as u64;
    if !app.store.claim_delivery(&d.id, d.attempts, lease, now).await? {
        return Ok(Handled::Ignored("another instance holds this attempt"));
    }
    let number = d.attempts + 1;
    // Until events keep `data` as its JSON text, the payload is built from the parsed map.
    let data = serde_json::value::to_raw_value(&event.data).expect("a JSON map always serializes");
    let payload = payload::build(&payload_source(event, wh, &data));
    let started = now_ms();
    let headers = delivery_headers(wh, &event.event_type, &d.id, number, started, &payload);
    let outcome = sender.post(&wh.url, &wh.verification_key, headers, payload.body).await;
    let finished = now_ms();

    let (updated, record) = next_state(app, d, number, started, finished, &outcome);
    if let Some(next) = updated.next_attempt_at {
        // Queue the next wake-up before recording: a recorded retry always has a message.
        let delay = Duration::from_millis(next.saturating_sub(finished)).min(MAX_DELAY);
        app.queue.send(message_for(&updated, number + 1), delay).await?;
    }
    if !app.store.record_attempt(&updated, &record, lease).await? {
        return Ok(Handled::Ignored("lease lost before the attempt was recorded"));
    }
    Ok(Handled::Attempted { attempt: number, success: outcome.succeeded() })
}

/// What the payload of `event` for `wh` is built from; `data` is the event's data as JSON text.
pub fn payload_source<'a>(event: &'a Event, wh: &'a Webhook, data: &'a RawValue) -> PayloadSource<'a> {
    PayloadSource {
        event_id: &event.id,
        event_type: &event.event_type,
        received_at_ms: event.received_at,
        project_id: event.project_id,
        client_id: event.client_id,
        session_id: event.session_id.as_deref(),
        data,
        custom_parameters: &wh.custom_parameters,
        format: wh.payload_format,
        content_type: wh.content_type,
    }
}

/// The delivery after attempt `number` and the attempt's log entry.
fn next_state(
    app: &App,
    d: &Delivery,
    number: u32,
    started: u64,
    finished: u64,
    outcome: &SendOutcome,
) -> (Delivery, Attempt) {
    let record = Attempt {
        delivery_id: d.id.clone(),
        attempt: number,
        started_at: started,
        response_code: outcome.response_code,
        response_body: outcome.response_body.clone(),
        error: outcome.error.clone(),
        duration_ms: outcome.duration.as_millis() as u64,
        expires_at: d.expires_at,
    };
    let mut u = d.clone();
    u.attempts = number;
    u.last_attempt_at = Some(started);
    u.response_code = outcome.response_code;
    u.response_body = outcome.response_body.clone();
    u.error = outcome.error.clone();
    u.lease_until = None;
    let delay = if outcome.succeeded() || number >= d.max_attempts {
        None
    } else {
        next_delay(&app.settings.retry_schedule, number, outcome.retry_after, random_jitter())
    };
    match delay {
        _ if outcome.succeeded() => {
            u.status = DeliveryStatus::Success;
            u.next_attempt_at = None;
        }
        Some(wait) => {
            u.status = DeliveryStatus::Pending;
            u.next_attempt_at = Some(finished + wait.as_millis() as u64);
        }
        None => {
            u.status = DeliveryStatus::Error;
            u.next_attempt_at = None;
        }
    }
    (u, record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContentType, PayloadFormat};
    use std::collections::BTreeMap;

    fn webhook() -> Webhook {
        Webhook {
            id: "wh_1".into(),
            project_id: 1,
            name: "n".into(),
            url: "https://e.com".into(),
            enabled: true,
            event_types: vec![],
            headers: BTreeMap::from([("X-Team".to_string(), "kyc".to_string())]),
            authorization: Some("Bearer t".into()),
            authorization_enabled: true,
            custom_parameters: BTreeMap::new(),
            content_type: ContentType::Json,
            payload_format: PayloadFormat::Envelope,
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            previous_secret: None,
            previous_secret_until: None,
            verification_key: "vk1".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn headers_carry_every_field_of_section_6() {
        let payload = Payload { body: br#"{"test": 2432232314}"#.to_vec(), content_type: "application/json" };
        let h = delivery_headers(&webhook(), "a.b", "msg_p5jXN8AQM9LWM0D4loKWxJek", 3, 1_614_265_330_000, &payload);
        let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
        assert_eq!(get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(get("webhook-timestamp"), "1614265330");
        assert_eq!(get("webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(get("x-webhook-attempt"), "3");
        assert_eq!(get("x-webhook-event"), "a.b");
        assert_eq!(get("x-webhook-verification-key"), "vk1");
        assert_eq!(get("authorization"), "Bearer t");
        assert_eq!(get("x-team"), "kyc");
        assert_eq!(get("content-type"), "application/json");
        assert_eq!(get("x-webhook-signature"), hex_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &payload.body));
    }

    #[test]
    fn authorization_is_not_sent_while_disabled() {
        let mut wh = webhook();
        wh.authorization_enabled = false;
        let payload = Payload { body: b"{}".to_vec(), content_type: "application/json" };
        assert!(delivery_headers(&wh, "a", "msg_x", 1, 0, &payload).get("authorization").is_none());
    }
}
