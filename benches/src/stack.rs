//! Setting up a benchmark's Hookline: its own table and queue in the emulators,
//! settings like the local stack's, and AWS clients pointed either at the
//! emulators or at the recording proxy or the stub of `bench-servers`.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use futures::stream::{self, StreamExt, TryStreamExt};
use hookline::config::Settings;
use hookline::credentials::sha256_hex;
use hookline::App;
use hookline_local::{resources, template};
use serde_json::{json, Map, Value};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const ADMIN_TOKEN: &str = "bench-admin-token";

/// The emulators' URLs, as `scripts/bench.sh` (via scripts/lib/emulators.sh) exports them.
#[derive(Debug, Clone)]
pub struct Emulators {
    pub dynamodb: String,
    pub sqs: String,
}

impl Emulators {
    pub fn from_env() -> Emulators {
        let get = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                eprintln!("{name} is not set: run the benchmarks with scripts/bench.sh (it starts the emulators)");
                std::process::exit(2)
            })
        };
        Emulators { dynamodb: get("AWS_ENDPOINT_URL_DYNAMODB"), sqs: get("AWS_ENDPOINT_URL_SQS") }
    }
}

/// The AWS configuration from the environment (region, credentials, emulator endpoints).
pub async fn sdk_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Sends both DynamoDB and SQS calls to `url` (the service-specific
/// `AWS_ENDPOINT_URL_*` variables would otherwise win over a shared endpoint).
#[derive(Debug)]
struct Endpoint(String);

impl LoadServiceConfig for Endpoint {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.profile() == "endpoint_url").then(|| self.0.clone())
    }
}

pub fn sdk_via(base: &SdkConfig, url: &str) -> SdkConfig {
    base.to_builder().endpoint_url(url).service_config(Endpoint(url.to_string())).build()
}

/// Settings as the local stack has them (plain http and loopback destinations
/// allowed), with a rate limit no benchmark reaches. (60,000 a minute is the
/// highest that works: above it the limiter's interval rounds to 0 ms and
/// `rate_acquire` divides by zero; see BENCHMARKS.md.)
pub fn settings(table: &str, queue_url: &str) -> Settings {
    Settings {
        table: table.to_string(),
        queue_url: queue_url.to_string(),
        admin_token_sha256: Some(sha256_hex(ADMIN_TOKEN)),
        allow_http: true,
        allow_private_destinations: true,
        delivery_timeout: Duration::from_secs(5),
        rate_limit_per_minute: 60_000,
        rate_limit_burst: 1_000_000,
        ..Settings::default()
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Creates a table as template.yaml defines it.
pub async fn create_table(sdk: &SdkConfig, name: &str) -> Result<(), BoxError> {
    create_table_with_projection(sdk, name, None).await
}

/// The template's table with every index's projection replaced (e.g. `KEYS_ONLY`), to measure what-ifs.
pub async fn create_table_with_projection(
    sdk: &SdkConfig,
    name: &str,
    projection: Option<&str>,
) -> Result<(), BoxError> {
    let mut defs = template::load(&template::default_path())?;
    if let Some(p) = projection {
        for ix in &mut defs.table.indexes {
            ix.projection = p.to_string();
            if p != "INCLUDE" {
                ix.non_key_attributes.clear();
            }
        }
    }
    resources::create_table(&aws_sdk_dynamodb::Client::new(sdk), name, &defs).await
}

/// Creates a delivery queue (and its dead-letter queue) as the template does; returns its URL.
pub async fn create_queue(sdk: &SdkConfig, name: &str) -> Result<String, BoxError> {
    let defs = template::load(&template::default_path())?;
    Ok(resources::create_queues(&aws_sdk_sqs::Client::new(sdk), name, &defs, None).await?.delivery_url)
}

/// Points `app` at a new, empty queue and deletes the one it had: moto's
/// SendMessage slows down as a queue grows, and moto allows one PurgeQueue a minute.
pub async fn fresh_queue(sdk: &SdkConfig, app: &mut App) -> Result<(), BoxError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs.create_queue().queue_name(unique("bench-queue")).send().await?.queue_url.ok_or("no queue URL")?;
    let client = app.queue.client().clone();
    let old = std::mem::replace(&mut app.queue, hookline::queue::Queue::new(client, url));
    if !old.url().is_empty() {
        let _ = sqs.delete_queue().queue_url(old.url()).send().await;
    }
    Ok(())
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// Creates a project through the service layer; returns its id and API key.
pub async fn create_project(app: &App, name: &str) -> Result<(u64, String), BoxError> {
    let p = hookline::service::projects::create(app, &object(json!({"name": name, "client_id": 19817472})))
        .await
        .map_err(|e| format!("create project: {e}"))?;
    let pid = p["project_id"].as_u64().ok_or("no project_id")?;
    let key = p["api_key"].as_str().ok_or("no api_key")?.to_string();
    Ok((pid, key))
}

/// Creates `n` webhooks of a project (16 at a time) posting to `url`; returns their ids.
pub async fn create_webhooks(app: &App, pid: u64, n: usize, url: &str) -> Result<Vec<String>, BoxError> {
    stream::iter(0..n)
        .map(|i| async move {
            let body = object(json!({"name": format!("bench {i}"), "url": url, "custom_parameters": {"region": "eu"}}));
            let wh = hookline::service::webhooks::create(app, pid, &body)
                .await
                .map_err(|e| -> BoxError { format!("create webhook: {e}").into() })?;
            Ok::<String, BoxError>(wh["id"].as_str().unwrap_or_default().to_string())
        })
        .buffered(16)
        .try_collect()
        .await
}
