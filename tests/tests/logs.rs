//! Test trigger, activity view, delivery logs, manual retry, rate limits,
//! retention and list cursors bound to their own list (docs/api.md §1, §2, §7, §8).

use std::time::Duration;

use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn webhook_test_delivers_whatever_the_flag_and_fills_the_event_when_done() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(201)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s
        .webhook(pid, &key, json!({"name": "r", "url": rx.url("/"), "enabled": false, "event_types": ["only.this"]}))
        .await;
    let id = wh["id"].as_str().unwrap();
    let path = format!("/api/v1/projects/{pid}/webhooks/{id}/test");
    let a = s.call("POST", &path, Some(&key), Some(json!({"event_type": "submission.approved"}))).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let ev = a.result().clone();
    assert!(ev["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(ev["event_type"], "submission.approved");
    assert_eq!(ev["client_id"], 19817472);
    assert!(ev["session_id"].is_null() && ev["response_code"].is_null() && ev["response_message"].is_null());
    assert!(ev["event_timestamp"].is_f64());

    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    assert_eq!(got.header("x-webhook-event"), "submission.approved");
    assert_eq!(got.json()["data"]["sample"], true);

    let polled = s.event_detail(&key, pid, ev["id"].as_str().unwrap()).await;
    assert_eq!(polled["response_code"], 201);
    assert_eq!(polled["response_message"], "answer 201");

    // No body: default type and sample data.
    let b = s.call("POST", &path, Some(&key), None).await;
    assert_eq!(b.result()["event_type"], "webhook.test");
    assert_eq!(s.call("POST", &path, Some(&key), Some(json!({"event_type": "bad type"}))).await.status, 400);
    let missing = format!("/api/v1/projects/{pid}/webhooks/wh_01ARZ3NDEKTSV4RRFFQ69G5FAV/test");
    assert_eq!(s.call("POST", &missing, Some(&key), None).await.status, 404);
}

#[tokio::test]
async fn trigger_session_test_sends_the_flat_payload_and_can_be_polled() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let trigger = format!("/api/v1/projects/{pid}/web_hook/trigger_session_test");
    assert_eq!(s.call("POST", &trigger, Some(&key), None).await.status, 404, "no web hook yet");
    let put = s
        .call(
            "PUT",
            &format!("/api/v1/projects/{pid}/web_hook"),
            Some(&key),
            Some(json!({"endpoint": rx.url("/web_hook"), "enable_web_hook": "true",
                        "enable_http_authorization": "true", "http_authorization_value": "Token abc",
                        "custom_parameters": {"custom parameter key 1": "custom parameter value 1"}})),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let a = s.call("POST", &trigger, Some(&key), None).await;
    assert_eq!(a.status, 202);
    let ev = a.result().clone();
    let keys: Vec<&str> = ev.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "id",
            "client_id",
            "project_id",
            "session_id",
            "event_type",
            "event_timestamp",
            "response_code",
            "response_message"
        ]
    );
    assert_eq!(ev["event_type"], "session.test");

    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    assert_eq!(got.header("authorization"), "Token abc");
    let body = got.json();
    assert_eq!(body["client_id"], 19817472);
    assert_eq!(body["project_id"], pid);
    assert!(body["session_id"].is_null());
    assert_eq!(body["event_type"], "session.test");
    assert_eq!(body["event_timestamp"], ev["event_timestamp"]);
    assert_eq!(body["custom parameter key 1"], "custom parameter value 1");

    let poll = format!("/api/v1/projects/{pid}/web_hook/events/{}", ev["id"].as_str().unwrap());
    let polled = s.call("GET", &poll, Some(&key), None).await;
    assert_eq!(polled.status, 200);
    let mut expected = ev.clone();
    expected["response_code"] = json!(200);
    expected["response_message"] = json!("answer 200");
    assert_eq!(polled.result(), &expected);
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/web_hook/events/evt_nope"), Some(&key), None).await.status,
        404
    );
}

#[tokio::test]
async fn the_activity_view_lists_events_newest_first_with_filters_and_cursors() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    for (t, n) in [("user.created", 1), ("user.deleted", 2), ("user.created", 3)] {
        assert_eq!(s.event(&key, t, json!({"n": n})).await.status, 202);
    }
    let list = |q: &'static str| {
        let path = format!("/api/v1/projects/{pid}/events{q}");
        let key = key.clone();
        let s = &s;
        async move { s.call("GET", &path, Some(&key), None).await }
    };
    let all = list("").await;
    let ns: Vec<Value> = all.result()["items"].as_array().unwrap().iter().map(|e| e["data"]["n"].clone()).collect();
    assert_eq!(ns, vec![json!(3), json!(2), json!(1)]);
    assert!(all.result()["next_cursor"].is_null());
    let created = list("?event_type=user.created").await;
    let ns: Vec<Value> = created.result()["items"].as_array().unwrap().iter().map(|e| e["data"]["n"].clone()).collect();
    assert_eq!(ns, vec![json!(3), json!(1)]);
    let first = list("?limit=2").await;
    assert_eq!(first.result()["items"].as_array().unwrap().len(), 2);
    let cursor = first.result()["next_cursor"].as_str().unwrap().to_string();
    let rest = s.call("GET", &format!("/api/v1/projects/{pid}/events?limit=2&cursor={cursor}"), Some(&key), None).await;
    assert_eq!(rest.result()["items"][0]["data"]["n"], 1);
    assert_eq!(list("?event_type=bad%20type").await.status, 400);

    // Another project sees none of it.
    let (other, other_key) = s.project("Other").await;
    let theirs = s.call("GET", &format!("/api/v1/projects/{other}/events"), Some(&other_key), None).await;
    assert_eq!(theirs.result()["items"], json!([]));
    let evt = all.result()["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{other}/events/{evt}"), Some(&other_key), None).await.status,
        404
    );
}

#[tokio::test]
async fn delivery_logs_filter_by_status_and_a_failed_delivery_can_be_resent() {
    let mut settings = local_settings();
    settings.retry_schedule = vec![Duration::from_secs(1)];
    let s = Stack::with_settings(settings).await;
    // Fails twice (both scheduled attempts), then succeeds when re-sent by hand.
    let (pid, key, rx, wh) =
        s.project_with_receiver(vec![Plan::status(500), Plan::status(502), Plan::status(200)]).await;
    let wh_id = wh["id"].as_str().unwrap();
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.drain().await;

    let logs = format!("/api/v1/projects/{pid}/webhooks/{wh_id}/deliveries");
    let errors = s.call("GET", &format!("{logs}?status=error"), Some(&key), None).await;
    let items = errors.result()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    let d = &items[0];
    for field in [
        "id",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "response_code",
        "response_body",
        "error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
    ] {
        assert!(d.get(field).is_some(), "log entry lacks {field}");
    }
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone(), d["response_code"].clone()),
        (json!("error"), json!(2), json!(502))
    );
    assert_eq!(s.call("GET", &format!("{logs}?status=success"), Some(&key), None).await.result()["items"], json!([]));
    assert_eq!(s.call("GET", &format!("{logs}?status=nope"), Some(&key), None).await.status, 400);

    let id = d["id"].as_str().unwrap();
    let retry = s.resend(&key, pid, id).await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    assert_eq!(retry.result()["status"], "pending");
    s.pump_until(WAIT, || rx.count() == 3).await;
    s.drain().await;

    let got = rx.received();
    assert!(got.iter().all(|r| r.header("webhook-id") == id), "same webhook-id on every attempt");
    assert_eq!(got[2].header("x-webhook-attempt"), "3");
    let one = s.delivery_detail(&key, pid, id).await;
    assert_eq!(one["status"], "success");
    let codes: Vec<Value> =
        one["attempts_log"].as_array().unwrap().iter().map(|a| a["response_code"].clone()).collect();
    assert_eq!(codes, vec![json!(500), json!(502), json!(200)]);
    let ok = s.call("GET", &format!("{logs}?status=success"), Some(&key), None).await;
    assert_eq!(ok.result()["items"][0]["id"], id);
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/deliveries/msg_nope"), Some(&key), None).await.status,
        404
    );
}

#[tokio::test]
async fn a_burst_meets_429_right_after_the_burst_allowance() {
    let mut settings = local_settings();
    settings.rate_limit_per_minute = 1;
    settings.rate_limit_burst = 20;
    let s = Stack::with_settings(settings).await;
    let (pid, key) = s.project("Acme").await;
    let path = format!("/api/v1/projects/{pid}");
    for i in 0..20u32 {
        let a = s.call("GET", &path, Some(&key), None).await;
        assert_eq!(a.status, 200, "request {} of the burst", i + 1);
        assert_eq!(a.header("x-ratelimit-limit"), Some("20"));
        assert_eq!(a.header("x-ratelimit-remaining"), Some((19 - i).to_string().as_str()));
    }
    let limited = s.call("GET", &path, Some(&key), None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["status"], "error");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    // Intake shares the same budget.
    assert_eq!(s.event(&key, "a.b", json!({})).await.status, 429);
    // Another project is not affected.
    let (other, other_key) = s.project("Other").await;
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{other}"), Some(&other_key), None).await.status, 200);
}

#[tokio::test]
async fn expired_events_and_deliveries_are_never_shown() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let event_id = s.event_id(&key, "a.b", json!({})).await;
    let ev = s.event_detail(&key, pid, &event_id).await;
    let delivery_id = ev["deliveries"][0]["id"].as_str().unwrap().to_string();
    assert!(ev["received_at"].is_string());

    // Age the event past its TTL, as if DynamoDB had not swept it yet (its delivery is
    // not written before its first attempt).
    let ddb = s.app.store.client();
    let event = hookline::ids::EventId::parse(&event_id).unwrap();
    let pid_typed = hookline::ids::ProjectId(pid);
    {
        use hookline::store::keys;
        ddb.update_item()
            .table_name(s.app.store.table())
            .key(keys::PK, aws_sdk_dynamodb::types::AttributeValue::S(keys::events(pid_typed)))
            .key(keys::SK, aws_sdk_dynamodb::types::AttributeValue::S(keys::event_sk(&event)))
            .update_expression("SET expires_at = :past")
            .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1000".into()))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}/events/{event_id}"), Some(&key), None).await.status, 404);
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/deliveries/{delivery_id}"), Some(&key), None).await.status,
        404
    );
    assert_eq!(s.listed_events(&key, pid).await, Vec::<String>::new());
    let logs = format!("/api/v1/projects/{pid}/webhooks/{}/deliveries", wh["id"].as_str().unwrap());
    assert_eq!(s.call("GET", &logs, Some(&key), None).await.result()["items"], json!([]));
    // And nothing is sent for an expired delivery.
    s.drain().await;
    assert_eq!(rx.count(), 0);
}

/// A cursor is good for its own list only: another project's, another list's or a
/// forged one is the client's error (400), never a 503.
#[tokio::test]
async fn cursors_are_bound_to_their_list() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let (other, other_key) = s.project("Other").await;
    for k in [&key, &other_key] {
        for i in 0..3 {
            assert_eq!(s.event(k, "a.b", json!({"i": i})).await.status, 202);
        }
    }
    let page = s.call("GET", &format!("/api/v1/projects/{other}/events?limit=1"), Some(&other_key), None).await;
    let foreign = page.result()["next_cursor"].as_str().unwrap().to_string();
    let a = s.call("GET", &format!("/api/v1/projects/{pid}/events?cursor={foreign}"), Some(&key), None).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["errors"][0]["field"], "cursor");
    let wh = s.webhook(pid, &key, json!({"name": "r", "url": "http://127.0.0.1:9/x"})).await;
    let logs = format!("/api/v1/projects/{pid}/webhooks/{}/deliveries?cursor={foreign}", wh["id"].as_str().unwrap());
    assert_eq!(s.call("GET", &logs, Some(&key), None).await.status, 400, "another list's cursor");
    for forged in ["x", "eyJsIjoiRVZUIzEiLCJrIjoiIn0", "%00%01"] {
        let a = s.call("GET", &format!("/api/v1/projects/{pid}/events?cursor={forged}"), Some(&key), None).await;
        assert_eq!(a.status, 400, "{forged}: {:?}", a.body);
    }
    // The project's own cursor works.
    let mine = s.call("GET", &format!("/api/v1/projects/{pid}/events?limit=2"), Some(&key), None).await;
    let c = mine.result()["next_cursor"].as_str().unwrap();
    let next = s.call("GET", &format!("/api/v1/projects/{pid}/events?limit=2&cursor={c}"), Some(&key), None).await;
    assert_eq!(next.status, 200);
    assert_eq!(next.result()["items"].as_array().unwrap().len(), 1);
    // A cursor rewritten to point at another real event of this list is a forgery.
    let ids: Vec<String> =
        mine.result()["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let (_, tag) = c.split_once('.').expect("cursor form");
    use base64::Engine;
    let moved = format!("{}.{tag}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&ids[0]));
    let a = s.call("GET", &format!("/api/v1/projects/{pid}/events?cursor={moved}"), Some(&key), None).await;
    assert_eq!(a.status, 400, "a re-pointed cursor: {:?}", a.body);
    // A cursor belongs to its filter too.
    let a = s.call("GET", &format!("/api/v1/projects/{pid}/events?event_type=a.b&cursor={c}"), Some(&key), None).await;
    assert_eq!(a.status, 400, "another filter's cursor: {:?}", a.body);
}

#[tokio::test]
async fn a_delivery_shows_the_body_it_was_sent_with_and_test_deliveries_are_marked() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200), Plan::status(200)]).await;
    let wid = wh["id"].as_str().unwrap().to_string();
    let event = s.event_id(&key, "a.b", json!({"n": 7})).await;
    let test =
        s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"), Some(&key), Some(json!({}))).await;
    assert_eq!(test.status, 202, "{:?}", test.body);
    s.pump_until(Duration::from_secs(20), || rx.count() >= 2).await;
    let list = s.get_ok(&key, &format!("/api/v1/projects/{pid}/webhooks/{wid}/deliveries")).await;
    let items = list["items"].as_array().unwrap();
    let marks: Vec<(String, bool)> =
        items.iter().map(|d| (d["event_type"].as_str().unwrap().to_string(), d["test"].as_bool().unwrap())).collect();
    assert_eq!(marks, vec![("webhook.test".to_string(), true), ("a.b".to_string(), false)]);
    let id = s.event_deliveries(&key, pid, &event).await[0]["id"].as_str().unwrap().to_string();
    let detail = s.delivery_detail(&key, pid, &id).await;
    assert_eq!(detail["test"], false);
    let sent = rx.received().into_iter().find(|r| r.header("x-webhook-event") == "a.b").expect("the event's request");
    assert_eq!(detail["payload"].as_str().unwrap().as_bytes(), sent.body.as_slice(), "the body as it was sent");
    assert_eq!(s.call("DELETE", &format!("/api/v1/projects/{pid}/webhooks/{wid}"), Some(&key), None).await.status, 200);
    assert!(s.delivery_detail(&key, pid, &id).await["payload"].is_null(), "gone with its webhook");
}
