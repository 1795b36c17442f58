//! The loopback servers a benchmark talks to, run in their own process
//! (`bench-servers`) so that their CPU time never counts as the function's:
//!
//! - **receiver**: a webhook receiver that answers 200 at once (or, for paths
//!   `/sleep/<ms>/…`, after that many milliseconds) and counts what it got;
//! - **record**: a DynamoDB/SQS proxy in front of the emulators that forwards
//!   each call, counts it by operation (`X-Amz-Target`), asks DynamoDB Local for
//!   the consumed capacity (`ReturnConsumedCapacity: INDEXES`, added on the way)
//!   and records the answer keyed by the operation and the request;
//! - **stub**: answers the same operations instantly from those recordings (the
//!   exact request if it was seen, else one of the same shape, else one of the same
//!   operation), counting calls without the wait: storage "counted but not waited on";
//! - **control**: `GET /counts`, `POST /reset`.

use std::collections::{BTreeMap, HashMap};
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

    /// `dynamodb:GetItem ×2, sqs:SendMessageBatch ×1` per `per` units of work.
    pub fn describe_per(&self, per: f64) -> String {
        self.calls.iter().map(|(k, v)| format!("{k} {:.2}", *v as f64 / per)).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub record: Tally,
    pub stub: Tally,
    pub received: u64,
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
    exact: Mutex<HashMap<String, Arc<Recorded>>>,
    shape: Mutex<HashMap<String, Arc<Recorded>>>,
    by_op: Mutex<HashMap<String, Arc<Recorded>>>,
    record: Mutex<Tally>,
    stub: Mutex<Tally>,
    received: AtomicU64,
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

fn consumed_units(body: &[u8]) -> f64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return 0.0 };
    let units = |c: &Value| c.get("CapacityUnits").and_then(Value::as_f64).unwrap_or(0.0);
    match v.get("ConsumedCapacity") {
        Some(Value::Array(a)) => a.iter().map(units).sum(),
        Some(c) => units(c),
        None => 0.0,
    }
}

fn count(tally: &Mutex<Tally>, op: &str, request_len: usize, status: u16, response: &[u8]) {
    let units = consumed_units(response);
    let mut t = tally.lock().unwrap();
    *t.calls.entry(op.to_string()).or_default() += 1;
    *t.request_bytes.entry(op.to_string()).or_default() += request_len as u64;
    if status >= 400 {
        *t.errors.entry(op.to_string()).or_default() += 1;
    }
    if units > 0.0 {
        let name = op.trim_start_matches("dynamodb:");
        let map = if READ_OPS.contains(&name) { &mut t.read_units } else { &mut t.write_units };
        *map.entry(op.to_string()).or_default() += units;
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
            let sleep = parts.uri.path().strip_prefix("/sleep/").and_then(|r| r.split('/').next()?.parse::<u64>().ok());
            if let Some(ms) = sleep {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            respond(200, &[("content-type".into(), "text/plain".into())], Bytes::from_static(b"ok"))
        }
        Role::Control => match (parts.method.as_str(), parts.uri.path()) {
            ("GET", "/counts") => json_response(&Counts {
                record: state.record.lock().unwrap().clone(),
                stub: state.stub.lock().unwrap().clone(),
                received: state.received.load(Ordering::Relaxed),
            }),
            ("POST", "/reset") => {
                *state.record.lock().unwrap() = Tally::default();
                *state.stub.lock().unwrap() = Tally::default();
                state.received.store(0, Ordering::Relaxed);
                json_response(&"reset")
            }
            _ => respond(404, &[], Bytes::new()),
        },
        Role::Record | Role::Stub => {
            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let op = operation(&target);
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
                        count(&state.stub, &op, body.len(), r.status, &r.body);
                        respond(r.status, &r.headers, r.body.clone())
                    }
                    None => {
                        count(&state.stub, &op, body.len(), 200, b"{}");
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
            count(&state.record, &op, body.len(), answer.status, &answer.body);
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
        exact: Mutex::default(),
        shape: Mutex::default(),
        by_op: Mutex::default(),
        record: Mutex::default(),
        stub: Mutex::default(),
        received: AtomicU64::new(0),
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
    fn reads_consumed_capacity_of_single_and_batch_answers() {
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":{"CapacityUnits":6.0}}"#), 6.0);
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":[{"CapacityUnits":2.0},{"CapacityUnits":1.5}]}"#), 3.5);
        assert_eq!(consumed_units(b"{}"), 0.0);
    }
}
