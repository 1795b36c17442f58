//! The outside probe's findings (issue 11) and the data path's guarantees (issue 12),
//! each through the real handlers, the emulators and receivers on loopback.

use std::time::Duration;

use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

async fn event_detail(s: &Stack, key: &str, pid: u64, event_id: &str) -> Value {
    let a = s.call("GET", &format!("/api/v1/projects/{pid}/events/{event_id}"), Some(key), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.result().clone()
}

/// 003's `wh_default` deleted and put again: the deliveries made for the old one are
/// dropped, never sent to the new URL.
#[tokio::test]
async fn a_web_hook_created_again_does_not_inherit_old_retries() {
    let mut settings = local_settings();
    settings.retry_schedule = vec![Duration::from_secs(2), Duration::from_secs(2)];
    let s = Stack::with_settings(settings).await;
    let old_rx = Receiver::start(vec![Plan::status(500)]).await;
    let new_rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let path = format!("/api/v1/projects/{pid}/web_hook");
    let put = |url: String| json!({"endpoint": url, "enable_web_hook": "true"});
    assert_eq!(s.call("PUT", &path, Some(&key), Some(put(old_rx.url("/old")))).await.status, 200);
    let mut events = Vec::new();
    for i in 0..3 {
        events.push(s.event(&key, "a.b", json!({"i": i})).await.result()["event_id"].as_str().unwrap().to_string());
    }
    s.pump_until(WAIT, || old_rx.count() == 3).await;
    assert_eq!(s.call("DELETE", &path, Some(&key), None).await.status, 200);
    assert_eq!(s.call("PUT", &path, Some(&key), Some(put(new_rx.url("/new")))).await.status, 200);
    s.pump_for(Duration::from_secs(6)).await;
    assert_eq!(new_rx.count(), 0, "the new web hook got none of the old one's retries");
    for e in &events {
        let d = &event_detail(&s, &key, pid, e).await["deliveries"][0];
        assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("error"), Some("webhook deleted")), "{d}");
    }
    // New events do go to the new one.
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || new_rx.count() == 1).await;
}

/// `data` is delivered exactly as sent: every digit, deep nesting, odd spacing.
#[tokio::test]
async fn data_is_delivered_byte_for_byte() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let deep = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    let data = format!(
        r#"{{"big": 123456789012345678901234567890123456789012, "tiny": 1e-400, "neg": -0.0, "deep": {deep}}}"#
    );
    let body = format!(r#"{{"event_type": "a.b", "data": {data}}}"#);
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/v1/events")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body))
        .unwrap();
    let a = s.send(req).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = String::from_utf8(rx.received()[0].body.clone()).unwrap();
    assert!(got.contains(&format!(r#""data":{data}"#)), "data must be embedded exactly: {got}");
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
async fn idempotency_keys_must_be_printable_ascii() {
    let s = Stack::start().await;
    let (_, key) = s.project("Acme").await;
    for bad in [&b"caf\xc3\xa9"[..], b"tab\tkey", &[b'k'; 256][..]] {
        let req = http::Request::builder()
            .method("POST")
            .uri("/api/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", http::HeaderValue::from_bytes(bad).unwrap())
            .body(lambda_http::Body::Text(r#"{"event_type": "a.b"}"#.into()))
            .unwrap();
        let a = s.send(req).await;
        assert_eq!(a.status, 400, "{bad:?}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "Idempotency-Key");
    }
}

/// Twelve requests with one key at once: one intake, the others replay it or are told
/// it is in progress (409); exactly one event, delivered once.
#[tokio::test]
async fn concurrent_repeats_of_one_key_run_the_intake_once() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let send = || {
        let req = http::Request::builder()
            .method("POST")
            .uri("/api/v1/events")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "order-42")
            .body(lambda_http::Body::Text(r#"{"event_type": "a.b", "data": {"order": 42}}"#.into()))
            .unwrap();
        s.send(req)
    };
    let answers = futures::future::join_all((0..12).map(|_| send())).await;
    let accepted: Vec<&hookline_tests::Answer> = answers.iter().filter(|a| a.status == 202).collect();
    assert!(!accepted.is_empty());
    assert!(
        answers.iter().all(|a| a.status == 202 || a.status == 409),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let first: Vec<&hookline_tests::Answer> =
        accepted.iter().filter(|a| a.header("idempotent-replayed").is_none()).copied().collect();
    assert_eq!(first.len(), 1, "one request ran the intake");
    let ids: std::collections::HashSet<&str> =
        accepted.iter().map(|a| a.result()["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every 202 names the same event");
    s.pump_until(WAIT, || rx.count() == 1).await;
    // A later repeat replays and delivers nothing again.
    let again = send().await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (202, Some("true")));
    s.pump_for(Duration::from_secs(2)).await;
    assert_eq!(rx.count(), 1);
    let listed = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    assert_eq!(listed.result()["items"].as_array().unwrap().len(), 1);
}

/// 004-style receivers keep verifying through a rotation: `X-Webhook-Signature` uses the
/// new secret and `X-Webhook-Signature-Previous` the old one; a second rotation keeps
/// the first old secret until its own 24 hours end.
#[tokio::test]
async fn rotation_keeps_004_receivers_working_and_each_old_secret_lives_its_own_day() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    let wh = s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let id = wh["id"].as_str().unwrap();
    let rotate = format!("/api/v1/projects/{pid}/webhooks/{id}/rotate-secret");
    let s1 = s.call("POST", &rotate, Some(&key), None).await.result()["secret"].as_str().unwrap().to_string();
    let s2 = s.call("POST", &rotate, Some(&key), None).await.result()["secret"].as_str().unwrap().to_string();
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let got = &rx.received()[0];
    let hex = |secret: &str| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&got.body);
        hex::encode(mac.finalize().into_bytes())
    };
    assert_eq!(got.header("x-webhook-signature"), hex(&s2));
    assert_eq!(got.header("x-webhook-signature-previous"), hex(&s1));
    // All three secrets are inside their overlap: webhook-signature carries three.
    assert_eq!(got.header("webhook-signature").split(' ').count(), 3, "{}", got.header("webhook-signature"));
}

/// A first attempt's two copies of one message, processed at the same moment, make one
/// POST; a copy arriving after the success makes none (and no second log entry).
#[tokio::test]
async fn copies_of_a_message_at_once_or_late_post_once() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan { status: 200, delay: Duration::from_millis(300), headers: vec![] }]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let evt = s.event(&key, "a.b", json!({})).await.result()["event_id"].as_str().unwrap().to_string();
    let body = s.take_messages(1).await.remove(0);
    // Two instances with the same message in hand, at once.
    let batch = |id: &str| vec![hookline::service::deliver::Incoming { message_id: id.into(), body: body.clone() }];
    let (one, two) = (batch("m1"), batch("m2"));
    let (a, b) = tokio::join!(
        hookline::service::deliver::process_batch(&s.app, &s.sender, &one),
        hookline::service::deliver::process_batch(&s.app, &s.sender, &two)
    );
    assert!(a.is_empty() && b.is_empty(), "neither copy failed: {a:?} {b:?}");
    s.pump_for(Duration::from_secs(2)).await;
    assert_eq!(rx.count(), 1, "one POST for two copies at once");
    // A late copy, after the success is recorded.
    assert!(hookline::service::deliver::process_batch(&s.app, &s.sender, &batch("m3")).await.is_empty());
    s.pump_for(Duration::from_secs(2)).await;
    assert_eq!(rx.count(), 1);
    let d = &event_detail(&s, &key, pid, &evt).await["deliveries"][0];
    let log = s
        .call("GET", &format!("/api/v1/projects/{pid}/deliveries/{}", d["id"].as_str().unwrap()), Some(&key), None)
        .await;
    assert_eq!(log.result()["attempts_log"].as_array().unwrap().len(), 1);
}

/// `n` webhooks on one receiver and one event to them all; returns the event id.
async fn fan_out(s: &Stack, rx: &Receiver, n: usize) -> (u64, String, String) {
    let (pid, key) = s.project("Acme").await;
    for i in 0..n {
        s.webhook(pid, &key, json!({"name": format!("r{i}"), "url": rx.url(&format!("/{i}"))})).await;
    }
    let evt = s.event(&key, "a.b", json!({})).await.result()["event_id"].as_str().unwrap().to_string();
    (pid, key, evt)
}

/// Each delivery of the event: its status and the attempt numbers of its log.
async fn logs(s: &Stack, key: &str, pid: u64, evt: &str) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    for d in event_detail(s, key, pid, evt).await["deliveries"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let a = s.call("GET", &format!("/api/v1/projects/{pid}/deliveries/{id}"), Some(key), None).await;
        let log = a.result()["attempts_log"].as_array().unwrap().iter().map(|x| x["attempt"].as_u64().unwrap());
        out.push((a.result()["status"].as_str().unwrap().to_string(), log.collect()));
    }
    out
}

/// POSTs per (webhook-id, attempt) as the receiver saw them.
fn posts_per_attempt(rx: &Receiver) -> std::collections::HashMap<(String, String), usize> {
    let mut seen = std::collections::HashMap::new();
    for r in rx.received() {
        *seen.entry((r.header("webhook-id").to_string(), r.header("x-webhook-attempt").to_string())).or_insert(0) += 1;
    }
    seen
}

/// The retries one message schedules share one wake-up, and its two copies processed at
/// once make one POST per delivery; a late copy makes none and logs nothing.
#[tokio::test]
async fn copies_of_a_retry_groups_wake_up_at_once_or_late_post_once() {
    let s = Stack::start().await;
    let slow_ok = Plan { status: 200, delay: Duration::from_millis(300), headers: vec![] };
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), Plan::status(500), slow_ok]).await;
    let (pid, key, evt) = fan_out(&s, &rx, 3).await;
    let first = s.take_messages(1).await.remove(0);
    let batch =
        |id: &str, body: &str| vec![hookline::service::deliver::Incoming { message_id: id.into(), body: body.into() }];
    assert!(hookline::service::deliver::process_batch(&s.app, &s.sender, &batch("m0", &first)).await.is_empty());
    assert_eq!(rx.count(), 3, "three first attempts, all failed");
    let retry = s.take_messages(1).await.remove(0);
    let parsed: Value = serde_json::from_str(&retry).unwrap();
    assert_eq!(parsed["deliveries"].as_array().unwrap().len(), 3, "one wake-up for the three retries: {retry}");
    let (one, two) = (batch("m1", &retry), batch("m2", &retry));
    let (a, b) = tokio::join!(
        hookline::service::deliver::process_batch(&s.app, &s.sender, &one),
        hookline::service::deliver::process_batch(&s.app, &s.sender, &two)
    );
    assert!(a.is_empty() && b.is_empty(), "neither copy failed: {a:?} {b:?}");
    assert!(hookline::service::deliver::process_batch(&s.app, &s.sender, &batch("m3", &retry)).await.is_empty());
    s.pump_for(Duration::from_secs(8)).await; // the losing copy comes back once the claim's lease ends
    assert_eq!(rx.count(), 6, "one POST per retry for three copies");
    assert!(posts_per_attempt(&rx).values().all(|n| *n == 1), "{:?}", posts_per_attempt(&rx));
    for (status, log) in logs(&s, &key, pid, &evt).await {
        assert_eq!((status.as_str(), log), ("success", vec![1, 2]), "each attempt logged once");
    }
}

/// A manual re-send of a delivery whose retry shares a wake-up with others, processed at
/// the same moment as that wake-up: the attempt is made once (both contend for the
/// group's claim), and the other retries of the group are still made.
#[tokio::test]
async fn a_manual_resend_racing_its_retry_group_posts_the_attempt_once() {
    let s = Stack::start().await;
    let slow_ok = Plan { status: 200, delay: Duration::from_millis(300), headers: vec![] };
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), slow_ok]).await;
    let (pid, key, evt) = fan_out(&s, &rx, 2).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let id = event_detail(&s, &key, pid, &evt).await["deliveries"][0]["id"].as_str().unwrap().to_string();
    let resent = s.call("POST", &format!("/api/v1/projects/{pid}/deliveries/{id}/retry"), Some(&key), None).await;
    assert!(resent.status < 300, "{:?}", resent.body);
    let bodies = s.take_messages(2).await;
    let batch: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| vec![hookline::service::deliver::Incoming { message_id: format!("m{i}"), body: b.clone() }])
        .collect();
    let (a, b) = tokio::join!(
        hookline::service::deliver::process_batch(&s.app, &s.sender, &batch[0]),
        hookline::service::deliver::process_batch(&s.app, &s.sender, &batch[1])
    );
    assert!(a.is_empty() && b.is_empty(), "{a:?} {b:?}");
    s.pump_for(Duration::from_secs(8)).await;
    assert_eq!(rx.count(), 4, "attempt 2 of each delivery, once: {:?}", posts_per_attempt(&rx));
    assert!(posts_per_attempt(&rx).values().all(|n| *n == 1));
    for (status, log) in logs(&s, &key, pid, &evt).await {
        assert_eq!((status.as_str(), log), ("success", vec![1, 2]));
    }
}

/// A webhook deleted while its retry waits in a group with another webhook's: its
/// delivery ends `error` without a POST, the other's retry is made.
#[tokio::test]
async fn deleting_a_webhook_stops_its_retry_within_a_group() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), Plan::status(200)]).await;
    let (pid, key, evt) = fan_out(&s, &rx, 2).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let gone = event_detail(&s, &key, pid, &evt).await["deliveries"][0]["webhook_id"].as_str().unwrap().to_string();
    let del = s.call("DELETE", &format!("/api/v1/projects/{pid}/webhooks/{gone}"), Some(&key), None).await;
    assert!(del.status < 300, "{:?}", del.body);
    s.pump_for(Duration::from_secs(4)).await;
    assert_eq!(rx.count(), 3, "only the remaining webhook's retry");
    let detail = event_detail(&s, &key, pid, &evt).await;
    let mut ends: Vec<(String, String)> = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["status"].as_str().unwrap().to_string(), d["error"].as_str().unwrap_or("").to_string()))
        .collect();
    ends.sort();
    assert_eq!(ends, vec![("error".into(), "webhook deleted".into()), ("success".into(), String::new())]);
}

/// A group's claim says when it is taken over from a holder whose lease ended (that
/// holder may still record late), so the new holder reads the group again first.
#[tokio::test]
async fn a_group_claim_tells_a_take_over_from_a_first_claim() {
    use hookline::clock::Millis;
    use hookline::store::GroupClaim;
    let s = Stack::start().await;
    let now = Millis::now();
    let later = now.plus(Duration::from_secs(30));
    let store = &s.app.store;
    assert_eq!(store.claim_group("g1", "a", later, now).await.unwrap(), GroupClaim::Won { took_over: false });
    assert_eq!(
        store.claim_group("g1", "a", later, now).await.unwrap(),
        GroupClaim::Won { took_over: false },
        "a retried call"
    );
    assert_eq!(store.claim_group("g1", "b", later, now).await.unwrap(), GroupClaim::Lost);
    assert!(store.group_claimed("g1", now).await.unwrap());
    let after = later.plus(Duration::from_secs(1));
    assert!(!store.group_claimed("g1", after).await.unwrap());
    assert_eq!(
        store.claim_group("g1", "b", after.plus(Duration::from_secs(30)), after).await.unwrap(),
        GroupClaim::Won { took_over: true }
    );
}

/// A manual re-send of a delivery whose retry group is making its attempt right now is
/// refused (409) and queues nothing: it would otherwise be overwritten by that attempt.
#[tokio::test]
async fn a_manual_resend_during_its_groups_attempt_is_refused() {
    use hookline::clock::Millis;
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), Plan::status(200)]).await;
    let (pid, key, evt) = fan_out(&s, &rx, 2).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let d = &event_detail(&s, &key, pid, &evt).await["deliveries"][0];
    let id = d["id"].as_str().unwrap().to_string();
    let wh_id = hookline::ids::WebhookId::parse(d["webhook_id"].as_str().unwrap()).unwrap();
    let wh = s.app.store.get_webhook(hookline::ids::ProjectId(pid), &wh_id).await.unwrap().unwrap();
    let page = s.app.store.list_deliveries(&wh, Default::default(), 10, None, Millis::now()).await.unwrap();
    let stored = &page.items[0];
    let group = stored.next_claim.clone().expect("the retry shares a wake-up");
    // Another instance holds the group's claim: its attempt is under way.
    let now = Millis::now();
    assert!(s.app.store.claim_group(&group, "elsewhere", now.plus(Duration::from_secs(30)), now).await.is_ok());
    let r = s.call("POST", &format!("/api/v1/projects/{pid}/deliveries/{id}/retry"), Some(&key), None).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let messages = s.take_messages(1).await;
    assert!(!messages[0].contains("\"manual\""), "only the group's own wake-up is queued: {messages:?}");
}

/// §10: 1–100 events, each answered in order; invalid entries alone are refused; every
/// accepted one is stored and delivered; keys replay.
#[tokio::test]
async fn batch_intake_answers_each_event_in_order() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let body = json!({"events": [
        {"event_type": "a.one", "data": {"n": 1}},
        {"event_type": "not valid", "data": {}},
        {"event_type": "a.three", "data": {"n": 3}, "idempotency_key": "k-3"},
        {"event_type": "a.four", "data": [1]}
    ]});
    let a = s.call("POST", "/api/v1/events/batch", Some(&key), Some(body.clone())).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let items = a.result()["items"].as_array().unwrap();
    let statuses: Vec<u64> = items.iter().map(|i| i["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![202, 400, 202, 400]);
    assert_eq!(items[1]["errors"][0]["field"], "event_type");
    assert_eq!(items[3]["errors"][0]["field"], "data");
    assert_eq!(items[0]["deliveries"], 1);
    assert_eq!(items[2]["replayed"], false);
    s.pump_until(WAIT, || rx.count() == 2).await;
    // Repeating the batch: the keyed entry replays, the plain one is a new event.
    let again = s.call("POST", "/api/v1/events/batch", Some(&key), Some(body)).await;
    let items2 = again.result()["items"].as_array().unwrap();
    assert_eq!(items2[2]["replayed"], true);
    assert_eq!(items2[2]["event_id"], items[2]["event_id"]);
    assert_ne!(items2[0]["event_id"], items[0]["event_id"]);
    s.pump_until(WAIT, || rx.count() == 3).await;
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), 3);
    // The shape itself is checked: nothing is recorded for a bad body.
    for bad in [
        json!({}),
        json!({"events": []}),
        json!({"events": [{"event_type": "a"}, 5]}),
        json!({"events": (0..101).map(|_| json!({"event_type": "a"})).collect::<Vec<_>>()}),
    ] {
        let a = s.call("POST", "/api/v1/events/batch", Some(&key), Some(bad)).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
    }
    let listed = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    assert_eq!(listed.result()["items"].as_array().unwrap().len(), 3);
}

/// §10: an `idempotency_key` means what the header means, also between entries of one
/// batch: a repeat of the same event is a replay of the first, a repeat for another event
/// refuses that entry alone; entries are only ever 202 or 400.
#[tokio::test]
async fn a_key_repeated_within_a_batch_replays_the_first_entry() {
    let s = Stack::start().await;
    let rx = Receiver::start(vec![Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
    let body = json!({"events": [
        {"event_type": "a.b", "data": {"n": 1}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 1}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 2}, "idempotency_key": "dup"},
        {"event_type": "a.b", "data": {"n": 3}}
    ]});
    let a = s.call("POST", "/api/v1/events/batch", Some(&key), Some(body)).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let items = a.result()["items"].as_array().unwrap();
    let statuses: Vec<u64> = items.iter().map(|i| i["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![202, 202, 400, 202]);
    assert_eq!(items[1]["event_id"], items[0]["event_id"]);
    assert_eq!((items[0]["replayed"].as_bool(), items[1]["replayed"].as_bool()), (Some(false), Some(true)));
    assert_eq!(items[2]["errors"][0]["field"], "idempotency_key");
    // The same key used by a single-event request for another event: refused there (409),
    // and in a later batch the entry alone is refused (400).
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/v1/events")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "dup")
        .body(lambda_http::Body::Text(r#"{"event_type": "a.b", "data": {"n": 9}}"#.into()))
        .unwrap();
    assert_eq!(s.send(req).await.status, 409);
    let later = json!({"events": [{"event_type": "a.b", "data": {"n": 9}, "idempotency_key": "dup"}]});
    let b = s.call("POST", "/api/v1/events/batch", Some(&key), Some(later)).await;
    assert_eq!(b.result()["items"][0]["status"], 400, "{:?}", b.body);
    // A key for the whole batch is refused rather than silently ignored.
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/v1/events/batch")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "whole")
        .body(lambda_http::Body::Text(r#"{"events": [{"event_type": "a.b"}]}"#.into()))
        .unwrap();
    let c = s.send(req).await;
    assert_eq!(c.status, 400, "{:?}", c.body);
    assert_eq!(c.body["errors"][0]["field"], "Idempotency-Key");
    // Two events stored and delivered, no more.
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), 2);
    let listed = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    assert_eq!(listed.result()["items"].as_array().unwrap().len(), 2);
}

/// A batch counts once against the rate limit.
#[tokio::test]
async fn a_batch_counts_once_against_the_rate_limit() {
    let mut settings = local_settings();
    settings.rate_limit_burst = 2;
    settings.rate_limit_per_minute = 1;
    let s = Stack::with_settings(settings).await;
    let (_, key) = s.project("Acme").await;
    let events: Vec<Value> = (0..50).map(|i| json!({"event_type": "a.b", "data": {"i": i}})).collect();
    let a = s.call("POST", "/api/v1/events/batch", Some(&key), Some(json!({"events": events}))).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.header("x-ratelimit-remaining"), Some("1"));
}
