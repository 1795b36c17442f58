//! What the API answers: one type per result, built from the domain records, and the
//! schemas of the OpenAPI document come from these same types.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::delivery::{AttemptRecord, Delivery, Status};
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::{ContentType, DisabledReason, Event, EventType, PayloadFormat, Project, Theme, Webhook};
use crate::service::intake::Accepted;

/// A JSON object kept exactly as it was sent.
pub type Data = Box<RawValue>;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub project_id: ProjectId,
    /// The product's own account id for the project (003).
    pub client_id: Option<i64>,
    pub name: String,
    /// `ext_…`: the `sts:ExternalId` for roles this project's customers let Hookline assume.
    pub external_id: String,
    pub created_at: String,
}

impl From<&Project> for ProjectView {
    fn from(p: &Project) -> Self {
        ProjectView {
            project_id: p.project_id,
            client_id: p.client_id,
            name: p.name.clone(),
            external_id: p.external_id.clone(),
            created_at: p.created_at.rfc3339(),
        }
    }
}

/// A project with its API key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectWithKey {
    pub project_id: ProjectId,
    pub client_id: Option<i64>,
    pub name: String,
    pub created_at: String,
    /// `hk_…`: returned at creation and rotation only.
    pub api_key: String,
}

impl ProjectWithKey {
    pub fn new(p: &Project, api_key: String) -> Self {
        ProjectWithKey {
            project_id: p.project_id,
            client_id: p.client_id,
            name: p.name.clone(),
            created_at: p.created_at.rfc3339(),
            api_key,
        }
    }
}

/// `POST …/webhooks/{id}/preview` (§15).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// Whether the event passes the filter (always, without one).
    pub matches: bool,
    /// The `Content-Type` it would be sent with.
    pub content_type: String,
    /// The exact body that would be sent, or `null` when it does not match.
    pub body: Option<String>,
}

impl From<crate::service::webhooks::Previewed> for PreviewView {
    fn from(p: crate::service::webhooks::Previewed) -> Self {
        PreviewView { matches: p.matches, content_type: p.content_type.to_string(), body: p.body }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    pub project_id: ProjectId,
    pub name: String,
    /// Absent for a webhook with a `destination` (§16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where it delivers instead of `url` (§16), or `null`.
    #[schema(value_type = Option<Object>)]
    pub destination: Option<crate::destination::Destination>,
    pub enabled: bool,
    /// Why it is disabled: `manual`, or `failing` (auto-disabled, §12).
    pub disabled_reason: Option<DisabledReason>,
    /// First failed attempt since the last success.
    pub failing_since: Option<String>,
    /// Deliveries per second, or `null` for unlimited.
    pub rate_limit: Option<u32>,
    /// The §15 filter, as it was given.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Box<RawValue>>,
    /// The §15 jq program.
    pub transform: Option<String>,
    /// §15: one delivery at a time per event `ordering_key`.
    pub ordered: bool,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub authorization_set: bool,
    /// How Hookline authenticates to the receiver (§17), secrets left out.
    pub auth: Option<crate::endpoint::AuthView>,
    /// Mutual TLS and private roots (§17), the key left out.
    pub tls: Option<crate::endpoint::TlsView>,
    /// `hmac` or `ed25519` (§17).
    pub signature_scheme: crate::signing::SignatureScheme,
    /// An `ed25519` webhook's public key, `whpk_…`, to verify its `v1a` signatures with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    pub custom_parameters: BTreeMap<String, String>,
    pub content_type: ContentType,
    pub payload_format: PayloadFormat,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        // Named field by field, with no `..`: a field added to `Webhook` does not compile
        // until it is shown here or listed as kept out of the view.
        let Webhook {
            id,
            project_id,
            name,
            url,
            enabled,
            disabled_reason,
            failing_since,
            rate_limit,
            filter,
            transform,
            ordered,
            destination,
            event_types,
            headers,
            authorization,
            custom_parameters,
            content_type,
            payload_format,
            created_at,
            updated_at,
            // Secrets are shown on create and rotation only (`WebhookWithSecrets`).
            secret: _,
            previous_secrets: _,
            verification_key: _,
            // Internal, or 003's view only (`WebHookView`).
            generation: _,
            authorization_enabled: _,
            // Shown with the project (`GET /api/v1/projects/{id}`), not per webhook.
            external_id: _,
            auth,
            tls,
            signature_scheme,
        } = w;
        WebhookView {
            id: id.clone(),
            project_id: *project_id,
            name: name.clone(),
            url: destination.is_none().then(|| url.clone()),
            destination: destination.clone(),
            enabled: *enabled,
            disabled_reason: if *enabled { None } else { disabled_reason.or(Some(DisabledReason::Manual)) },
            failing_since: failing_since.map(|m| m.rfc3339()),
            rate_limit: *rate_limit,
            // Stored only after it parsed, so it is JSON.
            filter: filter.as_deref().and_then(|f| RawValue::from_string(f.to_owned()).ok()),
            transform: transform.clone(),
            ordered: *ordered,
            event_types: event_types.clone(),
            headers: headers.clone(),
            authorization_set: authorization.is_some(),
            auth: auth.as_ref().map(Into::into),
            tls: tls.as_ref().map(Into::into),
            signature_scheme: *signature_scheme,
            public_key: w.public_key(),
            custom_parameters: custom_parameters.clone(),
            content_type: *content_type,
            payload_format: *payload_format,
            created_at: created_at.rfc3339(),
            updated_at: updated_at.rfc3339(),
        }
    }
}

/// A webhook with its signing secret and verification key: on create and rotation only.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecrets {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…` (or the secret supplied on create); absent for an `ed25519` webhook, whose
    /// private key is never shown (its `public_key` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub verification_key: String,
}

impl From<&Webhook> for WebhookWithSecrets {
    fn from(w: &Webhook) -> Self {
        let secret = match w.signature_scheme {
            crate::signing::SignatureScheme::Hmac => Some(w.secret.clone()),
            crate::signing::SignatureScheme::Ed25519 => None,
        };
        WebhookWithSecrets { webhook: w.into(), secret, verification_key: w.verification_key.clone() }
    }
}

/// 003's project web hook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebHookView {
    pub client_id: Option<i64>,
    pub project_id: ProjectId,
    /// The URL without its `https://`.
    pub endpoint: String,
    pub enable_http_authorization: bool,
    pub enable_web_hook: bool,
    pub custom_parameters: BTreeMap<String, String>,
}

impl WebHookView {
    pub fn new(project: &Project, w: &Webhook) -> Self {
        WebHookView {
            client_id: project.client_id,
            project_id: project.project_id,
            endpoint: crate::rules::url_to_endpoint(&w.url).to_string(),
            enable_http_authorization: w.authorization_enabled,
            enable_web_hook: w.enabled,
            custom_parameters: w.custom_parameters.clone(),
        }
    }
}

/// 003's "Web Hook Event": `response_*` stay null until the first delivery's attempt ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebHookEventView {
    pub id: EventId,
    pub client_id: Option<i64>,
    pub project_id: ProjectId,
    pub session_id: Option<String>,
    pub event_type: String,
    /// Float epoch seconds.
    pub event_timestamp: f64,
    /// `null` until the attempt ends; `0` when it got no HTTP response.
    pub response_code: Option<u16>,
    pub response_message: Option<String>,
}

impl WebHookEventView {
    pub fn new(e: &Event, first: Option<&Delivery>) -> Self {
        let done = first.and_then(|d| d.last_attempt());
        // A delivery that ended without any attempt (dropped: its webhook was deleted or
        // replaced) is finished too: code 0 and why, so polling stops.
        let ended = first.filter(|d| done.is_none() && d.status != crate::delivery::Status::Pending);
        WebHookEventView {
            id: e.id.clone(),
            client_id: e.client_id,
            project_id: e.project_id,
            session_id: e.session_id.clone(),
            event_type: e.event_type.clone(),
            event_timestamp: e.received_at.epoch_seconds_f64(),
            // An attempt without an HTTP response is code 0 with its error in words, so a
            // client polling until the code is set always stops (docs/api.md §7).
            response_code: done.map(|a| a.response_code.unwrap_or(0)).or(ended.map(|_| 0)),
            response_message: match (done, ended) {
                (Some(a), _) => match a.response_code {
                    Some(_) => a.response_body.clone().or_else(|| a.error.clone()),
                    None => {
                        Some(a.error.as_deref().map_or_else(|| "no HTTP response".into(), crate::delivery::readable))
                    }
                },
                (None, Some(d)) => {
                    Some(format!("not sent: {}", d.error().as_deref().unwrap_or("ended without an attempt")))
                }
                (None, None) => None,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: EventId,
    pub project_id: ProjectId,
    pub client_id: Option<i64>,
    pub event_type: String,
    pub session_id: Option<String>,
    /// The event's data, exactly as sent.
    #[schema(value_type = Object)]
    pub data: Data,
    pub received_at: String,
    pub test: bool,
    /// §15's `ordering_key`, if the event had one.
    pub ordering_key: Option<String>,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        EventView {
            id: e.id.clone(),
            project_id: e.project_id,
            client_id: e.client_id,
            event_type: e.event_type.clone(),
            session_id: e.session_id.clone(),
            data: e.data.clone(),
            received_at: e.received_at.rfc3339(),
            test: e.test,
            ordering_key: e.ordering_key.clone(),
        }
    }
}

/// One event with its data and deliveries; it is also 003's Web Hook Event, so the same
/// URL can be polled after a test.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub hook: WebHookEventView,
    #[schema(value_type = Object)]
    pub data: Data,
    pub received_at: String,
    pub test: bool,
    pub ordering_key: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

impl EventDetail {
    pub fn new(e: &Event, deliveries: &[Delivery]) -> Self {
        EventDetail {
            hook: WebHookEventView::new(e, deliveries.first()),
            data: e.data.clone(),
            received_at: e.received_at.rfc3339(),
            test: e.test,
            ordering_key: e.ordering_key.clone(),
            deliveries: deliveries.iter().map(DeliveryView::from).collect(),
        }
    }
}

/// The intake's answer (§5): stored and queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedView {
    pub event_id: EventId,
    pub event_type: String,
    pub received_at: String,
    /// Deliveries queued: one per matching enabled webhook.
    pub deliveries: usize,
}

impl From<&Accepted> for AcceptedView {
    fn from(a: &Accepted) -> Self {
        AcceptedView {
            event_id: a.event_id.clone(),
            event_type: a.event_type.clone(),
            received_at: a.received_at.rfc3339(),
            deliveries: a.deliveries,
        }
    }
}

/// One entry of a batch's answer (§10), in the order of the request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Accepted {
        #[schema(minimum = 202, maximum = 202)]
        status: u16,
        event_id: EventId,
        event_type: String,
        received_at: String,
        deliveries: usize,
        /// The answer of an earlier request, or an earlier entry of this batch, with the
        /// same `idempotency_key`.
        replayed: bool,
    },
    Refused {
        /// 400: the entry is invalid, or its `idempotency_key` is in use for another event
        /// or by a request still in progress.
        #[schema(minimum = 400, maximum = 400)]
        status: u16,
        message: String,
        errors: Vec<crate::error::FieldError>,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub items: Vec<BatchItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event_type: String,
    pub webhook_id: WebhookId,
    pub status: Status,
    /// A test delivery (docs/api.md §7): one attempt, no retries.
    pub test: bool,
    pub attempts: u32,
    pub response_code: Option<u16>,
    /// The first 4 KiB of the last answer's body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let last = d.last_attempt();
        DeliveryView {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            webhook_id: d.webhook_id.clone(),
            status: d.status,
            test: d.test,
            attempts: d.attempts,
            response_code: last.and_then(|a| a.response_code),
            response_body: last.and_then(|a| a.response_body.clone()),
            error: d.error(),
            created_at: d.created_at.rfc3339(),
            last_attempt_at: last.map(|a| a.started_at.rfc3339()),
            next_attempt_at: d.next_attempt_at.filter(|_| d.status == Status::Pending).map(|m| m.rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: u32,
    pub started_at: String,
    pub response_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<&AttemptRecord> for AttemptView {
    fn from(a: &AttemptRecord) -> Self {
        AttemptView {
            attempt: a.attempt,
            started_at: a.started_at.rfc3339(),
            response_code: a.response_code,
            response_body: a.response_body.clone(),
            error: a.error.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

/// A delivery with its attempts, oldest first: the first and the latest 49 (`attempts` counts them all).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub attempts_log: Vec<AttemptView>,
    /// The request body, as the webhook's current format settings send this event (JSON or
    /// XML text); `null` once the webhook is deleted.
    pub payload: Option<String>,
}

impl From<&Delivery> for DeliveryDetail {
    fn from(d: &Delivery) -> Self {
        DeliveryDetail {
            delivery: d.into(),
            attempts_log: d.log.iter().map(AttemptView::from).collect(),
            payload: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeView {
    pub name: String,
    pub description: String,
    /// JSON Schema (draft 2020-12) of the events' `data`, exactly as sent.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Box<RawValue>>,
    /// Exactly as sent.
    #[schema(value_type = Option<Object>)]
    pub example: Option<Box<RawValue>>,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&EventType> for EventTypeView {
    fn from(t: &EventType) -> Self {
        EventTypeView {
            name: t.name.clone(),
            description: t.description.clone(),
            schema: t.schema.clone(),
            example: t.example.clone(),
            archived: t.archived,
            created_at: t.created_at.rfc3339(),
            updated_at: t.updated_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    /// Deliveries given a new attempt.
    pub recovered: usize,
}

/// `GET /api/v1/session`: what the presented credential is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub kind: SessionKind,
    /// The project a key or portal session is for; `null` for the admin token.
    pub project_id: Option<ProjectId>,
    /// Only `GET` is allowed (a read-only portal session).
    pub read_only: bool,
    /// When a portal session ends; `null` for keys and the admin token.
    pub expires_at: Option<String>,
    /// A portal session's theme; `null` otherwise.
    pub theme: Option<Theme>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    Admin,
    Project,
    Portal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSessionView {
    /// `pst_…`: a Bearer credential for this project until it expires.
    pub token: String,
    /// The dashboard, signed in with this token.
    pub url: String,
    pub expires_at: String,
    pub read_only: bool,
    /// The look the dashboard takes in this session.
    pub theme: Theme,
    /// The CSP sources of the pages that may frame `url` (`'self'`: the dashboard's own origin).
    pub frame_ancestors: Vec<String>,
}

/// The `result` of a deletion: the string `"deleted"` (003).
#[derive(Debug, Clone, Copy)]
pub struct Deleted;

impl Serialize for Deleted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("deleted")
    }
}

impl utoipa::PartialSchema for Deleted {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["deleted"]))
            .into()
    }
}

impl ToSchema for Deleted {}

/// Concrete list types: `{"items": [...], "next_cursor": "..." | null}` (§1).
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `?cursor=` for the next page of this same list; `null` at the end.
            pub next_cursor: Option<String>,
        }

        impl $name {
            pub fn new<T>(page: crate::store::Page<T>, view: impl Fn(&T) -> $item) -> Self {
                $name { items: page.items.iter().map(view).collect(), next_cursor: page.next_cursor }
            }
        }
    };
}

list_type!(ProjectList, ProjectView);
list_type!(WebhookList, WebhookView);
list_type!(EventList, EventView);
list_type!(DeliveryList, DeliveryView);
list_type!(EventTypeList, EventTypeView);
