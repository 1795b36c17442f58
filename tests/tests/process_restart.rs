//! A real `hookline-local` process killed with SIGKILL while deliveries are in flight, then
//! started again against the same emulators, table and queue, as a crashed delivery function is
//! replaced by a new instance: no delivery is lost, none is sent again once its attempt was
//! recorded, and the log shows each attempt once. Delivery is at-least-once (docs/api.md §6),
//! so the one repeat allowed is a delivery whose POST the kill cut off (sent, not recorded): it
//! is sent once more, and logged once.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use hookline::config::Settings;
use hookline_tests::process::LocalProcess;
use hookline_tests::{local_settings, Answer, Plan, Received, Receiver, Stack, ADMIN_TOKEN};
use serde_json::{json, Value};
use tokio::sync::watch;

const EVENTS: u64 = 30;
const WEBHOOKS: usize = 3;

/// Seconds a received message stays hidden: the killed process's messages come back this
/// long after it took them (the template's 360 s would outlast the test).
const VISIBILITY: u32 = 6;

/// Settings of both processes. The delivery timeout outlasts the hold before the kill, so
/// no held POST times out and every delivery should end with one attempt.
const ENV: [(&str, &str); 5] = [
    ("HOOKLINE_DELIVERY_TIMEOUT", "8s"),
    ("HOOKLINE_RETRY_SCHEDULE", "1s,1s"),
    ("HOOKLINE_SWEEP_INTERVAL", "5s"),
    // The test polls the logs; the limiter is not under test.
    ("HOOKLINE_RATE_LIMIT_PER_MINUTE", "60000"),
    ("HOOKLINE_RATE_LIMIT_BURST", "10000"),
];

/// Every third event's POSTs get no answer until the kill, so they are in flight when it
/// comes; the others' are answered at once (and recorded before it).
fn held(n: u64) -> bool {
    n % 3 == 1
}

fn event_number(r: &Received) -> u64 {
    r.json()["data"]["n"].as_u64().expect("the event's n")
}

/// One delivery as the logs list it.
#[derive(Debug, Clone)]
struct Logged {
    webhook: usize,
    event_id: String,
    status: String,
    attempts: u64,
}

/// Every delivery of the project's webhooks, by id (`webhook-id`), from one answer per webhook.
fn logged(answers: &[Answer]) -> HashMap<String, Logged> {
    let mut out = HashMap::new();
    for (webhook, a) in answers.iter().enumerate() {
        assert_eq!(a.status, 200, "{:?}", a.body);
        for d in a.body["result"]["items"].as_array().expect("items") {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            let logged = Logged {
                webhook,
                event_id: text("event_id"),
                status: text("status"),
                attempts: d["attempts"].as_u64().unwrap_or_default(),
            };
            out.insert(text("id"), logged);
        }
    }
    out
}

fn logs_path(pid: u64, webhook: &str) -> String {
    format!("/api/v1/projects/{pid}/webhooks/{webhook}/deliveries?limit=200")
}

/// The logs as the running process serves them.
async fn logs_over_http(p: &LocalProcess, pid: u64, key: &str, webhooks: &[String]) -> HashMap<String, Logged> {
    let mut answers = Vec::new();
    for wh in webhooks {
        answers.push(p.call("GET", &logs_path(pid, wh), Some(key), None).await);
    }
    logged(&answers)
}

/// Receipts per delivery id (`webhook-id`), and the webhook each came to.
fn receipts(received: &[Received]) -> HashMap<String, (usize, usize)> {
    let mut out: HashMap<String, (usize, usize)> = HashMap::new();
    for r in received {
        let webhook = r.path.trim_start_matches("/r").parse::<usize>().expect("a webhook's path");
        out.entry(r.header("webhook-id").to_string()).or_insert((0, webhook)).0 += 1;
    }
    out
}

/// Messages on the delivery queue: visible, in flight or delayed.
async fn queued(s: &Stack) -> usize {
    let names = [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ];
    s.messages_in(&s.queues.delivery_url, &names).await
}

#[tokio::test]
async fn a_process_killed_mid_delivery_and_restarted_loses_and_doubles_nothing() {
    let started = Instant::now();
    let settings = Settings { rate_limit_per_minute: 60_000, rate_limit_burst: 10_000, ..local_settings() };
    let stack = Stack::with_visibility(settings, VISIBILITY).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&stack.name);
    std::fs::create_dir_all(&dir).unwrap();
    let (kill_tx, kill_rx) = watch::channel(false);
    let rx = Receiver::start_with(move |r| {
        let hold = held(event_number(r));
        let mut killed = kill_rx.clone();
        Box::pin(async move {
            if hold {
                let _ = killed.wait_for(|k| *k).await;
            }
            Plan::status(200)
        })
    })
    .await;

    let mut first = LocalProcess::start(&stack, &dir.join("first.log"), &ENV).await;
    let a = first
        .call("POST", "/api/v1/projects", Some(ADMIN_TOKEN), Some(json!({"name": "Acme", "client_id": 19817472})))
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let pid = a.result()["project_id"].as_u64().unwrap();
    let key = a.result()["api_key"].as_str().unwrap().to_string();
    let mut webhooks = Vec::new();
    for i in 0..WEBHOOKS {
        let body = json!({"name": format!("r{i}"), "url": rx.url(&format!("/r{i}"))});
        let a = first.call("POST", &format!("/api/v1/projects/{pid}/webhooks"), Some(&key), Some(body)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        webhooks.push(a.result()["id"].as_str().unwrap().to_string());
    }
    let mut events: HashMap<String, u64> = HashMap::new();
    for n in 0..EVENTS {
        let body = json!({"event_type": "order.created", "data": {"n": n}});
        let a = first.call("POST", "/api/v1/events", Some(&key), Some(body)).await;
        assert_eq!(a.status, 202, "{:?}", a.body);
        events.insert(a.result()["event_id"].as_str().unwrap().to_string(), n);
    }

    // Kill once some deliveries are recorded and some POSTs hang.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let holding = rx.received().iter().any(|r| held(event_number(r)));
        if holding && logs_over_http(&first, pid, &key, &webhooks).await.values().any(|d| d.status == "success") {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery recorded and none in flight:\n{}", first.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill();
    let _ = kill_tx.send(true);
    let before = receipts(&rx.received());
    // A write sent just before the kill may still land; let it, then read what is recorded.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut answers = Vec::new();
    for wh in &webhooks {
        answers.push(stack.call("GET", &logs_path(pid, wh), Some(&key), None).await);
    }
    let at_kill = logged(&answers);
    let recorded: HashSet<&String> = at_kill.iter().filter(|(_, d)| d.status == "success").map(|(id, _)| id).collect();
    assert!(at_kill.values().all(|d| d.status == "success" && d.attempts == 1), "before the kill: {at_kill:?}");
    let cut_off: Vec<&String> = before.keys().filter(|id| !recorded.contains(id)).collect();
    // The case under test happened: some deliveries recorded, some POSTs cut off.
    assert!(!recorded.is_empty() && !cut_off.is_empty(), "recorded {recorded:?}, cut off {cut_off:?}");
    for id in &recorded {
        assert!(before.contains_key(*id), "{id} recorded before the kill without being received");
    }
    for (id, (n, _)) in &before {
        assert_eq!(*n, 1, "{id} was received {n} times before the kill");
    }

    let second = LocalProcess::start(&stack, &dir.join("second.log"), &ENV).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let now = logs_over_http(&second, pid, &key, &webhooks).await;
        if now.len() == EVENTS as usize * WEBHOOKS && now.values().all(|d| d.status == "success") {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "not every delivery succeeded after the restart: {now:?}\n{}",
            second.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Let every wake-up still queued (the killed process's messages coming back, copies sent
    // back for when its claims end) be handled, so that a late repeat would show.
    let deadline = Instant::now() + Duration::from_secs(45);
    while queued(&stack).await > 0 {
        assert!(Instant::now() < deadline, "the queue did not empty:\n{}", second.log_text());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after_kill = rx.received().len() - before.values().map(|(n, _)| n).sum::<usize>();
    let all = receipts(&rx.received());
    drop(second);

    // Every (event, webhook) pair has one delivery, recorded `success` after one attempt.
    for (i, _) in webhooks.iter().enumerate() {
        let of: HashSet<&String> = done.values().filter(|d| d.webhook == i).map(|d| &d.event_id).collect();
        assert_eq!(of, events.keys().collect(), "webhook {i}'s deliveries");
    }
    for (id, d) in &done {
        assert_eq!((d.status.as_str(), d.attempts), ("success", 1), "{id}: {d:?}");
    }
    // Each delivery was received: once if it was recorded before the kill (never again
    // after), else once after the restart, on top of the POST the kill cut off, if any.
    for (id, d) in &done {
        let (total, webhook) = all.get(id).copied().unwrap_or((0, d.webhook));
        assert_eq!(webhook, d.webhook, "{id} came to the wrong webhook");
        let earlier = before.get(id).map_or(0, |(n, _)| *n);
        let expected_after = usize::from(!recorded.contains(id));
        assert_eq!(
            (earlier, total - earlier),
            (usize::from(before.contains_key(id)), expected_after),
            "{id} (event {}): received {earlier} times before the kill, {} after",
            events[&d.event_id],
            total - earlier
        );
    }
    assert!(all.keys().all(|id| done.contains_key(id)), "a request for a delivery the logs do not list");
    // The cut-off deliveries' one attempt, in full.
    for id in &cut_off {
        let a = stack.call("GET", &format!("/api/v1/projects/{pid}/deliveries/{id}"), Some(&key), None).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let log: &Vec<Value> = a.result()["attempts_log"].as_array().expect("attempts_log");
        assert_eq!(log.len(), 1, "{id}: {log:?}");
    }
    eprintln!(
        "{} deliveries: {} recorded before the kill, {} cut off by it, {} not yet sent; {} requests after the restart; {:?}",
        done.len(),
        recorded.len(),
        cut_off.len(),
        done.len() - before.len(),
        after_kill,
        started.elapsed()
    );
}
