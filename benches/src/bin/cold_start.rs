//! Cold starts of the four functions' release binaries, each run as Lambda runs
//! it: a fresh process with `AWS_LAMBDA_RUNTIME_API` pointing at a fake Lambda
//! Runtime API served here, which hands out one event and notes when the answer
//! comes back. Measured per run:
//!
//! - init: process start → first `GET /2018-06-01/runtime/invocation/next`;
//! - first event: process start → `POST …/invocation/{id}/response`;
//! - peak RSS: `VmHWM` from /proc right before the process is killed (and
//!   `ru_maxrss` from `wait4`), and the CPU time the process used;
//! - the binary's size;
//! - the storage calls of the first event (one more run, through the counting proxy).
//!
//! The first event touches storage as a real one does (DynamoDB Local and moto on
//! loopback) and, for `delivery`, posts to a loopback receiver.
//! `HOOKLINE_BENCH_FUNCTIONS_DIR` says where the binaries are (default: next to this one).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookline::clock::Millis;
use hookline::ids::{EventId, ProjectId};
use hookline::model::{Event, Target, Webhook};
use hookline::service::intake::first_wakes;
use hookline::store::EventRecord;
use hookline::App;
use hookline_benches::results::{self, ColdStart};
use hookline_benches::rusage::{proc_memory, wait_child};
use hookline_benches::stack::{self, BoxError};
use hookline_benches::{data, stats};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::Notify;

const RUNS: usize = 10;
const FUNCTIONS: [&str; 4] = ["config-api", "event-intake", "delivery", "test-trigger"];

/// One invocation handed to one process, and what came of it.
struct Invocation {
    event: Bytes,
    function: String,
    handed_out: Mutex<Option<Instant>>,
    answered: Mutex<Option<(Instant, String, Bytes)>>,
    done: Notify,
}

async fn runtime_api(inv: Arc<Invocation>, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_string();
    if parts.method == hyper::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let first = {
            let mut h = inv.handed_out.lock().unwrap();
            let first = h.is_none();
            if first {
                *h = Some(Instant::now());
            }
            first
        };
        if !first {
            // One event per process: the next poll waits until the process is killed.
            std::future::pending::<()>().await;
        }
        return hyper::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", "bench-request-1")
            .header("lambda-runtime-deadline-ms", (Millis::now().0 + 60_000).to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                format!("arn:aws:lambda:us-east-1:123456789012:function:hookline-{}", inv.function),
            )
            .header("lambda-runtime-trace-id", "Root=1-6b04516e-8101583421127fa9d3d72842;Parent=1;Sampled=0")
            .body(Full::new(inv.event.clone()))
            .expect("valid response");
    }
    if parts.method == hyper::Method::POST
        && (path.ends_with("/response") || path.ends_with("/error") || path == "/2018-06-01/runtime/init/error")
    {
        let kind = if path.ends_with("/response") { "response" } else { "error" };
        inv.answered.lock().unwrap().get_or_insert((Instant::now(), kind.to_string(), body));
        inv.done.notify_one();
        return hyper::Response::builder().status(202).body(Full::new(Bytes::from_static(b"{}"))).expect("valid");
    }
    hyper::Response::builder().status(404).body(Full::new(Bytes::new())).expect("valid")
}

/// A fake Runtime API on loopback for one invocation; returns its `host:port`.
async fn serve_runtime_api(inv: Arc<Invocation>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let inv = inv.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let inv = inv.clone();
                    async move { Ok::<_, std::convert::Infallible>(runtime_api(inv, req).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    Ok(addr)
}

/// An API Gateway HTTP API (payload 2.0) event.
fn http_event(method: &str, path: &str, key: &str, body: Option<String>) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "authorization": format!("Bearer {key}"),
            "content-type": "application/json",
            "host": "bench.execute-api.us-east-1.amazonaws.com",
            "user-agent": "hookline-bench"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "hookline-bench"},
            "requestId": "bench-request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:14:45:02 +0000",
            "timeEpoch": Millis::now().0
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn sqs_event(body: String) -> Value {
    json!({"Records": [{
        "messageId": format!("bench-{}", rand::random::<u32>()),
        "receiptHandle": "bench-receipt",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": Millis::now().0.to_string(),
                       "SenderId": "bench", "ApproximateFirstReceiveTimestamp": Millis::now().0.to_string()},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hookline-bench",
        "awsRegion": "us-east-1"
    }]})
}

struct Fixture {
    app: App,
    pid: ProjectId,
    key: String,
    webhook: Webhook,
}

/// The event a function gets; for `delivery`, a fresh pending delivery to the receiver.
async fn event_for(function: &str, f: &Fixture) -> Result<Value, BoxError> {
    let body = json!({"event_type": "submission.completed", "data": data::event_data(1024)}).to_string();
    Ok(match function {
        "config-api" => http_event("GET", &format!("/api/v1/projects/{}", f.pid), &f.key, None),
        "event-intake" => http_event("POST", "/api/v1/events", &f.key, Some(body)),
        "test-trigger" => {
            http_event("POST", &format!("/api/v1/projects/{}/webhooks/{}/test", f.pid, f.webhook.id), &f.key, None)
        }
        _ => {
            // What the intake does for an event with one webhook: the event written, and
            // its wake-up (a group of one first attempt) as the queue would carry it.
            let now = Millis::now();
            let event = Event {
                id: EventId::new(now),
                project_id: f.pid,
                client_id: Some(19_817_472),
                event_type: "submission.completed".into(),
                session_id: None,
                data: data::raw_data(1024),
                received_at: now,
                fan_out: vec![Target { webhook_id: f.webhook.id.clone(), generation: f.webhook.generation.clone() }],
                test: false,
                ordering_key: None,
                after: Vec::new(),
            };
            f.app.store.put_event(&EventRecord { event: &event, expires: f.app.expires(now), writer: "bench" }).await?;
            let wake = first_wakes(f.pid, &[&event], false, now).remove(0);
            sqs_event(serde_json::to_string(&wake.message)?)
        }
    })
}

struct Run {
    init: Duration,
    first_event: Duration,
    first_invoke: Duration,
    peak_rss_kib: u64,
    cpu: Duration,
    status: String,
}

async fn cold_start(bin: &PathBuf, function: &str, event: Value, env: &[(String, String)]) -> Result<Run, BoxError> {
    let inv = Arc::new(Invocation {
        event: Bytes::from(event.to_string()),
        function: function.to_string(),
        handed_out: Mutex::new(None),
        answered: Mutex::new(None),
        done: Notify::new(),
    });
    let api = serve_runtime_api(inv.clone()).await?;
    let log = std::fs::File::create(results::out_dir().join(format!("cold-start-{function}.log")))?;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("hookline-{function}"))
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/hookline-{function}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let pid = child.id();
    let waited = tokio::time::timeout(Duration::from_secs(20), inv.done.notified()).await;
    let memory = proc_memory(pid);
    let _ = child.kill();
    let usage = wait_child(pid);
    if waited.is_err() {
        return Err(format!("{function}: no answer within 20 s (see cold-start-{function}.log)").into());
    }
    let (answered, kind, body) = inv.answered.lock().unwrap().clone().ok_or("no answer")?;
    let handed_out = inv.handed_out.lock().unwrap().ok_or("never asked for an event")?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let status = match (kind.as_str(), v.get("statusCode"), v.get("batchItemFailures")) {
        ("response", Some(code), _) => format!("HTTP {code}"),
        ("response", None, Some(Value::Array(f))) => format!("{} batch item failures", f.len()),
        _ => format!("{kind}: {}", String::from_utf8_lossy(&body)),
    };
    let hwm = memory.map(|m| m.0).unwrap_or(0);
    Ok(Run {
        init: handed_out - started,
        first_event: answered - started,
        first_invoke: answered - handed_out,
        peak_rss_kib: hwm.max(usage.map_or(0, |u| u.max_rss_kib)),
        cpu: usage.map_or(Duration::ZERO, |u| u.cpu),
        status,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (emulators, servers, base, table) = stack::start("bench-cold").await?;
    let queue_url = stack::create_queue(&base, &table).await?;
    let app = App::new(stack::settings(&table, &queue_url), &base);
    let (pid, key) = stack::create_project(&app, "cold start").await?;
    let webhook = stack::create_webhooks(&app, pid, 1, &servers.receiver_url("/hook"), None).await?.remove(0);
    let fixture = Fixture { app, pid, key, webhook };
    std::fs::create_dir_all(results::out_dir())?;

    let dir = std::env::var_os("HOOKLINE_BENCH_FUNCTIONS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::current_exe().expect("own path").with_file_name(""));
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]0123456789abcdef"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_SESSION_TOKEN", "local"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TZ", ":UTC"),
        ("RUST_LOG", "info"),
        ("HOOKLINE_ALLOW_HTTP", "true"),
        ("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "true"),
        ("HOOKLINE_RATE_LIMIT_PER_MINUTE", "60000"),
        ("HOOKLINE_RATE_LIMIT_BURST", "1000000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), emulators.dynamodb.clone()));
    env.push(("AWS_ENDPOINT_URL_SQS".into(), emulators.sqs.clone()));
    env.push(("HOOKLINE_TABLE".into(), table.clone()));
    env.push(("HOOKLINE_QUEUE_URL".into(), queue_url.clone()));
    env.push(("HOOKLINE_ADMIN_TOKEN".into(), stack::ADMIN_TOKEN.into()));

    println!(
        "cold start: {RUNS} runs per function after one unmeasured run (page cache), storage on loopback emulators"
    );
    let mut out = Vec::new();
    for function in FUNCTIONS {
        let bin = dir.join(function);
        let size = std::fs::metadata(&bin).map_err(|e| format!("{}: {e} (build with --release)", bin.display()))?.len();
        cold_start(&bin, function, event_for(function, &fixture).await?, &env).await?;
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(cold_start(&bin, function, event_for(function, &fixture).await?, &env).await?);
        }
        // One more run with storage through the counting proxy: what the first event calls.
        let proxied: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| match k.as_str() {
                "AWS_ENDPOINT_URL_DYNAMODB" | "AWS_ENDPOINT_URL_SQS" => (k.clone(), servers.record_url()),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        let event = event_for(function, &fixture).await?;
        servers.reset().await;
        cold_start(&bin, function, event, &proxied).await?;
        let first_event_calls = servers.counts().await.record.calls_by_item;
        let statuses: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.status.as_str()).collect();
        let c = ColdStart {
            function: function.to_string(),
            binary_bytes: size,
            event: match function {
                "config-api" => "GET /api/v1/projects/{id}",
                "event-intake" => "POST /api/v1/events (fan-out 1)",
                "test-trigger" => "POST /api/v1/projects/{id}/webhooks/{id}/test",
                _ => "SQS batch of 1 delivery, receiver on loopback",
            }
            .to_string(),
            status: statuses.into_iter().collect::<Vec<_>>().join(", "),
            init_ms: stats::summarize(&runs.iter().map(|r| r.init).collect::<Vec<_>>()),
            first_event_ms: stats::summarize(&runs.iter().map(|r| r.first_event).collect::<Vec<_>>()),
            first_invoke_ms: stats::summarize(&runs.iter().map(|r| r.first_invoke).collect::<Vec<_>>()),
            peak_rss_kib: runs.iter().map(|r| r.peak_rss_kib).collect(),
            cpu_ms: runs.iter().map(|r| r.cpu.as_secs_f64() * 1000.0).collect(),
            first_event_calls,
        };
        let max_rss = c.peak_rss_kib.iter().max().copied().unwrap_or(0);
        let mut cpu = c.cpu_ms.clone();
        cpu.sort_by(f64::total_cmp);
        println!(
            "{function:<13} binary {:>5.1} MiB  init p50 {:>5.1} ms  first event p50 {:>5.1} ms (min {:.1}, max {:.1})  first invoke p50 {:>5.1} ms  peak RSS max {:>5.1} MiB  CPU p50 {:.1} ms  [{}]",
            size as f64 / 1048576.0,
            c.init_ms.p50_ms,
            c.first_event_ms.p50_ms,
            c.first_event_ms.min_ms,
            c.first_event_ms.max_ms,
            c.first_invoke_ms.p50_ms,
            max_rss as f64 / 1024.0,
            cpu[cpu.len() / 2],
            c.status
        );
        println!("  storage calls of the first event: {:?}", c.first_event_calls);
        out.push(c);
    }
    let path = results::write("cold_start", &out)?;
    println!("figures written to {}", path.display());
    drop(servers);
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}
