//! Endpoint authentication and asymmetric signatures (docs/api.md §17), through the real
//! handlers and the emulators, against real servers on loopback: an OAuth 2.0 token endpoint,
//! a Basic-auth receiver, HTTPS receivers with a private CA and with a client-certificate
//! requirement (certificates made here with rcgen), and Ed25519 signatures verified with the
//! public key the API shows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{UnparsedPublicKey, ED25519};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::FutureExt;
use hookline_tests::pki::{server_config, Ca};
use hookline_tests::{local_settings, Plan, Received, Receiver, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

/// An OAuth 2.0 token endpoint: checks the client-credentials grant and the client's Basic
/// authentication, counts requests, and answers each good one with a new token; the first
/// `failures` requests get a 500.
struct TokenServer {
    server: Receiver,
    issued: Arc<AtomicUsize>,
}

impl TokenServer {
    async fn start(failures: usize) -> TokenServer {
        let issued = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicUsize::new(0));
        let count = issued.clone();
        let server = Receiver::start_with(move |r: &Received| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            let expected_auth = format!("Basic {}", STANDARD.encode("hookline-client:s3cret"));
            let good = r.header("content-type") == "application/x-www-form-urlencoded"
                && form.contains(&("grant_type".into(), "client_credentials".into()))
                && form.contains(&("scope".into(), "hooks:receive".into()))
                && r.header("authorization") == expected_auth;
            let plan = if seen.fetch_add(1, Ordering::SeqCst) < failures {
                Plan::status(500).with_body(r#"{"error":"temporarily_unavailable"}"#)
            } else if !good {
                Plan::status(401).with_body(r#"{"error":"invalid_client"}"#)
            } else {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                Plan::status(200).with_body(
                    json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 3600}).to_string(),
                )
            };
            async move { plan }.boxed()
        })
        .await;
        TokenServer { server, issued }
    }

    fn requests(&self) -> usize {
        self.server.count()
    }
}

/// A receiver that accepts only `Bearer <one of accepted>`, else 401.
async fn bearer_receiver(accepted: Arc<Mutex<Vec<String>>>) -> Receiver {
    Receiver::start_with(move |r: &Received| {
        let ok = accepted.lock().unwrap().iter().any(|t| r.header("authorization") == format!("Bearer {t}"));
        let plan = Plan::status(if ok { 200 } else { 401 });
        async move { plan }.boxed()
    })
    .await
}

fn oauth(tokens: &TokenServer) -> Value {
    json!({"type": "oauth2", "token_url": tokens.server.url("/oauth/token"), "client_id": "hookline-client",
           "client_secret": "s3cret", "scope": "hooks:receive"})
}

async fn attempts(s: &Stack, key: &str, pid: u64, event_id: &str) -> Vec<Value> {
    let id = s.event_deliveries(key, pid, event_id).await[0]["id"].as_str().unwrap().to_string();
    s.delivery_detail(key, pid, &id).await["attempts_log"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn one_token_serves_many_deliveries_and_is_sent_as_a_bearer() {
    let s = Stack::start().await;
    let tokens = TokenServer::start(0).await;
    let rx = bearer_receiver(Arc::new(Mutex::new(vec!["tok-1".into()]))).await;
    let (pid, key) = s.project("OAuth").await;
    let wh = s.webhook(pid, &key, json!({"name": "o", "url": rx.url("/hook"), "auth": oauth(&tokens)})).await;
    assert_eq!(
        wh["auth"],
        json!({"type": "oauth2", "token_url": tokens.server.url("/oauth/token"), "client_id": "hookline-client",
               "scope": "hooks:receive", "secret_set": true}),
        "the client secret is write-only"
    );
    for i in 0..6 {
        s.event(&key, "order.paid", json!({"n": i})).await;
    }
    s.pump_until(WAIT, || rx.received().iter().filter(|r| r.header("authorization") == "Bearer tok-1").count() == 6)
        .await;
    assert_eq!(tokens.requests(), 1, "one token request for six deliveries");
    assert!(rx.received().iter().all(|r| r.header("authorization") == "Bearer tok-1"));
    let shown = s.webhook_detail(&key, pid, wh["id"].as_str().unwrap()).await;
    assert!(shown["auth"].get("client_secret").is_none());
}

#[tokio::test]
async fn a_401_drops_the_token_and_the_retry_fetches_a_new_one() {
    let s = Stack::start().await;
    let tokens = TokenServer::start(0).await;
    // The receiver has already revoked tok-1: only tok-2 is good.
    let rx = bearer_receiver(Arc::new(Mutex::new(vec!["tok-2".into()]))).await;
    let (pid, key) = s.project("Revoked").await;
    s.webhook(pid, &key, json!({"name": "o", "url": rx.url("/hook"), "auth": oauth(&tokens)})).await;
    let event_id = s.event_id(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let got = rx.received();
    assert_eq!(got[0].header("authorization"), "Bearer tok-1");
    assert_eq!(got[1].header("authorization"), "Bearer tok-2");
    assert_eq!(tokens.requests(), 2);
    let log = attempts(&s, &key, pid, &event_id).await;
    assert_eq!(log[0]["response_code"], 401);
    assert_eq!(log[1]["response_code"], 200);
}

#[tokio::test]
async fn a_failing_token_endpoint_is_a_failed_attempt_that_is_retried() {
    let s = Stack::start().await;
    let tokens = TokenServer::start(1).await;
    let rx = bearer_receiver(Arc::new(Mutex::new(vec!["tok-1".into()]))).await;
    let (pid, key) = s.project("IdP down").await;
    s.webhook(pid, &key, json!({"name": "o", "url": rx.url("/hook"), "auth": oauth(&tokens)})).await;
    let event_id = s.event_id(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let log = attempts(&s, &key, pid, &event_id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["error"], "oauth2 token: HTTP 500: temporarily_unavailable");
    assert_eq!(log[0]["response_code"], Value::Null, "nothing was sent to the receiver");
    assert_eq!(log[1]["response_code"], 200);
    assert_eq!(tokens.issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_wrong_client_secret_fails_with_the_endpoints_reason() {
    let s = Stack::start().await;
    let tokens = TokenServer::start(0).await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Wrong secret").await;
    let mut auth = oauth(&tokens);
    auth["client_secret"] = json!("not-it");
    s.webhook(pid, &key, json!({"name": "o", "url": rx.url("/hook"), "auth": auth})).await;
    let event_id = s.event_id(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || tokens.requests() >= 1).await;
    s.pump_for(Duration::from_millis(500)).await;
    assert_eq!(rx.count(), 0);
    let log = attempts(&s, &key, pid, &event_id).await;
    assert_eq!(log[0]["error"], "oauth2 token: HTTP 401: invalid_client");
}

#[tokio::test]
async fn basic_auth_is_sent_and_its_password_never_shown() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Basic").await;
    let wh = s
        .webhook(
            pid,
            &key,
            json!({"name": "b", "url": rx.url("/hook"), "auth": {"type": "basic", "username": "acme", "password": "pa ss:w0rd"}}),
        )
        .await;
    assert_eq!(wh["auth"], json!({"type": "basic", "username": "acme", "secret_set": true}));
    s.event(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    assert_eq!(rx.received()[0].header("authorization"), format!("Basic {}", STANDARD.encode("acme:pa ss:w0rd")));

    // A PATCH of the same type without the password keeps it.
    let id = wh["id"].as_str().unwrap();
    let path = format!("/api/v1/projects/{pid}/webhooks/{id}");
    let patched =
        s.call("PATCH", &path, Some(&key), Some(json!({"auth": {"type": "basic", "username": "acme2"}}))).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    s.event(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    assert_eq!(rx.received()[1].header("authorization"), format!("Basic {}", STANDARD.encode("acme2:pa ss:w0rd")));
}

#[tokio::test]
async fn auth_is_validated_and_excludes_authorization() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Auth rules").await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let fields = |a: &hookline_tests::Answer| -> Vec<String> {
        a.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
    };
    let both = s
        .call(
            "POST",
            &path,
            Some(&key),
            Some(json!({"name": "x", "url": "https://a.example/h", "authorization": "Bearer x",
                        "auth": {"type": "basic", "username": "u", "password": "p"}})),
        )
        .await;
    assert_eq!((both.status, fields(&both)), (400, vec!["auth".to_string()]));
    let bad = s
        .call(
            "POST",
            &path,
            Some(&key),
            Some(json!({"name": "x", "url": "https://a.example/h",
                        "auth": {"type": "oauth2", "token_url": "ftp://idp", "client_id": ""}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(fields(&bad), ["auth/token_url", "auth/client_id", "auth/client_secret"]);
    let kind = s
        .call(
            "POST",
            &path,
            Some(&key),
            Some(json!({"name": "x", "url": "https://a.example/h", "auth": {"type": "digest"}})),
        )
        .await;
    assert_eq!(fields(&kind), ["auth/type"]);
    // Nothing was created by the refused requests.
    assert_eq!(s.get_ok(&key, &path).await["items"], json!([]));
}

#[tokio::test]
async fn a_receiver_with_a_private_ca_is_reached_only_with_that_ca() {
    let s = Stack::start().await;
    let ca = Ca::new("Acme private CA");
    let rx = Receiver::start_tls(vec![Plan::status(200)], server_config(&ca.server(), None)).await;
    let (pid, key) = s.project("Private CA").await;
    let public_roots = s.webhook(pid, &key, json!({"name": "p", "url": rx.url("/hook"), "event_types": ["a"]})).await;
    let private = s
        .webhook(
            pid,
            &key,
            json!({"name": "c", "url": rx.url("/hook"), "event_types": ["b"], "tls": {"ca_certificates": ca.pem}}),
        )
        .await;
    assert_eq!(private["tls"], json!({"client_certificate": null, "client_key_set": false, "ca_certificates": ca.pem}));
    let refused = s.event_id(&key, "a", json!({})).await;
    s.event(&key, "b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    s.pump_for(Duration::from_secs(1)).await;
    let log = attempts(&s, &key, pid, &refused).await;
    assert!(log[0]["error"].as_str().unwrap().contains("connection failed"), "{log:?}");
    assert_eq!(rx.count(), 1, "only the webhook that trusts the CA got through");
    assert!(public_roots["tls"].is_null());
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() {
    let s = Stack::start().await;
    let ca = Ca::new("Acme mTLS CA");
    let client = ca.client("hookline");
    let rx = Receiver::start_tls(vec![Plan::status(200)], server_config(&ca.server(), Some(&ca))).await;
    let (pid, key) = s.project("mTLS").await;
    let with_cert = s
        .webhook(
            pid,
            &key,
            json!({"name": "m", "url": rx.url("/hook"), "event_types": ["a"],
                   "tls": {"client_certificate": client.cert_pem, "client_key": client.key_pem, "ca_certificates": ca.pem}}),
        )
        .await;
    assert_eq!(with_cert["tls"]["client_key_set"], true);
    assert!(with_cert["tls"].get("client_key").is_none(), "the key is write-only");
    s.webhook(
        pid,
        &key,
        json!({"name": "n", "url": rx.url("/hook"), "event_types": ["b"], "tls": {"ca_certificates": ca.pem}}),
    )
    .await;
    for _ in 0..3 {
        s.event(&key, "a", json!({})).await;
    }
    let without = s.event_id(&key, "b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 3).await;
    s.pump_until(WAIT, || !rx.handshake_failures().is_empty()).await;
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), 3, "only the deliveries with the client certificate got through");
    let log = attempts(&s, &key, pid, &without).await;
    assert!(log[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{log:?}");
    assert!(
        rx.handshake_failures().iter().any(|f| f.to_lowercase().contains("certificate")),
        "{:?}",
        rx.handshake_failures()
    );
}

#[tokio::test]
async fn tls_pem_and_key_mismatch_are_refused_on_their_fields() {
    let s = Stack::start().await;
    let ca = Ca::new("CA");
    let (a, b) = (ca.client("a"), ca.client("b"));
    let (pid, key) = s.project("PEM").await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let post = |tls: Value| {
        let (s, path, key) = (&s, &path, &key);
        async move {
            s.call("POST", path, Some(key), Some(json!({"name": "t", "url": "https://a.example/h", "tls": tls}))).await
        }
    };
    let fields = |a: &hookline_tests::Answer| -> Vec<String> {
        a.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
    };
    let garbage = post(json!({"client_certificate": "not a pem", "client_key": a.key_pem})).await;
    assert_eq!((garbage.status, fields(&garbage)), (400, vec!["tls/client_certificate".to_string()]));
    let mismatch = post(json!({"client_certificate": a.cert_pem, "client_key": b.key_pem})).await;
    assert_eq!((mismatch.status, fields(&mismatch)), (400, vec!["tls/client_key".to_string()]));
    let key_as_ca = post(json!({"ca_certificates": a.key_pem})).await;
    assert_eq!(fields(&key_as_ca), ["tls/ca_certificates"]);
    let ok = post(json!({"client_certificate": a.cert_pem, "client_key": a.key_pem})).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    // A PATCH with the certificate only keeps the stored key; a new certificate of another key does not pass.
    let id = ok.result()["id"].as_str().unwrap().to_string();
    let one = format!("{path}/{id}");
    let same = s.call("PATCH", &one, Some(&key), Some(json!({"tls": {"client_certificate": a.cert_pem}}))).await;
    assert_eq!(same.status, 200, "{:?}", same.body);
    let other = s.call("PATCH", &one, Some(&key), Some(json!({"tls": {"client_certificate": b.cert_pem}}))).await;
    assert_eq!(fields(&other), ["tls/client_key"]);
}

fn verify_v1a(public_key: &str, r: &Received) -> usize {
    let public = STANDARD.decode(public_key.strip_prefix("whpk_").unwrap()).unwrap();
    let key = UnparsedPublicKey::new(&ED25519, &public);
    let signed =
        [r.header("webhook-id").as_bytes(), b".", r.header("webhook-timestamp").as_bytes(), b".", &r.body].concat();
    r.header("webhook-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1a,"))
        .filter(|sig| key.verify(&signed, &STANDARD.decode(sig).unwrap()).is_ok())
        .count()
}

#[tokio::test]
async fn ed25519_webhooks_sign_v1a_with_both_keys_after_a_rotation() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Ed25519").await;
    let wh = s.webhook(pid, &key, json!({"name": "e", "url": rx.url("/hook"), "signature_scheme": "ed25519"})).await;
    assert!(wh.get("secret").is_none(), "the private key never leaves the store: {wh}");
    let first_key = wh["public_key"].as_str().unwrap().to_string();
    assert!(first_key.starts_with("whpk_") && STANDARD.decode(&first_key[5..]).unwrap().len() == 32);
    s.event(&key, "order.paid", json!({"amount": 12345678901234567890u64})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    assert_eq!(verify_v1a(&first_key, got), 1);
    assert!(got.header("webhook-signature").starts_with("v1a,"));
    assert_eq!(got.header("x-webhook-signature"), "", "no HMAC header without a shared secret");

    let id = wh["id"].as_str().unwrap();
    let rotated =
        s.call("POST", &format!("/api/v1/projects/{pid}/webhooks/{id}/rotate-secret"), Some(&key), None).await;
    assert_eq!(rotated.status, 200);
    let second_key = rotated.result()["public_key"].as_str().unwrap().to_string();
    assert_ne!(second_key, first_key);
    assert!(rotated.result().get("secret").is_none());
    assert_eq!(s.webhook_detail(&key, pid, id).await["public_key"], second_key.as_str());
    s.event(&key, "order.paid", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let got = &rx.received()[1];
    assert_eq!(got.header("webhook-signature").split(' ').count(), 2);
    assert_eq!((verify_v1a(&second_key, got), verify_v1a(&first_key, got)), (1, 1), "both keys sign for 24 hours");

    let path = format!("/api/v1/projects/{pid}/webhooks/{id}");
    let change = s.call("PATCH", &path, Some(&key), Some(json!({"signature_scheme": "hmac"}))).await;
    assert_eq!(change.status, 400);
    assert_eq!(change.body["errors"][0]["field"], "signature_scheme");
    let same = s.call("PATCH", &path, Some(&key), Some(json!({"signature_scheme": "ed25519", "name": "e2"}))).await;
    assert_eq!(same.status, 200, "sending the scheme back unchanged is fine");
    let with_secret = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(&key),
            Some(json!({"name": "x", "url": rx.url("/h"), "signature_scheme": "ed25519", "secret": "my-own-secret-1234"})),
        )
        .await;
    assert_eq!(with_secret.body["errors"][0]["field"], "secret");
    // `null` is the default scheme: HMAC, with a secret.
    let default = s.webhook(pid, &key, json!({"name": "n", "url": rx.url("/n"), "signature_scheme": null})).await;
    assert_eq!(default["signature_scheme"], "hmac");
    assert!(default["secret"].as_str().is_some_and(|x| x.starts_with("whsec_")), "{default}");
}

#[tokio::test]
async fn auth_and_tls_do_not_apply_to_aws_destinations() {
    let mut settings = local_settings();
    settings.allow_own_account_roles = true;
    let s = Stack::with_settings(settings).await;
    let (pid, key) = s.project("Dest").await;
    let answer = s
        .call(
            "POST",
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(&key),
            Some(json!({"name": "d", "auth": {"type": "basic", "username": "u", "password": "p"},
                        "destination": {"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
                                        "role_arn": "arn:aws:iam::123456789012:role/hookline-x"}})),
        )
        .await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.body["errors"][0]["field"], "auth");
}
