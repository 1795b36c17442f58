//! §11's catalogue schemas under hostile or unlucky input: patterns too large to check fast,
//! schemas whose errors multiply, a type deleted and created again, numbers beyond a double.

use std::time::{Duration, Instant};

use hookline_tests::{Answer, Stack, ADMIN_TOKEN};
use lambda_http::Body;
use serde_json::{json, Value};

async fn create_type(s: &Stack, body: Value) -> Answer {
    s.call("POST", "/api/v1/event-types", Some(ADMIN_TOKEN), Some(body)).await
}

/// A request whose body is sent as this exact text (numbers beyond a double stay as written).
async fn call_text(s: &Stack, method: &str, path: &str, auth: &str, body: &str) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {auth}"))
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap();
    let raw = s.route_raw(req).await;
    (raw.status, String::from_utf8(raw.body.to_vec()).unwrap())
}

fn first_error(a: &Answer) -> (String, String) {
    let e = &a.body["errors"][0];
    (e["field"].as_str().unwrap_or("").to_string(), e["message"].as_str().unwrap_or("").to_string())
}

/// Answered (whatever the status) within a second.
async fn timed<F: std::future::Future<Output = Answer>>(what: &str, f: F) -> Answer {
    let started = Instant::now();
    let a = tokio::time::timeout(Duration::from_secs(20), f).await.unwrap_or_else(|_| panic!("{what}: no answer"));
    assert!(started.elapsed() < Duration::from_secs(1), "{what} took {:?}", started.elapsed());
    a
}

#[tokio::test]
async fn a_type_deleted_and_created_again_is_checked_against_its_new_schema() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    let schema = |t: &str| json!({"type": "object", "properties": {"x": {"type": t}}});
    let create = json!({"name": "form.recreated", "description": "d", "schema": schema("string")});
    assert_eq!(create_type(&s, create).await.status, 201);
    assert_eq!(s.event(&key, "form.recreated", json!({"x": "a"})).await.status, 202);
    let d = s.call("DELETE", "/api/v1/event-types/form.recreated", Some(ADMIN_TOKEN), None).await;
    assert_eq!(d.status, 200);
    let create = json!({"name": "form.recreated", "description": "d", "schema": schema("integer")});
    assert_eq!(create_type(&s, create).await.status, 201);
    let a = s.event(&key, "form.recreated", json!({"x": 1})).await;
    assert_eq!(a.status, 202, "the new schema, not the one compiled before the deletion: {:?}", a.body);
    let a = s.event(&key, "form.recreated", json!({"x": "a"})).await;
    assert_eq!((a.status, first_error(&a).0), (400, "data/x".to_string()));
    let batch = json!({"events": [{"event_type": "form.recreated", "data": {"x": 2}}]});
    let b = s.call("POST", "/api/v1/events/batch", Some(&key), Some(batch)).await;
    assert_eq!(b.result()["items"][0]["status"], 202, "batch intake too: {:?}", b.body);
}

#[tokio::test]
async fn patterns_too_large_to_check_fast_are_refused_with_their_place() {
    let s = Stack::start().await;
    for (pattern, why) in
        [("a{20000}", "a large counted repetition"), ("((a{50}){50}){50}", "nested counted repetitions")]
    {
        let schema = json!({"type": "object", "properties": {"x": {"type": "string", "pattern": pattern}}});
        let a = timed(why, create_type(&s, json!({"name": "big.pattern", "description": "d", "schema": schema}))).await;
        assert_eq!(a.status, 400, "{why}: {:?}", a.body);
        let (field, message) = first_error(&a);
        assert_eq!(field, "schema");
        assert!(message.contains("`#/properties/x/pattern`") && message.contains("too large"), "{why}: {message}");
    }
    // patternProperties keys are patterns too.
    let schema = json!({"patternProperties": {"b{20000}": {}}});
    let a = create_type(&s, json!({"name": "big.pattern", "description": "d", "schema": schema})).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(first_error(&a).1.contains("`#/patternProperties/b{20000}`"), "{:?}", a.body);
}

#[tokio::test]
async fn the_largest_accepted_patterns_check_a_long_string_within_a_second() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    let schema = json!({"type": "object", "properties": {
        "x": {"type": "string", "pattern": "a{505}"},
        "y": {"type": "string", "pattern": "((a{5}){5}){13}"}
    }});
    let a = create_type(&s, json!({"name": "long.strings", "description": "d", "schema": schema})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    for data in [json!({"x": "a".repeat(32_001)}), json!({"y": "a".repeat(125_001)})] {
        let a = timed("a long string", s.event(&key, "long.strings", data)).await;
        assert_eq!(a.status, 202, "{:?}", a.body);
    }
    let a = timed("a long invalid string", s.event(&key, "long.strings", json!({"x": "b".repeat(200_000)}))).await;
    assert_eq!((a.status, first_error(&a).0), (400, "data/x".to_string()));
}

/// `$defs/d0` = allOf of two references to `d1`, and so on down to `d{depth}`: checking one
/// value visits 2^depth schemas.
fn doubling_schema(depth: usize) -> Value {
    let mut defs = serde_json::Map::new();
    for i in 0..depth {
        let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
        defs.insert(format!("d{i}"), json!({"allOf": [next.clone(), next]}));
    }
    defs.insert(format!("d{depth}"), json!({"type": "string"}));
    json!({"$defs": defs, "type": "object", "properties": {
        "v": {"$ref": "#/$defs/d0"},
        "list": {"type": "array", "items": {"$ref": "#/$defs/d0"}}
    }})
}

#[tokio::test]
async fn schemas_whose_errors_multiply_answer_within_a_second() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    // Depth 20: a million schemas per value. Refused, or checked fast: either way, no stall.
    let a = timed(
        "creating depth 20",
        create_type(&s, json!({"name": "deep.twenty", "description": "d", "schema": doubling_schema(20)})),
    )
    .await;
    if a.status == 201 {
        let a = timed("invalid data at depth 20", s.event(&key, "deep.twenty", json!({"v": 1}))).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
    } else {
        assert_eq!(a.status, 400, "{:?}", a.body);
        assert_eq!(first_error(&a).0, "schema");
    }
    let a = timed(
        "creating depth 12",
        create_type(&s, json!({"name": "deep.twelve", "description": "d", "schema": doubling_schema(12)})),
    )
    .await;
    if a.status == 201 {
        let list: Vec<Value> = (0..160).map(|i| json!(i)).collect();
        let a = timed("160 invalid items at depth 12", s.event(&key, "deep.twelve", json!({"list": list}))).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
        assert!(a.body["errors"].as_array().unwrap().len() <= 101, "{:?}", a.body["errors"].as_array().unwrap().len());
    } else {
        assert_eq!((a.status, first_error(&a).0), (400, "schema".to_string()), "{:?}", a.body);
    }
    // An ordinary reference still works.
    let a = create_type(&s, json!({"name": "deep.two", "description": "d", "schema": doubling_schema(2)})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(s.event(&key, "deep.two", json!({"v": "ok"})).await.status, 202);
    let a = s.event(&key, "deep.two", json!({"v": 1})).await;
    assert_eq!((a.status, first_error(&a)), (400, ("data/v".to_string(), "must be a string".to_string())));
}

#[tokio::test]
async fn an_example_keeps_every_digit() {
    let s = Stack::start().await;
    let (code, text) = call_text(
        &s,
        "POST",
        "/api/v1/event-types",
        ADMIN_TOKEN,
        r#"{"name": "big.numbers", "description": "d", "schema": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 340282366920938463463374607431768211456}}}, "example": {"n": 123456789012345678901234567890, "f": 0.1000000000000000000001}}"#,
    )
    .await;
    assert_eq!(code, 201, "{text}");
    assert!(text.contains("123456789012345678901234567890") && text.contains("0.1000000000000000000001"), "{text}");
    assert!(text.contains("340282366920938463463374607431768211456"), "the schema keeps its digits too: {text}");
    let (code, text) = call_text(&s, "GET", "/api/v1/event-types/big.numbers", ADMIN_TOKEN, "").await;
    assert_eq!(code, 200);
    assert!(
        text.contains(r#""n": 123456789012345678901234567890"#) && text.contains("0.1000000000000000000001"),
        "{text}"
    );
}

#[tokio::test]
async fn schema_numbers_a_double_cannot_hold_are_refused_with_their_place() {
    let s = Stack::start().await;
    let (code, text) = call_text(
        &s,
        "POST",
        "/api/v1/event-types",
        ADMIN_TOKEN,
        r#"{"name": "big.bound", "description": "d", "schema": {"type": "object", "properties": {"n": {"maximum": 99999999999999999999999999999999}}}}"#,
    )
    .await;
    assert_eq!(code, 400, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["errors"][0]["field"], "schema");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`#/properties/n/maximum`") && message.contains("99999999999999999999999999999999"),
        "{message}"
    );
}

#[tokio::test]
async fn a_schema_that_applies_a_pattern_hundreds_of_times_stops_at_its_work_limit() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    // Accepted: every limit checked at create holds; the work grows with the document.
    let refs: Vec<Value> = (0..499).map(|_| json!({"$ref": "#/$defs/p"})).collect();
    let schema = json!({"$defs": {"p": {"type": "string", "pattern": "(a|b|c|d|e|f|g|h)*[a-z]{8}x"}},
                        "properties": {"text": {"allOf": refs}}});
    let a = create_type(&s, json!({"name": "text.scanned", "description": "d", "schema": schema})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let small = timed("a short text", s.event(&key, "text.scanned", json!({"text": "abcdefghx"}))).await;
    assert_eq!(small.status, 202, "{:?}", small.body);
    let long = "abcdefgh".repeat(25 * 1024);
    let a = timed("a 200 KiB text", s.event(&key, "text.scanned", json!({"text": long}))).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    let (field, message) = first_error(&a);
    assert_eq!(field, "data");
    assert!(message.contains("work limit"), "{message}");
    let events = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    assert_eq!(events.result()["items"].as_array().map(Vec::len), Some(1), "only the short one was accepted");
}

#[tokio::test]
async fn more_than_64_pattern_properties_are_refused_with_their_place() {
    let s = Stack::start().await;
    let patterns =
        |n: usize| (0..n).map(|i| (format!("^k{i}$"), json!({"type": "string"}))).collect::<serde_json::Map<_, _>>();
    let at_limit = json!({"properties": {"m": {"patternProperties": patterns(64)}}});
    let a = create_type(&s, json!({"name": "map.64", "description": "d", "schema": at_limit})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let past = json!({"properties": {"m": {"patternProperties": patterns(65)}}});
    let a = create_type(&s, json!({"name": "map.65", "description": "d", "schema": past})).await;
    assert_eq!(a.status, 400);
    let (field, message) = first_error(&a);
    assert_eq!(field, "schema");
    assert!(message.contains("`#/properties/m/patternProperties` has 65"), "{message}");
}
