//! The path of an event through Hookline, as the drivers run it: posted through the
//! local router to the real intake handler (as API Gateway would invoke it), its
//! wake-ups taken off the SQS queue and handed to `process_batch` in batches of up to
//! 10 messages (as the event source mapping does), and what storage says at the end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};
use hookline::clock::Millis;
use hookline::model::Webhook;
use hookline::sender::Sender;
use hookline::service::deliver::{process_batch, Incoming};
use hookline::App;
use lambda_http::Body;
use serde_json::Value;

use crate::stack::BoxError;

/// SQS hands the function at most this many messages at once (template: `BatchSize: 10`).
pub const SQS_BATCH: usize = 10;
/// Most events `POST /api/v1/events/batch` takes.
pub const MAX_BATCH_EVENTS: usize = 100;

/// `{"event_type": …, "data": …}` with `data` as given (exact JSON text).
pub fn event_body(data: &str) -> String {
    format!(r#"{{"event_type":"submission.completed","data":{data}}}"#)
}

/// A request as API Gateway would hand it to a function.
pub fn request(path: &str, key: &str, body: String, idempotency_key: Option<&str>) -> lambda_http::Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    if let Some(k) = idempotency_key {
        b = b.header("idempotency-key", k);
    }
    b.body(Body::Text(body)).expect("valid request")
}

fn body_json(resp: &lambda_http::Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Posts one request through the router; checks the 202 (and, for a batch, that every
/// entry was accepted); returns the answer's `result`.
pub async fn post(app: &App, req: lambda_http::Request) -> Result<Value, BoxError> {
    let batch = req.uri().path().ends_with("/batch");
    let resp = hookline_local::router::route(app, req).await;
    let status = resp.status().as_u16();
    let body = body_json(&resp);
    if status != 202 {
        return Err(format!("intake answered {status}: {body}").into());
    }
    if batch {
        let items = body["result"]["items"].as_array().ok_or("no items in the batch answer")?;
        if let Some(bad) = items.iter().find(|i| i["status"] != 202) {
            return Err(format!("batch entry refused: {bad}").into());
        }
    }
    Ok(body["result"].clone())
}

/// Posts `events` events of `data`: one request each (`per_request` = 1) or through
/// the batch route, `per_request` at a time. Returns the requests made.
pub async fn post_events(
    app: &App,
    key: &str,
    data: &str,
    events: usize,
    per_request: usize,
) -> Result<usize, BoxError> {
    post_events_keyed(app, key, data, events, per_request, 0).await
}

/// As [`post_events`], the events spread over `ordering_keys` ordering keys (0: none).
pub async fn post_events_keyed(
    app: &App,
    key: &str,
    data: &str,
    events: usize,
    per_request: usize,
    ordering_keys: usize,
) -> Result<usize, BoxError> {
    let mut requests = 0;
    let mut left = events;
    let mut sent = 0;
    let mut body = || {
        sent += 1;
        match ordering_keys {
            0 => event_body(data),
            k => format!(r#"{{"event_type":"submission.completed","ordering_key":"key-{}","data":{data}}}"#, sent % k),
        }
    };
    while left > 0 {
        let n = left.min(per_request.max(1));
        let req = if per_request <= 1 {
            request("/api/v1/events", key, body(), None)
        } else {
            let entries: Vec<String> = (0..n).map(|_| body()).collect();
            request("/api/v1/events/batch", key, format!(r#"{{"events":[{}]}}"#, entries.join(",")), None)
        };
        post(app, req).await?;
        requests += 1;
        left -= n;
    }
    Ok(requests)
}

/// Deletes messages just received (at most 10, one `DeleteMessageBatch`).
pub async fn delete_received(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    got: &[aws_sdk_sqs::types::Message],
) -> Result<(), BoxError> {
    let entries = got
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .build()
                .expect("id and handle set")
        })
        .collect::<Vec<_>>();
    sqs.delete_message_batch().queue_url(url).set_entries(Some(entries)).send().await?;
    Ok(())
}

/// Takes every message now visible on the queue (and deletes it), as the event source
/// mapping would receive it; waits up to `wait` for the first one.
pub async fn take_messages(sdk: &SdkConfig, url: &str, wait: Duration) -> Result<Vec<Incoming>, BoxError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    let started = Instant::now();
    loop {
        let waited = started.elapsed();
        let poll = if out.is_empty() && waited < wait { (wait - waited).as_secs().clamp(0, 1) as i32 } else { 0 };
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(poll)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            if !out.is_empty() || started.elapsed() >= wait {
                return Ok(out);
            }
            continue;
        }
        delete_received(&sqs, url, &got).await?;
        out.extend(
            got.into_iter()
                .map(|m| Incoming { message_id: m.message_id.unwrap_or_default(), body: m.body.unwrap_or_default() }),
        );
    }
}

/// Deliveries a set of wake-up messages names.
pub fn deliveries_named(messages: &[Incoming]) -> usize {
    messages
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.body)
                .ok()
                .and_then(|v| v["deliveries"].as_array().map(Vec::len))
                .unwrap_or(0)
        })
        .sum()
}

/// What one round of `process_batch` calls did.
#[derive(Debug, Default, Clone)]
pub struct Round {
    pub invocations: usize,
    pub failed: usize,
    pub walls: Vec<Duration>,
}

/// Hands `messages` to `process_batch` in SQS batches of 10, one batch at a time, as one
/// function instance gets them.
pub async fn deliver(app: &App, sender: &Sender, messages: &[Incoming]) -> Round {
    let mut r = Round::default();
    for b in messages.chunks(SQS_BATCH) {
        let t = Instant::now();
        r.failed += process_batch(app, sender, b).await.len();
        r.walls.push(t.elapsed());
        r.invocations += 1;
    }
    r
}

/// Status counts and attempts of every delivery item of `webhooks`.
pub async fn stored_deliveries(app: &App, webhooks: &[Webhook]) -> Result<(BTreeMap<String, usize>, u64), BoxError> {
    let pages: Vec<Result<Vec<(String, u32)>, BoxError>> = stream::iter(webhooks)
        .map(|wh| async move {
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = app
                    .store
                    .list_deliveries(wh, Default::default(), 100, cursor.as_deref(), Millis::now())
                    .await
                    .map_err(|e| -> BoxError { format!("list deliveries: {e}").into() })?;
                out.extend(page.items.iter().map(|d| (d.status.as_str().to_string(), d.attempts)));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return Ok(out),
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut status = BTreeMap::new();
    let mut attempts = 0u64;
    for p in pages {
        for (s, a) in p? {
            *status.entry(s).or_default() += 1;
            attempts += u64::from(a);
        }
    }
    Ok((status, attempts))
}
