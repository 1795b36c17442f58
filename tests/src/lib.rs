//! Harness for the integration tests: each test gets its own table and queues
//! in the emulators started by `scripts/test.sh`, calls the real handlers through
//! the same router as the local stack, and watches a real receiver on loopback.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sqs::types::QueueAttributeName;
use bytes::Bytes;
use futures::future::BoxFuture;
use hookline::config::Settings;
use hookline::credentials::sha256_hex;
use hookline::sender::Sender;
use hookline::App;
use hookline_local::{poller, resources, router, template};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use serde_json::{json, Value};

pub mod faults;
pub mod pki;
pub mod process;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A short visibility timeout (seconds) so failed messages come back within a test.
const SHORT_VISIBILITY: u32 = 2;

pub struct Stack {
    pub app: App,
    pub sender: Sender,
    pub queues: resources::Queues,
    /// The name of its table and of its delivery queue.
    pub name: String,
    /// The delivery queue's visibility timeout, in seconds.
    pub visibility_timeout: u32,
}

/// Settings as the local stack uses them: plain http and loopback allowed.
pub fn local_settings() -> Settings {
    Settings {
        admin_token_sha256: Some(sha256_hex(ADMIN_TOKEN)),
        allow_http: true,
        allow_private_destinations: true,
        retry_schedule: vec![Duration::from_secs(1), Duration::from_secs(1)],
        delivery_timeout: Duration::from_secs(5),
        // A crashed claim expires within a test's patience.
        lease_margin: Duration::from_secs(1),
        ..Settings::default()
    }
}

/// A response whose body is not JSON (the dashboard, the document).
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

impl Answer {
    pub fn result(&self) -> &Value {
        &self.body["result"]
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::with_settings(local_settings()).await
    }

    pub async fn with_settings(settings: Settings) -> Stack {
        Stack::build(settings, None, SHORT_VISIBILITY).await
    }

    /// A stack whose delivery queue hides a received message for `secs` seconds.
    pub async fn with_visibility(settings: Settings, secs: u32) -> Stack {
        Stack::build(settings, None, secs).await
    }

    /// A stack whose DynamoDB and SQS calls go through a fault-injection proxy.
    pub async fn with_faults(settings: Settings) -> (Stack, faults::FaultProxy) {
        let proxy = faults::FaultProxy::start().await;
        (Stack::build(settings, Some(&proxy.url), SHORT_VISIBILITY).await, proxy)
    }

    async fn build(mut settings: Settings, endpoint: Option<&str>, visibility_timeout: u32) -> Stack {
        assert!(
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok() && std::env::var("AWS_ENDPOINT_URL_SQS").is_ok(),
            "integration tests need the emulators: run them with scripts/test.sh"
        );
        let name = format!("hookline-{:016x}", rand::random::<u64>());
        settings.table = name.clone();
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let defs = template::load(&template::default_path()).expect("template.yaml");
        resources::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &settings.table, &defs)
            .await
            .expect("create table");
        let queues = resources::create_queues(&aws_sdk_sqs::Client::new(&sdk), &name, &defs, Some(visibility_timeout))
            .await
            .expect("create queues");
        settings.queue_url = queues.delivery_url.clone();
        settings.dead_letter_queue_url = Some(queues.dead_letter_url.clone());
        let sender = Sender::new(&settings);
        Stack { app: App::with_endpoint(settings, &sdk, endpoint), sender, queues, name, visibility_timeout }
    }

    /// Sends a request through the router, as API Gateway would.
    pub async fn call(&self, method: &str, path: &str, auth: Option<&str>, body: Option<Value>) -> Answer {
        self.send(client_request(method, path, auth, body).map(|b| b.map_or(Body::Empty, Body::Text))).await
    }

    pub async fn send(&self, req: lambda_http::Request) -> Answer {
        let raw = self.route_raw(req).await;
        let body = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
        Answer { status: raw.status, headers: raw.headers, body }
    }

    /// A GET without credentials, its body as bytes.
    pub async fn get_raw(&self, path: &str) -> RawAnswer {
        self.request_raw("GET", path).await
    }

    /// A request without credentials or body, its answer's body as bytes.
    pub async fn request_raw(&self, method: &str, path: &str) -> RawAnswer {
        self.route_raw(http::Request::builder().method(method).uri(path).body(Body::Empty).unwrap()).await
    }

    /// Sends a request through the router; the answer's body as bytes.
    pub async fn route_raw(&self, req: lambda_http::Request) -> RawAnswer {
        // Boxed: the router's future is deep, and helpers that nest calls would otherwise
        // overflow the compiler's query depth when it computes their layout.
        let resp = Box::pin(router::route(&self.app, req)).await;
        let status = resp.status().as_u16();
        let headers = header_map(resp.headers());
        let body = match resp.body() {
            Body::Text(t) => t.clone().into_bytes(),
            Body::Binary(b) => b.clone(),
            _ => Vec::new(),
        };
        RawAnswer { status, headers, body }
    }

    /// Creates a project with the admin token; returns its id and API key.
    pub async fn project(&self, name: &str) -> (u64, String) {
        let a = self
            .call("POST", "/api/v1/projects", Some(ADMIN_TOKEN), Some(json!({"name": name, "client_id": 19817472})))
            .await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        (a.result()["project_id"].as_u64().unwrap(), a.result()["api_key"].as_str().unwrap().to_string())
    }

    pub async fn webhook(&self, pid: u64, key: &str, body: Value) -> Value {
        let a = self.call("POST", &format!("/api/v1/projects/{pid}/webhooks"), Some(key), Some(body)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.result().clone()
    }

    pub async fn event(&self, key: &str, event_type: &str, data: Value) -> Answer {
        self.call("POST", "/api/v1/events", Some(key), Some(json!({"event_type": event_type, "data": data}))).await
    }

    /// Sends a batch of events (`body` is the request's, `{"events": [...]}`).
    pub async fn batch(&self, key: &str, body: Value) -> Answer {
        self.call("POST", "/api/v1/events/batch", Some(key), Some(body)).await
    }

    /// A POST of `body` (JSON text) to `path` with the `Idempotency-Key` header.
    pub async fn post_idempotent(&self, key: &str, path: &str, idempotency_key: &str, body: String) -> Answer {
        let req = http::Request::builder()
            .method("POST")
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key)
            .body(Body::Text(body))
            .unwrap();
        self.send(req).await
    }

    /// A POST of `body` (JSON text, sent as it is) to `path` with a bearer credential.
    pub async fn post_text(&self, key: &str, path: &str, body: String) -> Answer {
        let req = http::Request::builder()
            .method("POST")
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::Text(body))
            .unwrap();
        self.send(req).await
    }

    /// Sends an event and returns the id it was given.
    pub async fn event_id(&self, key: &str, event_type: &str, data: Value) -> String {
        self.event(key, event_type, data).await.result()["event_id"].as_str().unwrap().to_string()
    }

    /// A project "Acme" with one webhook "r" to a new receiver that answers as `plans`
    /// say; the project's id and API key, the receiver, and the webhook as created.
    pub async fn project_with_receiver(&self, plans: Vec<Plan>) -> (u64, String, Receiver, Value) {
        let rx = Receiver::start(plans).await;
        let (pid, key) = self.project("Acme").await;
        let wh = self.webhook(pid, &key, json!({"name": "r", "url": rx.url("/")})).await;
        (pid, key, rx, wh)
    }

    /// A GET with `key` that must answer 200; its `result`.
    pub async fn get_ok(&self, key: &str, path: &str) -> Value {
        let a = self.call("GET", path, Some(key), None).await;
        assert_eq!(a.status, 200, "GET {path}: {:?}", a.body);
        a.result().clone()
    }

    /// The project's events, as listed (newest first): their ids.
    pub async fn listed_events(&self, key: &str, pid: u64) -> Vec<String> {
        let list = self.get_ok(key, &format!("/api/v1/projects/{pid}/events")).await;
        list["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
    }

    /// An event's detail, its deliveries included.
    pub async fn event_detail(&self, key: &str, pid: u64, event_id: &str) -> Value {
        self.get_ok(key, &format!("/api/v1/projects/{pid}/events/{event_id}")).await
    }

    /// An event's deliveries, as its detail lists them.
    pub async fn event_deliveries(&self, key: &str, pid: u64, event_id: &str) -> Vec<Value> {
        self.event_detail(key, pid, event_id).await["deliveries"].as_array().unwrap().clone()
    }

    /// A delivery's detail, its attempts log included.
    pub async fn delivery_detail(&self, key: &str, pid: u64, id: &str) -> Value {
        self.get_ok(key, &format!("/api/v1/projects/{pid}/deliveries/{id}")).await
    }

    /// Asks for a delivery to be sent again by hand.
    pub async fn resend(&self, key: &str, pid: u64, id: &str) -> Answer {
        self.call("POST", &format!("/api/v1/projects/{pid}/deliveries/{id}/retry"), Some(key), None).await
    }

    /// A webhook as the API shows it.
    pub async fn webhook_detail(&self, key: &str, pid: u64, id: &str) -> Value {
        self.get_ok(key, &format!("/api/v1/projects/{pid}/webhooks/{id}")).await
    }

    /// Runs the queue through the delivery handler until `done` holds (or panics after `limit`).
    pub async fn pump_until(&self, limit: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < limit, "condition not reached within {limit:?}");
            poller::poll_once(&self.app, &self.sender, Duration::from_secs(1)).await.expect("poll");
        }
    }

    /// Takes `n` messages off the delivery queue without handling them; returns their bodies.
    pub async fn take_messages(&self, n: usize) -> Vec<String> {
        let sqs = self.app.queue.client();
        let mut bodies = Vec::new();
        for _ in 0..20 {
            if bodies.len() >= n {
                break;
            }
            let out = sqs
                .receive_message()
                .queue_url(self.app.queue.url())
                .max_number_of_messages((n - bodies.len()).min(10) as i32)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            for m in out.messages.unwrap_or_default() {
                sqs.delete_message()
                    .queue_url(self.app.queue.url())
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
                bodies.push(m.body.unwrap_or_default());
            }
        }
        assert_eq!(bodies.len(), n, "expected {n} messages on the queue");
        bodies
    }

    /// Puts a message body on the delivery queue as it is.
    pub async fn send_raw(&self, body: &str) {
        self.app
            .queue
            .client()
            .send_message()
            .queue_url(self.app.queue.url())
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    /// Runs the queue for `d` (delayed messages included), whatever it brings.
    pub async fn pump_for(&self, d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {
            self.poll_tolerant().await;
        }
    }

    /// One poll that tolerates a failing queue (for fault tests).
    pub async fn poll_tolerant(&self) -> usize {
        match poller::poll_once(&self.app, &self.sender, Duration::from_secs(1)).await {
            Ok(n) => n,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                0
            }
        }
    }

    /// Messages in the dead-letter queue.
    pub async fn dead_letters(&self) -> usize {
        self.messages_in(
            &self.queues.dead_letter_url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ],
        )
        .await
    }

    /// The sum of the queue's counts named in `counts` (visible, in flight, delayed).
    pub async fn messages_in(&self, queue_url: &str, counts: &[QueueAttributeName]) -> usize {
        let out = self
            .app
            .queue
            .client()
            .get_queue_attributes()
            .queue_url(queue_url)
            .set_attribute_names(Some(counts.to_vec()))
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes.unwrap_or_default();
        counts.iter().filter_map(|a| attrs.get(a).and_then(|v| v.parse::<usize>().ok())).sum()
    }

    /// Moves every entry of the sweep's `due` index (and its delivery's due time) `age`
    /// into the past, as if that long had passed.
    pub async fn age_due_entries(&self, age: Duration) {
        use aws_sdk_dynamodb::types::AttributeValue;
        use hookline::store::keys;
        let ddb = self.app.store.client();
        let out = ddb
            .query()
            .table_name(self.app.store.table())
            .index_name(keys::DUE_INDEX)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", keys::DUE_PK)
            .expression_attribute_values(":p", AttributeValue::S(keys::DUE_PARTITION.into()))
            .send()
            .await
            .expect("due index");
        let past = hookline::clock::Millis::now().minus(age);
        for item in out.items.unwrap_or_default() {
            let id = hookline::ids::DeliveryId::parse(item[keys::SK].as_s().unwrap()).unwrap();
            ddb.update_item()
                .table_name(self.app.store.table())
                .key(keys::PK, item[keys::PK].clone())
                .key(keys::SK, item[keys::SK].clone())
                .update_expression("SET next_attempt_at = :t, #dsk = :dsk")
                .expression_attribute_names("#dsk", keys::DUE_SK)
                .expression_attribute_values(":t", AttributeValue::N(past.0.to_string()))
                .expression_attribute_values(":dsk", AttributeValue::S(keys::due_sk(past.0, &id)))
                .send()
                .await
                .expect("age");
        }
    }

    /// Runs the queue until it stays empty for one poll.
    pub async fn drain(&self) {
        for _ in 0..50 {
            if poller::poll_once(&self.app, &self.sender, Duration::from_secs(1)).await.expect("poll") == 0 {
                return;
            }
        }
        panic!("queue did not drain");
    }
}

/// A client's request: the bearer token `auth` and, with a body, its JSON (the body is
/// left to the transport).
fn client_request(method: &str, uri: &str, auth: Option<&str>, body: Option<Value>) -> http::Request<Option<String>> {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(token) = auth {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    b.body(body.map(|v| v.to_string())).unwrap()
}

/// Header names and values, as the tests look them up (values that are not text read
/// as empty).
fn header_map(headers: &http::HeaderMap) -> HashMap<String, String> {
    headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect()
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Plan {
    pub status: u16,
    pub delay: Duration,
    pub headers: Vec<(&'static str, String)>,
    /// The answer's body (default: `answer {status}`).
    pub body: Option<String>,
}

impl Plan {
    pub fn status(status: u16) -> Plan {
        Plan { status, delay: Duration::ZERO, headers: Vec::new(), body: None }
    }

    pub fn with_body(self, body: impl Into<String>) -> Plan {
        Plan { body: Some(body.into()), ..self }
    }
}

/// Answers as `plans` say, in order; the last plan repeats once the list is used up.
fn planned(plans: Vec<Plan>) -> impl Fn(&Received) -> BoxFuture<'static, Plan> + Send + Sync + 'static {
    let plans = Arc::new(Mutex::new(VecDeque::from(plans)));
    move |_: &Received| {
        let plan = {
            let mut p = plans.lock().unwrap();
            if p.len() > 1 {
                p.pop_front().unwrap()
            } else {
                p.front().cloned().unwrap_or(Plan::status(200))
            }
        };
        Box::pin(async move { plan })
    }
}

/// A real HTTP server on loopback that records requests and answers as planned
/// (the last plan repeats once the list is used up).
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    https: bool,
    handshake_failures: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start(plans: Vec<Plan>) -> Receiver {
        Receiver::serve(planned(plans), None).await
    }

    /// A receiver that records each request, then answers as `respond` decides (it may
    /// wait first, e.g. for a signal from the test).
    pub async fn start_with<F>(respond: F) -> Receiver
    where
        F: Fn(&Received) -> BoxFuture<'static, Plan> + Send + Sync + 'static,
    {
        Receiver::serve(respond, None).await
    }

    /// The same over HTTPS with `tls` (a server certificate, and maybe a client certificate
    /// requirement): `url` then gives `https://127.0.0.1:<port>`.
    pub async fn start_tls(plans: Vec<Plan>, tls: Arc<rustls::ServerConfig>) -> Receiver {
        Receiver::serve(planned(plans), Some(tokio_rustls::TlsAcceptor::from(tls))).await
    }

    async fn serve<F>(respond: F, tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver
    where
        F: Fn(&Received) -> BoxFuture<'static, Plan> + Send + Sync + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let respond = Arc::new(respond);
        let rec = received.clone();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let failed = handshakes.clone();
        let https = tls.is_some();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (rec, respond, tls, failed) = (rec.clone(), respond.clone(), tls.clone(), failed.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (rec, respond) = (rec.clone(), respond.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let request = Received {
                                path: parts.uri.to_string(),
                                headers: header_map(&parts.headers),
                                body: body.to_vec(),
                            };
                            let answer = respond(&request);
                            rec.lock().unwrap().push(request);
                            let plan = answer.await;
                            tokio::time::sleep(plan.delay).await;
                            let mut resp = hyper::Response::builder().status(plan.status);
                            for (k, v) in &plan.headers {
                                resp = resp.header(*k, v.as_str());
                            }
                            Ok::<_, Infallible>(
                                resp.body(Full::new(Bytes::from(
                                    plan.body.clone().unwrap_or_else(|| format!("answer {}", plan.status)),
                                )))
                                .unwrap(),
                            )
                        }
                    });
                    match tls {
                        None => {
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                        }
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls_stream) => {
                                let _ = http1::Builder::new().serve_connection(TokioIo::new(tls_stream), svc).await;
                            }
                            Err(e) => failed.lock().unwrap().push(e.to_string()),
                        },
                    }
                });
            }
        });
        Receiver { addr, received, https, handshake_failures: handshakes }
    }

    /// TLS handshakes this receiver refused, with rustls' reason.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.handshake_failures.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}
