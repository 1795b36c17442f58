use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Millis;
use crate::ids::{ProjectId, WebhookId};

/// One incarnation of a webhook id. The single project web hook deleted and put again keeps
/// its id but gets a new generation: deliveries, logs and failure state belong to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Generation(String);

impl Generation {
    /// A new incarnation's.
    pub fn fresh() -> Generation {
        Generation(crate::ids::new_generation())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// As read back from a key or a message (its text is opaque).
impl From<String> for Generation {
    fn from(s: String) -> Generation {
        Generation(s)
    }
}

impl From<&str> for Generation {
    fn from(s: &str) -> Generation {
        Generation(s.to_string())
    }
}

/// How long an old secret keeps signing after the rotation that replaced it.
pub const SECRET_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Old secrets kept at once; rotating more often drops the oldest first.
pub const MAX_PREVIOUS_SECRETS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    #[default]
    Json,
    Xml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    #[default]
    Envelope,
    Flat,
}

/// Why a webhook is disabled (docs/api.md §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DisabledReason {
    /// Someone set `enabled: false`.
    Manual,
    /// Auto-disabled after failing for `HOOKLINE_DISABLE_AFTER`.
    Failing,
}

/// A secret replaced by a rotation, still signing until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    pub secret: String,
    pub until: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    /// This incarnation of the id: deliveries made for an earlier one are never sent here.
    pub generation: Generation,
    pub project_id: ProjectId,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    #[serde(default)]
    pub disabled_reason: Option<DisabledReason>,
    /// First failed attempt since the last success; `None` while healthy.
    #[serde(default)]
    pub failing_since: Option<Millis>,
    /// Deliveries per second; `None` is unlimited.
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// The §15 filter as the client sent it (JSON text, so numbers keep every digit).
    #[serde(default)]
    pub filter: Option<String>,
    /// The §15 jq program.
    #[serde(default)]
    pub transform: Option<String>,
    /// §15: one delivery at a time per event `ordering_key`, in acceptance order.
    #[serde(default)]
    pub ordered: bool,
    /// §16: delivers to the customer's AWS account instead of `url` (which is then empty).
    #[serde(default)]
    pub destination: Option<crate::destination::Destination>,
    /// The project's external id, kept with a destination so a send needs no project read.
    #[serde(default)]
    pub external_id: Option<String>,
    /// §17: how Hookline authenticates to the receiver (OAuth 2.0 client credentials, Basic).
    #[serde(default)]
    pub auth: Option<crate::endpoint::EndpointAuth>,
    /// §17: a client certificate for mutual TLS, and private roots.
    #[serde(default)]
    pub tls: Option<crate::endpoint::TlsConfig>,
    /// §17: `hmac` (a `whsec_` secret) or `ed25519` (`secret` is then a `whsk_` private key).
    #[serde(default)]
    pub signature_scheme: crate::signing::SignatureScheme,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    /// Write-only `Authorization` header value (the web_hook API's `http_authorization_value`).
    pub authorization: Option<String>,
    /// The web_hook API's `enable_http_authorization`: the value is sent only while this is on.
    pub authorization_enabled: bool,
    pub custom_parameters: BTreeMap<String, String>,
    pub content_type: ContentType,
    pub payload_format: PayloadFormat,
    pub secret: String,
    /// Secrets replaced by rotations, newest first, each signing until its own `until`.
    #[serde(default)]
    pub previous_secrets: Vec<PreviousSecret>,
    pub verification_key: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What the intake needs of a webhook to fan an event out (docs/api.md §15): read with a
/// projection, so the per-event query parses six attributes of each webhook, not all of
/// them (the units billed are the same; the CPU is not).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookRoute {
    pub id: WebhookId,
    pub generation: Generation,
    pub enabled: bool,
    pub event_types: Vec<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub ordered: bool,
}

impl WebhookRoute {
    /// The attributes a route is read from (its fields' names).
    pub const ATTRIBUTES: [&'static str; 6] = ["id", "generation", "enabled", "event_types", "filter", "ordered"];
}

impl From<&Webhook> for WebhookRoute {
    fn from(w: &Webhook) -> WebhookRoute {
        let Webhook { id, generation, enabled, event_types, filter, ordered, .. } = w;
        WebhookRoute {
            id: id.clone(),
            generation: generation.clone(),
            enabled: *enabled,
            event_types: event_types.clone(),
            filter: filter.clone(),
            ordered: *ordered,
        }
    }
}

impl Webhook {
    /// Secrets that sign a delivery sent at `now`: the current one first, then every
    /// previous one still inside its overlap.
    pub fn signing_secrets(&self, now: Millis) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        out.extend(self.previous_secrets.iter().filter(|p| now < p.until).map(|p| p.secret.as_str()));
        out
    }

    /// The newest previous secret still inside its overlap: receivers that check the
    /// hex `X-Webhook-Signature` and still hold it verify `X-Webhook-Signature-Previous` with it.
    pub fn previous_secret(&self, now: Millis) -> Option<&str> {
        self.previous_secrets.iter().find(|p| now < p.until).map(|p| p.secret.as_str())
    }

    /// Replaces the secret: the old one keeps signing for `SECRET_OVERLAP`; expired and
    /// surplus old secrets are dropped.
    pub fn rotate(&mut self, new_secret: String, new_verification_key: String, now: Millis) {
        let old = std::mem::replace(&mut self.secret, new_secret);
        self.previous_secrets.retain(|p| now < p.until);
        self.previous_secrets.insert(0, PreviousSecret { secret: old, until: now.plus(SECRET_OVERLAP) });
        self.previous_secrets.truncate(MAX_PREVIOUS_SECRETS);
        self.verification_key = new_verification_key;
    }

    /// The `Authorization` value every attempt carries: Basic auth (§17), or the stored value
    /// (§4) while enabled. An OAuth 2.0 bearer token is added at send time.
    pub fn authorization_header(&self) -> Option<std::borrow::Cow<'_, str>> {
        if let Some(crate::endpoint::EndpointAuth::Basic { username, password }) = &self.auth {
            return Some(crate::endpoint::basic_header(username, password).into());
        }
        self.authorization.as_deref().filter(|_| self.authorization_enabled).map(Into::into)
    }

    /// The public key of an Ed25519 webhook (`whpk_…`).
    pub fn public_key(&self) -> Option<String> {
        match self.signature_scheme {
            crate::signing::SignatureScheme::Ed25519 => crate::signing::ed25519_public_key(&self.secret),
            crate::signing::SignatureScheme::Hmac => None,
        }
    }

    /// Sets `enabled` as a person asks (docs/api.md §12): enabling clears the failure state,
    /// disabling records the reason `manual`.
    pub fn set_enabled(&mut self, enabled: bool) {
        if enabled {
            self.disabled_reason = None;
            self.failing_since = None;
        } else {
            self.disabled_reason = Some(DisabledReason::Manual);
        }
        self.enabled = enabled;
    }
}

/// What one message's attempts mean for a webhook's failure state (docs/api.md §12). Only a change
/// costs a write, so a healthy webhook's deliveries pay nothing for this bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureStep {
    Nothing,
    /// The first failure since the last success, at this instant.
    StartFailing(Millis),
    /// A success after failures.
    Recovered,
    /// Failing for longer than `HOOKLINE_DISABLE_AFTER`: count the recent attempts to
    /// see whether the last `HOOKLINE_DISABLE_AFTER_FAILURES` all failed.
    CheckDisable {
        since: Millis,
    },
}

impl Webhook {
    /// The failure-state step after attempts (tests excluded) that `succeeded` or not,
    /// the first of them made at `first_attempt`.
    pub fn failure_step(
        &self,
        succeeded: bool,
        first_attempt: Millis,
        now: Millis,
        disable_after: Duration,
    ) -> FailureStep {
        match (succeeded, self.failing_since) {
            (true, Some(_)) => FailureStep::Recovered,
            (true, None) => FailureStep::Nothing,
            (false, None) => FailureStep::StartFailing(first_attempt),
            (false, Some(since)) if self.enabled && now.since(since) >= disable_after => {
                FailureStep::CheckDisable { since }
            }
            (false, Some(_)) => FailureStep::Nothing,
        }
    }
}

/// A webhook for unit tests across the crate.
#[cfg(test)]
pub(crate) fn fixture() -> Webhook {
    Webhook {
        id: WebhookId::default_web_hook(),
        generation: "G".into(),
        project_id: ProjectId(1),
        name: "n".into(),
        url: "https://e.com".into(),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        rate_limit: None,
        filter: None,
        transform: None,
        ordered: false,
        destination: None,
        external_id: None,
        auth: None,
        tls: None,
        signature_scheme: Default::default(),
        event_types: vec![],
        headers: BTreeMap::new(),
        authorization: None,
        authorization_enabled: true,
        custom_parameters: BTreeMap::new(),
        content_type: ContentType::Json,
        payload_format: PayloadFormat::Envelope,
        secret: "s0".into(),
        previous_secrets: vec![],
        verification_key: "vk".into(),
        created_at: Millis(0),
        updated_at: Millis(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook() -> Webhook {
        fixture()
    }

    #[test]
    fn each_old_secret_signs_until_its_own_overlap_ends() {
        let day = SECRET_OVERLAP;
        let mut wh = webhook();
        wh.rotate("s1".into(), "vk1".into(), Millis(0));
        wh.rotate("s2".into(), "vk2".into(), Millis(0).plus(day / 2));
        // Half a day after the second rotation both old secrets still sign.
        let t = Millis(0).plus(day / 2).plus(day / 4);
        assert_eq!(wh.signing_secrets(t), vec!["s2", "s1", "s0"]);
        assert_eq!(wh.previous_secret(t), Some("s1"));
        // s0 ends 24 h after the first rotation, s1 24 h after the second.
        let t = Millis(0).plus(day).plus(Duration::from_secs(1));
        assert_eq!(wh.signing_secrets(t), vec!["s2", "s1"]);
        let t = Millis(0).plus(day / 2).plus(day);
        assert_eq!(wh.signing_secrets(t), vec!["s2"]);
        assert_eq!(wh.previous_secret(t), None);
    }

    #[test]
    fn at_most_a_few_old_secrets_are_kept() {
        let mut wh = webhook();
        for i in 1..=6 {
            wh.rotate(format!("s{i}"), "vk".into(), Millis(i));
        }
        assert_eq!(wh.previous_secrets.len(), MAX_PREVIOUS_SECRETS);
        assert_eq!(wh.signing_secrets(Millis(10)), vec!["s6", "s5", "s4", "s3"]);
    }

    #[test]
    fn failure_state_changes_only_when_it_must() {
        let day = Duration::from_secs(86_400);
        let mut wh = webhook();
        assert_eq!(wh.failure_step(true, Millis(5), Millis(5), day), FailureStep::Nothing, "healthy stays free");
        assert_eq!(wh.failure_step(false, Millis(5), Millis(9), day), FailureStep::StartFailing(Millis(5)));
        wh.failing_since = Some(Millis(5));
        assert_eq!(wh.failure_step(false, Millis(9), Millis(9), day), FailureStep::Nothing, "still failing: no write");
        let later = Millis(5).plus(day);
        assert_eq!(wh.failure_step(false, later, later, day), FailureStep::CheckDisable { since: Millis(5) });
        assert_eq!(wh.failure_step(true, later, later, day), FailureStep::Recovered, "a success resets the streak");
        wh.enabled = false;
        assert_eq!(wh.failure_step(false, later, later, day), FailureStep::Nothing, "already disabled");
    }

    #[test]
    fn enabling_clears_the_failure_state_and_disabling_is_manual() {
        let mut wh = webhook();
        wh.enabled = false;
        wh.disabled_reason = Some(DisabledReason::Failing);
        wh.failing_since = Some(Millis(5));
        wh.set_enabled(true);
        assert_eq!((wh.enabled, wh.disabled_reason, wh.failing_since), (true, None, None));
        wh.set_enabled(false);
        assert_eq!(wh.disabled_reason, Some(DisabledReason::Manual));
    }
}
