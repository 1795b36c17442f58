//! docs/api.md §13's portal sessions and dashboard serving, and §14's document.

use hookline::clock::Millis;
use hookline::credentials::sha256_hex;
use hookline::ids::ProjectId;
use hookline::model::PortalSession;
use hookline_tests::{local_settings, Stack};
use serde_json::json;

async fn session(s: &Stack, pid: u64, key: &str, body: serde_json::Value) -> serde_json::Value {
    let a = s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), Some(key), Some(body)).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.result().clone()
}

#[tokio::test]
async fn portal_tokens_act_for_one_project_within_their_rules() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let (other, _) = s.project("Other").await;
    let p = session(&s, pid, &key, json!({"ttl_seconds": 600})).await;
    let token = p["token"].as_str().unwrap();
    assert!(token.starts_with(&format!("pst_{pid}_")));
    assert!(p["url"].as_str().unwrap().ends_with(&format!("/dashboard/#token={token}")));
    assert_eq!(p["read_only"], false);
    let expires = Millis::parse_rfc3339(p["expires_at"].as_str().unwrap()).unwrap();
    let ttl = expires.since(Millis::now()).as_secs();
    assert!((590..=600).contains(&ttl), "{ttl}");
    // A Bearer credential for that project's routes...
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(token), None).await.status, 200);
    let wh = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(token),
            Some(json!({"name": "r", "url": "http://127.0.0.1:9/x"})),
        )
        .await;
    assert_eq!(wh.status, 201);
    // ...not another project's, and never for the key or more sessions.
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{other}"), Some(token), None).await.status, 403);
    assert_eq!(s.call("POST", &format!("/api/v1/projects/{pid}/api-key/rotate"), Some(token), None).await.status, 403);
    assert_eq!(
        s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), Some(token), Some(json!({}))).await.status,
        403
    );
    assert_eq!(s.call("POST", "/api/v1/events", Some(token), Some(json!({"event_type": "a"}))).await.status, 403);
    // Stored only as a hash.
    let found = s.app.store.portal_session(&sha256_hex(token), Millis::now()).await.unwrap();
    assert_eq!(found.map(|f| f.project_id), Some(ProjectId(pid)));
}

#[tokio::test]
async fn read_only_tokens_may_only_get() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let wh = s.webhook(pid, &key, json!({"name": "r", "url": "http://127.0.0.1:9/x"})).await;
    let id = wh["id"].as_str().unwrap();
    let p = session(&s, pid, &key, json!({"read_only": true})).await;
    let token = p["token"].as_str().unwrap();
    assert_eq!(p["read_only"], true);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(token), None).await.status, 200);
    for (m, path, body) in [
        ("PATCH", format!("/api/v1/projects/{pid}/webhooks/{id}"), Some(json!({"name": "x"}))),
        ("DELETE", format!("/api/v1/projects/{pid}/webhooks/{id}"), None),
        ("POST", format!("/api/v1/projects/{pid}/webhooks/{id}/test"), None),
        ("PUT", format!("/api/v1/projects/{pid}/web_hook"), Some(json!({"endpoint": "e.com"}))),
    ] {
        let a = s.call(m, &path, Some(token), body).await;
        assert_eq!(a.status, 403, "{m} {path}: {:?}", a.body);
        assert!(a.body["message"].as_str().unwrap().contains("read-only"));
    }
}

#[tokio::test]
async fn expired_or_unknown_tokens_get_401_and_bad_sessions_400() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let token = hookline::credentials::generate_portal_token(ProjectId(pid));
    let past = Millis::now().minus(std::time::Duration::from_secs(1));
    let expired = PortalSession {
        project_id: ProjectId(pid),
        read_only: false,
        created_at: past,
        valid_until: past,
        theme: Default::default(),
    };
    assert!(s.app.store.create_portal_session(&sha256_hex(&token), &expired).await.unwrap());
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&token), None).await.status, 401);
    let unknown = hookline::credentials::generate_portal_token(ProjectId(pid));
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&unknown), None).await.status, 401);
    for bad in
        [json!({"ttl_seconds": 59}), json!({"ttl_seconds": 86_401}), json!({"read_only": "yes"}), json!({"extra": 1})]
    {
        let a = s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), Some(&key), Some(bad)).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
    }
}

#[tokio::test]
async fn portal_urls_use_the_public_url_when_set() {
    let mut settings = local_settings();
    settings.public_url = Some("https://hooks.example.com".into());
    let s = Stack::with_settings(settings).await;
    let (pid, key) = s.project("Acme").await;
    let p = session(&s, pid, &key, json!({})).await;
    assert!(p["url"].as_str().unwrap().starts_with("https://hooks.example.com/dashboard/#token=pst_"));
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_policy() {
    let mut settings = local_settings();
    settings.portal_frame_ancestors = "'self' https://app.example.com".into();
    let s = Stack::with_settings(settings).await;
    let page = s.get_raw("/dashboard/").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    for part in [
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'self' https://app.example.com",
        "default-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let head = s.request_raw("HEAD", "/dashboard/").await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    let redirect = s.get_raw("/dashboard").await;
    assert_eq!((redirect.status, redirect.header("location")), (308, Some("/dashboard/")));
    assert_eq!(s.get_raw("/dashboard/no-such-file.js").await.status, 404);
    // Every file of the dashboard is served, with its type.
    let files = hookline::api::dashboard::files();
    assert!(files.iter().any(|(n, _)| n == "index.html") && files.iter().any(|(n, _)| n.starts_with("vendor/")));
    for (name, _) in files {
        let f = s.get_raw(&format!("/dashboard/{name}")).await;
        assert_eq!(f.status, 200, "{name}");
        assert!(f.header("content-security-policy").is_some());
    }
}

#[tokio::test]
async fn the_api_document_is_public_and_the_repository_holds_the_same() {
    let s = Stack::start().await;
    let doc = s.get_raw("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let served = String::from_utf8(doc.body).unwrap();
    let kept = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json")).unwrap_or_default();
    assert!(served == kept, "openapi.json is stale; regenerate it with: {}", hookline::api::openapi::REGENERATE);
    let v: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(v["openapi"], "3.1.0");
}
