//! Event ids sort in acceptance order (docs/api.md §5, §10): the events of one batch,
//! which share a millisecond, list newest first in the reverse of the order they were
//! sent, keyed or not, and events sent one after another do too.

use hookline_tests::Stack;
use serde_json::{json, Value};

fn ids_of(items: &[Value], key: &str) -> Vec<String> {
    items.iter().map(|i| i[key].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_batch_lists_in_the_order_it_was_sent() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    // Keyed entries are interleaved with plain ones: both kinds take their place in order.
    let entries: Vec<Value> = (0..40)
        .map(|n| match n % 3 {
            0 => json!({"event_type": "order.placed", "data": {"n": n}, "idempotency_key": format!("k-{n}")}),
            _ => json!({"event_type": "order.placed", "data": {"n": n}}),
        })
        .collect();
    let a = s.batch(&key, json!({ "events": entries })).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let sent = ids_of(a.result()["items"].as_array().unwrap(), "event_id");
    assert_eq!(sent.len(), 40);
    for w in sent.windows(2) {
        assert!(w[0] < w[1], "ids increase in entry order: {} then {}", w[0], w[1]);
    }
    // Newest first is the reverse of the batch.
    let list = s.call("GET", &format!("/api/v1/projects/{pid}/events?limit=100"), Some(&key), None).await;
    let items = list.result()["items"].as_array().unwrap();
    let ns: Vec<i64> = items.iter().map(|e| e["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, (0..40).rev().collect::<Vec<i64>>());
    let listed = ids_of(items, "id");
    assert_eq!(listed, sent.iter().rev().cloned().collect::<Vec<_>>());
    // Every id still reads as an event id.
    for id in &sent {
        s.event_detail(&key, pid, id).await;
    }
    // A later batch comes after, and a replayed entry keeps its first id.
    let again = s
        .batch(
            &key,
            json!({"events": [
                {"event_type": "order.placed", "data": {"n": 100}},
                {"event_type": "order.placed", "data": {"n": 0}, "idempotency_key": "k-0"}
            ]}),
        )
        .await;
    let items = again.result()["items"].as_array().unwrap();
    assert!(items[0]["event_id"].as_str().unwrap() > sent[39].as_str());
    assert_eq!((items[1]["replayed"].as_bool(), items[1]["event_id"].as_str()), (Some(true), Some(sent[0].as_str())));
}

#[tokio::test]
async fn single_events_list_in_the_order_they_were_sent() {
    let s = Stack::start().await;
    let (pid, key) = s.project("Acme").await;
    let mut sent = Vec::new();
    for n in 0..15 {
        let a = s.event(&key, "order.placed", json!({ "n": n })).await;
        assert_eq!(a.status, 202, "{:?}", a.body);
        sent.push(a.result()["event_id"].as_str().unwrap().to_string());
    }
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "{sent:?}");
    let list = s.call("GET", &format!("/api/v1/projects/{pid}/events"), Some(&key), None).await;
    let ns: Vec<i64> =
        list.result()["items"].as_array().unwrap().iter().map(|e| e["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, (0..15).rev().collect::<Vec<i64>>());
}
