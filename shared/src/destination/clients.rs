//! [`Destinations`]: the process's STS client, its cache of assumed-role credentials and
//! its SDK clients per role, region and service.
//!
//! Credentials: one cache entry per (role ARN, external id), holding the credentials of
//! the last `AssumeRole` until 5 minutes before they expire. Each entry has its own
//! async mutex, held across the `AssumeRole` call, so concurrent sends for one role wait
//! for one call instead of each making their own; sends for other roles are not held up.
//!
//! Clients: one SDK client per (role ARN, external id, region, service), built on first
//! use and kept for the process. Its credentials provider reads the cache above (and the
//! SDK's own identity cache is off), so a client is never rebuilt when its role's
//! credentials are refreshed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;

use super::send::{self, failure};
use super::{AwsFailure, Destination, Message, Sent};

/// Credentials are refreshed this long before they expire.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The default time limit of a service client's calls (each send sets its own, shorter
/// one from its `timeout`).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends deliveries to destinations in customers' AWS accounts. Build one per process with
/// [`Destinations::new`]; clones share the caches.
#[derive(Clone)]
pub struct Destinations {
    inner: Arc<Inner>,
}

struct Inner {
    base: SdkConfig,
    /// Every call to this address instead (the tests' fault-injection proxy).
    endpoint: Option<String>,
    roles: Arc<RoleCache>,
    clients: Mutex<HashMap<ClientKey, ServiceClient>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RoleKey {
    role_arn: String,
    external_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    role: RoleKey,
    region: String,
    service: &'static str,
}

#[derive(Clone)]
enum ServiceClient {
    Sqs(aws_sdk_sqs::Client),
    Sns(aws_sdk_sns::Client),
    EventBridge(aws_sdk_eventbridge::Client),
    Kinesis(aws_sdk_kinesis::Client),
}

type Slot = Arc<tokio::sync::Mutex<Option<Credentials>>>;

struct RoleCache {
    sts: aws_sdk_sts::Client,
    entries: Mutex<HashMap<RoleKey, Slot>>,
}

/// `AssumeRole`'s session name: it names the project in the customer's CloudTrail.
fn session_name(project_id: u64) -> String {
    format!("hookline-project-{project_id}")
}

fn fresh(c: &Credentials) -> bool {
    c.expiry().is_some_and(|e| e > SystemTime::now() + REFRESH_MARGIN)
}

impl RoleCache {
    /// The role's credentials: cached ones while fresh, else from one `AssumeRole` (the
    /// other sends for the role wait for it). The caller bounds the time.
    async fn get(&self, key: &RoleKey, session: &str, left: Duration) -> Result<Credentials, AwsFailure> {
        let slot = self.entries.lock().expect("role cache").entry(key.clone()).or_default().clone();
        let mut held = slot.lock().await;
        if let Some(c) = held.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let out = self
            .sts
            .assume_role()
            .role_arn(&key.role_arn)
            .external_id(&key.external_id)
            .role_session_name(session)
            .customize()
            .config_override(aws_sdk_sts::config::Builder::default().timeout_config(
                // Not the connect timeout: one per call would build a connector per call (see
                // `send::with_timeout`); the caller's timeout bounds connecting.
                aws_sdk_sts::config::timeout::TimeoutConfig::builder().operation_timeout(left).build(),
            ))
            .send()
            .await
            .map_err(|e| failure("sts", e, left))?;
        let Some(c) = out.credentials else {
            return Err(AwsFailure::Service {
                service: "sts",
                code: "InvalidResponse".into(),
                message: "the answer has no Credentials".into(),
                status: None,
            });
        };
        let expiry = SystemTime::try_from(*c.expiration()).map_err(|e| AwsFailure::Service {
            service: "sts",
            code: "InvalidResponse".into(),
            message: format!("the credentials' expiration is out of range: {e}"),
            status: None,
        })?;
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            Some(expiry),
            "hookline-assume-role",
        );
        *held = Some(credentials.clone());
        Ok(credentials)
    }
}

/// The credentials provider of a role's clients: the role cache.
#[derive(Debug)]
struct RoleCredentials {
    roles: Arc<RoleCache>,
    key: RoleKey,
    session: String,
}

impl std::fmt::Debug for RoleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCache").finish_non_exhaustive()
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            // A send fetches its role's credentials before its call, so this is a cache hit
            // but for a call outliving the refresh margin; the call's own timeout bounds it.
            self.roles.get(&self.key, &self.session, CLIENT_TIMEOUT).await.map_err(CredentialsError::provider_error)
        })
    }
}

impl Destinations {
    /// `base` is the function's own configuration: its credentials call `AssumeRole` (and
    /// nothing else); its endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`
    /// as aws-config reads them) apply to STS and to every destination client.
    pub fn new(base: &SdkConfig) -> Destinations {
        Destinations::with_endpoint(base, None)
    }

    /// As `new`, with every call (STS included) sent to `endpoint`, which overrides the
    /// environment's endpoint settings.
    pub fn with_endpoint(base: &SdkConfig, endpoint: Option<&str>) -> Destinations {
        let mut sts = aws_sdk_sts::config::Builder::from(base).timeout_config(
            aws_sdk_sts::config::timeout::TimeoutConfig::builder().operation_timeout(CLIENT_TIMEOUT).build(),
        );
        if let Some(url) = endpoint {
            sts = sts.endpoint_url(url);
        }
        let sts = aws_sdk_sts::Client::from_conf(sts.build());
        Destinations {
            inner: Arc::new(Inner {
                base: base.clone(),
                endpoint: endpoint.map(str::to_owned),
                roles: Arc::new(RoleCache { sts, entries: Mutex::new(HashMap::new()) }),
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sends one delivery. The whole send, `AssumeRole` included, ends within `timeout`;
    /// an oversize payload fails before any call.
    pub async fn send(&self, d: &Destination, m: &Message<'_>, timeout: Duration) -> Result<Sent, AwsFailure> {
        let service = d.service();
        send::check_size(d, m)?;
        let body = match d {
            Destination::Kinesis { .. } => "",
            _ => send::text(d, m)?,
        };
        let deadline = Instant::now() + timeout;
        let key = RoleKey { role_arn: d.role_arn().to_string(), external_id: m.external_id.to_string() };
        let session = session_name(m.project_id);
        match tokio::time::timeout(timeout, self.inner.roles.get(&key, &session, timeout)).await {
            Ok(r) => r.map(drop)?,
            Err(_) => return Err(AwsFailure::Timeout { service: "sts", after: timeout }),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(AwsFailure::Timeout { service, after: timeout });
        }
        let region = match d.region() {
            Some(r) => r.to_string(),
            None => self.inner.base.region().map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
        };
        let client = self.client(ClientKey { role: key, region, service }, session);
        let call = async {
            match (d, &client) {
                (Destination::Sqs { queue_url, message_group_id, .. }, ServiceClient::Sqs(c)) => {
                    send::sqs(c, queue_url, message_group_id.as_deref(), m, body, left, timeout).await
                }
                (Destination::Sns { topic_arn, .. }, ServiceClient::Sns(c)) => {
                    send::sns(c, topic_arn, m, body, left, timeout).await
                }
                (Destination::EventBridge { event_bus_arn, source, .. }, ServiceClient::EventBridge(c)) => {
                    send::eventbridge(c, event_bus_arn, source.as_deref(), m, body, left, timeout).await
                }
                (Destination::Kinesis { stream_arn, .. }, ServiceClient::Kinesis(c)) => {
                    send::kinesis(c, stream_arn, m, left, timeout).await
                }
                _ => unreachable!("clients are keyed by service"),
            }
        };
        match tokio::time::timeout(left, call).await {
            Ok(r) => r,
            Err(_) => Err(AwsFailure::Timeout { service, after: timeout }),
        }
    }

    /// The client for a role, region and service, built on first use.
    fn client(&self, key: ClientKey, session: String) -> ServiceClient {
        let mut clients = self.inner.clients.lock().expect("client cache");
        if let Some(c) = clients.get(&key) {
            return c.clone();
        }
        let provider = RoleCredentials { roles: self.inner.roles.clone(), key: key.role.clone(), session };
        let base = &self.inner.base;
        let endpoint = self.inner.endpoint.as_deref();
        macro_rules! build {
            ($krate:ident, $variant:ident) => {{
                let mut conf = $krate::config::Builder::from(base);
                if let Some(url) = endpoint {
                    conf = conf.endpoint_url(url);
                }
                let conf = conf
                    .region($krate::config::Region::new(key.region.clone()))
                    .credentials_provider(provider)
                    .identity_cache($krate::config::IdentityCache::no_cache())
                    // One call per delivery attempt: the delivery engine schedules retries.
                    .retry_config($krate::config::retry::RetryConfig::disabled())
                    .timeout_config(
                        $krate::config::timeout::TimeoutConfig::builder()
                            .operation_timeout(CLIENT_TIMEOUT)
                            .connect_timeout(CLIENT_TIMEOUT)
                            .build(),
                    )
                    .build();
                ServiceClient::$variant($krate::Client::from_conf(conf))
            }};
        }
        let client = match key.service {
            "sqs" => build!(aws_sdk_sqs, Sqs),
            "sns" => build!(aws_sdk_sns, Sns),
            "eventbridge" => build!(aws_sdk_eventbridge, EventBridge),
            _ => build!(aws_sdk_kinesis, Kinesis),
        };
        clients.insert(key, client.clone());
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring_in(d: Duration) -> Credentials {
        Credentials::new("AKID", "secret", Some("token".into()), Some(SystemTime::now() + d), "test")
    }

    #[test]
    fn credentials_are_reused_until_five_minutes_before_they_expire() {
        assert!(fresh(&expiring_in(Duration::from_secs(3600))));
        assert!(fresh(&expiring_in(REFRESH_MARGIN + Duration::from_secs(30))));
        assert!(!fresh(&expiring_in(REFRESH_MARGIN - Duration::from_secs(30))));
        assert!(!fresh(&Credentials::new("AKID", "secret", None, None, "test")), "no expiry: assume again");
    }

    #[test]
    fn the_session_name_names_the_project() {
        assert_eq!(session_name(42), "hookline-project-42");
        // AssumeRole takes 2 to 64 characters.
        assert!(session_name(u64::MAX).len() <= 64);
    }
}
