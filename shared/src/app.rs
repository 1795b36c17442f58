//! What a function builds once per cold start: settings and AWS clients.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::clock::Millis;
use crate::config::{ConfigError, Settings};
use crate::destination::Destinations;
use crate::queue::Queue;
use crate::store::Store;

/// A dependency that hangs must cost a request a few seconds, not the gateway's 30:
/// connecting, each attempt, and the whole call (with its retries) are all bounded.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
const MAX_SDK_ATTEMPTS: u32 = 2;

#[derive(Clone)]
pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub queue: Queue,
    /// Sends to destinations in customers' AWS accounts (docs/api.md §16): one per process,
    /// caching assumed-role credentials and clients.
    pub destinations: Destinations,
}

impl App {
    /// Reads the settings and the AWS configuration (region, credentials and
    /// `AWS_ENDPOINT_URL_*` overrides) from the environment.
    pub async fn from_env() -> Result<App, ConfigError> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(App::new(settings, &sdk))
    }

    pub fn new(settings: Settings, sdk: &SdkConfig) -> App {
        App::with_endpoint(settings, sdk, None)
    }

    /// As `new`, with both clients sent to `endpoint` (the fault-injection proxy of the
    /// tests, which forwards each call to the right emulator).
    pub fn with_endpoint(settings: Settings, sdk: &SdkConfig, endpoint: Option<&str>) -> App {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let retries = RetryConfig::standard().with_max_attempts(MAX_SDK_ATTEMPTS);
        // The attempt timeout already bounds a stalled body (these bodies are small JSON, read
        // within the attempt); the SDK's throughput monitor on top of it arms timers on every
        // request and response body, CPU on every call (BENCHMARKS.md, process bench).
        let stalls = StalledStreamProtectionConfig::disabled();
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts.clone())
            .retry_config(retries.clone())
            .stalled_stream_protection(stalls.clone());
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .retry_config(retries)
            .stalled_stream_protection(stalls);
        if let Some(url) = endpoint {
            dynamo = dynamo.endpoint_url(url);
            sqs = sqs.endpoint_url(url);
        }
        let (dynamo, sqs) = (dynamo.build(), sqs.build());
        // Cursors are signed with a key derived from the admin token's hash: a secret (a
        // NoEcho parameter) that every function of the deployment has.
        let cursor_secret = settings.admin_token_sha256.as_deref().unwrap_or_default();
        let store = Store::new(aws_sdk_dynamodb::Client::from_conf(dynamo), settings.table.clone(), cursor_secret);
        let queue = Queue::new(aws_sdk_sqs::Client::from_conf(sqs), settings.queue_url.clone());
        let destinations = Destinations::with_endpoint(sdk, endpoint);
        App { settings, store, queue, destinations }
    }

    /// When the retention of something created at `at` ends.
    pub fn expires(&self, at: Millis) -> Millis {
        at.plus(self.settings.retention())
    }
}
