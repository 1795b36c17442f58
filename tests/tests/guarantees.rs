//! What the delivery path guarantees although SQS delivers at least once: copies of a
//! wake-up (first attempts or a retry group's), processed at once or late, POST and log
//! each attempt once; a manual re-send racing its retry group does too, or is refused
//! while the group's attempt is under way; a group claim tells a take-over from a first
//! claim; and a webhook deleted (or deleted and created again) gets none of the retries
//! that were waiting for it. Through the real handlers, the emulators and receivers on
//! loopback.

use std::time::Duration;

use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

/// The project web hook `wh_default` deleted and put again: the deliveries made for the old one are
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
        events.push(s.event_id(&key, "a.b", json!({"i": i})).await);
    }
    s.pump_until(WAIT, || old_rx.count() == 3).await;
    assert_eq!(s.call("DELETE", &path, Some(&key), None).await.status, 200);
    assert_eq!(s.call("PUT", &path, Some(&key), Some(put(new_rx.url("/new")))).await.status, 200);
    s.pump_for(Duration::from_secs(6)).await;
    assert_eq!(new_rx.count(), 0, "the new web hook got none of the old one's retries");
    for e in &events {
        let d = &s.event_detail(&key, pid, e).await["deliveries"][0];
        assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("error"), Some("webhook deleted")), "{d}");
    }
    // New events do go to the new one.
    s.event(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || new_rx.count() == 1).await;
}

/// A first attempt's two copies of one message, processed at the same moment, make one
/// POST; a copy arriving after the success makes none (and no second log entry).
#[tokio::test]
async fn copies_of_a_message_at_once_or_late_post_once() {
    let s = Stack::start().await;
    let slow_ok = Plan { status: 200, delay: Duration::from_millis(300), headers: vec![], body: None };
    let (pid, key, rx, _) = s.project_with_receiver(vec![slow_ok]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
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
    let d = &s.event_detail(&key, pid, &evt).await["deliveries"][0];
    let log = s.delivery_detail(&key, pid, d["id"].as_str().unwrap()).await;
    assert_eq!(log["attempts_log"].as_array().unwrap().len(), 1);
}

/// `n` webhooks on one receiver and one event to them all; returns the event id.
async fn fan_out(s: &Stack, rx: &Receiver, n: usize) -> (u64, String, String) {
    let (pid, key) = s.project("Acme").await;
    for i in 0..n {
        s.webhook(pid, &key, json!({"name": format!("r{i}"), "url": rx.url(&format!("/{i}"))})).await;
    }
    let evt = s.event_id(&key, "a.b", json!({})).await;
    (pid, key, evt)
}

/// Each delivery of the event: its status and the attempt numbers of its log.
async fn logs(s: &Stack, key: &str, pid: u64, evt: &str) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    for d in s.event_detail(key, pid, evt).await["deliveries"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let a = s.delivery_detail(key, pid, id).await;
        let log = a["attempts_log"].as_array().unwrap().iter().map(|x| x["attempt"].as_u64().unwrap());
        out.push((a["status"].as_str().unwrap().to_string(), log.collect()));
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
    let slow_ok = Plan { status: 200, delay: Duration::from_millis(300), headers: vec![], body: None };
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
    let slow_ok = Plan { status: 200, delay: Duration::from_millis(300), headers: vec![], body: None };
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), slow_ok]).await;
    let (pid, key, evt) = fan_out(&s, &rx, 2).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    let id = s.event_detail(&key, pid, &evt).await["deliveries"][0]["id"].as_str().unwrap().to_string();
    let resent = s.resend(&key, pid, &id).await;
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
    let gone = s.event_detail(&key, pid, &evt).await["deliveries"][0]["webhook_id"].as_str().unwrap().to_string();
    let del = s.call("DELETE", &format!("/api/v1/projects/{pid}/webhooks/{gone}"), Some(&key), None).await;
    assert!(del.status < 300, "{:?}", del.body);
    s.pump_for(Duration::from_secs(4)).await;
    assert_eq!(rx.count(), 3, "only the remaining webhook's retry");
    let detail = s.event_detail(&key, pid, &evt).await;
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
    let g1 = &hookline::delivery::ClaimKey::Retry("g1".into());
    let now = Millis::now();
    let later = now.plus(Duration::from_secs(30));
    let store = &s.app.store;
    assert_eq!(store.claim_group(g1, "a", later, now).await.unwrap(), GroupClaim::Won { took_over: false });
    assert_eq!(
        store.claim_group(g1, "a", later, now).await.unwrap(),
        GroupClaim::Won { took_over: false },
        "a retried call"
    );
    assert_eq!(store.claim_group(g1, "b", later, now).await.unwrap(), GroupClaim::Lost);
    assert!(store.group_claimed(g1, now).await.unwrap());
    let after = later.plus(Duration::from_secs(1));
    assert!(!store.group_claimed(g1, after).await.unwrap());
    assert_eq!(
        store.claim_group(g1, "b", after.plus(Duration::from_secs(30)), after).await.unwrap(),
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
    let d = &s.event_detail(&key, pid, &evt).await["deliveries"][0];
    let id = d["id"].as_str().unwrap().to_string();
    let wh_id = hookline::ids::WebhookId::parse(d["webhook_id"].as_str().unwrap()).unwrap();
    let wh = s.app.store.get_webhook(hookline::ids::ProjectId(pid), &wh_id).await.unwrap().unwrap();
    let page = s.app.store.list_deliveries(&wh, Default::default(), 10, None, Millis::now()).await.unwrap();
    let stored = &page.items[0];
    let group = stored.next_claim.clone().expect("the retry shares a wake-up");
    // Another instance holds the group's claim: its attempt is under way.
    let now = Millis::now();
    assert!(s.app.store.claim_group(&group, "elsewhere", now.plus(Duration::from_secs(30)), now).await.is_ok());
    let r = s.resend(&key, pid, &id).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let messages = s.take_messages(1).await;
    assert!(!messages[0].contains("\"manual\""), "only the group's own wake-up is queued: {messages:?}");
}
