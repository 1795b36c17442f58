//! Ordered delivery (docs/api.md §15): per ordering key one delivery at a time, in the order
//! the events were accepted; a failing key holds back only itself. Also under duplicated
//! SQS messages and a crash between the POST and its record.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookline_tests::faults::Mode;
use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// A receiver that fails the first `fails` requests for `(key, seq)` and answers 200 to the rest.
async fn receiver_failing(key: &'static str, seq: i64, fails: usize) -> Receiver {
    let failed = Arc::new(Mutex::new(0usize));
    Receiver::start_with(move |r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let hit = body["data"]["key"] == key && body["data"]["seq"] == seq;
        let status = {
            let mut n = failed.lock().unwrap();
            if hit && *n < fails {
                *n += 1;
                500
            } else {
                200
            }
        };
        Box::pin(async move { Plan::status(status) })
    })
    .await
}

async fn ordered_project(s: &Stack, rx: &Receiver) -> (u64, String, String) {
    let (pid, key) = s.project("Ordered").await;
    let wh = s.webhook(pid, &key, json!({"name": "o", "url": rx.url("/"), "ordered": true})).await;
    assert_eq!(wh["ordered"], true);
    (pid, key, wh["id"].as_str().unwrap().to_string())
}

/// Sends an event of `key` (or none) and waits for its 202, as a client keeping order does.
async fn send(s: &Stack, api_key: &str, key: Option<&str>, seq: i64) -> Value {
    let mut body = json!({"event_type": "record.changed", "data": {"key": key, "seq": seq}});
    if let Some(k) = key {
        body["ordering_key"] = json!(k);
    }
    let a = s.call("POST", "/api/v1/events", Some(api_key), Some(body)).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    a.result().clone()
}

/// What the receiver got, as (key, seq) in arrival order.
fn arrivals(rx: &Receiver) -> Vec<(String, i64)> {
    rx.received()
        .iter()
        .map(|r| {
            let v = r.json();
            (v["data"]["key"].as_str().unwrap_or("-").to_string(), v["data"]["seq"].as_i64().unwrap())
        })
        .collect()
}

fn of_key(all: &[(String, i64)], key: &str) -> Vec<i64> {
    all.iter().filter(|(k, _)| k == key).map(|(_, s)| *s).collect()
}

#[tokio::test]
async fn a_key_arrives_in_order_with_its_retries_while_other_keys_go_on() {
    let s = Stack::start().await;
    let rx = receiver_failing("A", 2, 2).await;
    let (pid, key, _) = ordered_project(&s, &rx).await;
    for seq in 1..=3 {
        send(&s, &key, Some("A"), seq).await;
        send(&s, &key, Some("B"), seq).await;
    }
    send(&s, &key, None, 1).await;
    let first = send(&s, &key, Some("A"), 4).await;
    assert_eq!(first["deliveries"], 1);
    // 8 events, 2 failed attempts.
    s.pump_until(WAIT, || rx.count() >= 10).await;
    s.pump_for(Duration::from_secs(2)).await;
    let got = arrivals(&rx);
    assert_eq!(got.len(), 10, "{got:?}");
    assert_eq!(of_key(&got, "A"), vec![1, 2, 2, 2, 3, 4], "A in order, its retries before its successors");
    assert_eq!(of_key(&got, "B"), vec![1, 2, 3], "B in order");
    let pos = |k: &str, seq: i64| got.iter().rposition(|(a, b)| a == k && *b == seq).unwrap();
    assert!(pos("B", 3) < pos("A", 2), "B was not held back by A's failures: {got:?}");
    assert!(pos("-", 1) < pos("A", 2), "an event without a key goes at once: {got:?}");
    // Every delivery succeeded; A's second took three attempts.
    let events = s.listed_events(&key, pid).await;
    assert_eq!(events.len(), 8);
}

#[tokio::test]
async fn a_webhook_that_is_not_ordered_ignores_the_key_and_the_key_is_validated() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Plain").await;
    let wh = s.webhook(pid, &key, json!({"name": "p", "url": rx.url("/")})).await;
    assert_eq!(wh["ordered"], false);
    for seq in 1..=3 {
        send(&s, &key, Some("A"), seq).await;
    }
    s.pump_until(WAIT, || rx.count() >= 3).await;
    let ev = send(&s, &key, Some("A"), 4).await;
    let detail = s.event_detail(&key, pid, ev["event_id"].as_str().unwrap()).await;
    assert_eq!(detail["ordering_key"], "A");
    for bad in [json!(""), json!("x".repeat(129)), json!("tab\there"), json!("é"), json!(5)] {
        let a = s
            .call(
                "POST",
                "/api/v1/events",
                Some(&key),
                Some(json!({"event_type": "a", "data": {}, "ordering_key": bad})),
            )
            .await;
        assert_eq!(a.status, 400, "{bad}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "ordering_key");
    }
    let batch = s
        .batch(
            &key,
            json!({"events": [{"event_type": "a", "data": {}, "ordering_key": ""}, {"event_type": "a", "data": {}}]}),
        )
        .await;
    assert_eq!(batch.result()["items"][0]["status"], 400);
    assert_eq!(batch.result()["items"][1]["status"], 202);
    let ordered = s
        .call(
            "PATCH",
            &format!("/api/v1/projects/{pid}/webhooks/{}", wh["id"].as_str().unwrap()),
            Some(&key),
            Some(json!({"ordered": "yes"})),
        )
        .await;
    assert_eq!((ordered.status, ordered.body["errors"][0]["field"].clone()), (400, json!("ordered")));
    // `null` clears it, as it clears `filter` and `transform`.
    let path = format!("/api/v1/projects/{pid}/webhooks/{}", wh["id"].as_str().unwrap());
    for (value, shown) in [(json!(true), true), (json!(null), false)] {
        let patched = s.call("PATCH", &path, Some(&key), Some(json!({"ordered": value}))).await;
        assert_eq!((patched.status, patched.result()["ordered"].clone()), (200, json!(shown)), "{:?}", patched.body);
    }
}

#[tokio::test]
async fn a_batch_keeps_its_entry_order_per_key() {
    let s = Stack::start().await;
    let rx = receiver_failing("A", 1, 1).await;
    let (_, key, _) = ordered_project(&s, &rx).await;
    let events: Vec<Value> = (1..=4)
        .map(|seq| json!({"event_type": "r", "data": {"key": "A", "seq": seq}, "ordering_key": "A"}))
        .chain([json!({"event_type": "r", "data": {"key": "B", "seq": 1}, "ordering_key": "B"})])
        .collect();
    let b = s.batch(&key, json!({ "events": events })).await;
    assert_eq!(b.status, 202, "{:?}", b.body);
    s.pump_until(WAIT, || rx.count() >= 6).await;
    let got = arrivals(&rx);
    assert_eq!(of_key(&got, "A"), vec![1, 1, 2, 3, 4]);
    assert_eq!(of_key(&got, "B"), vec![1]);
}

#[tokio::test]
async fn duplicated_messages_change_neither_the_order_nor_the_count() {
    let s = Stack::start().await;
    let rx = receiver_failing("A", 2, 1).await;
    let (_, key, _) = ordered_project(&s, &rx).await;
    for seq in 1..=3 {
        send(&s, &key, Some("A"), seq).await;
    }
    // Every intake message arrives twice.
    for body in s.take_messages(3).await {
        s.send_raw(&body).await;
        s.send_raw(&body).await;
    }
    s.pump_until(WAIT, || rx.count() >= 4).await;
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(of_key(&arrivals(&rx), "A"), vec![1, 2, 2, 3], "each attempt once, in order");
}

#[tokio::test]
async fn a_crash_between_the_post_and_its_record_repeats_the_post_and_keeps_the_order() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key, _) = ordered_project(&s, &rx).await;
    let first = send(&s, &key, Some("A"), 1).await;
    for seq in 2..=3 {
        send(&s, &key, Some("A"), seq).await;
    }
    // The first delivery's claim passes, its record fails (both SDK attempts): the function
    // "died" after the POST. The later ones are held meanwhile, so they write nothing.
    f.after("PutItem", 1, Mode::Fail, 2);
    s.pump_until(WAIT, || rx.count() >= 4).await;
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(of_key(&arrivals(&rx), "A"), vec![1, 1, 2, 3], "the repeated POST comes before the next event");
    let d = &s.event_detail(&key, pid, first["event_id"].as_str().unwrap()).await["deliveries"][0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("success"), Some(1)), "{d}");
}
