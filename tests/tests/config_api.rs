//! The config API through the real handler against DynamoDB Local (docs/api.md §1–§4).

use hookline_tests::{Stack, ADMIN_TOKEN};
use lambda_http::Body;
use serde_json::json;

#[tokio::test]
async fn projects_need_the_admin_token_and_get_sequential_ids() {
    let s = Stack::start().await;
    let body = Some(json!({"name": "Acme"}));
    assert_eq!(s.call("POST", "/api/v1/projects", None, body.clone()).await.status, 401);
    let wrong = s.call("POST", "/api/v1/projects", Some("not-the-token"), body.clone()).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["status"], "error");

    let bad = s.call("POST", "/api/v1/projects", Some(ADMIN_TOKEN), Some(json!({"name": "", "client_id": "x"}))).await;
    assert_eq!(bad.status, 400);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["name", "client_id"]);

    let a = s
        .call("POST", "/api/v1/projects", Some(ADMIN_TOKEN), Some(json!({"name": "Acme", "client_id": 19817472})))
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.body["status"], "success");
    let r = a.result();
    assert_eq!(r["name"], "Acme");
    assert_eq!(r["client_id"], 19817472);
    assert!(r["api_key"].as_str().unwrap().starts_with("hk_"));
    assert!(r["created_at"].as_str().unwrap().ends_with('Z'));
    let (second, _) = s.project("Beta").await;
    assert_eq!(second, r["project_id"].as_u64().unwrap() + 1);
}

#[tokio::test]
async fn api_keys_are_scoped_to_their_project_and_rotate() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let (other, other_key) = s.project("Other").await;

    let got = s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&key), None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.result()["project_id"], pid);
    assert!(got.result().get("api_key").is_none() && got.result().get("api_key_hash").is_none());

    // X-API-Key works as well as Bearer.
    let req = http::Request::builder()
        .uri(format!("/api/v1/projects/{pid}"))
        .header("x-api-key", &key)
        .body(Body::Empty)
        .unwrap();
    assert_eq!(s.send(req).await.status, 200);
    // ... also beside an `Authorization` of another scheme (a proxy's Basic credentials).
    let req = http::Request::builder()
        .uri(format!("/api/v1/projects/{pid}"))
        .header("authorization", "Basic cHJveHk6cGFzcw==")
        .header("x-api-key", &key)
        .body(Body::Empty)
        .unwrap();
    assert_eq!(s.send(req).await.status, 200);

    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), None, None).await.status, 401);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some("hk_wrong"), None).await.status, 401);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{other}"), Some(&key), None).await.status, 403);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&other_key), None).await.status, 403);
    assert_eq!(s.call("GET", "/api/v1/projects/abc", Some(&key), None).await.status, 400);

    let rotated = s.call("POST", &format!("/api/v1/projects/{pid}/api-key/rotate"), Some(&key), None).await;
    assert_eq!(rotated.status, 200);
    let new_key = rotated.result()["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&key), None).await.status, 401);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&new_key), None).await.status, 200);
}

#[tokio::test]
async fn malformed_requests_get_the_right_4xx() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let unknown = s.call("GET", "/api/v1/nothing-here", Some(&key), None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["status"], "error");
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/webhooks/wh_x/nope"), Some(&key), None).await.status,
        404
    );
    assert_eq!(s.call("PUT", &format!("/api/v1/projects/{pid}/webhooks"), Some(&key), None).await.status, 405);
    assert_eq!(s.call("DELETE", "/api/v1/projects", Some(ADMIN_TOKEN), None).await.status, 405);

    let path = format!("/api/v1/projects/{pid}/webhooks");
    let post = |content_type: &str, body: &str| {
        let req = http::Request::builder()
            .method("POST")
            .uri(&path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", content_type)
            .body(Body::Text(body.into()))
            .unwrap();
        s.send(req)
    };
    assert_eq!(post("text/plain", "{}").await.status, 415);
    assert_eq!(post("application/json", "{\"name\": ").await.status, 400);
    let huge = json!({"name": "x", "url": "https://example.com", "custom_parameters": {"big": "a".repeat(300 * 1024)}});
    assert_eq!(s.call("POST", &path, Some(&key), Some(huge)).await.status, 413);
    // None of these created anything.
    let list = s.call("GET", &path, Some(&key), None).await;
    assert_eq!(list.result()["items"], json!([]));

    // Routes that take no parameters: 413 when too large, 400 for options they do not
    // have, and the key is not rotated by either.
    let rotate = format!("/api/v1/projects/{pid}/api-key/rotate");
    let big = json!({"pad": "a".repeat(300 * 1024)});
    assert_eq!(s.call("POST", &rotate, Some(&key), Some(big.clone())).await.status, 413);
    let odd = s.call("POST", &rotate, Some(&key), Some(json!({"x": 1}))).await;
    assert_eq!((odd.status, odd.body["errors"][0]["field"].as_str()), (400, Some("x")), "{:?}", odd.body);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&key), None).await.status, 200, "same key");
    let test = format!("/api/v1/projects/{pid}/web_hook/trigger_session_test");
    assert_eq!(s.call("POST", &test, Some(&key), Some(big)).await.status, 413);
    assert_eq!(s.call("POST", &rotate, Some(&key), Some(json!({}))).await.status, 200, "an empty object is nothing");
}

#[tokio::test]
async fn webhook_crud_with_every_field() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let base = format!("/api/v1/projects/{pid}/webhooks");
    let created = s
        .webhook(
            pid,
            &key,
            json!({
                "name": "CRM", "url": "https://crm.example.com/hook?k={VerificationKey}",
                "event_types": ["submission.*", "aml.match.found"], "headers": {"X-Team": "kyc"},
                "authorization": "Bearer abc", "custom_parameters": {"region": "eu"},
                "content_type": "xml", "payload_format": "flat"
            }),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_"));
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(!created["verification_key"].as_str().unwrap().is_empty());
    assert_eq!(created["authorization_set"], true);
    assert!(created.get("authorization").is_none());
    assert_eq!(created["enabled"], true);
    assert_eq!(created["content_type"], "xml");

    let one = s.call("GET", &format!("{base}/{id}"), Some(&key), None).await;
    assert_eq!(one.status, 200);
    for hidden in ["secret", "verification_key", "authorization"] {
        assert!(one.result().get(hidden).is_none(), "{hidden} must not be shown");
    }
    assert_eq!(one.result()["headers"], json!({"X-Team": "kyc"}));

    let own =
        s.webhook(pid, &key, json!({"name": "Own", "url": "https://e.com", "secret": "my-own-secret-1234"})).await;
    assert_eq!(own["secret"], "my-own-secret-1234");

    // Newest first, one per page.
    let page1 = s.call("GET", &format!("{base}?limit=1"), Some(&key), None).await;
    assert_eq!(page1.result()["items"].as_array().unwrap().len(), 1);
    assert_eq!(page1.result()["items"][0]["id"], own["id"]);
    assert!(page1.result()["items"][0].get("secret").is_none());
    let cursor = page1.result()["next_cursor"].as_str().unwrap().to_string();
    let page2 = s.call("GET", &format!("{base}?limit=1&cursor={cursor}"), Some(&key), None).await;
    assert_eq!(page2.result()["items"][0]["id"], id.as_str());
    assert_eq!(s.call("GET", &format!("{base}?cursor=garbage"), Some(&key), None).await.status, 400);
    assert_eq!(s.call("GET", &format!("{base}?limit=201"), Some(&key), None).await.status, 400);

    let patched = s
        .call("PATCH", &format!("{base}/{id}"), Some(&key), Some(json!({"enabled": false, "authorization": null})))
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.result()["enabled"], false);
    assert_eq!(patched.result()["authorization_set"], false);
    assert_eq!(patched.result()["name"], "CRM");

    let invalid =
        s.call("PATCH", &format!("{base}/{id}"), Some(&key), Some(json!({"url": "http://", "name": "New"}))).await;
    assert_eq!(invalid.status, 400);
    let after = s.call("GET", &format!("{base}/{id}"), Some(&key), None).await;
    assert_eq!(after.result()["name"], "CRM", "a refused PATCH changes nothing");

    let rotated = s.call("POST", &format!("{base}/{id}/rotate-secret"), Some(&key), None).await;
    assert_eq!(rotated.status, 200);
    assert_ne!(rotated.result()["secret"], created["secret"]);
    assert_ne!(rotated.result()["verification_key"], created["verification_key"]);

    let deleted = s.call("DELETE", &format!("{base}/{id}"), Some(&key), None).await;
    assert_eq!((deleted.status, deleted.result().clone()), (200, json!("deleted")));
    assert_eq!(s.call("GET", &format!("{base}/{id}"), Some(&key), None).await.status, 404);
    assert_eq!(s.call("DELETE", &format!("{base}/{id}"), Some(&key), None).await.status, 404);
}

#[tokio::test]
async fn webhook_validation_errors_name_each_field() {
    let mut settings = hookline_tests::local_settings();
    settings.allow_http = false;
    settings.allow_private_destinations = false;
    let s = Stack::with_settings(settings).await;
    let (pid, key) = s.project("Acme").await;
    let a = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(&key),
            Some(json!({"name": "x", "url": "http://example.com", "headers": {"Host": "x"}, "event_types": ["a b"]})),
        )
        .await;
    assert_eq!(a.status, 400);
    let errors = a.body["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["field"] == "url" && e["message"] == "must use https"), "{errors:?}");
    assert!(errors.iter().any(|e| e["field"] == "headers.Host"));
    assert!(errors.iter().any(|e| e["field"] == "event_types"));
    let meta = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(&key),
            Some(json!({"name": "x", "url": "https://169.254.169.254/latest/meta-data"})),
        )
        .await;
    assert_eq!(meta.status, 400);
    assert_eq!(meta.body["errors"][0]["message"], "destination not allowed");
}

#[tokio::test]
async fn the_project_web_hook_is_wh_default_with_its_own_routes_and_fields() {
    let mut settings = hookline_tests::local_settings();
    settings.allow_http = false;
    let s = Stack::with_settings(settings).await;
    let (pid, key) = s.project("Acme").await;
    let path = format!("/api/v1/projects/{pid}/web_hook");
    assert_eq!(s.call("GET", &path, Some(&key), None).await.status, 404);
    assert_eq!(s.call("GET", "/api/v1/projects/abc/web_hook", Some(&key), None).await.status, 400);
    assert_eq!(s.call("PUT", &path, Some(&key), Some(json!({"endpoint": "http://example.com/x"}))).await.status, 400);

    let put = s
        .call(
            "PUT",
            &path,
            Some(&key),
            Some(json!({
                "endpoint": "example.com/web_hook", "enable_web_hook": "true", "enable_http_authorization": "false",
                "http_authorization_value": "Basic dXNlcjpwdw==", "custom_parameters": {"key 1": "value 1"}
            })),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let expected = json!({
        "client_id": 19817472, "project_id": pid, "endpoint": "example.com/web_hook",
        "enable_http_authorization": false, "enable_web_hook": true, "custom_parameters": {"key 1": "value 1"}
    });
    assert_eq!(put.result(), &expected);
    assert_eq!(s.call("GET", &path, Some(&key), None).await.result(), &expected);

    let update = s
        .call("PUT", &path, Some(&key), Some(json!({"enable_web_hook": false, "endpoint": "https://example.com/v2"})))
        .await;
    assert_eq!(update.result()["enable_web_hook"], false);
    assert_eq!(update.result()["endpoint"], "example.com/v2");
    assert_eq!(update.result()["custom_parameters"], json!({"key 1": "value 1"}));

    let list = s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&key), None).await;
    let items = list.result()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "wh_default");
    assert_eq!(items[0]["payload_format"], "flat");
    assert_eq!(items[0]["url"], "https://example.com/v2");

    let del = s.call("DELETE", &path, Some(&key), None).await;
    assert_eq!(del.result(), &json!("deleted"));
    assert_eq!(s.call("GET", &path, Some(&key), None).await.status, 404);
}
