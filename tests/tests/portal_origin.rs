//! docs/api.md §13 at the edge of the portal: the dashboard's redirect stays on this
//! origin, portal URLs name a web origin the caller cannot forge, and framing headers
//! agree with `frame-ancestors`.

use hookline::config::Settings;
use hookline_tests::{local_settings, Answer, Stack};
use lambda_http::Body;
use serde_json::json;

fn portal_request(pid: u64, key: &str, headers: &[(&str, &str)]) -> http::request::Builder {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/projects/{pid}/portal-sessions"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b
}

async fn portal_with(s: &Stack, pid: u64, key: &str, headers: &[(&str, &str)]) -> Answer {
    s.send(portal_request(pid, key, headers).body(Body::Text("{}".into())).unwrap()).await
}

fn url_of(a: &Answer) -> &str {
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.result()["url"].as_str().unwrap()
}

#[tokio::test]
async fn the_dashboard_redirect_is_a_path_on_this_origin() {
    let s = Stack::start().await;
    for (path, location) in [
        ("/dashboard", "/dashboard/"),
        ("//evil.example/dashboard", "/evil.example/dashboard/"),
        ("/\\evil.example/dashboard", "/evil.example/dashboard/"),
        ("///evil.example//dashboard", "/evil.example/dashboard/"),
        ("/prod/dashboard", "/prod/dashboard/"),
    ] {
        let a = s.get_raw(path).await;
        assert_eq!((a.status, a.header("location")), (308, Some(location)), "{path}");
    }
    // The normalised path serves the dashboard.
    assert_eq!(s.get_raw("/evil.example/dashboard/").await.status, 200);
}

#[tokio::test]
async fn portal_urls_take_only_a_web_origin_from_forwarding_headers() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    // Anything that is not an http(s) origin is refused, and no session is made.
    let before = sessions(&s).await;
    for (headers, field) in [
        (
            vec![("x-forwarded-proto", "javascript:alert(1)//"), ("x-forwarded-host", "evil.example")],
            "X-Forwarded-Proto",
        ),
        (vec![("x-forwarded-proto", "javascript")], "X-Forwarded-Proto"),
        (vec![("x-forwarded-host", "evil.example/dashboard/#")], "X-Forwarded-Host"),
        (vec![("x-forwarded-host", "user@evil.example")], "X-Forwarded-Host"),
        (vec![("x-forwarded-host", "evil.example:99999")], "X-Forwarded-Host"),
        (vec![("x-forwarded-host", "evil example")], "X-Forwarded-Host"),
        (vec![("host", "evil.example\\@good.example")], "Host"),
    ] {
        let a = portal_with(&s, pid, &key, &headers).await;
        assert_eq!(a.status, 400, "{headers:?}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], field, "{headers:?}");
    }
    assert_eq!(sessions(&s).await, before, "a refused request made no session");
    // The local stack: the connection's Host, plain http.
    let a = portal_with(&s, pid, &key, &[("host", "127.0.0.1:3000")]).await;
    assert!(url_of(&a).starts_with("http://127.0.0.1:3000/dashboard/#token=pst_"), "{}", url_of(&a));
    // A proxy in front: its scheme and host, normalised.
    let a =
        portal_with(&s, pid, &key, &[("x-forwarded-proto", "HTTPS"), ("x-forwarded-host", "Hooks.Example.com:443")])
            .await;
    assert!(url_of(&a).starts_with("https://hooks.example.com/dashboard/#token=pst_"), "{}", url_of(&a));
    let a = portal_with(&s, pid, &key, &[("x-forwarded-proto", "https, http"), ("host", "[::1]:8443")]).await;
    assert!(url_of(&a).starts_with("https://[::1]:8443/dashboard/#token=pst_"), "{}", url_of(&a));
}

/// The portal sessions stored so far (every table is this test's own).
async fn sessions(s: &Stack) -> usize {
    let out = s.app.store.client().scan().table_name(&s.app.settings.table).send().await.unwrap();
    out.items().iter().filter(|i| i.get("pk").and_then(|v| v.as_s().ok()).is_some_and(|p| p.starts_with("PST"))).count()
}

/// An HTTP API (payload 2.0) event as API Gateway sends it, with a `Host` and an
/// `X-Forwarded-Host` the client wrote.
fn gateway_event(pid: u64, key: &str, domain: &str) -> lambda_http::Request {
    let path = format!("/api/v1/projects/{pid}/portal-sessions");
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "authorization": format!("Bearer {key}"),
            "content-type": "application/json",
            "host": "evil.example",
            "x-forwarded-host": "evil.example",
            // API Gateway sets this one itself; it is not what the URL follows either.
            "x-forwarded-proto": "http"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": domain,
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "probe"},
            "requestId": "r-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "20/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64
        },
        "body": "{}",
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

#[tokio::test]
async fn behind_api_gateway_portal_urls_use_its_domain_not_client_headers() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let a = s.send(gateway_event(pid, &key, "hooks.example.net")).await;
    assert!(url_of(&a).starts_with("https://hooks.example.net/dashboard/#token=pst_"), "{}", url_of(&a));
    // HOOKLINE_PUBLIC_URL wins over everything.
    let s = Stack::with_settings(Settings { public_url: Some("https://hooks.example.com".into()), ..local_settings() })
        .await;
    let (pid, key) = s.project("Acme").await;
    let a = s.send(gateway_event(pid, &key, "hooks.example.net")).await;
    assert!(url_of(&a).starts_with("https://hooks.example.com/dashboard/#token=pst_"), "{}", url_of(&a));
}

#[tokio::test]
async fn frame_options_agree_with_frame_ancestors() {
    // The default, same origin only: SAMEORIGIN for browsers without `frame-ancestors`.
    let s = Stack::start().await;
    for path in ["/dashboard/", "/dashboard/app.js", "/dashboard"] {
        let a = s.get_raw(path).await;
        assert!(a.header("content-security-policy").unwrap().ends_with("frame-ancestors 'self'"));
        assert_eq!(a.header("x-frame-options"), Some("SAMEORIGIN"), "{path}");
    }
    let s = Stack::with_settings(Settings { portal_frame_ancestors: "'none'".into(), ..local_settings() }).await;
    assert_eq!(s.get_raw("/dashboard/").await.header("x-frame-options"), Some("DENY"));
    // A list XFO cannot express: left out, so an old browser does not block an allowed
    // embedder; the CSP governs.
    let s = Stack::with_settings(Settings {
        portal_frame_ancestors: "'self' https://app.example.com".into(),
        ..local_settings()
    })
    .await;
    let a = s.get_raw("/dashboard/").await;
    assert!(a.header("content-security-policy").unwrap().ends_with("frame-ancestors 'self' https://app.example.com"));
    assert_eq!(a.header("x-frame-options"), None);
}
