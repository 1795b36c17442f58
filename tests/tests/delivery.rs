//! Intake, fan-out and signed delivery with retries, and both signature schemes
//! through secret rotations (docs/api.md §5–§6), through the real handlers, the emulators and a
//! receiver on loopback.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::{json, Value};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(30);

/// Standard Webhooks verification written from the specification, independent
/// of the signing code under test.
fn verify_standard(secret: &str, headers: &hookline_tests::Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let signed = format!(
        "{}.{}.{}",
        headers.header("webhook-id"),
        headers.header("webhook-timestamp"),
        String::from_utf8(headers.body.clone()).unwrap()
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    headers.header("webhook-signature").split(' ').any(|s| s == expected)
}

fn hex_hmac(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn delivery_of(s: &Stack, key: &str, pid: u64, event_id: &str) -> Value {
    let id = s.event_deliveries(key, pid, event_id).await[0]["id"].as_str().unwrap().to_string();
    s.delivery_detail(key, pid, &id).await
}

#[tokio::test]
async fn an_event_reaches_the_receiver_signed_with_every_header() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(204)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "r", "url": rx.url("/hook?key={VerificationKey}"), "headers": {"X-Team": "kyc", "User-Agent": "theirs"},
                   "authorization": "Bearer receiver-token", "custom_parameters": {"region": "eu"}}),
        )
        .await;
    let accepted = s.event(&key, "submission.completed", json!({"submissionId": "sub_1"})).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert_eq!(accepted.result()["deliveries"], 1);
    let event_id = accepted.result()["event_id"].as_str().unwrap().to_string();

    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    let secret = wh["secret"].as_str().unwrap();
    assert!(verify_standard(secret, got), "webhook-signature must verify: {:?}", got.headers);
    assert_eq!(got.header("x-webhook-signature"), hex_hmac(secret, &got.body));
    assert_eq!(got.header("content-type"), "application/json");
    assert!(
        got.header("user-agent").starts_with("Hookline/"),
        "docs/api.md §6's User-Agent wins over a configured one"
    );
    assert_eq!(got.header("x-webhook-event"), "submission.completed");
    assert_eq!(got.header("x-webhook-attempt"), "1");
    assert_eq!(got.header("x-webhook-verification-key"), wh["verification_key"]);
    assert_eq!(got.header("authorization"), "Bearer receiver-token");
    assert_eq!(got.header("x-team"), "kyc");
    let vk = wh["verification_key"].as_str().unwrap();
    assert_eq!(got.path, format!("/hook?key={vk}"));
    let ts: u64 = got.header("webhook-timestamp").parse().unwrap();
    assert!(ts.abs_diff(hookline::clock::now_ms() / 1000) < 60);
    assert_eq!(
        got.json(),
        json!({"id": event_id, "event": "submission.completed", "timestamp": accepted.result()["received_at"],
               "project_id": pid, "client_id": 19817472, "data": {"submissionId": "sub_1"}, "region": "eu"})
    );

    let d = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(d["id"], got.header("webhook-id"));
    assert_eq!(d["status"], "success");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["response_code"], 204);
    assert_eq!(d["attempts_log"].as_array().unwrap().len(), 1);
    assert!(d["next_attempt_at"].is_null());
}

#[tokio::test]
async fn a_failing_receiver_sees_the_scheduled_retries_on_the_same_webhook_id() {
    let s = Stack::start().await;
    let (pid, key, rx, _) =
        s.project_with_receiver(vec![Plan::status(500), Plan::status(503), Plan::status(200)]).await;
    let accepted = s.event(&key, "a.b", json!({})).await;
    let event_id = accepted.result()["event_id"].as_str().unwrap().to_string();

    s.pump_until(WAIT, || rx.count() == 1).await;
    let pending = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["response_code"], 500);
    assert!(pending["next_attempt_at"].is_string());

    s.pump_until(WAIT, || rx.count() == 3).await;
    let got = rx.received();
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    let attempts: Vec<&str> = got.iter().map(|r| r.header("x-webhook-attempt")).collect();
    assert_eq!(attempts, vec!["1", "2", "3"]);
    // The retries wait for the 1 s schedule (with jitter), not less.
    let t: Vec<u64> = got.iter().map(|r| r.header("webhook-timestamp").parse().unwrap()).collect();
    assert!(t[2] > t[0], "{t:?}");

    s.drain().await;
    let d = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(d["status"], "success");
    let log: Vec<Value> = d["attempts_log"].as_array().unwrap().iter().map(|a| a["response_code"].clone()).collect();
    assert_eq!(log, vec![json!(500), json!(503), json!(200)]);
    assert_eq!(rx.count(), 3, "nothing is sent after the success");
}

#[tokio::test]
async fn exhausted_deliveries_end_as_error() {
    let mut settings = local_settings();
    settings.retry_schedule = vec![Duration::from_secs(1)];
    let s = Stack::with_settings(settings).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(500)]).await;
    let event_id = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.drain().await;
    let d = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(d["status"], "error");
    assert_eq!(d["attempts"], 2);
    assert!(d["next_attempt_at"].is_null());
    assert_eq!(d["response_body"], "answer 500");
    assert_eq!(rx.count(), 2);
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_recorded() {
    let mut settings = local_settings();
    settings.delivery_timeout = Duration::from_millis(300);
    settings.retry_schedule = vec![];
    let s = Stack::with_settings(settings).await;
    let slow = Plan { status: 200, delay: Duration::from_secs(2), headers: vec![], body: None };
    let (pid, key, rx, _) = s.project_with_receiver(vec![slow]).await;
    let event_id = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    s.drain().await;
    let d = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(d["status"], "error");
    assert!(d["error"].as_str().unwrap().contains("timeout"), "{d}");
    assert!(d["response_code"].is_null());
    assert!(d["attempts_log"][0]["duration_ms"].as_u64().unwrap() < 2000);
}

#[tokio::test]
async fn xml_and_flat_payloads() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "x", "url": rx.url("/"), "content_type": "xml", "payload_format": "flat",
                   "custom_parameters": {"ssl": "1.2"}}),
        )
        .await;
    s.call(
        "POST",
        "/api/v1/events",
        Some(&key),
        Some(json!({"event_type": "session.created", "session_id": "s-1", "data": {"tags": ["a", "b"], "project_id": 0}})),
    )
    .await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    assert_eq!(got.header("content-type"), "application/xml");
    let xml = String::from_utf8(got.body.clone()).unwrap();
    assert!(xml.starts_with(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><webhook><client_id>19817472</client_id><project_id>{pid}</project_id><session_id>s-1</session_id><event_type>session.created</event_type><event_timestamp>"#
    )), "{xml}");
    assert!(xml.ends_with("<ssl>1.2</ssl><tags><item>a</item><item>b</item></tags></webhook>"), "{xml}");
    assert_eq!(got.header("x-webhook-signature"), hex_hmac(wh["secret"].as_str().unwrap(), &got.body));
}

#[tokio::test]
async fn only_enabled_subscribed_webhooks_get_the_event() {
    let s = Stack::start().await;
    let (a, b, c, d) = tokio::join!(
        Receiver::start(vec![Plan::status(200)]),
        Receiver::start(vec![Plan::status(200)]),
        Receiver::start(vec![Plan::status(200)]),
        Receiver::start(vec![Plan::status(200)])
    );
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "prefix", "url": a.url("/"), "event_types": ["submission.*"]})).await;
    s.webhook(pid, &key, json!({"name": "exact", "url": b.url("/"), "event_types": ["aml.match.found"]})).await;
    s.webhook(pid, &key, json!({"name": "off", "url": c.url("/"), "enabled": false})).await;
    s.webhook(pid, &key, json!({"name": "all", "url": d.url("/")})).await;
    let r = s.event(&key, "submission.completed", json!({})).await;
    assert_eq!(r.result()["deliveries"], 2);
    s.pump_until(WAIT, || a.count() == 1 && d.count() == 1).await;
    s.drain().await;
    assert_eq!((b.count(), c.count()), (0, 0));
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer_and_delivers_once() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let post = |body: Value| s.post_idempotent(&key, "/api/v1/events", "order-42", body.to_string());
    let body = json!({"event_type": "order.paid", "data": {"order": 42}});
    let first = post(body.clone()).await;
    assert_eq!(first.status, 202);
    assert!(first.header("idempotent-replayed").is_none());
    let second = post(body.clone()).await;
    assert_eq!(second.status, 202);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.result(), first.result());
    let other = post(json!({"event_type": "order.paid", "data": {"order": 43}})).await;
    assert_eq!(other.status, 409);

    s.pump_until(WAIT, || rx.count() == 1).await;
    s.drain().await;
    assert_eq!(rx.count(), 1);
    assert_eq!(s.listed_events(&key, pid).await.len(), 1);
}

#[tokio::test]
async fn unprocessable_messages_go_to_the_dead_letter_queue() {
    let s = Stack::start().await;
    s.app.queue.client().send_message().queue_url(s.app.queue.url()).message_body("not json").send().await.unwrap();
    let dlq = s.queues.dead_letter_url.clone();
    let sqs = s.app.queue.client().clone();
    let mut in_dlq = 0;
    for _ in 0..40 {
        hookline_local::poller::poll_once(&s.app, &s.sender, Duration::from_secs(1)).await.unwrap();
        let out = sqs
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        in_dlq = out
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages).cloned())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if in_dlq == 1 {
            break;
        }
    }
    assert_eq!(in_dlq, 1, "the bad message reaches the DLQ after maxReceiveCount receives");
}

#[tokio::test]
async fn deleted_and_disabled_webhooks_get_nothing() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let gone = s.webhook(pid, &key, json!({"name": "gone", "url": rx.url("/gone")})).await;
    let off = s.webhook(pid, &key, json!({"name": "off", "url": rx.url("/off")})).await;
    let event_id = s.event_id(&key, "a.b", json!({})).await;
    let base = format!("/api/v1/projects/{pid}/webhooks");
    s.call("DELETE", &format!("{base}/{}", gone["id"].as_str().unwrap()), Some(&key), None).await;
    s.call("PATCH", &format!("{base}/{}", off["id"].as_str().unwrap()), Some(&key), Some(json!({"enabled": false})))
        .await;
    s.drain().await;
    assert_eq!(rx.count(), 0);
    let mut errors: Vec<String> = s
        .event_deliveries(&key, pid, &event_id)
        .await
        .iter()
        .map(|d| d["error"].as_str().unwrap().to_string())
        .collect();
    errors.sort();
    assert_eq!(errors, vec!["webhook deleted", "webhook disabled"]);
}

#[tokio::test]
async fn the_destination_guard_refuses_private_addresses_and_names_resolving_to_them() {
    let mut settings = local_settings();
    settings.allow_private_destinations = false;
    settings.retry_schedule = vec![];
    let s = Stack::with_settings(settings).await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    for url in
        ["http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/x", "http://[fd00::1]/"]
    {
        let a = s
            .call(
                "POST",
                &format!("/api/v1/projects/{pid}/webhooks"),
                Some(&key),
                Some(json!({"name": "n", "url": url})),
            )
            .await;
        assert_eq!(a.status, 400, "{url}");
    }
    // A DNS name is accepted at creation, but what it resolves to is checked at send time.
    let port = rx.addr.port();
    s.webhook(pid, &key, json!({"name": "n", "url": format!("http://localhost:{port}/x")})).await;
    let event_id = s.event_id(&key, "a.b", json!({})).await;
    s.drain().await;
    assert_eq!(rx.count(), 0);
    let d = delivery_of(&s, &key, pid, &event_id).await;
    assert_eq!(d["status"], "error");
    assert_eq!(d["error"], "destination not allowed");
}

#[tokio::test]
async fn custom_event_hook_and_intake_validation() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let a = s
        .call(
            "POST",
            "/api/hook/custom-event",
            Some(&key),
            Some(json!({"user_id": "abc123", "action": "edit_email", "context": {"ip": "1.2.3.4", "session_id": "sess-789"}})),
        )
        .await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.result()["event_type"], "custom.edit_email");
    let b = s.call("POST", "/api/hook/custom-event", Some(&key), Some(json!({"action": "has space"}))).await;
    assert_eq!(b.result()["event_type"], "custom.event");

    for bad in
        [json!({"event_type": "bad type", "data": {}}), json!({"event_type": "a", "data": [1]}), json!({"data": {}})]
    {
        assert_eq!(s.call("POST", "/api/v1/events", Some(&key), Some(bad)).await.status, 400);
    }
    assert_eq!(s.call("POST", "/api/v1/events", None, Some(json!({"event_type": "a"}))).await.status, 401);
    assert_eq!(s.call("GET", "/api/v1/events", Some(&key), None).await.status, 405);

    let events = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    let items = events.result()["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "refused events are not stored");
    assert_eq!(items[1]["data"]["user_id"], "abc123");
    assert_eq!(items[1]["event_type"], "custom.edit_email");
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_for_a_day() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let rotated = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks/{}/rotate-secret", wh["id"].as_str().unwrap()),
            Some(&key),
            None,
        )
        .await;
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    assert_eq!(got.header("webhook-signature").split(' ').count(), 2);
    assert!(verify_standard(wh["secret"].as_str().unwrap(), got));
    assert!(verify_standard(rotated.result()["secret"].as_str().unwrap(), got));
    assert_eq!(got.header("x-webhook-verification-key"), rotated.result()["verification_key"]);
}

/// Receivers that check the hex `X-Webhook-Signature` keep verifying through a rotation:
/// `X-Webhook-Signature` uses the new secret and `X-Webhook-Signature-Previous` the old one; a
/// second rotation keeps the first old secret until its own 24 hours end.
#[tokio::test]
async fn rotation_keeps_hex_signature_receivers_working_and_each_old_secret_lives_its_own_day() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let id = wh["id"].as_str().unwrap();
    let rotate = format!("/api/v1/projects/{pid}/webhooks/{id}/rotate-secret");
    let s1 = s.call("POST", &rotate, Some(&key), None).await.result()["secret"].as_str().unwrap().to_string();
    let s2 = s.call("POST", &rotate, Some(&key), None).await.result()["secret"].as_str().unwrap().to_string();
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    let hex = |secret: &str| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&got.body);
        hex::encode(mac.finalize().into_bytes())
    };
    assert_eq!(got.header("x-webhook-signature"), hex(&s2));
    assert_eq!(got.header("x-webhook-signature-previous"), hex(&s1));
    // All three secrets are inside their overlap: webhook-signature carries three.
    assert_eq!(got.header("webhook-signature").split(' ').count(), 3, "{}", got.header("webhook-signature"));
}
