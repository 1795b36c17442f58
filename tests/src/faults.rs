//! A fault-injection proxy for the AWS clients, on loopback: both the DynamoDB and
//! the SQS client of a test's `App` talk to it, and it forwards each call to the right
//! emulator (by `X-Amz-Target`: DynamoDB's to DynamoDB Local, all others to moto) unless a
//! rule says otherwise. Rules name an operation (`PutItem`, `SendMessageBatch`, … or `*`;
//! for query-protocol services such as STS, the form body's `Action`, e.g. `AssumeRole`)
//! and what happens to its next calls:
//! - `Fail`: answered at once with a 500 (an outage the SDK sees);
//! - `Hang`: never answered (a paused emulator); the client's timeouts must fire;
//! - `Lose`: forwarded, then the connection drops before the answer (the write landed,
//!   the caller cannot know: a crash right after the call);
//! - `Late(d)`: held for `d`, then forwarded (a write that lands after its caller gave up).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Fail,
    Hang,
    Lose,
    Late(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    op: String,
    mode: Mode,
    /// Matching calls let through before the rule applies.
    skip: usize,
    /// Calls it applies to; `None` until cleared.
    times: Option<usize>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Calls seen per operation.
    seen: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

enum Verdict {
    Pass,
    Apply(Mode),
}

impl FaultProxy {
    /// Starts a proxy in front of the emulators named by `AWS_ENDPOINT_URL_DYNAMODB`
    /// and `AWS_ENDPOINT_URL_SQS`.
    pub async fn start() -> FaultProxy {
        let dynamo = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("emulators");
        let sqs = std::env::var("AWS_ENDPOINT_URL_SQS").expect("emulators");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (st, client, dynamo, sqs) = (st.clone(), client.clone(), dynamo.clone(), sqs.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (st, client, dynamo, sqs) = (st.clone(), client.clone(), dynamo.clone(), sqs.clone());
                        async move {
                            let target = req
                                .headers()
                                .get("x-amz-target")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let (service, op) = target.split_once('.').unwrap_or(("", ""));
                            let upstream = if service.starts_with("DynamoDB") { dynamo } else { sqs };
                            let (mut parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let op =
                                if target.is_empty() { query_action(&parts.headers, &body) } else { op.to_string() };
                            let verdict = judge(&st, &op);
                            let forward = |parts: hyper::http::request::Parts, body: Bytes| {
                                let mut parts = parts;
                                let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                                parts.uri = format!("{upstream}{path}").parse().expect("upstream URI");
                                client.request(hyper::Request::from_parts(parts, Full::new(body)))
                            };
                            match verdict {
                                Verdict::Apply(Mode::Fail) => {
                                    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}"#;
                                    return Ok::<_, String>(
                                        hyper::Response::builder()
                                            .status(500)
                                            .header("content-type", "application/x-amz-json-1.0")
                                            .body(Full::new(Bytes::from(body)))
                                            .unwrap(),
                                    );
                                }
                                Verdict::Apply(Mode::Hang) => {
                                    tokio::time::sleep(Duration::from_secs(600)).await;
                                    return Err("hung".to_string());
                                }
                                Verdict::Apply(Mode::Late(d)) => tokio::time::sleep(d).await,
                                _ => {}
                            }
                            parts.headers.remove("host");
                            let answer = forward(parts, body).await.map_err(|e| e.to_string())?;
                            if matches!(verdict, Verdict::Apply(Mode::Lose)) {
                                // The call landed; the caller never hears so.
                                return Err("lost".to_string());
                            }
                            let (parts, body) = answer.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            Ok(hyper::Response::from_parts(parts, Full::new(body)))
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        FaultProxy { url, state }
    }

    /// From now on, `op`'s calls get `mode` (until `clear`).
    pub fn always(&self, op: &str, mode: Mode) {
        self.add(Rule { op: op.into(), mode, skip: 0, times: None });
    }

    /// The next `times` calls of `op` get `mode`.
    pub fn next(&self, op: &str, mode: Mode, times: usize) {
        self.add(Rule { op: op.into(), mode, skip: 0, times: Some(times) });
    }

    /// After `skip` more calls of `op` pass, the following `times` get `mode`.
    pub fn after(&self, op: &str, skip: usize, mode: Mode, times: usize) {
        self.add(Rule { op: op.into(), mode, skip, times: Some(times) });
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Calls of `op` seen so far.
    pub fn seen(&self, op: &str) -> usize {
        self.state.lock().unwrap().seen.get(op).copied().unwrap_or(0)
    }

    fn add(&self, rule: Rule) {
        self.state.lock().unwrap().rules.push(rule);
    }
}

/// The operation of a query-protocol call (STS, SNS, IAM): the `Action` of its
/// form-encoded body; empty for anything else.
fn query_action(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return String::new();
    }
    form_urlencoded::parse(body).find(|(k, _)| k == "Action").map(|(_, v)| v.into_owned()).unwrap_or_default()
}

fn judge(state: &Mutex<State>, op: &str) -> Verdict {
    let mut st = state.lock().unwrap();
    *st.seen.entry(op.to_string()).or_default() += 1;
    for rule in st.rules.iter_mut() {
        if rule.op != op && rule.op != "*" {
            continue;
        }
        if rule.times == Some(0) {
            continue;
        }
        if rule.skip > 0 {
            rule.skip -= 1;
            continue;
        }
        if let Some(t) = rule.times.as_mut() {
            *t -= 1;
        }
        return Verdict::Apply(rule.mode);
    }
    Verdict::Pass
}
