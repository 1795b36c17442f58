//! Destinations through the API and the delivery engine (docs/api.md §16): a webhook that
//! delivers to an SQS queue in "the customer's account" (moto), with the same log, retries,
//! tests and validation as an HTTP webhook.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use hookline::config::Settings;
use hookline_tests::{local_settings, Stack, ADMIN_TOKEN};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

async fn role(s: &Stack) -> String {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(std::env::var("AWS_ENDPOINT_URL_SQS").expect("moto"))
        .load()
        .await;
    let name = format!("hookline-test-{:08x}", rand::random::<u32>());
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let _ = s;
    aws_sdk_iam::Client::new(&sdk)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(policy)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn
}

async fn queue(s: &Stack, name: &str) -> String {
    let sqs = s.app.queue.client();
    let name = format!("{name}-{:08x}", rand::random::<u32>());
    let mut req = sqs.create_queue().queue_name(&name);
    if name.ends_with(".fifo") {
        req = req.attributes(QueueAttributeName::FifoQueue, "true");
    }
    req.send().await.unwrap().queue_url.unwrap()
}

/// The queue's messages (body, attributes), waiting for `n`.
async fn messages(s: &Stack, url: &str, n: usize) -> Vec<(String, Vec<(String, String)>)> {
    let sqs = s.app.queue.client();
    let mut out = Vec::new();
    let deadline = Instant::now() + WAIT;
    while out.len() < n {
        assert!(Instant::now() < deadline, "{} of {n} messages arrived", out.len());
        s.pump_for(Duration::from_millis(200)).await;
        let got = sqs
            .receive_message()
            .queue_url(url)
            .message_attribute_names("All")
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in got.messages.unwrap_or_default() {
            let attrs = m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.string_value.unwrap_or_default()))
                .collect();
            out.push((m.body.unwrap_or_default(), attrs));
        }
    }
    out
}

/// The delivery of `event` once it is no longer pending.
async fn settled(s: &Stack, key: &str, pid: u64, event: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let ds = s.event_deliveries(key, pid, event).await;
        if let Some(d) = ds.first().filter(|d| d["status"] != "pending") {
            return s.delivery_detail(key, pid, d["id"].as_str().unwrap()).await;
        }
        assert!(Instant::now() < deadline, "still pending: {ds:?}");
        s.pump_for(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_webhook_delivers_to_an_sqs_queue_with_the_same_log_and_tests() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Dest").await;
    let (role, url) = (role(&s).await, queue(&s, "customer").await);
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "to sqs", "destination": {"type": "sqs", "queue_url": url, "role_arn": role}}),
        )
        .await;
    assert!(wh.get("url").is_none(), "no url with a destination: {wh}");
    assert_eq!(wh["destination"]["type"], "sqs");
    let secret = wh["secret"].as_str().unwrap().to_string();
    let sent = s
        .post_text(
            &key,
            "/api/v1/events",
            r#"{"event_type": "order.created", "data": {"n": 12345678901234567890123}}"#.into(),
        )
        .await;
    let event = sent.result()["event_id"].as_str().unwrap().to_string();
    let got = messages(&s, &url, 1).await;
    let (body, attrs) = &got[0];
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["event"], "order.created");
    assert!(body.contains("12345678901234567890123"), "digits kept: {body}");
    let attr = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(attr("X-Webhook-Event"), "order.created");
    assert_eq!(attr("X-Webhook-Attempt"), "1");
    let expected = hookline::signing::signature_header(
        &[secret.as_str()],
        &attr("webhook-id"),
        attr("webhook-timestamp").parse().unwrap(),
        body.as_bytes(),
    );
    assert_eq!(attr("webhook-signature"), expected, "signed as an HTTP delivery is");
    let d = settled(&s, &key, pid, &event).await;
    assert_eq!((d["status"].as_str(), d["response_code"].as_u64()), (Some("success"), Some(200)), "{d}");
    assert!(!d["response_body"].as_str().unwrap_or_default().is_empty(), "the MessageId is logged: {d}");
    // A test delivery goes the same way.
    let wid = wh["id"].as_str().unwrap();
    let t = s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"), Some(&key), Some(json!({}))).await;
    assert_eq!(t.status, 202, "{:?}", t.body);
    let got = messages(&s, &url, 1).await;
    assert!(got[0].0.contains("webhook.test"));
}

#[tokio::test]
async fn a_missing_queue_fails_the_attempt_with_the_aws_code_and_is_retried() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Missing").await;
    let role = role(&s).await;
    let gone = format!(
        "{}/123456789012/no-such-queue-{:08x}",
        std::env::var("AWS_ENDPOINT_URL_SQS").unwrap(),
        rand::random::<u32>()
    );
    s.webhook(pid, &key, json!({"name": "gone", "destination": {"type": "sqs", "queue_url": gone, "role_arn": role}}))
        .await;
    let event = s.event_id(&key, "a.b", json!({})).await;
    let d = settled(&s, &key, pid, &event).await;
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("error"), Some(3)), "retried: {d}");
    let error = d["attempts_log"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("sqs: "), "{error}");
    assert!(error.contains("NonExistentQueue") || error.contains("QueueDoesNotExist"), "{error}");
    assert_eq!(d["attempts_log"][0]["response_code"], 400);
}

#[tokio::test]
async fn an_oversize_payload_ends_the_delivery_at_once() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Big").await;
    let (role, url) = (role(&s).await, queue(&s, "big").await);
    // Intake takes at most 256 KiB; a transform makes the payload larger than SQS takes.
    let destination = json!({"type": "sqs", "queue_url": url, "role_arn": role});
    s.webhook(pid, &key, json!({"name": "big", "destination": destination, "transform": "{a: (.data.blob * 2)}"}))
        .await;
    let event = s.event_id(&key, "a.b", json!({"blob": "x".repeat(150_000)})).await;
    let d = settled(&s, &key, pid, &event).await;
    let error = d["attempts_log"][0]["error"].as_str().unwrap_or_default().to_string();
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("error"), Some(1)), "{error}");
    assert!(error.starts_with("sqs: ") && error.contains("limit"), "{error}");
}

#[tokio::test]
async fn destinations_are_validated_and_a_webhook_switches_between_http_and_a_destination() {
    let mut settings = local_settings();
    settings.aws_account_id = Some("111122223333".into());
    let s = Stack::with_settings(Settings { ..settings }).await;
    let (pid, key) = s.project("Checks").await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let role = "arn:aws:iam::444455556666:role/hookline-orders";
    let queue_url = "https://sqs.eu-west-1.amazonaws.com/444455556666/orders";
    let cases = [
        (json!({"type": "sqs", "queue_url": "https://example.com/q", "role_arn": role}), "destination/queue_url"),
        (json!({"type": "sqs", "queue_url": queue_url, "role_arn": "arn:aws:iam::1:role/x"}), "destination/role_arn"),
        (
            json!({"type": "sqs", "queue_url": queue_url, "role_arn": "arn:aws:iam::111122223333:role/hookline-own"}),
            "destination/role_arn",
        ),
        (json!({"type": "sqs", "role_arn": role}), "destination/queue_url"),
        (
            json!({"type": "sns", "topic_arn": "arn:aws:sqs:eu-west-1:444455556666:t", "role_arn": role}),
            "destination/topic_arn",
        ),
        (
            json!({"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:444455556666:t", "role_arn": role, "source": "x"}),
            "destination/source",
        ),
        (
            json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:444455556666:event-bus/b", "role_arn": role, "source": "aws.s3"}),
            "destination/source",
        ),
        (
            json!({"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:444455556666:table/s", "role_arn": role}),
            "destination/stream_arn",
        ),
        (json!({"type": "ftp", "role_arn": role}), "destination/type"),
        (json!("sqs"), "destination"),
    ];
    for (destination, field) in cases {
        let a = s.call("POST", &path, Some(&key), Some(json!({"name": "d", "destination": destination}))).await;
        assert_eq!(a.status, 400, "{destination}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], field, "{destination}: {:?}", a.body);
        assert_eq!(a.body["errors"].as_array().unwrap().len(), 1, "no `url` error beside it: {:?}", a.body);
    }
    let ok = json!({"type": "sqs", "queue_url": queue_url, "role_arn": role});
    for (extra, field) in [
        (json!({"url": "https://example.com/h"}), "url"),
        (json!({"headers": {"X-A": "b"}}), "headers"),
        (json!({"authorization": "Bearer x"}), "authorization"),
        (json!({"content_type": "xml"}), "content_type"),
    ] {
        let mut body = json!({"name": "d", "destination": ok});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let a = s.call("POST", &path, Some(&key), Some(body)).await;
        assert_eq!(a.status, 400, "{extra}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], field, "{:?}", a.body);
    }
    assert_eq!(
        s.call("POST", &path, Some(&key), Some(json!({"name": "neither"}))).await.body["errors"][0]["field"],
        "url"
    );
    // HTTP → destination → HTTP. The HTTP settings go with the URL in one PATCH; given with the
    // destination they are refused.
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "h", "url": "https://example.com/h", "headers": {"X-A": "b"},
                   "authorization": "Bearer x", "content_type": "xml"}),
        )
        .await;
    let one = format!("{path}/{}", wh["id"].as_str().unwrap());
    let mixed = s.call("PATCH", &one, Some(&key), Some(json!({"destination": ok, "headers": {"X-A": "b"}}))).await;
    assert_eq!((mixed.status, mixed.body["errors"][0]["field"].clone()), (400, json!("headers")));
    let to_dest = s.call("PATCH", &one, Some(&key), Some(json!({"destination": ok}))).await;
    assert_eq!(to_dest.status, 200, "{:?}", to_dest.body);
    let r = to_dest.result();
    assert!(r.get("url").is_none());
    assert_eq!(r["destination"], ok);
    assert_eq!(
        (r["headers"].clone(), r["authorization_set"].clone(), r["content_type"].clone()),
        (json!({}), json!(false), json!("json")),
        "{r}"
    );
    let bad = s.call("PATCH", &one, Some(&key), Some(json!({"headers": {"X-A": "b"}}))).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].clone()), (400, json!("headers")));
    let no_url = s.call("PATCH", &one, Some(&key), Some(json!({"destination": null}))).await;
    assert_eq!((no_url.status, no_url.body["errors"][0]["field"].clone()), (400, json!("url")));
    let back = s.call("PATCH", &one, Some(&key), Some(json!({"url": "https://example.com/again"}))).await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(
        (back.result()["url"].clone(), back.result()["destination"].clone()),
        (json!("https://example.com/again"), Value::Null)
    );
}

#[tokio::test]
async fn project_0_has_a_lasting_external_id_and_its_webhooks_take_destinations() {
    let s = Stack::start().await;
    let ext = s.get_ok(ADMIN_TOKEN, "/api/v1/projects/0").await["external_id"].as_str().unwrap().to_string();
    assert!(ext.starts_with("ext_") && ext.len() == 36, "{ext}");
    assert_eq!(s.get_ok(ADMIN_TOKEN, "/api/v1/projects/0").await["external_id"], ext, "the same every time");
    let destination = json!({"type": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/444455556666/ops",
                             "role_arn": "arn:aws:iam::444455556666:role/hookline-ops"});
    let wh = s.webhook(0, ADMIN_TOKEN, json!({"name": "ops", "destination": destination})).await;
    assert_eq!(wh["destination"], destination);
}

/// A deployment where every AWS call goes through the fault proxy.
async fn with_faults(delivery_timeout: Duration) -> (Stack, hookline_tests::faults::FaultProxy) {
    let mut settings = local_settings();
    settings.delivery_timeout = delivery_timeout;
    Stack::with_faults(settings).await
}

#[tokio::test]
async fn credentials_are_assumed_once_for_many_deliveries() {
    let (s, f) = with_faults(Duration::from_secs(5)).await;
    let (pid, key) = s.project("Once").await;
    let (role, url) = (role(&s).await, queue(&s, "once").await);
    s.webhook(pid, &key, json!({"name": "q", "destination": {"type": "sqs", "queue_url": url, "role_arn": role}}))
        .await;
    for i in 0..6 {
        s.event_id(&key, "a.b", json!({"i": i})).await;
    }
    messages(&s, &url, 6).await;
    assert_eq!(f.seen("AssumeRole"), 1, "one AssumeRole for six deliveries");
}

#[tokio::test]
async fn a_hanging_sts_fails_the_attempt_within_the_delivery_timeout() {
    let (s, f) = with_faults(Duration::from_secs(2)).await;
    let (pid, key) = s.project("Hang").await;
    let (role, url) = (role(&s).await, queue(&s, "hang").await);
    s.webhook(pid, &key, json!({"name": "q", "destination": {"type": "sqs", "queue_url": url, "role_arn": role}}))
        .await;
    f.always("AssumeRole", hookline_tests::faults::Mode::Hang);
    let event = s.event_id(&key, "a.b", json!({})).await;
    let d = settled(&s, &key, pid, &event).await;
    assert_eq!(d["status"], "error", "retried, then ended: never stuck");
    for attempt in d["attempts_log"].as_array().unwrap() {
        let error = attempt["error"].as_str().unwrap();
        assert!(error.starts_with("sts: timeout"), "{error}");
        assert!(attempt["duration_ms"].as_u64().unwrap() < 3_000, "{attempt}");
    }
}
