//! Error messages say each thing once, about the field the caller sent (docs/api.md §1),
//! and the dashboard shows them as the API sent them, without adding what they already say.

use std::time::Duration;

use hookline::clock::Millis;
use hookline_tests::Stack;
use serde_json::json;

#[tokio::test]
async fn recover_errors_name_the_field_that_was_sent() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let wh = s.webhook(pid, &key, json!({"name": "r", "url": "http://127.0.0.1:9/x"})).await;
    let recover = format!("/api/v1/projects/{pid}/webhooks/{}/recover", wh["id"].as_str().unwrap());
    let now = Millis::now();
    let later = now.plus(Duration::from_secs(3600)).rfc3339();
    // `since` in the future, no `until`: the fault is `since`'s.
    let a = s.call("POST", &recover, Some(&key), Some(json!({ "since": later }))).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["errors"], json!([{"field": "since", "message": "must not be in the future"}]));
    assert_eq!(a.body["message"], "since: must not be in the future");
    // With an `until` before it: `until`'s, once.
    let a = s.call("POST", &recover, Some(&key), Some(json!({ "since": later, "until": now.rfc3339() }))).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["errors"], json!([{"field": "until", "message": "must be after since"}]));
    // A future window the caller bounded is theirs to ask for: nothing in it yet.
    let much_later = now.plus(Duration::from_secs(7200)).rfc3339();
    let a = s.call("POST", &recover, Some(&key), Some(json!({ "since": later, "until": much_later }))).await;
    assert_eq!((a.status, &a.result()["recovered"]), (202, &json!(0)), "{:?}", a.body);
    // A disabled webhook: 409, said once.
    let patch = format!("/api/v1/projects/{pid}/webhooks/{}", wh["id"].as_str().unwrap());
    assert_eq!(s.call("PATCH", &patch, Some(&key), Some(json!({"enabled": false}))).await.status, 200);
    let a = s.call("POST", &recover, Some(&key), Some(json!({ "since": now.rfc3339() }))).await;
    assert_eq!(a.status, 409, "{:?}", a.body);
    assert_eq!(a.body["message"], "the webhook is disabled; enable it before recovering its deliveries");
}

/// The dashboard shows the API's message as it is: no file appends to it what the API
/// already said (`… (enable the webhook before recovering)`, `… Try again in 3 s.` after
/// `retry after 3 s`, a project mismatch or refused credentials said twice).
#[tokio::test]
async fn the_dashboard_does_not_repeat_the_apis_messages() {
    let s = Stack::start().await;
    for (file, repeats) in [
        ("webhooks.js", "(enable the webhook before recovering)"),
        ("api.js", "Try again in"),
        ("account.js", "is not valid for project"),
        ("app.js", "refused the credentials ("),
    ] {
        let a = s.get_raw(&format!("/dashboard/{file}")).await;
        assert_eq!(a.status, 200, "{file}");
        let text = String::from_utf8(a.body).unwrap();
        assert!(!text.contains(repeats), "{file} adds `{repeats}` to a message that already says it");
    }
}
