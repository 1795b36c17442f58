//! docs/api.md §11's event-type catalogue and the input rules of §4/§5 as tightened after the
//! probe.

use std::time::Duration;

use hookline_tests::{Plan, Stack, ADMIN_TOKEN};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

fn submission_schema() -> Value {
    json!({
        "type": "object",
        "required": ["submissionId", "responses"],
        "properties": {
            "submissionId": {"type": "string", "pattern": "^sub_"},
            "responses": {
                "type": "object",
                "required": ["email"],
                "properties": {"email": {"type": "string", "format": "email"}, "age": {"type": "integer", "minimum": 18}}
            }
        }
    })
}

async fn create_type(s: &Stack, body: Value) -> hookline_tests::Answer {
    s.call("POST", "/api/v1/event-types", Some(ADMIN_TOKEN), Some(body)).await
}

#[tokio::test]
async fn the_catalogue_belongs_to_the_admin_and_every_project_reads_it() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    let body = json!({"name": "submission.completed", "description": "A submission was completed", "schema": submission_schema(),
                      "example": {"submissionId": "sub_1", "responses": {"email": "a@example.com"}}});
    assert_eq!(s.call("POST", "/api/v1/event-types", Some(&key), Some(body.clone())).await.status, 403, "admin writes");
    let a = create_type(&s, body.clone()).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(create_type(&s, body).await.status, 409, "the name exists");
    let one = s.call("GET", "/api/v1/event-types/submission.completed", Some(&key), None).await;
    assert_eq!((one.status, one.result()["description"].as_str()), (200, Some("A submission was completed")));
    // Archived types leave the list unless asked for.
    let p = s
        .call("PATCH", "/api/v1/event-types/submission.completed", Some(ADMIN_TOKEN), Some(json!({"archived": true})))
        .await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    let list = s.call("GET", "/api/v1/event-types", Some(&key), None).await;
    assert_eq!(list.result()["items"], json!([]));
    let all = s.call("GET", "/api/v1/event-types?include_archived=true", Some(&key), None).await;
    assert_eq!(all.result()["items"][0]["name"], "submission.completed");
    assert_eq!(s.call("DELETE", "/api/v1/event-types/submission.completed", Some(ADMIN_TOKEN), None).await.status, 200);
    assert_eq!(s.call("GET", "/api/v1/event-types/submission.completed", Some(&key), None).await.status, 404);
    let all = s.call("GET", "/api/v1/event-types?include_archived=true", Some(&key), None).await;
    assert_eq!(all.result()["items"], json!([]), "deleted from the list too");
}

/// docs/api.md §1: lists are newest first, the catalogue too, with cursors across pages.
#[tokio::test]
async fn the_catalogue_lists_newest_first() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    for name in ["b.first", "a.second", "c.third"] {
        assert_eq!(create_type(&s, json!({"name": name, "description": ""})).await.status, 201);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let p = s.call("PATCH", "/api/v1/event-types/b.first", Some(ADMIN_TOKEN), Some(json!({"description": "x"}))).await;
    assert_eq!(p.status, 200, "an update keeps its place");
    let page = s.call("GET", "/api/v1/event-types?limit=2", Some(&key), None).await;
    let names = |a: &hookline_tests::Answer| -> Vec<String> {
        a.result()["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&page), vec!["c.third", "a.second"]);
    let cursor = page.result()["next_cursor"].as_str().unwrap().to_string();
    let rest = s.call("GET", &format!("/api/v1/event-types?limit=2&cursor={cursor}"), Some(&key), None).await;
    assert_eq!(names(&rest), vec!["b.first"]);
    assert_eq!(rest.result()["items"][0]["description"], "x");
    assert!(rest.result()["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_schemas_and_examples_are_refused() {
    let s = Stack::start().await;
    for (schema, why) in [
        (json!({"type": "no-such-type"}), "not a valid schema"),
        (json!({"$ref": "https://example.com/schema.json"}), "a remote reference"),
        (json!({"properties": {"a": {"$ref": "file:///etc/passwd"}}}), "a file reference"),
        (json!([1, 2]), "not an object"),
    ] {
        let a = create_type(&s, json!({"name": "x.y", "description": "d", "schema": schema})).await;
        assert_eq!(a.status, 400, "{why}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "schema", "{why}");
    }
    let a = create_type(
        &s,
        json!({"name": "x.y", "description": "d", "schema": submission_schema(), "example": {"submissionId": 5}}),
    )
    .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(a.body["errors"][0]["field"].as_str().unwrap().starts_with("example"));
    let a = create_type(&s, json!({"name": "bad*", "description": "d"})).await;
    assert_eq!(a.body["errors"][0]["field"], "name");
    // A local reference is fine.
    let local = json!({"$defs": {"id": {"type": "string"}}, "properties": {"id": {"$ref": "#/$defs/id"}}});
    assert_eq!(create_type(&s, json!({"name": "x.local", "description": "d", "schema": local})).await.status, 201);
}

#[tokio::test]
async fn data_is_checked_against_its_types_schema_with_one_error_per_violation() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    assert_eq!(
        create_type(&s, json!({"name": "submission.completed", "description": "d", "schema": submission_schema()}))
            .await
            .status,
        201
    );
    let a = s
        .event(
            &key,
            "submission.completed",
            json!({"submissionId": "x", "responses": {"email": "not-an-email", "age": 12}}),
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    let mut fields: Vec<&str> =
        a.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, vec!["data/responses/age", "data/responses/email", "data/submissionId"]);
    let missing = s.event(&key, "submission.completed", json!({"submissionId": "sub_1", "responses": {}})).await;
    assert_eq!(missing.body["errors"][0]["field"], "data/responses/email", "{:?}", missing.body);
    // Nothing was recorded for the refused events; a valid one goes through.
    assert_eq!(s.listed_events(&key, pid).await, Vec::<String>::new());
    let ok = s
        .event(&key, "submission.completed", json!({"submissionId": "sub_1", "responses": {"email": "a@example.com"}}))
        .await;
    assert_eq!(ok.status, 202, "{:?}", ok.body);
    // Types outside the catalogue are accepted as before.
    assert_eq!(s.event(&key, "anything.else", json!({"x": 1})).await.status, 202);
    // Batch entries are checked one by one.
    let batch = s
        .batch(&key, json!({"events": [
                {"event_type": "submission.completed", "data": {"submissionId": "sub_2", "responses": {"email": "b@example.com"}}},
                {"event_type": "submission.completed", "data": {"submissionId": "bad"}}
            ]})).await;
    let items = batch.result()["items"].as_array().unwrap();
    assert_eq!((items[0]["status"].as_u64(), items[1]["status"].as_u64()), (Some(202), Some(400)));
    s.pump_until(WAIT, || rx.count() == 3).await;
}

#[tokio::test]
async fn tests_use_the_types_example_or_check_their_data() {
    let s = Stack::start().await;
    let (pid, key, rx, wh) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let example = json!({"submissionId": "sub_example", "responses": {"email": "x@example.com"}});
    create_type(
        &s,
        json!({"name": "submission.completed", "description": "d", "schema": submission_schema(), "example": example}),
    )
    .await;
    let test = format!("/api/v1/projects/{pid}/webhooks/{}/test", wh["id"].as_str().unwrap());
    let a = s.call("POST", &test, Some(&key), Some(json!({"event_type": "submission.completed"}))).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    s.pump_until(WAIT, || rx.count() == 1).await;
    assert_eq!(rx.received()[0].json()["data"], example, "a test without data sends the example");
    let bad = s
        .call(
            "POST",
            &test,
            Some(&key),
            Some(json!({"event_type": "submission.completed", "data": {"submissionId": 1}})),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert!(bad.body["errors"][0]["field"].as_str().unwrap().starts_with("data"));
}

/// The probe's inputs that used to be accepted (docs/api.md §4 as tightened): all 400, nothing
/// stored.
#[tokio::test]
async fn the_probes_urls_names_and_headers_are_refused() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let create = |body: Value| s.call("POST", &path, Some(&key), Some(body));
    let long_placeholders = format!("https://example.com/{}", "{VerificationKey}".repeat(118));
    for (url, case) in [
        ("https://exa mple.com/x", "a space"),
        ("https://example.com/x\r\nX-Injected: 1", "CR/LF"),
        ("https://example.com:0/x", "port 0"),
        ("https://:@example.com/", "empty user-info"),
        (long_placeholders.as_str(), "placeholders expanding past 2048"),
    ] {
        let a = create(json!({"name": "n", "url": url})).await;
        assert_eq!(a.status, 400, "{case}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "url", "{case}");
    }
    for name in ["a\u{0}b", "bell\u{7}", "evil\u{202e}txt", ""] {
        let a = create(json!({"name": name, "url": "https://example.com/"})).await;
        assert_eq!(a.status, 400, "{name:?}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "name");
    }
    for (headers, field) in [
        (json!({"Authorization": "Bearer x"}), "headers.Authorization"),
        (json!({"Content-Encoding": "gzip"}), "headers.Content-Encoding"),
    ] {
        let a = create(json!({"name": "n", "url": "https://example.com/", "headers": headers})).await;
        assert_eq!(a.status, 400, "{field}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], field);
    }
    let a = create(json!({"name": "n", "url": "https://example.com/", "headers": {"X-A": "1", "x-a": "2"}})).await;
    assert_eq!(a.status, 400, "names that differ only in case: {:?}", a.body);
    let listed = s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&key), None).await;
    assert_eq!(listed.result()["items"], json!([]), "nothing was stored");
}
