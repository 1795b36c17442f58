//! Setting up a benchmark's Hookline: its own table and queue in the emulators,
//! settings like the local stack's, and AWS clients pointed either at the
//! emulators or at the recording proxy or the stub of `bench-servers`.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use futures::stream::{self, StreamExt, TryStreamExt};
use hookline::config::Settings;
use hookline::credentials::sha256_hex;
use hookline::ids::ProjectId;
use hookline::model::Webhook;
use hookline::service::webhooks::WebhookChanges;
use hookline::App;
use hookline_local::{resources, template};

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

/// What every benchmark starts from: the emulators named by the environment, `bench-servers`
/// in front of them, the AWS configuration, and a new table named after `prefix`.
pub async fn start(prefix: &str) -> Result<(Emulators, crate::servers::Servers, SdkConfig, String), BoxError> {
    let emulators = Emulators::from_env();
    let servers = crate::servers::Servers::spawn(&emulators.dynamodb, &emulators.sqs)?;
    let base = sdk_from_env().await;
    let table = unique(prefix);
    create_table(&base, &table).await?;
    Ok((emulators, servers, base, table))
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
/// allowed), with a project rate limit no benchmark reaches (60,000 a minute, one
/// request a millisecond, and a burst of a million).
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
    let defs = template::load(&template::default_path())?;
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

/// Creates a project through the service layer; returns its id and API key.
pub async fn create_project(app: &App, name: &str) -> Result<(ProjectId, String), BoxError> {
    let (p, key) = hookline::service::projects::create(app, name.to_string(), Some(19_817_472))
        .await
        .map_err(|e| format!("create project: {e}"))?;
    Ok((p.project_id, key))
}

/// Creates `n` webhooks of a project (16 at a time) posting to `url`, with `rate_limit`
/// deliveries a second (`None`: unlimited); returns them.
pub async fn create_webhooks(
    app: &App,
    pid: ProjectId,
    n: usize,
    url: &str,
    rate_limit: Option<u32>,
) -> Result<Vec<Webhook>, BoxError> {
    create_webhooks_with(app, pid, n, url, WebhookChanges { rate_limit: Some(rate_limit), ..WebhookChanges::default() })
        .await
}

/// `n` webhooks to `url`, each with `base`'s settings (a filter, `ordered`, …).
pub async fn create_webhooks_with(
    app: &App,
    pid: ProjectId,
    n: usize,
    url: &str,
    base: WebhookChanges,
) -> Result<Vec<Webhook>, BoxError> {
    let base = &base;
    let project = &app.store.get_project(pid).await?.ok_or("create webhook: no such project")?;
    stream::iter(0..n)
        .map(|i| async move {
            // A webhook with a destination has no URL (docs/api.md §16).
            let url = if matches!(base.destination, Some(Some(_))) { None } else { Some(url.to_string()) };
            let changes = WebhookChanges {
                name: Some(format!("bench {i}")),
                url,
                custom_parameters: Some(BTreeMap::from([("region".to_string(), "eu".to_string())])),
                ..base.clone()
            };
            hookline::service::webhooks::create(app, project, changes)
                .await
                .map_err(|e| -> BoxError { format!("create webhook: {e}").into() })
        })
        .buffered(16)
        .try_collect()
        .await
}
