//! The loopback servers a benchmark talks to, run in their own process
//! (`bench-servers`) so that their CPU time never counts as the function's:
//!
//! - **receiver**: a webhook receiver that answers 200 at once (for paths
//!   `/sleep/<ms>/…`, after that many milliseconds; for paths `/fail-once/…`, 500 the
//!   first time it sees a `webhook-id`, then 200), counts what it got, and keeps a log
//!   of every request (`webhook-id`, attempt, status, time) to find lost or doubled
//!   deliveries and to check a rate limit;
//! - **record**: a DynamoDB/SQS proxy in front of the emulators that forwards
//!   each call, counts it by operation (`X-Amz-Target`) and by the kind of item it
//!   touches (the partition key's prefix: `PutItem CLAIM`, `PutItem DLV`), asks DynamoDB Local for
//!   the consumed capacity (`ReturnConsumedCapacity: INDEXES`, added on the way)
//!   and records the answer keyed by the operation and the request;
//! - **stub**: answers the same operations instantly from those recordings (the
//!   exact request if it was seen, else one of the same shape, else one of the same
//!   operation), counting calls without the wait: storage "counted but not waited on";
//! - **control**: `GET /counts`, `GET /received`, `POST /reset`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Ports {
    pub receiver: u16,
    pub record: u16,
    pub stub: u16,
    pub control: u16,
}

/// Calls seen at one port, by operation (`dynamodb:PutItem`, `sqs:SendMessageBatch`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    pub calls: BTreeMap<String, u64>,
    pub request_bytes: BTreeMap<String, u64>,
    /// Request units DynamoDB Local reported as consumed (table and indexes), by operation.
    pub read_units: BTreeMap<String, f64>,
    pub write_units: BTreeMap<String, f64>,
    /// Answers with a 4xx/5xx status (conditional-check failures among them).
    pub errors: BTreeMap<String, u64>,
    /// Stub only: how each answer was found (`exact`, `shape`, `operation`, `none`).
    pub matched: BTreeMap<String, u64>,
    /// The same by operation and item kind (`dynamodb:PutItem CLAIM`; see `item_kind`).
    pub calls_by_item: BTreeMap<String, u64>,
    pub read_units_by_item: BTreeMap<String, f64>,
    pub write_units_by_item: BTreeMap<String, f64>,
    /// Conditional writes whose condition did not hold (`ConditionalCheckFailedException`):
    /// DynamoDB Local reports no capacity for them, AWS bills them (see BENCHMARKS.md).
    pub condition_failures_by_item: BTreeMap<String, u64>,
    /// BatchGetItem: keys asked for and items found (AWS bills a strongly consistent read
    /// of a missing item as 1 RRU; DynamoDB Local reports nothing for it).
    pub batch_get_keys: u64,
    pub batch_get_found: u64,
    /// SQS messages sent (entries of SendMessage/SendMessageBatch).
    pub sqs_messages_sent: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Calls of one service: `"dynamodb:"` or `"sqs:"`.
    pub fn service(&self, prefix: &str) -> u64 {
        self.calls.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
    }

    pub fn read_units_total(&self) -> f64 {
        self.read_units.values().sum()
    }

    pub fn write_units_total(&self) -> f64 {
        self.write_units.values().sum()
    }

    pub fn condition_failures(&self) -> u64 {
        self.condition_failures_by_item.values().sum()
    }

    /// BatchGetItem keys that found no item.
    pub fn missing_keys(&self) -> u64 {
        self.batch_get_keys.saturating_sub(self.batch_get_found)
    }

    /// Write units as AWS bills them: what DynamoDB Local reports, plus 1 WRU for each
    /// conditional write whose condition failed (AWS bills those at the existing item's
    /// size, at least 1 WRU; every item written conditionally here is under 1 KB).
    pub fn billed_write_units(&self) -> f64 {
        self.write_units_total() + self.condition_failures() as f64
    }

    /// Read units as AWS bills them: what DynamoDB Local reports, plus 1 RRU for each
    /// strongly consistent BatchGetItem key that found nothing (AWS bills a read of a
    /// missing item; DynamoDB Local reports nothing for it).
    pub fn billed_read_units(&self) -> f64 {
        self.read_units_total() + self.missing_keys() as f64
    }

    /// Calls whose operation and item kind start with `prefix` (`dynamodb:UpdateItem PRJ/WH`).
    pub fn calls_of(&self, prefix: &str) -> u64 {
        self.calls_by_item.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
    }

    /// One line per operation and item kind: its calls, units and condition failures per
    /// `per` units of work (`unit`: "delivery", "delivered webhook").
    pub fn describe_by_item(&self, per: f64, unit: &str) -> String {
        self.calls_by_item
            .iter()
            .map(|(label, calls)| {
                format!(
                    "    {label:<40} calls {:>8.4}  WRU {:>7.4}  RRU {:>7.4}  condition failures {:>7.4}   per {unit}\n",
                    *calls as f64 / per,
                    self.write_units_by_item.get(label).copied().unwrap_or(0.0) / per,
                    self.read_units_by_item.get(label).copied().unwrap_or(0.0) / per,
                    self.condition_failures_by_item.get(label).copied().unwrap_or(0) as f64 / per,
                )
            })
            .collect()
    }

    /// `dynamodb:GetItem ×2, sqs:SendMessageBatch ×1` per `per` units of work.
    pub fn describe_per(&self, per: f64) -> String {
        self.calls.iter().map(|(k, v)| format!("{k} {:.2}", *v as f64 / per)).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub record: Tally,
    pub stub: Tally,
    /// Requests the receiver got, and how many it answered 2xx.
    pub received: u64,
    pub received_ok: u64,
    /// 2xx answers for a `webhook-id` that had already been answered 2xx: a delivery
    /// that succeeded twice.
    pub duplicate_successes: u64,
}

/// One request the receiver got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Received {
    pub path: String,
    pub webhook_id: String,
    pub attempt: u32,
    pub status: u16,
    /// Milliseconds since the epoch when it arrived.
    pub at_ms: u64,
}

/// Which of the four servers a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Receiver,
    Record,
    Stub,
    Control,
}

struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

struct State {
    dynamodb: String,
    sqs: String,
    client: reqwest::Client,
    /// The access key the functions' own clients sign with (`AWS_ACCESS_KEY_ID`).
    own_key: Option<String>,
    exact: Mutex<HashMap<String, Arc<Recorded>>>,
    shape: Mutex<HashMap<String, Arc<Recorded>>>,
    by_op: Mutex<HashMap<String, Arc<Recorded>>>,
    record: Mutex<Tally>,
    stub: Mutex<Tally>,
    received: AtomicU64,
    log: Mutex<Vec<Received>>,
    /// `webhook-id`s the `/fail-once/` path has answered 500.
    failed_once: Mutex<HashSet<String>>,
}

/// Operations whose answer can carry `ConsumedCapacity`.
const CAPACITY_OPS: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];
const READ_OPS: [&str; 5] = ["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"];

/// `DynamoDB_20120810.PutItem` → `dynamodb:PutItem`; `AmazonSQS.SendMessageBatch` → `sqs:SendMessageBatch`.
pub fn operation(target: &str) -> String {
    match target.split_once('.') {
        Some((svc, op)) if svc.starts_with("DynamoDB") => format!("dynamodb:{op}"),
        Some(("AmazonSQS", op)) => format!("sqs:{op}"),
        _ => format!("other:{target}"),
    }
}

/// The operation of a call as the proxy names it: from `X-Amz-Target` for the JSON protocols
/// (DynamoDB, SQS); for a query-protocol call (STS), the form body's `Action` and the service
/// of the signature's credential scope (`sts:AssumeRole`). A call signed with other credentials
/// than `own_key` (the access key the functions' clients use) was signed with an assumed role's:
/// a send to a destination in a customer's account (docs/api.md §16), named
/// `customer:sqs:SendMessage`, so that it is never counted as Hookline's own SQS traffic.
pub fn call_operation(target: &str, authorization: &str, body: &[u8], own_key: Option<&str>) -> String {
    let scope = authorization.split("Credential=").nth(1).unwrap_or("");
    let mut scope = scope.split(['/', ',', ' ']);
    let (key, service) = (scope.next().unwrap_or(""), scope.nth(2).unwrap_or(""));
    let op = if target.is_empty() {
        let action = std::str::from_utf8(body)
            .ok()
            .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
            .unwrap_or("");
        if action.is_empty() || service.is_empty() {
            format!("other:{target}")
        } else {
            format!("{service}:{action}")
        }
    } else {
        operation(target)
    };
    match own_key {
        Some(own) if !key.is_empty() && key != own => format!("customer:{op}"),
        _ => op,
    }
}

/// JSON with every object's keys sorted, so equal requests give equal text
/// whatever order the SDK's hash maps serialized them in.
pub fn canonical(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The request with its values blanked: what stays is which table, index,
/// expressions and attribute names it uses.
pub fn shape(v: &Value) -> Value {
    const KEEP: [&str; 12] = [
        "TableName",
        "IndexName",
        "UpdateExpression",
        "ConditionExpression",
        "KeyConditionExpression",
        "FilterExpression",
        "ProjectionExpression",
        "ReturnValues",
        "ReturnValuesOnConditionCheckFailure",
        "Select",
        "ExpressionAttributeNames",
        "ConsistentRead",
    ];
    fn blank(v: &Value, keep: bool) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter().map(|(k, v)| (k.clone(), blank(v, keep || KEEP.contains(&k.as_str())))).collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| blank(v, keep)).collect()),
            other if keep => other.clone(),
            Value::String(_) => Value::from("?"),
            Value::Number(_) => Value::from(0),
            other => other.clone(),
        }
    }
    blank(v, false)
}

/// What kind of item a key names: its partition key up to the first `#` (`CLAIM`,
/// `DLV`, `EVT`, `KEY`, `RATE`, `WHRATE`, `IDEM`, `ETYPE`), with `/WH` for a webhook in
/// its project's partition.
pub fn key_kind(pk: &str, sk: &str) -> String {
    let prefix = pk.split('#').next().unwrap_or(pk);
    if prefix == "PRJ" && sk.starts_with("WH#") {
        "PRJ/WH".to_string()
    } else {
        prefix.to_string()
    }
}

fn attr<'a>(item: &'a Value, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.get("S")).and_then(Value::as_str).unwrap_or("")
}

fn kind_of_key(item: &Value) -> String {
    key_kind(attr(item, "pk"), attr(item, "sk"))
}

/// The kinds of item a DynamoDB request touches, e.g. `EVT+DLV+PRJ/WH` for a batch read.
pub fn item_kind(op: &str, request: &Value) -> String {
    let mut kinds: Vec<String> = Vec::new();
    let mut add = |k: String| {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    match op.trim_start_matches("dynamodb:") {
        "PutItem" => add(kind_of_key(&request["Item"])),
        "UpdateItem" | "GetItem" | "DeleteItem" => add(kind_of_key(&request["Key"])),
        "Query" => match request.get("IndexName").and_then(Value::as_str) {
            Some(ix) => add(format!("index {ix}")),
            None => add(key_kind(
                request["ExpressionAttributeValues"][":pk"]["S"].as_str().unwrap_or(""),
                request["ExpressionAttributeValues"][":low"]["S"].as_str().unwrap_or(""),
            )),
        },
        "BatchGetItem" => {
            for ka in request["RequestItems"].as_object().into_iter().flat_map(|m| m.values()) {
                for k in ka["Keys"].as_array().into_iter().flatten() {
                    add(kind_of_key(k));
                }
            }
        }
        "BatchWriteItem" => {
            for reqs in request["RequestItems"].as_object().into_iter().flat_map(|m| m.values()) {
                for r in reqs.as_array().into_iter().flatten() {
                    if let Some(item) = r.get("PutRequest").map(|p| &p["Item"]) {
                        add(kind_of_key(item));
                    } else if let Some(key) = r.get("DeleteRequest").map(|d| &d["Key"]) {
                        add(kind_of_key(key));
                    }
                }
            }
        }
        "TransactWriteItems" => {
            for t in request["TransactItems"].as_array().into_iter().flatten() {
                for (what, field) in [("Put", "Item"), ("Update", "Key"), ("Delete", "Key"), ("ConditionCheck", "Key")]
                {
                    if let Some(x) = t.get(what) {
                        add(kind_of_key(&x[field]));
                    }
                }
            }
        }
        _ => {}
    }
    kinds.join("+")
}

/// Keys a BatchGetItem asks for, and SQS messages a send carries.
fn batch_get_keys(request: &Value) -> u64 {
    request["RequestItems"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .map(|ka| ka["Keys"].as_array().map_or(0, Vec::len) as u64)
        .sum()
}

fn batch_get_found(response: &[u8]) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(response) else { return 0 };
    v["Responses"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .map(|a| a.as_array().map_or(0, Vec::len) as u64)
        .sum()
}

fn sqs_messages(op: &str, request: &Value) -> u64 {
    match op {
        "sqs:SendMessage" => 1,
        "sqs:SendMessageBatch" => request["Entries"].as_array().map_or(0, Vec::len) as u64,
        _ => 0,
    }
}

fn is_condition_failure(status: u16, response: &[u8]) -> bool {
    status == 400 && std::str::from_utf8(response).is_ok_and(|t| t.contains("ConditionalCheckFailed"))
}

fn consumed_units(body: &[u8]) -> f64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return 0.0 };
    let units = |c: &Value| c.get("CapacityUnits").and_then(Value::as_f64).unwrap_or(0.0);
    match v.get("ConsumedCapacity") {
        Some(Value::Array(a)) => a.iter().map(units).sum(),
        Some(c) => units(c),
        None => 0.0,
    }
}

fn count(tally: &Mutex<Tally>, op: &str, request: &Value, request_len: usize, status: u16, response: &[u8]) {
    let units = consumed_units(response);
    let label = match item_kind(op, request) {
        k if k.is_empty() => op.to_string(),
        k => format!("{op} {k}"),
    };
    let name = op.trim_start_matches("dynamodb:");
    let mut t = tally.lock().unwrap();
    *t.calls.entry(op.to_string()).or_default() += 1;
    *t.calls_by_item.entry(label.clone()).or_default() += 1;
    *t.request_bytes.entry(op.to_string()).or_default() += request_len as u64;
    if status >= 400 {
        *t.errors.entry(op.to_string()).or_default() += 1;
    }
    if is_condition_failure(status, response) {
        *t.condition_failures_by_item.entry(label.clone()).or_default() += 1;
    }
    if name == "BatchGetItem" {
        t.batch_get_keys += batch_get_keys(request);
        t.batch_get_found += batch_get_found(response);
    }
    t.sqs_messages_sent += sqs_messages(op, request);
    if units > 0.0 {
        let read = READ_OPS.contains(&name);
        let map = if read { &mut t.read_units } else { &mut t.write_units };
        *map.entry(op.to_string()).or_default() += units;
        let map = if read { &mut t.read_units_by_item } else { &mut t.write_units_by_item };
        *map.entry(label).or_default() += units;
    }
}

fn respond(status: u16, headers: &[(String, String)], body: Bytes) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(body)).expect("valid response")
}

fn json_response(v: &impl Serialize) -> Response<Full<Bytes>> {
    respond(
        200,
        &[("content-type".into(), "application/json".into())],
        Bytes::from(serde_json::to_vec(v).expect("serializes")),
    )
}

async fn handle(state: Arc<State>, role: Role, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    match role {
        Role::Receiver => {
            state.received.fetch_add(1, Ordering::Relaxed);
            let path = parts.uri.path().to_string();
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let webhook_id = header("webhook-id");
            let attempt = header("x-webhook-attempt").parse().unwrap_or(0);
            let at_ms = hookline::clock::Millis::now().0;
            let sleep = path.strip_prefix("/sleep/").and_then(|r| r.split('/').next()?.parse::<u64>().ok());
            if let Some(ms) = sleep {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let status =
                if path.starts_with("/fail-once/") && state.failed_once.lock().unwrap().insert(webhook_id.clone()) {
                    500
                } else {
                    200
                };
            state.log.lock().unwrap().push(Received { path, webhook_id, attempt, status, at_ms });
            let body: &'static [u8] = if status == 200 { b"ok" } else { b"temporarily unavailable" };
            respond(status, &[("content-type".into(), "text/plain".into())], Bytes::from_static(body))
        }
        Role::Control => match (parts.method.as_str(), parts.uri.path()) {
            ("GET", "/counts") => {
                let log = state.log.lock().unwrap();
                let mut ok = HashSet::new();
                let mut duplicates = 0;
                for r in log.iter().filter(|r| r.status < 300) {
                    if !ok.insert(r.webhook_id.as_str()) {
                        duplicates += 1;
                    }
                }
                json_response(&Counts {
                    record: state.record.lock().unwrap().clone(),
                    stub: state.stub.lock().unwrap().clone(),
                    received: state.received.load(Ordering::Relaxed),
                    received_ok: log.iter().filter(|r| r.status < 300).count() as u64,
                    duplicate_successes: duplicates,
                })
            }
            ("GET", "/received") => json_response(&*state.log.lock().unwrap()),
            ("POST", "/reset") => {
                *state.record.lock().unwrap() = Tally::default();
                *state.stub.lock().unwrap() = Tally::default();
                state.received.store(0, Ordering::Relaxed);
                state.log.lock().unwrap().clear();
                json_response(&"reset")
            }
            _ => respond(404, &[], Bytes::new()),
        },
        Role::Record | Role::Stub => {
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
            let op = call_operation(header("x-amz-target"), header("authorization"), &body, state.own_key.as_deref());
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let exact_key = format!("{op} {}", canonical(&parsed));
            let shape_key = format!("{op} {}", canonical(&shape(&parsed)));
            if role == Role::Stub {
                let (found, how) = if let Some(r) = state.exact.lock().unwrap().get(&exact_key).cloned() {
                    (Some(r), "exact")
                } else if let Some(r) = state.shape.lock().unwrap().get(&shape_key).cloned() {
                    (Some(r), "shape")
                } else if let Some(r) = state.by_op.lock().unwrap().get(&op).cloned() {
                    (Some(r), "operation")
                } else {
                    (None, "none")
                };
                *state.stub.lock().unwrap().matched.entry(how.to_string()).or_default() += 1;
                return match found {
                    Some(r) => {
                        count(&state.stub, &op, &parsed, body.len(), r.status, &r.body);
                        respond(r.status, &r.headers, r.body.clone())
                    }
                    None => {
                        count(&state.stub, &op, &parsed, body.len(), 200, b"{}");
                        respond(
                            200,
                            &[("content-type".into(), "application/x-amz-json-1.0".into())],
                            Bytes::from_static(b"{}"),
                        )
                    }
                };
            }
            let is_dynamodb = op.starts_with("dynamodb:");
            let upstream = if is_dynamodb { &state.dynamodb } else { &state.sqs };
            let mut forward = body.clone();
            if is_dynamodb && CAPACITY_OPS.contains(&op.trim_start_matches("dynamodb:")) {
                if let Value::Object(mut m) = parsed.clone() {
                    if !m.contains_key("ReturnConsumedCapacity") {
                        m.insert("ReturnConsumedCapacity".into(), Value::from("INDEXES"));
                        forward = Bytes::from(serde_json::to_vec(&m).expect("serializes"));
                    }
                }
            }
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut rb =
                state.client.request(parts.method.clone(), format!("{}{path}", upstream.trim_end_matches('/')));
            for (k, v) in &parts.headers {
                if k != "host" && k != "content-length" {
                    rb = rb.header(k, v);
                }
            }
            let answer = match rb.body(forward).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers: Vec<(String, String)> = resp
                        .headers()
                        .iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "content-length" | "transfer-encoding" | "connection"))
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    let body = resp.bytes().await.unwrap_or_default();
                    Recorded { status, headers, body }
                }
                Err(e) => Recorded { status: 502, headers: vec![], body: Bytes::from(format!("proxy: {e}")) },
            };
            count(&state.record, &op, &parsed, body.len(), answer.status, &answer.body);
            let answer = Arc::new(answer);
            let ok = answer.status < 400;
            state.exact.lock().unwrap().insert(exact_key, answer.clone());
            // Shape and operation fallbacks keep a successful answer once they have one.
            for (map, key) in [(&state.shape, shape_key), (&state.by_op, op)] {
                let mut map = map.lock().unwrap();
                if ok || !map.contains_key(&key) {
                    map.entry(key).and_modify(|r| *r = answer.clone()).or_insert_with(|| answer.clone());
                }
            }
            respond(answer.status, &answer.headers, answer.body.clone())
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, role: Role) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, role, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// Starts the four servers on loopback (inside the `bench-servers` process).
pub async fn run(dynamodb: String, sqs: String) -> std::io::Result<Ports> {
    let state = Arc::new(State {
        dynamodb,
        sqs,
        client: reqwest::Client::builder().no_proxy().build().expect("static client configuration"),
        own_key: std::env::var("AWS_ACCESS_KEY_ID").ok().filter(|k| !k.is_empty()),
        exact: Mutex::default(),
        shape: Mutex::default(),
        by_op: Mutex::default(),
        record: Mutex::default(),
        stub: Mutex::default(),
        received: AtomicU64::new(0),
        log: Mutex::default(),
        failed_once: Mutex::default(),
    });
    let mut ports = Vec::new();
    for role in [Role::Receiver, Role::Record, Role::Stub, Role::Control] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        ports.push(listener.local_addr()?.port());
        tokio::spawn(serve(listener, state.clone(), role));
    }
    Ok(Ports { receiver: ports[0], record: ports[1], stub: ports[2], control: ports[3] })
}

/// The `bench-servers` child process, seen from a benchmark.
pub struct Servers {
    child: Child,
    _stdin: ChildStdin,
    pub ports: Ports,
}

impl Servers {
    /// Starts `bench-servers` (next to the running binary) in front of the emulators.
    pub fn spawn(dynamodb: &str, sqs: &str) -> std::io::Result<Servers> {
        let exe = std::env::current_exe()?.with_file_name("bench-servers");
        let mut child = Command::new(&exe)
            .args([dynamodb, sqs])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", exe.display())))?;
        let stdin = child.stdin.take().expect("piped");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let ports: Ports = serde_json::from_str(line.trim())
            .map_err(|e| std::io::Error::other(format!("bench-servers said {line:?}: {e}")))?;
        Ok(Servers { child, _stdin: stdin, ports })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A URL on the receiver; paths `/sleep/<ms>/…` answer after that long.
    pub fn receiver_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports.receiver)
    }

    pub fn record_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.record)
    }

    pub fn stub_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.stub)
    }

    /// A client of the control port; a new one per call, so that any runtime may use it.
    fn http() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().expect("static client configuration")
    }

    pub async fn counts(&self) -> Counts {
        let url = format!("http://127.0.0.1:{}/counts", self.ports.control);
        let bytes = Self::http().get(url).send().await.expect("control").bytes().await.expect("counts");
        serde_json::from_slice(&bytes).expect("counts JSON")
    }

    /// Every request the receiver got since the last reset.
    pub async fn received(&self) -> Vec<Received> {
        let url = format!("http://127.0.0.1:{}/received", self.ports.control);
        let bytes = Self::http().get(url).send().await.expect("control").bytes().await.expect("log");
        serde_json::from_slice(&bytes).expect("log JSON")
    }

    pub async fn reset(&self) {
        let url = format!("http://127.0.0.1:{}/reset", self.ports.control);
        Self::http().post(url).send().await.expect("control");
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a = json!({"Keys": [{"pk": {"S": "a"}, "sk": {"S": "b"}}], "ConsistentRead": true});
        let b = json!({"ConsistentRead": true, "Keys": [{"sk": {"S": "b"}, "pk": {"S": "a"}}]});
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn shape_keeps_expressions_and_blanks_values() {
        let a = json!({"TableName": "t", "UpdateExpression": "SET l = :l", "ExpressionAttributeValues": {":l": {"N": "5"}}});
        let b = json!({"TableName": "t", "UpdateExpression": "SET l = :l", "ExpressionAttributeValues": {":l": {"N": "9"}}});
        let c =
            json!({"TableName": "t", "UpdateExpression": "ADD x :l", "ExpressionAttributeValues": {":l": {"N": "9"}}});
        assert_eq!(canonical(&shape(&a)), canonical(&shape(&b)));
        assert_ne!(canonical(&shape(&a)), canonical(&shape(&c)));
        assert_eq!(operation("DynamoDB_20120810.PutItem"), "dynamodb:PutItem");
        assert_eq!(operation("AmazonSQS.SendMessageBatch"), "sqs:SendMessageBatch");
    }

    #[test]
    fn names_the_kind_of_item_a_call_touches() {
        let put = json!({"Item": {"pk": {"S": "CLAIM#msg_x.10"}, "sk": {"S": "CLAIM"}}});
        assert_eq!(item_kind("dynamodb:PutItem", &put), "CLAIM");
        let upd = json!({"Key": {"pk": {"S": "PRJ#7"}, "sk": {"S": "WH#wh_x"}}});
        assert_eq!(item_kind("dynamodb:UpdateItem", &upd), "PRJ/WH");
        let get = json!({"RequestItems": {"t": {"Keys": [
            {"pk": {"S": "EVT#7"}, "sk": {"S": "evt_x"}},
            {"pk": {"S": "PRJ#7"}, "sk": {"S": "WH#wh_x"}},
            {"pk": {"S": "DLV#7#wh_x#G"}, "sk": {"S": "msg_x"}},
            {"pk": {"S": "DLV#7#wh_y#G"}, "sk": {"S": "msg_y"}}
        ]}}});
        assert_eq!(item_kind("dynamodb:BatchGetItem", &get), "EVT+PRJ/WH+DLV");
        assert_eq!(batch_get_keys(&get), 4);
        let q = json!({"ExpressionAttributeValues": {":pk": {"S": "PRJ#7"}, ":low": {"S": "WH#"}}});
        assert_eq!(item_kind("dynamodb:Query", &q), "PRJ/WH");
        assert_eq!(item_kind("sqs:SendMessageBatch", &json!({"Entries": [1, 2]})), "");
        assert_eq!(sqs_messages("sqs:SendMessageBatch", &json!({"Entries": [1, 2]})), 2);
        assert!(is_condition_failure(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}"#
        ));
    }

    #[test]
    fn names_query_protocol_calls_and_calls_signed_with_an_assumed_role() {
        let own = Some("local");
        let auth = |key: &str, service: &str| {
            format!("AWS4-HMAC-SHA256 Credential={key}/20261205/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x")
        };
        let assume = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr";
        assert_eq!(call_operation("", &auth("local", "sts"), assume, own), "sts:AssumeRole");
        assert_eq!(
            call_operation("AmazonSQS.SendMessageBatch", &auth("local", "sqs"), b"{}", own),
            "sqs:SendMessageBatch"
        );
        assert_eq!(
            call_operation("AmazonSQS.SendMessage", &auth("ASIAEXAMPLE", "sqs"), b"{}", own),
            "customer:sqs:SendMessage"
        );
        assert_eq!(
            call_operation("AmazonSQS.SendMessage", &auth("ASIAEXAMPLE", "sqs"), b"{}", None),
            "sqs:SendMessage"
        );
        assert_eq!(call_operation("", "", b"", own), "other:");
    }

    #[test]
    fn reads_consumed_capacity_of_single_and_batch_answers() {
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":{"CapacityUnits":6.0}}"#), 6.0);
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":[{"CapacityUnits":2.0},{"CapacityUnits":1.5}]}"#), 3.5);
        assert_eq!(consumed_units(b"{}"), 0.0);
    }
}
