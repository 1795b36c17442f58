//! Every attempt that reached a receiver is recorded, whatever else fails around it, and
//! no number of attempts can make a delivery's record unwritable.

use std::time::Duration;

use hookline_tests::faults::Mode;
use hookline_tests::{local_settings, Plan, Receiver, Stack};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(40);

/// SQS is down when one delivery of a message needs its retry wake-up: the other
/// delivery's success is recorded anyway (and never POSTed again), the failed attempt is
/// logged, and the repair sweep brings its retry once the queue is back.
#[tokio::test]
async fn a_success_is_recorded_when_the_queue_fails_for_another_deliverys_retry() {
    let (s, f) = Stack::with_faults(local_settings()).await;
    let ok = Receiver::start(vec![Plan::status(200)]).await;
    let failing = Receiver::start(vec![Plan::status(500), Plan::status(200)]).await;
    let (pid, key) = s.project("Acme").await;
    s.webhook(pid, &key, json!({"name": "ok", "url": ok.url("/")})).await;
    s.webhook(pid, &key, json!({"name": "failing", "url": failing.url("/")})).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;

    f.always("SendMessageBatch", Mode::Fail);
    let start = std::time::Instant::now();
    while ok.count() + failing.count() < 2 {
        assert!(start.elapsed() < WAIT, "the first attempts were not made");
        s.poll_tolerant().await;
    }
    s.pump_for(Duration::from_secs(1)).await;
    f.clear();

    let ds = s.event_deliveries(&key, pid, &evt).await;
    let statuses: Vec<(&str, u64)> =
        ds.iter().map(|d| (d["status"].as_str().unwrap(), d["attempts"].as_u64().unwrap())).collect();
    assert!(statuses.contains(&("success", 1)), "the success is recorded: {ds:?}");
    assert!(statuses.contains(&("pending", 1)), "the failed attempt is logged: {ds:?}");

    // The message comes back and the sweep finds the retry whose wake-up was not queued.
    s.age_due_entries(Duration::from_secs(600)).await;
    let report = hookline::service::sweep::sweep(&s.app).await.unwrap();
    assert_eq!(report.requeued, 1, "{report:?}");
    s.pump_until(WAIT, || failing.count() == 2).await;
    s.pump_for(Duration::from_secs(2)).await;
    assert_eq!(ok.count(), 1, "the recorded success is never sent again");
    let ds = s.event_deliveries(&key, pid, &evt).await;
    assert!(ds.iter().all(|d| d["status"] == "success"), "{ds:?}");
}

/// A hundred manual re-sends of a delivery whose receiver answers 4 KiB: each is POSTed
/// once and recorded; the log keeps the first attempt and the latest ones.
#[tokio::test]
async fn a_hundred_resends_with_large_answers_are_all_recorded() {
    let s = Stack::start().await;
    let big = "x".repeat(4096);
    let (pid, key, rx, _) = s.project_with_receiver(vec![Plan::status(200).with_body(big.clone())]).await;
    let evt = s.event_id(&key, "a.b", json!({})).await;
    s.pump_until(WAIT, || rx.count() == 1).await;
    let id = s.event_deliveries(&key, pid, &evt).await[0]["id"].as_str().unwrap().to_string();
    const RESENDS: usize = 100;
    for n in 0..RESENDS {
        let mut answer = s.resend(&key, pid, &id).await;
        // The previous attempt's record may land a moment after its POST was seen.
        for _ in 0..20 {
            if answer.status != 409 {
                break;
            }
            s.pump_for(Duration::from_millis(100)).await;
            answer = s.resend(&key, pid, &id).await;
        }
        assert_eq!(answer.status, 202, "re-send {n}: {:?}", answer.body);
        s.pump_until(WAIT, || rx.count() == n + 2).await;
    }
    s.pump_for(Duration::from_secs(1)).await;
    assert_eq!(rx.count(), RESENDS + 1, "each attempt POSTed once");
    let d = s.delivery_detail(&key, pid, &id).await;
    assert_eq!(d["status"], "success");
    assert_eq!(d["attempts"], RESENDS as u64 + 1, "every attempt recorded: {:?}", d["attempts"]);
    let log = d["attempts_log"].as_array().unwrap();
    assert_eq!(log.len(), hookline::delivery::MAX_LOGGED_ATTEMPTS);
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log.last().unwrap()["attempt"], RESENDS as u64 + 1);
    assert_eq!(log.last().unwrap()["response_body"], big.as_str());
}
