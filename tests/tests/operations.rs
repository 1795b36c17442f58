//! docs/api.md §12: failing endpoints, auto-disable, operational events in project 0, recover and
//! throttling.

use std::time::{Duration, Instant};

use hookline_tests::{local_settings, Plan, Receiver, Stack, ADMIN_TOKEN};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

fn settings(disable_after_failures: u32) -> hookline::config::Settings {
    let mut s = local_settings();
    s.retry_schedule = vec![Duration::from_secs(1), Duration::from_secs(1)];
    s.disable_after = Duration::ZERO;
    s.disable_after_failures = disable_after_failures;
    s
}

/// The operations project's receiver, answering as `plans` say: a webhook on project 0,
/// made with the admin token.
async fn operations_receiver(s: &Stack, plans: Vec<Plan>) -> (Receiver, Value) {
    let rx = Receiver::start(plans).await;
    let wh = s
        .call(
            "POST",
            "/api/v1/projects/0/webhooks",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "ops", "url": rx.url("/ops")})),
        )
        .await;
    assert_eq!(wh.status, 201, "{:?}", wh.body);
    (rx, wh.result().clone())
}

#[tokio::test]
async fn a_failing_webhook_is_disabled_and_project_0_hears_of_it() {
    let s = Stack::with_settings(settings(3)).await;
    let (ops_rx, ops_wh) = operations_receiver(&s, vec![Plan::status(200)]).await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(500)]).await;
    let id = wh["id"].as_str().unwrap();
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() >= 1).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert!(state["failing_since"].is_string(), "the first failure starts the streak: {state}");
    assert_eq!(state["enabled"], true);
    s.pump_until(WAIT, || rx.count() >= 3).await;
    s.pump_until(WAIT, || ops_rx.count() >= 1).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert_eq!(
        (state["enabled"].as_bool(), state["disabled_reason"].as_str()),
        (Some(false), Some("failing")),
        "{state}"
    );
    // Project 0 got hookline.webhook.disabled, signed like any delivery.
    let got = ops_rx
        .received()
        .into_iter()
        .find(|r| r.header("x-webhook-event") == "hookline.webhook.disabled")
        .expect("disabled event");
    assert!(verify(ops_wh["secret"].as_str().unwrap(), &got), "verifiable like any delivery");
    let data = &got.json()["data"];
    assert_eq!(data["project_id"], pid);
    assert_eq!(data["webhook_id"], id);
    assert_eq!(data["url"], rx.url("/"));
    assert_eq!(data["failing_since"], state["failing_since"]);
    assert_eq!(data["last_response_code"], 500);
    assert!(data.get("last_error").is_some());
    // Enabling clears the reason and the streak.
    let on = s
        .call("PATCH", &format!("/api/v1/projects/{pid}/webhooks/{id}"), Some(&key), Some(json!({"enabled": true})))
        .await;
    assert_eq!(on.status, 200, "{:?}", on.body);
    assert_eq!(
        (on.result()["disabled_reason"].clone(), on.result()["failing_since"].clone()),
        (Value::Null, Value::Null)
    );
    // Disabling by hand is `manual`.
    let off = s
        .call("PATCH", &format!("/api/v1/projects/{pid}/webhooks/{id}"), Some(&key), Some(json!({"enabled": false})))
        .await;
    assert_eq!(off.result()["disabled_reason"], "manual");
}

/// Standard Webhooks verification, written from the specification.
fn verify(secret: &str, r: &hookline_tests::Received) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.header("webhook-id"), r.header("webhook-timestamp")).as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn a_success_resets_the_streak() {
    let mut st = settings(3);
    st.retry_schedule = vec![Duration::from_secs(1)];
    let s = Stack::with_settings(st).await;
    // Fail then succeed; from then on, fail.
    let (pid, key, rx, wh) =
        s.project_with_receiver(vec![Plan::status(500), Plan::status(200), Plan::status(500)]).await;
    let id = wh["id"].as_str().unwrap();
    s.event(&key, "a.b", json!({"n": 1})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.pump_for(Duration::from_secs(1)).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert_eq!(state["failing_since"], Value::Null, "a success clears the streak: {state}");
    // Two failures since the last success (the second event's two attempts) are not three.
    s.event(&key, "a.b", json!({"n": 2})).await;
    s.pump_until(WAIT, || rx.count() == 4).await;
    s.pump_for(Duration::from_secs(1)).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert_eq!(state["enabled"], true, "{state}");
    assert!(state["failing_since"].is_string());
    // The third one is.
    s.event(&key, "a.b", json!({"n": 3})).await;
    s.pump_until(WAIT, || rx.count() == 5).await;
    s.pump_for(Duration::from_secs(1)).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert_eq!(
        (state["enabled"].as_bool(), state["disabled_reason"].as_str()),
        (Some(false), Some("failing")),
        "{state}"
    );
}

#[tokio::test]
async fn test_deliveries_do_not_count() {
    let s = Stack::with_settings(settings(1)).await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(500)]).await;
    let id = wh["id"].as_str().unwrap();
    for _ in 0..3 {
        let a = s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{id}/test"), Some(&key), None).await;
        assert_eq!(a.status, 202);
    }
    s.pump_until(WAIT, || rx.count() >= 3).await;
    s.pump_for(Duration::from_secs(1)).await;
    let state = s.webhook_detail(&key, pid, id).await;
    assert_eq!((state["enabled"].as_bool(), state["failing_since"].clone()), (Some(true), Value::Null), "{state}");
}

#[tokio::test]
async fn an_exhausted_delivery_is_reported_to_project_0_with_its_fields() {
    let mut st = settings(100);
    st.retry_schedule = vec![Duration::from_secs(1)];
    let s = Stack::with_settings(st).await;
    let (ops_rx, _) = operations_receiver(&s, vec![Plan::status(200)]).await;
    let (pid, key, _rx, wh) = s.project_with_receiver(vec![Plan::status(503)]).await;
    let evt = s.event_id(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || ops_rx.count() >= 1).await;
    let got = &ops_rx.received()[0];
    assert_eq!(got.header("x-webhook-event"), "hookline.delivery.exhausted");
    let data = &got.json()["data"];
    assert_eq!(data["project_id"], pid);
    assert_eq!(data["webhook_id"], wh["id"]);
    assert_eq!(data["event_id"], evt);
    assert_eq!(data["event_type"], "order.paid");
    assert_eq!(data["attempts"], 2);
    assert_eq!(data["last_response_code"], 503);
    assert!(data["delivery_id"].as_str().unwrap().starts_with("msg_"));
    // It is an ordinary event of project 0, in its activity view.
    let listed = s.call("GET", "/api/v1/projects/0/events", Some(ADMIN_TOKEN), None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.result()["items"][0]["event_type"], "hookline.delivery.exhausted");
}

#[tokio::test]
async fn project_0_raises_nothing_about_itself() {
    let mut st = settings(1);
    st.retry_schedule = vec![];
    let s = Stack::with_settings(st).await;
    let (failing, _) = operations_receiver(&s, vec![Plan::status(500)]).await;
    // A project's exhausted delivery goes to project 0's failing webhook, which itself ends
    // in error and is auto-disabled: neither raises anything more.
    let (_, key, _rx, _) = s.project_with_receiver(vec![Plan::status(500)]).await;
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || failing.count() >= 1).await;
    s.pump_for(Duration::from_secs(3)).await;
    let listed = s.call("GET", "/api/v1/projects/0/events", Some(ADMIN_TOKEN), None).await;
    let types: Vec<&str> =
        listed.result()["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| t.starts_with("hookline.")).count(), types.len());
    assert!(
        types.iter().all(|t| *t != "hookline.webhook.disabled"),
        "no event about project 0's own webhook: {types:?}"
    );
    assert_eq!(types.iter().filter(|t| **t == "hookline.delivery.exhausted").count(), 1, "{types:?}");
}

#[tokio::test]
async fn project_0_is_the_admins_only() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    assert_eq!(s.call("GET", "/api/v1/projects/0/webhooks", Some(&key), None).await.status, 403);
    // The admin acts on every project (operator.rs); project 0 is its own.
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(ADMIN_TOKEN), None).await.status, 200);
    assert_eq!(s.call("GET", "/api/v1/projects/0/webhooks", Some(ADMIN_TOKEN), None).await.status, 200);
    assert_eq!(s.call("POST", "/api/v1/projects/0/api-key/rotate", Some(ADMIN_TOKEN), None).await.status, 403);
}

#[tokio::test]
async fn recover_resends_only_error_deliveries_in_the_window_with_the_same_webhook_id() {
    let mut st = settings(100);
    st.retry_schedule = vec![];
    let s = Stack::with_settings(st).await;
    // Two events fail for good; then the receiver recovers.
    let (pid, key, rx, wh) =
        s.project_with_receiver(vec![Plan::status(500), Plan::status(500), Plan::status(200)]).await;
    let id = wh["id"].as_str().unwrap().to_string();
    let before = hookline::clock::Millis::now().minus(Duration::from_secs(1));
    s.event(&key, "a.b", json!({"n": 1})).await;
    s.event(&key, "a.b", json!({"n": 2})).await;
    s.pump_until(WAIT, || rx.count() >= 2).await;
    s.pump_for(Duration::from_secs(1)).await;
    let first_ids: std::collections::HashSet<String> =
        rx.received().iter().map(|r| r.header("webhook-id").to_string()).collect();
    // A later event that succeeds is outside the window and not an error anyway.
    let until = hookline::clock::Millis::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.event(&key, "a.b", json!({"n": 3})).await;
    s.pump_until(WAIT, || rx.count() >= 3).await;
    let recover = format!("/api/v1/projects/{pid}/webhooks/{id}/recover");
    let a =
        s.call("POST", &recover, Some(&key), Some(json!({"since": before.rfc3339(), "until": until.rfc3339()}))).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.result()["recovered"], 2);
    s.pump_until(WAIT, || rx.count() >= 5).await;
    let resent: std::collections::HashSet<String> =
        rx.received()[3..].iter().map(|r| r.header("webhook-id").to_string()).collect();
    assert_eq!(resent, first_ids, "the same webhook-id as the original deliveries");
    // 409 while disabled; since older than the retention: 400.
    s.call("PATCH", &format!("/api/v1/projects/{pid}/webhooks/{id}"), Some(&key), Some(json!({"enabled": false})))
        .await;
    let a = s.call("POST", &recover, Some(&key), Some(json!({"since": before.rfc3339()}))).await;
    assert_eq!(a.status, 409, "{:?}", a.body);
    s.call("PATCH", &format!("/api/v1/projects/{pid}/webhooks/{id}"), Some(&key), Some(json!({"enabled": true}))).await;
    let old = hookline::clock::Millis::now().minus(Duration::from_secs(40 * 86_400)).rfc3339();
    assert_eq!(s.call("POST", &recover, Some(&key), Some(json!({"since": old}))).await.status, 400);
}

#[tokio::test]
async fn throttled_deliveries_wait_their_turn_without_spending_an_attempt() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/"), "rate_limit": 2})).await;
    assert_eq!(wh["rate_limit"], 2);
    let started = Instant::now();
    let mut events = Vec::new();
    for i in 0..6 {
        events.push(s.event_id(&key, "a.b", json!({"i": i})).await);
    }
    s.pump_until(WAIT, || rx.count() == 6).await;
    let took = started.elapsed();
    // 2 a second, bursts of 2: six need about two seconds of turns.
    assert!(took >= Duration::from_millis(1500), "six deliveries at 2/s took only {took:?}");
    for e in &events {
        let d = &s.event_deliveries(&key, pid, e).await[0];
        assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("success"), Some(1)), "{d}");
    }
    let attempts: Vec<&str> = rx
        .received()
        .iter()
        .map(|r| r.header("x-webhook-attempt"))
        .map(|h| if h == "1" { "1" } else { "other" })
        .collect();
    assert!(attempts.iter().all(|a| *a == "1"));
}

/// A project's rate limit costs one write per API request: a new instance restarts the
/// idle bucket (no refused `ADD` first), and a busy bucket takes its `ADD` directly.
#[tokio::test]
async fn a_rate_limited_request_costs_one_write_cold_or_busy() {
    let mut settings = local_settings();
    settings.rate_limit_per_minute = 60; // one a second: the bucket stays busy between requests
    settings.rate_limit_burst = 100;
    let (s, f) = Stack::with_faults(settings).await;
    let (pid, key) = s.project("Acme").await;
    let list = format!("/api/v1/projects/{pid}/webhooks");
    let before = f.seen("UpdateItem");
    let a = s.call("GET", &list, Some(&key), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(f.seen("UpdateItem") - before, 1, "the first request to an idle bucket");
    for n in 2..=5 {
        assert_eq!(s.call("GET", &list, Some(&key), None).await.status, 200);
        assert_eq!(f.seen("UpdateItem") - before, n, "request {n}, bucket busy");
    }
}
