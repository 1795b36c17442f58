//! The operator's powers (docs/api.md §2, §3): the admin token on every project, the project
//! list and delete, intake for a given project; and §7's polling that always ends.

use std::time::{Duration, Instant};

use hookline::config::Settings;
use hookline_tests::{local_settings, Plan, Receiver, Stack, ADMIN_TOKEN};
use serde_json::{json, Value};

fn admin() -> Option<&'static str> {
    Some(ADMIN_TOKEN)
}

#[tokio::test]
async fn the_admin_token_acts_on_every_project_as_its_key_does() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let (other, other_key) = s.project("Globex").await;

    let p = s.call("GET", &format!("/api/v1/projects/{pid}"), admin(), None).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    assert_eq!(p.result()["name"], "Acme");
    let external_id = p.result()["external_id"].as_str().unwrap().to_string();
    assert!(external_id.starts_with("ext_") && external_id.len() == 36, "{external_id}");
    assert!(p.result().get("api_key").is_none() && p.result().get("api_key_hash").is_none());
    let again = s.get_ok(&key, &format!("/api/v1/projects/{pid}")).await;
    assert_eq!(again["external_id"], external_id.as_str(), "stable, and the key sees the same");
    let globex = s.get_ok(&other_key, &format!("/api/v1/projects/{other}")).await;
    assert_ne!(globex["external_id"], external_id.as_str());

    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let wh = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            admin(),
            Some(json!({"name": "r", "url": rx.url("/")})),
        )
        .await;
    assert_eq!(wh.status, 201, "{:?}", wh.body);
    // The admin sends the project's events, one and a batch.
    let one = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/events"),
            admin(),
            Some(json!({"event_type": "a.b", "data": {"n": 1}})),
        )
        .await;
    assert_eq!(one.status, 202, "{:?}", one.body);
    assert_eq!(one.result()["deliveries"], 1);
    let batch = json!({"events": [{"event_type": "a.b", "data": {"n": 2}}, {"event_type": "a.b", "data": {"n": 3}}]});
    let b = s.call("POST", &format!("/api/v1/projects/{pid}/events/batch"), admin(), Some(batch)).await;
    assert_eq!(b.status, 202, "{:?}", b.body);
    assert_eq!(b.result()["items"][1]["status"], 202);
    s.pump_until(Duration::from_secs(30), || rx.count() >= 3).await;
    let mut ns: Vec<i64> = rx.received().iter().map(|r| r.json()["data"]["n"].as_i64().unwrap()).collect();
    ns.sort();
    assert_eq!(ns, vec![1, 2, 3]);
    assert_eq!(s.listed_events(&key, pid).await.len(), 3, "the project's own activity");
    // The project's key uses the same routes; another project's key is refused.
    let mine = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/events"),
            Some(&key),
            Some(json!({"event_type": "a.b", "data": {}})),
        )
        .await;
    assert_eq!(mine.status, 202);
    let theirs = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/events"),
            Some(&other_key),
            Some(json!({"event_type": "a.b", "data": {}})),
        )
        .await;
    assert_eq!(theirs.status, 403);

    // A portal session for the project, and a rotated key: the old one stops.
    let portal = s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), admin(), Some(json!({}))).await;
    assert_eq!(portal.status, 201, "{:?}", portal.body);
    let token = portal.result()["token"].as_str().unwrap().to_string();
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&token), None).await.status, 200);
    let rotated = s.call("POST", &format!("/api/v1/projects/{pid}/api-key/rotate"), admin(), None).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_key = rotated.result()["api_key"].as_str().unwrap().to_string();
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&key), None).await.status, 401);
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&new_key), None).await.status, 200);

    // Unknown projects are 404 for the admin; the operations project has no key to rotate.
    assert_eq!(s.call("GET", "/api/v1/projects/999999/webhooks", admin(), None).await.status, 404);
    assert_eq!(s.call("POST", "/api/v1/projects/0/api-key/rotate", admin(), None).await.status, 403);
}

#[tokio::test]
async fn the_admin_is_not_rate_limited_and_a_key_is() {
    let s = Stack::with_settings(Settings { rate_limit_per_minute: 1, rate_limit_burst: 3, ..local_settings() }).await;
    let (pid, key) = s.project("Acme").await;
    for i in 0..10 {
        let a = s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), admin(), None).await;
        assert_eq!(a.status, 200, "admin request {i}");
        assert!(a.header("x-ratelimit-limit").is_none(), "the operator's answers carry no limit");
    }
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&key), None).await.status);
        }
        v
    };
    assert!(statuses.contains(&429), "the key is limited: {statuses:?}");
}

#[tokio::test]
async fn portal_sessions_have_their_own_bucket_so_an_open_portal_never_stops_intake() {
    let s = Stack::with_settings(Settings { rate_limit_per_minute: 1, rate_limit_burst: 3, ..local_settings() }).await;
    let (pid, key) = s.project("Acme").await;
    let portal = s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), admin(), Some(json!({}))).await;
    let token = portal.result()["token"].as_str().unwrap().to_string();
    let mut portal_statuses = Vec::new();
    for _ in 0..5 {
        portal_statuses
            .push(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&token), None).await.status);
    }
    assert_eq!(portal_statuses, [200, 200, 200, 429, 429], "the portal is limited");
    let sent = s.event(&key, "a.b", json!({})).await;
    assert_eq!(sent.status, 202, "the key's bucket is untouched: {:?}", sent.body);
}

#[tokio::test]
async fn the_admin_lists_projects_newest_first_in_pages() {
    let s = Stack::start().await;
    let mut made = Vec::new();
    for name in ["One", "Two", "Three", "Four", "Five"] {
        made.push(s.project(name).await);
    }
    // A deleted project is not listed.
    let gone = made.remove(2).0;
    assert_eq!(s.call("DELETE", &format!("/api/v1/projects/{gone}"), admin(), None).await.status, 200);

    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/projects?limit=2&cursor={c}"),
            None => "/api/v1/projects?limit=2".to_string(),
        };
        let page = s.call("GET", &path, admin(), None).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let items = page.result()["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for p in items {
            assert!(p.get("api_key").is_none() && p.get("api_key_hash").is_none(), "no keys: {p}");
            assert!(p["external_id"].as_str().unwrap().starts_with("ext_"));
            seen.push((p["project_id"].as_u64().unwrap(), p["name"].as_str().unwrap().to_string()));
        }
        match page.result()["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let names: Vec<&str> = seen.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, vec!["Five", "Four", "Two", "One"], "newest first, the deleted one left out");

    let (_, key) = &made[0];
    assert_eq!(s.call("GET", "/api/v1/projects", Some(key), None).await.status, 403, "only the admin lists");
    let forged = s.call("GET", "/api/v1/projects?cursor=MTA.AAAAAAAAAAAAAAAAAAAAAA", admin(), None).await;
    assert_eq!(forged.status, 400);
    assert_eq!(forged.body["errors"][0]["field"], "cursor");
    let webhooks_cursor = {
        let (pid, key) = &made[0];
        for i in 0..3 {
            s.webhook(*pid, key, json!({"name": format!("w{i}"), "url": "https://example.com/h"})).await;
        }
        let page = s.get_ok(key, &format!("/api/v1/projects/{pid}/webhooks?limit=1")).await;
        page["next_cursor"].as_str().unwrap().to_string()
    };
    let other_list = s.call("GET", &format!("/api/v1/projects?cursor={webhooks_cursor}"), admin(), None).await;
    assert_eq!(other_list.status, 400, "a cursor from another list");
}

#[tokio::test]
async fn deleting_a_project_stops_everything_it_had_and_sends_nothing_more() {
    let s = Stack::start().await;
    // The receiver fails the first attempt, so the delivery waits for a retry.
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(500), Plan::status(200)]).await;
    let portal = s.call("POST", &format!("/api/v1/projects/{pid}/portal-sessions"), Some(&key), Some(json!({}))).await;
    let token = portal.result()["token"].as_str().unwrap().to_string();
    let event = s.event_id(&key, "a.b", json!({"n": 1})).await;
    s.pump_until(Duration::from_secs(20), || rx.count() >= 1).await;
    let pending = s.event_deliveries(&key, pid, &event).await;
    assert_eq!(pending[0]["status"], "pending", "waiting for its retry");

    assert_eq!(s.call("DELETE", &format!("/api/v1/projects/{pid}"), Some(&key), None).await.status, 403, "admin only");
    let d = s.call("DELETE", &format!("/api/v1/projects/{pid}"), admin(), None).await;
    assert_eq!(d.status, 200, "{:?}", d.body);
    assert_eq!(d.result(), &json!("deleted"));

    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}"), Some(&key), None).await.status, 401, "the key");
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), Some(&token), None).await.status,
        401,
        "the portal session"
    );
    assert_eq!(s.call("GET", "/api/v1/event-types", Some(&token), None).await.status, 401, "everywhere");
    assert_eq!(s.call("GET", &format!("/api/v1/projects/{pid}/webhooks"), admin(), None).await.status, 404);
    assert_eq!(
        s.call("GET", &format!("/api/v1/projects/{pid}/events"), admin(), None).await.status,
        404,
        "its events are not listed"
    );
    assert_eq!(
        s.call(
            "POST",
            &format!("/api/v1/projects/{pid}/events"),
            admin(),
            Some(json!({"event_type": "a.b", "data": {}}))
        )
        .await
        .status,
        404
    );
    assert_eq!(s.call("DELETE", &format!("/api/v1/projects/{pid}"), admin(), None).await.status, 404, "once");
    assert_eq!(s.call("DELETE", "/api/v1/projects/0", admin(), None).await.status, 409);

    // Past the retry's time, nothing more reaches the receiver.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        s.pump_for(Duration::from_millis(500)).await;
    }
    assert_eq!(rx.count(), 1, "the retry was dropped, never sent");
}

/// Polls 003's Web Hook Event until `response_code` is set.
async fn poll_web_hook_event(s: &Stack, key: &str, pid: u64, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let ev = s.get_ok(key, &format!("/api/v1/projects/{pid}/web_hook/events/{id}")).await;
        if !ev["response_code"].is_null() {
            return ev;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "response_code stayed null: {ev}");
        s.pump_for(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn polling_ends_with_code_0_and_words_when_no_http_response_came() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let put = json!({"endpoint": format!("http://127.0.0.1:{closed}/hook"), "enable_web_hook": true});
    assert_eq!(s.call("PUT", &format!("/api/v1/projects/{pid}/web_hook"), Some(&key), Some(put)).await.status, 200);
    let a = s.call("POST", &format!("/api/v1/projects/{pid}/web_hook/trigger_session_test"), Some(&key), None).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert!(a.result()["response_code"].is_null());
    let id = a.result()["id"].as_str().unwrap().to_string();
    let ev = poll_web_hook_event(&s, &key, pid, &id).await;
    assert_eq!(ev["response_code"], 0, "{ev}");
    let message = ev["response_message"].as_str().unwrap();
    assert!(message.contains("connection refused"), "{message}");
    assert!(!message.contains("os error"), "in words, not the client's chain: {message}");
    let same = s.get_ok(&key, &format!("/api/v1/projects/{pid}/events/{id}")).await;
    assert_eq!(same["response_code"], 0, "the event route shows it too: {same}");
}

#[tokio::test]
async fn polling_ends_when_the_test_is_dropped_before_any_attempt() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s.webhook(pid, &key, json!({"name": "w", "url": rx.url("/hook")})).await;
    let wid = wh["id"].as_str().unwrap();
    let a = s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"), Some(&key), Some(json!({}))).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let id = a.result()["id"].as_str().unwrap().to_string();
    // Deleted before its delivery is attempted: the delivery is dropped, never sent.
    assert_eq!(s.call("DELETE", &format!("/api/v1/projects/{pid}/webhooks/{wid}"), Some(&key), None).await.status, 200);
    let ev = poll_web_hook_event(&s, &key, pid, &id).await;
    assert_eq!(ev["response_code"], 0, "{ev}");
    assert_eq!(ev["response_message"], "not sent: webhook deleted", "{ev}");
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn portal_sessions_carry_a_theme_and_where_they_may_be_framed() {
    let s = Stack::with_settings(Settings {
        portal_frame_ancestors: "'self' https://app.example.com".into(),
        ..local_settings()
    })
    .await;
    let (pid, key) = s.project("Acme").await;
    let path = format!("/api/v1/projects/{pid}/portal-sessions");
    let theme = json!({"brand_name": "Acme Forms", "accent_color": "#0A66C2", "mode": "dark"});
    let a = s.call("POST", &path, Some(&key), Some(json!({"read_only": true, "theme": theme}))).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.result()["theme"], json!({"brand_name": "Acme Forms", "accent_color": "#0a66c2", "mode": "dark"}));
    assert_eq!(a.result()["frame_ancestors"], json!(["'self'", "https://app.example.com"]));
    let token = a.result()["token"].as_str().unwrap().to_string();
    let default = s.call("POST", &path, Some(&key), None).await;
    assert_eq!(default.result()["theme"], json!({"brand_name": null, "accent_color": null, "mode": "auto"}));

    for (bad, field) in [
        (json!({"accent_color": "blue"}), "theme/accent_color"),
        (json!({"mode": "sepia"}), "theme/mode"),
        (json!({"brand_name": "x".repeat(61)}), "theme/brand_name"),
        (json!({"brand_name": "tab\there"}), "theme/brand_name"),
        (json!({"logo": "https://example.com/x.png"}), "theme"),
    ] {
        let r = s.call("POST", &path, Some(&key), Some(json!({"theme": bad}))).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["errors"][0]["field"], field, "{bad}: {:?}", r.body);
    }

    // The dashboard asks who it is.
    let me = s.call("GET", "/api/v1/session", Some(&token), None).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.result()["kind"], "portal");
    assert_eq!(me.result()["project_id"], pid);
    assert_eq!(me.result()["read_only"], true);
    assert_eq!(me.result()["theme"]["brand_name"], "Acme Forms");
    assert_eq!(me.result()["expires_at"], a.result()["expires_at"]);
    let me = s.get_ok(&key, "/api/v1/session").await;
    assert_eq!(
        (me["kind"].as_str(), me["project_id"].as_u64(), me["theme"].is_null()),
        (Some("project"), Some(pid), true)
    );
    let me = s.get_ok(ADMIN_TOKEN, "/api/v1/session").await;
    assert_eq!((me["kind"].as_str(), me["project_id"].is_null()), (Some("admin"), true));
    assert_eq!(s.call("GET", "/api/v1/session", Some("pst_1_forged"), None).await.status, 401);
    assert_eq!(s.call("GET", "/api/v1/session", None, None).await.status, 401);
}
