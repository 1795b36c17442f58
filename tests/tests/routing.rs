//! Routing and shaping (docs/api.md §15): filters matched at intake, jq transformations at
//! send time, and the preview route, through the real handlers, the emulators and a
//! receiver on loopback.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use hookline_tests::{Plan, Receiver, Stack};
use serde_json::{json, Value};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(30);

/// Standard Webhooks verification written from the specification.
fn verify_standard(secret: &str, r: &hookline_tests::Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.header("webhook-id"), r.header("webhook-timestamp")).as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").split(' ').any(|s| s == expected)
}

async fn preview(s: &Stack, key: &str, pid: u64, wid: &str, body: Value) -> hookline_tests::Answer {
    s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{wid}/preview"), Some(key), Some(body)).await
}

/// Whether `filter` lets an event of `data` through, asked of the preview route.
async fn matches(s: &Stack, key: &str, pid: u64, wid: &str, filter: &str, data: &str) -> bool {
    // Raw text, so numbers reach the server digit for digit.
    let body = format!(r#"{{"event_type": "order.created", "data": {data}, "filter": {filter}}}"#);
    let a = s.post_text(key, &format!("/api/v1/projects/{pid}/webhooks/{wid}/preview"), body).await;
    assert_eq!(a.status, 200, "{filter} on {data}: {:?}", a.body);
    a.result()["matches"].as_bool().unwrap()
}

#[tokio::test]
async fn every_operator_and_combinator_matches_as_documented() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Filters").await;
    let wh = s.webhook(pid, &key, json!({"name": "f", "url": "https://example.com/h"})).await;
    let wid = wh["id"].as_str().unwrap();
    let data = r#"{"amount": 150, "currency": "EUR", "tags": ["vip", "new"], "customer": {"email": "a@shop.example", "tier": null},
                  "items": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}], "big": 123456789012345678901234567890}"#;
    let cases: &[(&str, bool)] = &[
        // Plain values, nested objects, arrays.
        (r#"{"event": "order.created"}"#, true),
        (r#"{"event": "order.updated"}"#, false),
        (r#"{"data": {"currency": "EUR", "amount": 150}}"#, true),
        (r#"{"data": {"amount": 150.0}}"#, true),
        (r#"{"data": {"amount": 1.5e2}}"#, true),
        (r#"{"data": {"missing": 1}}"#, false),
        (r#"{"data": {"customer": {"tier": null}}}"#, true),
        (r#"{"data": {"tags": ["vip", "new"]}}"#, true),
        (r#"{"data": {"tags": ["new", "vip"]}}"#, false),
        // Any element of an array.
        (r#"{"data": {"tags": "vip"}}"#, true),
        (r#"{"data": {"items": {"sku": "B7"}}}"#, true),
        (r#"{"data": {"items": {"sku": "C9"}}}"#, false),
        // Each operator, true and false.
        (r#"{"data": {"currency": {"$eq": "EUR"}}}"#, true),
        (r#"{"data": {"currency": {"$eq": "USD"}}}"#, false),
        (r#"{"data": {"currency": {"$neq": "USD"}}}"#, true),
        (r#"{"data": {"currency": {"$neq": "EUR"}}}"#, false),
        (r#"{"data": {"amount": {"$gt": 100}}}"#, true),
        (r#"{"data": {"amount": {"$gt": 150}}}"#, false),
        (r#"{"data": {"amount": {"$gte": 150}}}"#, true),
        (r#"{"data": {"amount": {"$lt": 150}}}"#, false),
        (r#"{"data": {"amount": {"$lte": 150, "$gt": 149.999}}}"#, true),
        (r#"{"data": {"amount": {"$gt": "100"}}}"#, false),
        (r#"{"data": {"currency": {"$gte": "EUA", "$lt": "EUS"}}}"#, true),
        (r#"{"data": {"currency": {"$in": ["USD", "EUR"]}}}"#, true),
        (r#"{"data": {"currency": {"$in": ["USD", "GBP"]}}}"#, false),
        (r#"{"data": {"currency": {"$nin": ["USD", "GBP"]}}}"#, true),
        (r#"{"data": {"currency": {"$nin": ["EUR"]}}}"#, false),
        (r#"{"data": {"customer": {"email": {"$exists": true}}}}"#, true),
        (r#"{"data": {"customer": {"phone": {"$exists": true}}}}"#, false),
        (r#"{"data": {"customer": {"phone": {"$exists": false}}}}"#, true),
        (r#"{"data": {"customer": {"email": {"$startsWith": "a@"}}}}"#, true),
        (r#"{"data": {"customer": {"email": {"$startsWith": "b@"}}}}"#, false),
        (r#"{"data": {"customer": {"email": {"$endsWith": "shop.example"}}}}"#, true),
        (r#"{"data": {"customer": {"email": {"$endsWith": ".com"}}}}"#, false),
        (r#"{"data": {"customer": {"email": {"$contains": "@shop"}}}}"#, true),
        (r#"{"data": {"tags": {"$contains": "vip"}}}"#, true),
        (r#"{"data": {"tags": {"$contains": "old"}}}"#, false),
        // Combinators, at the top and inside.
        (r#"{"$or": [{"data": {"currency": "USD"}}, {"data": {"amount": {"$gte": 100}}}]}"#, true),
        (r#"{"$or": [{"data": {"currency": "USD"}}, {"data": {"amount": {"$gte": 200}}}]}"#, false),
        (r#"{"$and": [{"event": "order.created"}, {"data": {"tags": "new"}}]}"#, true),
        (r#"{"$and": [{"event": "order.created"}, {"data": {"tags": "old"}}]}"#, false),
        (r#"{"$not": {"data": {"currency": "EUR"}}}"#, false),
        (r#"{"data": {"$not": {"currency": "USD"}}}"#, true),
        (r#"{"data": {"amount": {"$not": {"$lt": 100}}}}"#, true),
        (r#"{"data": {"items": {"$or": [{"sku": "Z"}, {"qty": {"$gte": 2}}]}}}"#, true),
        // Numbers beyond 64 bits, compared exactly.
        (r#"{"data": {"big": 123456789012345678901234567890}}"#, true),
        (r#"{"data": {"big": 123456789012345678901234567891}}"#, false),
        (r#"{"data": {"big": {"$gt": 123456789012345678901234567889}}}"#, true),
        (r#"{"data": {"big": {"$lt": 123456789012345678901234567890.0000001}}}"#, true),
        (r#"{"data": {"big": {"$lt": 1.2345678901234567890123456789e29}}}"#, false),
    ];
    for (filter, want) in cases {
        assert_eq!(matches(&s, &key, pid, wid, filter, data).await, *want, "{filter}");
    }
}

#[tokio::test]
async fn intake_delivers_only_what_the_filter_lets_through_and_a_filtered_out_event_costs_no_delivery() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200); 4]).await;
    let wid = wh["id"].as_str().unwrap().to_string();
    let set = s
        .call(
            "PATCH",
            &format!("/api/v1/projects/{pid}/webhooks/{wid}"),
            Some(&key),
            Some(json!({"filter": {"data": {"amount": {"$gte": 100}}}})),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.result()["filter"], json!({"data": {"amount": {"$gte": 100}}}));
    let small = s.event(&key, "order.created", json!({"amount": 5})).await;
    assert_eq!(small.status, 202);
    assert_eq!(small.result()["deliveries"], 0, "filtered out at intake: no delivery");
    let big = s.event(&key, "order.created", json!({"amount": 500})).await;
    assert_eq!(big.result()["deliveries"], 1);
    let batch = s
        .batch(
            &key,
            json!({"events": [{"event_type": "a", "data": {"amount": 1}}, {"event_type": "a", "data": {"amount": 100}}]}),
        )
        .await;
    assert_eq!(batch.status, 202, "{:?}", batch.body);
    assert_eq!(batch.result()["items"][0]["deliveries"], 0);
    assert_eq!(batch.result()["items"][1]["deliveries"], 1);
    s.pump_until(WAIT, || rx.count() >= 2).await;
    s.pump_for(Duration::from_millis(500)).await;
    let amounts: Vec<i64> = rx.received().iter().map(|r| r.json()["data"]["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts.len(), 2);
    assert!(amounts.contains(&500) && amounts.contains(&100), "{amounts:?}");
    // A test delivery ignores the filter.
    let t = s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"), Some(&key), Some(json!({}))).await;
    assert_eq!(t.status, 202, "{:?}", t.body);
    s.pump_until(WAIT, || rx.count() >= 3).await;
    // `null` removes it.
    let cleared = s
        .call("PATCH", &format!("/api/v1/projects/{pid}/webhooks/{wid}"), Some(&key), Some(json!({"filter": null})))
        .await;
    assert_eq!(cleared.result()["filter"], Value::Null);
    assert_eq!(s.event(&key, "order.created", json!({"amount": 5})).await.result()["deliveries"], 1);
}

#[tokio::test]
async fn invalid_filters_and_transforms_are_refused_by_the_field() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Invalid").await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let cases = [
        (json!({"filter": {"data": {"amount": {"$gt": {"x": 1}}}}}), "filter/data/amount/$gt"),
        (json!({"filter": {"data": {"a": {"$foo": 1}}}}), "filter/data/a/$foo"),
        (json!({"filter": {"data": {"a": {"$in": 3}}}}), "filter/data/a/$in"),
        (json!({"filter": {"data": {"a": {"$exists": "yes"}}}}), "filter/data/a/$exists"),
        (json!({"filter": {"data": {"a/b": {"$startsWith": 1}}}}), "filter/data/a~1b/$startsWith"),
        (json!({"filter": {"$or": []}}), "filter/$or"),
        (json!({"filter": {"$not": [1]}}), "filter/$not"),
        (json!({"filter": [1]}), "filter"),
        (json!({"filter": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}), "filter/a/b/c/d/e/f/g/h"),
        (json!({"filter": {"data": {"s": "x".repeat(5000)}}}), "filter"),
        (json!({"transform": "{a: ("}), "transform"),
        (json!({"transform": "nosuch_function"}), "transform"),
        (json!({"transform": "env"}), "transform"),
        (json!({"transform": "1 + ".repeat(3000)}), "transform"),
        (json!({"transform": 5}), "transform"),
    ];
    for (extra, field) in cases {
        let mut body = json!({"name": "n", "url": "https://example.com/h"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let a = s.call("POST", &path, Some(&key), Some(body)).await;
        assert_eq!(a.status, 400, "{field}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], field, "{:?}", a.body);
    }
    let list = s.get_ok(&key, &path).await;
    assert_eq!(list["items"], json!([]), "nothing was created");
}

/// Delivers one event through a new project's webhook with `transform`; returns the
/// delivery's detail once it is no longer pending, what the receiver got, and the secret.
async fn deliver_transformed(
    s: &Stack,
    transform: &str,
    content_type: &str,
) -> (Value, Option<hookline_tests::Received>, String) {
    let rx = Receiver::start(vec![Plan::status(200); 3]).await;
    let (pid, key) = s.project("Shaped").await;
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "t", "url": rx.url("/"), "transform": transform, "content_type": content_type,
                   "custom_parameters": {"tenant": "acme"}}),
        )
        .await;
    let secret = wh["secret"].as_str().unwrap().to_string();
    let body = r#"{"event_type": "order.created", "data": {"amount": 12345678901234567890123, "tags": ["a", "b"]}}"#;
    let sent = s.post_text(&key, "/api/v1/events", body.to_string()).await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let event = sent.result()["event_id"].as_str().unwrap().to_string();
    let id = s.event_deliveries(&key, pid, &event).await[0]["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        s.pump_for(Duration::from_millis(300)).await;
        let detail = s.delivery_detail(&key, pid, &id).await;
        if detail["status"] != "pending" {
            return (detail, rx.received().into_iter().next(), secret);
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {detail}");
    }
}

#[tokio::test]
async fn a_transformed_body_is_sent_signed_as_sent_in_json_and_xml() {
    let program = "{kind: .event, amount: .data.amount, first_tag: .data.tags[0], tenant: .tenant}";
    let s = Stack::start().await;
    let (detail, got, secret) = deliver_transformed(&s, program, "json").await;
    let got = got.expect("delivered");
    assert_eq!(
        String::from_utf8(got.body.clone()).unwrap(),
        r#"{"kind":"order.created","amount":12345678901234567890123,"first_tag":"a","tenant":"acme"}"#
    );
    assert!(verify_standard(&secret, &got), "the signature covers the transformed body");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(detail["status"], "success");
    assert_eq!(detail["payload"].as_str().unwrap().as_bytes(), got.body.as_slice(), "the log shows what was sent");

    let (_, got, secret) = deliver_transformed(&s, program, "xml").await;
    let got = got.expect("delivered");
    assert_eq!(
        String::from_utf8(got.body.clone()).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><webhook><kind>order.created</kind>\
         <amount>12345678901234567890123</amount><first_tag>a</first_tag><tenant>acme</tenant></webhook>"
    );
    assert!(verify_standard(&secret, &got));
    assert_eq!(got.header("content-type"), "application/xml");
}

#[tokio::test]
async fn each_transform_failure_ends_the_delivery_at_once_with_its_reason() {
    let cases = [
        (r#"error("no way")"#, "transform failed: no way"),
        ("empty", "transform failed: no output"),
        (".,.", "transform failed: more than one output"),
        ("[.]", "transform failed: the output is not a JSON object"),
        (".data.amount", "transform failed: the output is not a JSON object"),
        ("{a: last(range(1e12))}", "transform failed: ran longer than 100 ms"),
        (r#"{a: ("x" * 2000000)}"#, "transform failed: the output is larger than 1048576 bytes"),
    ];
    let s = Stack::start().await;
    for (program, reason) in cases {
        let (detail, got, _) = deliver_transformed(&s, program, "json").await;
        assert!(got.is_none(), "{program}: nothing is sent");
        assert_eq!(detail["status"], "error", "{program}: {detail}");
        assert_eq!(detail["attempts"], 1, "{program}: no retry");
        assert_eq!(detail["next_attempt_at"], Value::Null);
        assert_eq!(detail["attempts_log"][0]["error"], reason, "{program}");
    }
}

#[tokio::test]
async fn preview_shows_the_exact_body_or_that_the_filter_refuses_and_stores_nothing() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Preview").await;
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "p", "url": rx.url("/"), "filter": {"data": {"n": {"$gt": 1}}}, "transform": "{n: .data.n}"}),
        )
        .await;
    let wid = wh["id"].as_str().unwrap();
    let a = preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": {"n": 2}})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.result(), &json!({"matches": true, "content_type": "application/json", "body": "{\"n\":2}"}));
    let no = preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": {"n": 1}})).await;
    assert_eq!(no.result(), &json!({"matches": false, "content_type": "application/json", "body": null}));
    // A filter and a transform of the request's own, or none.
    let own = preview(
        &s,
        &key,
        pid,
        wid,
        json!({"event_type": "a.b", "data": {"n": 1}, "filter": {"event": "a.b"}, "transform": "{t: .event}"}),
    )
    .await;
    assert_eq!(own.result()["body"], "{\"t\":\"a.b\"}");
    let plain =
        preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": {"n": 1}, "filter": null, "transform": null}))
            .await;
    let envelope: Value = serde_json::from_str(plain.result()["body"].as_str().unwrap()).unwrap();
    assert_eq!((envelope["event"].clone(), envelope["data"].clone()), (json!("a.b"), json!({"n": 1})));
    // Invalid ones, by the field; a program failing at run time is the transform's error too.
    let bad =
        preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": {"n": 1}, "filter": {"n": {"$x": 1}}})).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].clone()), (400, json!("filter/n/$x")));
    let bad =
        preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": {"n": 5}, "transform": "error(\"x\")"})).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].clone()), (400, json!("transform")));
    let bad = preview(&s, &key, pid, wid, json!({"event_type": "a.b", "data": [1]})).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].clone()), (400, json!("data")));
    let missing = preview(&s, &key, pid, "wh_01NOSUCHWEBHOOK0000000000", json!({"event_type": "a", "data": {}})).await;
    assert_eq!(missing.status, 404);
    // A read-only portal session may preview.
    let session = s
        .call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), Some(&key), Some(json!({"read_only": true})))
        .await;
    let token = session.result()["token"].as_str().unwrap().to_string();
    let ro = preview(&s, &token, pid, wid, json!({"event_type": "a.b", "data": {"n": 2}})).await;
    assert_eq!(ro.status, 200, "{:?}", ro.body);
    // Nothing was stored or sent.
    s.pump_for(Duration::from_millis(500)).await;
    assert_eq!(rx.count(), 0);
    assert!(s.listed_events(&key, pid).await.is_empty());
}
