//! What happens when a dependency fails, hangs, or answers too late: each test puts the
//! fault-injection proxy between the real handlers and the emulators, and checks what the
//! client was answered and what ends up listed and delivered.

use std::time::{Duration, Instant};

use hookline_tests::faults::Mode;
use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(40);

#[tokio::test]
async fn a_failing_queue_gets_503_and_leaves_nothing_listed_or_delivered() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    f.always("SendMessageBatch", Mode::Fail);
    let a = s.event(&key, "a.b", json!({"n": 1})).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.body["status"], "error");
    f.clear();
    assert!(s.listed_events(&key, pid).await.is_empty(), "an event answered with an error is not listed");
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 0, "and not delivered");
    // Once the queue is back, the next event goes through.
    assert_eq!(s.event(&key, "a.b", json!({"n": 2})).await.status, 202);
    s.pump_until(WAIT, || rx.count() == 1).await;
}

#[tokio::test]
async fn a_hanging_queue_gets_503_within_seconds_not_the_gateway_timeout() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    f.always("SendMessageBatch", Mode::Hang);
    let started = Instant::now();
    let a = s.event(&key, "a.b", json!({})).await;
    let took = started.elapsed();
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(took < Duration::from_secs(10), "answered after {took:?}");
    f.clear();
    assert!(s.listed_events(&key, pid).await.is_empty());
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 0);
}

/// Each send answers, but slowly: no single call times out, yet the intake stops at its
/// queue budget and answers 503, leaving nothing listed or delivered.
#[tokio::test]
async fn sends_that_are_slow_but_not_hung_still_get_503_within_the_budget() {
    let settings = hookline::config::Settings { queue_budget: Duration::from_secs(1), ..local_settings() };
    let (s, f) = Stack::with_faults(settings).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    // Below the SDK's per-attempt timeout, above the budget.
    f.always("SendMessageBatch", Mode::Late(Duration::from_millis(1_600)));
    let started = Instant::now();
    let a = s.event(&key, "a.b", json!({})).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(started.elapsed() < Duration::from_millis(1_500), "answered after {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(1)).await;
    f.clear();
    assert!(s.listed_events(&key, pid).await.is_empty());
    // The late wake-up lands in the queue; it finds no event and sends nothing.
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn a_hanging_table_gets_503_within_seconds_on_every_route() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key) = s.project("Acme").await;
    f.always("*", Mode::Hang);
    for (method, path, body) in [
        ("GET", format!("/api/v1/projects/{pid}/webhooks"), None),
        ("POST", "/api/v1/events".to_string(), Some(json!({"event_type": "a"}))),
        ("POST", "/api/v1/projects".to_string(), Some(json!({"name": "B"}))),
    ] {
        let token = if path == "/api/v1/projects" { hookline_tests::ADMIN_TOKEN } else { key.as_str() };
        let started = Instant::now();
        let a = s.call(method, &path, Some(token), body).await;
        assert_eq!(a.status, 503, "{method} {path}: {:?}", a.body);
        assert!(started.elapsed() < Duration::from_secs(10), "{method} {path} took {:?}", started.elapsed());
    }
}

/// The event write hangs: the wake-ups are already queued, yet the event answered 503
/// is never listed nor delivered, even though its write lands after the intake gave up.
#[tokio::test]
async fn an_event_write_that_lands_late_after_a_503_stays_invisible() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    // Every attempt of the event's PutItem is held past the client's timeouts, then lands.
    f.always("PutItem", Mode::Late(Duration::from_secs(6)));
    let a = s.event(&key, "a.b", json!({"late": true})).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    // Let the held writes land, then look.
    tokio::time::sleep(Duration::from_secs(8)).await;
    f.clear();
    assert!(s.listed_events(&key, pid).await.is_empty(), "the late write did not bring it back");
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 0, "its queued wake-ups did nothing");
}

/// The delivery function dies right after taking the claim (its write landed, the
/// answer never came): the message comes back and, once the claim's lease ends, the
/// delivery is made once.
#[tokio::test]
async fn a_crash_after_the_claim_is_finished_by_the_next_wake_up() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    // The next PutItem is the claim: both SDK attempts land, neither answer arrives.
    f.next("PutItem", Mode::Lose, 2);
    s.pump_until(WAIT, || rx.count() == 1).await;
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 1, "one POST");
    let ev = s.event_detail(&key, pid, &evt).await;
    assert_eq!(ev["deliveries"][0]["status"], "success");
    assert_eq!(ev["deliveries"][0]["attempts"], 1);
}

/// The function dies after the POST, before the record: the next wake-up sends it again
/// (the receiver cannot be known to have it) and records it once.
#[tokio::test]
async fn a_crash_between_the_post_and_the_record_is_finished_by_the_next_wake_up() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    // The claim passes; the record (the next PutItem) fails on both SDK attempts.
    f.after("PutItem", 1, Mode::Fail, 2);
    s.pump_until(WAIT, || rx.count() == 2).await;
    s.pump_for(Duration::from_secs(3)).await;
    let ev = s.event_detail(&key, pid, &evt).await;
    let d = &ev["deliveries"][0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("success"), Some(1)), "{d}");
    let id = d["id"].as_str().unwrap();
    let log = s.delivery_detail(&key, pid, id).await;
    assert_eq!(log["attempts_log"].as_array().unwrap().len(), 1, "one log entry for the attempt");
    let ids: std::collections::HashSet<String> =
        rx.received().iter().map(|r| r.header("webhook-id").to_string()).collect();
    assert_eq!(ids.len(), 1, "the same webhook-id both times");
}

/// A failed retry whose record fails after the next wake-up was queued: that wake-up
/// waits for the record, the retry's own message comes back once the lease ends and
/// makes the attempt again, and every attempt is logged once.
#[tokio::test]
async fn a_crash_between_queueing_the_next_wake_up_and_recording_the_attempt() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) =
        s.project_with_receiver(vec![Plan::status(500), Plan::status(500), Plan::status(200)]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    // PutItems: the group claim, attempt 1's record, then attempt 2's record: that one fails.
    f.after("PutItem", 2, Mode::Fail, 2);
    s.pump_until(WAIT, || rx.count() == 3).await;
    s.pump_for(Duration::from_secs(4)).await;
    assert_eq!(rx.count(), 3, "no POST beyond the repeated attempt 2");
    let attempts: Vec<String> = rx.received().iter().map(|r| r.header("x-webhook-attempt").to_string()).collect();
    assert_eq!(attempts, vec!["1", "2", "2"]);
    let ev = s.event_detail(&key, pid, &evt).await;
    let id = ev["deliveries"][0]["id"].as_str().unwrap().to_string();
    let d = s.delivery_detail(&key, pid, &id).await;
    assert_eq!(d["status"], "success", "{d}");
    let logged: Vec<u64> =
        d["attempts_log"].as_array().unwrap().iter().map(|a| a["attempt"].as_u64().unwrap()).collect();
    assert_eq!(logged, vec![1, 2], "each attempt logged once");
}

/// A message the function cannot process five times goes to the dead-letter queue; the
/// repair sweep moves it back and the delivery is made.
#[tokio::test]
async fn the_repair_sweep_requeues_a_wake_up_from_the_dead_letter_queue() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200)]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    // The delivery function cannot read storage: every receive of the message fails.
    f.always("BatchGetItem", Mode::Fail);
    let started = Instant::now();
    while s.dead_letters().await == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the message never reached the dead-letter queue");
        s.poll_tolerant().await;
    }
    f.clear();
    assert_eq!(rx.count(), 0);
    let ev = s.event_detail(&key, pid, &evt).await;
    assert_eq!(ev["deliveries"][0]["status"], "pending", "pending, its wake-up dead");
    let report = hookline::service::sweep::sweep(&s.app).await.unwrap();
    assert_eq!(report.redriven, 1, "{report:?}");
    s.pump_until(WAIT, || rx.count() == 1).await;
    assert_eq!(s.dead_letters().await, 0);
}

/// A manual re-send whose wake-up was lost is found by the sweep in the `due` index.
#[tokio::test]
async fn the_repair_sweep_requeues_an_overdue_manual_resend() {
    let s = Stack::start().await;
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(500), Plan::status(200)]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() >= 1).await;
    // Let the scheduled retry happen too, so the delivery ends in `success` or `error`.
    s.pump_for(Duration::from_secs(4)).await;
    let ev = s.event_detail(&key, pid, &evt).await;
    let id = ev["deliveries"][0]["id"].as_str().unwrap().to_string();
    let before = rx.count();
    // The re-send's wake-up is sent, then lost: take it off the queue.
    let a = s.resend(&key, pid, &id).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let _lost = s.take_messages(1).await;
    // Not overdue yet: the sweep leaves it.
    assert_eq!(hookline::service::sweep::sweep(&s.app).await.unwrap().requeued, 0);
    // Make it overdue (as if the grace period had passed), then sweep.
    s.age_due_entries(Duration::from_secs(600)).await;
    let report = hookline::service::sweep::sweep(&s.app).await.unwrap();
    assert_eq!(report.requeued, 1, "{report:?}");
    s.pump_until(WAIT, || rx.count() == before + 1).await;
}

/// A failed attempt whose retry shares a wake-up with the others of its message costs,
/// as seen at storage, one claim for the group and one record per delivery: no lease,
/// and no write of the webhooks' failure state while they go on failing.
#[tokio::test]
async fn a_retry_group_costs_one_claim_and_one_record_per_failed_attempt() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let rx = Receiver::start([vec![Plan::status(500); 20], vec![Plan::status(200)]].concat()).await;
    let (pid, key) = s.project("Acme").await;
    for i in 0..10 {
        s.webhook(pid, &key, json!({"name": format!("r{i}"), "url": rx.url(&format!("/{i}"))})).await;
    }
    let evt = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 10).await;
    let (puts, updates) = (f.seen("PutItem"), f.seen("UpdateItem"));
    // Attempt 2 of all ten, failed again.
    s.pump_until(WAIT, || rx.count() == 20).await;
    assert_eq!(f.seen("PutItem") - puts, 11, "one group claim and ten records");
    assert_eq!(f.seen("UpdateItem") - updates, 0, "no lease, no failure-state write");
    s.pump_until(WAIT, || rx.count() == 30).await;
    s.pump_for(Duration::from_secs(2)).await;
    let ev = s.event_detail(&key, pid, &evt).await;
    for d in ev["deliveries"].as_array().unwrap() {
        assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("success"), Some(3)), "{d}");
    }
    assert_eq!(rx.count(), 30);
}

/// The delivery function dies right after taking a retry group's claim: the group's
/// message comes back and, once the claim's lease ends, each retry is made once.
#[tokio::test]
async fn a_crash_after_a_retry_groups_claim_is_finished_by_the_next_wake_up() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let rx = Receiver::start(vec![Plan::status(500), Plan::status(500), Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    for i in 0..2 {
        s.webhook(pid, &key, json!({"name": format!("r{i}"), "url": rx.url(&format!("/{i}"))})).await;
    }
    let evt = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 2).await;
    // The next PutItem is the retry group's claim: it lands, its answers never come.
    f.next("PutItem", Mode::Lose, 2);
    s.pump_until(WAIT, || rx.count() == 4).await;
    s.pump_for(Duration::from_secs(3)).await;
    assert_eq!(rx.count(), 4, "one POST per retry");
    let ev = s.event_detail(&key, pid, &evt).await;
    for d in ev["deliveries"].as_array().unwrap() {
        assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("success"), Some(2)), "{d}");
    }
}
