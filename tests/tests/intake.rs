//! Event intake beyond the basics: `data` kept byte for byte, `Idempotency-Key` rules and
//! concurrent repeats, and batch intake (entries answered in order, keys within a batch,
//! one rate-limit token per batch), through the real handlers, the emulators and receivers
//! on loopback.

use std::time::Duration;

use hookline_tests::{local_settings, Plan, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

/// `data` is delivered exactly as sent: every digit, deep nesting, odd spacing.
#[tokio::test]
async fn data_is_delivered_byte_for_byte() {
    let s = Stack::start().await;
    let (_, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let deep = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    let data = format!(
        r#"{{"big": 123456789012345678901234567890123456789012, "tiny": 1e-400, "neg": -0.0, "deep": {deep}}}"#
    );
    let body = format!(r#"{{"event_type": "a.b", "data": {data}}}"#);
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/v1/events")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body))
        .unwrap();
    let a = s.send(req).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = String::from_utf8(rx.received()[0].body.clone()).unwrap();
    assert!(got.contains(&format!(r#""data":{data}"#)), "data must be embedded exactly: {got}");
}

#[tokio::test]
async fn idempotency_keys_must_be_printable_ascii() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    for bad in [&b"caf\xc3\xa9"[..], b"tab\tkey", &[b'k'; 256][..]] {
        let req = http::Request::builder()
            .method("POST")
            .uri("/api/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", http::HeaderValue::from_bytes(bad).unwrap())
            .body(lambda_http::Body::Text(r#"{"event_type": "a.b"}"#.into()))
            .unwrap();
        let a = s.send(req).await;
        assert_eq!(a.status, 400, "{bad:?}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "Idempotency-Key");
    }
}

/// Twelve requests with one key at once: one intake, the others replay it or are told
/// it is in progress (409); exactly one event, delivered once.
#[tokio::test]
async fn concurrent_repeats_of_one_key_run_the_intake_once() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let send = || {
        s.post_idempotent(&key, "/api/v1/events", "order-42", r#"{"event_type": "a.b", "data": {"order": 42}}"#.into())
    };
    let answers = futures::future::join_all((0..12).map(|_| send())).await;
    let accepted: Vec<&hookline_tests::Answer> = answers.iter().filter(|a| a.status == 202).collect();
    assert!(!accepted.is_empty());
    assert!(
        answers.iter().all(|a| a.status == 202 || a.status == 409),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let first: Vec<&hookline_tests::Answer> =
        accepted.iter().filter(|a| a.header("idempotent-replayed").is_none()).copied().collect();
    assert_eq!(first.len(), 1, "one request ran the intake");
    let ids: std::collections::HashSet<&str> =
        accepted.iter().map(|a| a.result()["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every 202 names the same event");
    s.pump_until(WAIT, || rx.count() == 1).await;
    // A later repeat replays and delivers nothing again.
    let again = send().await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (202, Some("true")));
    s.pump_for(Duration::from_secs(2)).await;
    assert_eq!(rx.count(), 1);
    assert_eq!(s.listed_events(&key, pid).await.len(), 1);
}

/// docs/api.md §10: 1–100 events, each answered in order; invalid entries alone are refused; every
/// accepted one is stored and delivered; keys replay.
#[tokio::test]
async fn batch_intake_answers_each_event_in_order() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let body = json!({"events": [
        {"event_type": "a.one", "data": {"n": 1}},
        {"event_type": "not valid", "data": {}},
        {"event_type": "a.three", "data": {"n": 3}, "idempotency_key": "k-3"},
        {"event_type": "a.four", "data": [1]}
    ]});
    let a = s.batch(&key, body.clone()).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let items = a.result()["items"].as_array().unwrap();
    let statuses: Vec<u64> = items.iter().map(|i| i["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![202, 400, 202, 400]);
    assert_eq!(items[1]["errors"][0]["field"], "event_type");
    assert_eq!(items[3]["errors"][0]["field"], "data");
    assert_eq!(items[0]["deliveries"], 1);
    assert_eq!(items[2]["replayed"], false);
    s.pump_until(WAIT, || rx.count() == 2).await;
    // Repeating the batch: the keyed entry replays, the plain one is a new event.
    let again = s.batch(&key, body).await;
    let items2 = again.result()["items"].as_array().unwrap();
    assert_eq!(items2[2]["replayed"], true);
    assert_eq!(items2[2]["event_id"], items[2]["event_id"]);
    assert_ne!(items2[0]["event_id"], items[0]["event_id"]);
    s.pump_until(WAIT, || rx.count() == 3).await;
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), 3);
    // The shape itself is checked: nothing is recorded for a bad body.
    for bad in [
        json!({}),
        json!({"events": []}),
        json!({"events": [{"event_type": "a"}, 5]}),
        json!({"events": (0..101).map(|_| json!({"event_type": "a"})).collect::<Vec<_>>()}),
    ] {
        let a = s.batch(&key, bad).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
    }
    assert_eq!(s.listed_events(&key, pid).await.len(), 3);
}

/// docs/api.md §10: an `idempotency_key` means what the header means, also between entries of one
/// batch: a repeat of the same event is a replay of the first, a repeat for another event
/// refuses that entry alone; entries are only ever 202 or 400.
#[tokio::test]
async fn a_key_repeated_within_a_batch_replays_the_first_entry() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let body = json!({"events": [
        {"event_type": "a.b", "data": {"n": 1}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 1}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 2}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 3}}
    ]});
    let a = s.batch(&key, body).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let items = a.result()["items"].as_array().unwrap();
    let statuses: Vec<u64> = items.iter().map(|i| i["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![202, 202, 400, 202]);
    assert_eq!(items[1]["event_id"], items[0]["event_id"]);
    assert_eq!((items[0]["replayed"].as_bool(), items[1]["replayed"].as_bool()), (Some(false), Some(true)));
    assert_eq!(items[2]["errors"][0]["field"], "idempotency_key");
    // The same key used by a single-event request for another event: refused there (409),
    // and in a later batch the entry alone is refused (400).
    let other = r#"{"event_type": "a.b", "data": {"n": 9}}"#;
    assert_eq!(s.post_idempotent(&key, "/api/v1/events", "dup", other.into()).await.status, 409);
    let later = json!({"events": [{"event_type": "a.b", "data": {"n": 9}, "idempotency_key": "dup"}]});
    let b = s.batch(&key, later).await;
    assert_eq!(b.result()["items"][0]["status"], 400, "{:?}", b.body);
    // A key for the whole batch is refused rather than silently ignored.
    let whole = r#"{"events": [{"event_type": "a.b"}]}"#;
    let c = s.post_idempotent(&key, "/api/v1/events/batch", "whole", whole.into()).await;
    assert_eq!(c.status, 400, "{:?}", c.body);
    assert_eq!(c.body["errors"][0]["field"], "Idempotency-Key");
    // Two events stored and delivered, no more.
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), 2);
    assert_eq!(s.listed_events(&key, pid).await.len(), 2);
}

/// A batch counts once against the rate limit.
#[tokio::test]
async fn a_batch_counts_once_against_the_rate_limit() {
    let mut settings = local_settings();
    settings.rate_limit_burst = 2;
    settings.rate_limit_per_minute = 1;
    let s = Stack::with_settings(settings).await;
    let (_, key) = s.project("Acme").await;
    let events: Vec<Value> = (0..50).map(|i| json!({"event_type": "a.b", "data": {"i": i}})).collect();
    let a = s.batch(&key, json!({"events": events})).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.header("x-ratelimit-remaining"), Some("1"));
}
