//! What a function builds once per cold start: settings and AWS clients.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{ConfigError, Settings};
use crate::queue::Queue;
use crate::store::Store;

#[derive(Clone)]
pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub queue: Queue,
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
        let store = Store::new(aws_sdk_dynamodb::Client::new(sdk), settings.table.clone());
        let queue = Queue::new(aws_sdk_sqs::Client::new(sdk), settings.queue_url.clone());
        App { settings, store, queue }
    }

    /// TTL (epoch seconds) of an item created at `now_ms`.
    pub fn expires_at(&self, now_ms: u64) -> u64 {
        now_ms / 1000 + self.settings.retention().as_secs()
    }
}
