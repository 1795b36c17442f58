//! What the API reads: one serde type per request body or query, and its `Check`, which
//! applies the contract's rules (`rules`) and yields the typed value a service takes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::field::{Errors, Expect, Field};
use crate::api::input::{Check, Paging};
use crate::clock::Millis;
use crate::config::Settings;
use crate::delivery::Status;
use crate::error::FieldError;
use crate::model::{ContentType, PayloadFormat, Theme, ThemeMode};
use crate::rules;
use crate::service::catalogue::EventTypeChanges;
use crate::service::intake::EventInput;
use crate::service::webhooks::WebhookChanges;
use crate::signing::SignatureScheme;

/// A webhook's `rate_limit` range (deliveries per second, §12).
const RATE_LIMIT_RANGE: std::ops::RangeInclusive<u32> = 1..=10_000;
/// A portal session's `ttl_seconds` range (§13).
const PORTAL_TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

fn done<T>(e: Errors, value: T) -> Result<T, Vec<FieldError>> {
    if e.0.is_empty() {
        Ok(value)
    } else {
        Err(e.into_vec())
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// 1–100 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub name: Field<String>,
    /// The product's own account id for the project (positive).
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub client_id: Field<i64>,
}

impl Check for CreateProject {
    type Checked = (String, Option<i64>);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e.required("name", &self.name).cloned();
        if let Some(n) = &name {
            e.check("name", rules::check_name(n));
        }
        let client_id = match &self.client_id {
            Field::Null | Field::Absent => None,
            f => e.optional("client_id", f).copied(),
        };
        if client_id.is_some_and(|c| c <= 0) {
            e.add("client_id", "must be a positive integer");
        }
        done(e, (name.unwrap_or_default(), client_id))
    }
}

/// A §15 filter given (or `null`): checked, and kept as the text it came as. Errors name
/// the offending part: `filter/<JSON pointer>`.
fn check_filter(e: &mut Errors, f: &Field<Box<RawValue>>) -> Option<Option<String>> {
    let given = e.clearable("filter", f)?;
    let Some(raw) = given else { return Some(None) };
    match crate::filter::Filter::parse(raw.get()) {
        Ok(_) => Some(Some(raw.get().to_owned())),
        Err(err) => {
            e.add(format!("filter{}", err.pointer), err.message);
            None
        }
    }
}

/// A §15 jq program given (or `null`): compiled once here, so a stored one always compiles.
fn check_transform(e: &mut Errors, f: &Field<String>) -> Option<Option<String>> {
    let given = e.clearable("transform", f)?;
    let Some(code) = given else { return Some(None) };
    match crate::transform::Program::compile(code) {
        Ok(_) => Some(Some(code.clone())),
        Err(message) => {
            e.add("transform", &message);
            None
        }
    }
}

/// A nested object given (or `null`), checked by `parse`, whose errors name their fields.
fn nested<T>(
    e: &mut Errors,
    name: &str,
    f: &Field<Value>,
    parse: impl FnOnce(&Value) -> Result<T, Vec<(String, String)>>,
) -> Option<Option<T>> {
    match f {
        Field::Absent => None,
        Field::Null => Some(None),
        Field::Given(v) => match parse(v) {
            Ok(t) => Some(Some(t)),
            Err(errors) => {
                for (field, message) in errors {
                    e.add(field, message);
                }
                None
            }
        },
        Field::Invalid => {
            e.add(name, "must be an object or null");
            None
        }
    }
}

/// A webhook as created or changed (§4, §12). On create `name` and `url` are required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// 1–100 characters, no control characters.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Field<String>,
    /// Absolute `https://` URL (plain `http://` only where the deployment allows it); may
    /// contain `{VerificationKey}`.
    #[serde(default)]
    #[schema(value_type = String, max_length = 2048)]
    pub url: Field<String>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub enabled: Field<bool>,
    /// Subscriptions: exact types or `prefix.*`; empty = all events.
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 100)]
    pub event_types: Field<Vec<String>>,
    /// Custom headers sent with every delivery (at most 20).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub headers: Field<BTreeMap<String, String>>,
    /// Write-only value of the `Authorization` header; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, write_only)]
    pub authorization: Field<String>,
    /// Added as top-level keys of every payload.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub custom_parameters: Field<BTreeMap<String, String>>,
    #[serde(default)]
    #[schema(value_type = ContentType)]
    pub content_type: Field<ContentType>,
    #[serde(default)]
    #[schema(value_type = PayloadFormat)]
    pub payload_format: Field<PayloadFormat>,
    /// On create only: a secret of your own (16–256 characters); else one is generated.
    #[serde(default)]
    #[schema(value_type = String, write_only, min_length = 16, max_length = 256)]
    pub secret: Field<String>,
    /// Deliveries per second (1–10000); `null` removes the limit.
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub rate_limit: Field<u32>,
    /// Delivers only events whose envelope matches (§15); `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub filter: Field<Box<RawValue>>,
    /// A jq program that shapes the payload (§15, at most 8 KiB); `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 8192)]
    pub transform: Field<String>,
    /// One delivery at a time per event `ordering_key`, in acceptance order (§15); `null` is
    /// `false`.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub ordered: Field<bool>,
    /// Deliver to an SQS queue, SNS topic, EventBridge bus or Kinesis stream in the customer's
    /// AWS account instead of `url` (§16): `{"type": "sqs", "queue_url", "role_arn",
    /// "message_group_id"?}`, `{"type": "sns", "topic_arn", "role_arn"}`, `{"type":
    /// "eventbridge", "event_bus_arn", "role_arn", "source"?}` or `{"type": "kinesis",
    /// "stream_arn", "role_arn"}`; `null` switches back to `url`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub destination: Field<Value>,
    /// How Hookline authenticates to the receiver (§17): `{"type": "oauth2", "token_url",
    /// "client_id", "client_secret", "scope"?, "audience"?}` or `{"type": "basic", "username",
    /// "password"}`; secrets are write-only (a `PATCH` of the same type may leave them out to
    /// keep them); excludes `authorization`; `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub auth: Field<Value>,
    /// Mutual TLS and private roots (§17): `{"client_certificate": "<PEM>", "client_key":
    /// "<PEM>", "ca_certificates": "<PEM>"?}`; the key is write-only; `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub tls: Field<Value>,
    /// `hmac` (default; also `null`) or `ed25519`; on create only.
    #[serde(default)]
    #[schema(value_type = Option<SignatureScheme>)]
    pub signature_scheme: Field<SignatureScheme>,
    // Read-only fields a client may send back from a GET; they are ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub public_key: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub id: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, read_only)]
    pub project_id: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub created_at: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub updated_at: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<bool>, read_only)]
    pub authorization_set: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub verification_key: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub disabled_reason: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>, read_only)]
    pub failing_since: Field<Value>,
}

/// `POST …/webhooks`: the body of a new webhook.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CreateWebhook(pub WebhookBody);

/// `PATCH …/webhooks/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct PatchWebhook(pub WebhookBody);

impl WebhookBody {
    fn changes(self, settings: &Settings, creating: bool) -> Result<WebhookChanges, Vec<FieldError>> {
        // Named field by field, with no `..`: a field added to the body does not compile
        // until it is checked here or listed as ignored.
        let WebhookBody {
            name,
            url,
            enabled,
            event_types,
            headers,
            authorization,
            custom_parameters,
            content_type,
            payload_format,
            secret,
            rate_limit,
            filter,
            transform,
            ordered,
            destination,
            auth,
            tls,
            signature_scheme,
            // The read-only fields a GET shows, sent back: ignored.
            public_key: _,
            id: _,
            project_id: _,
            created_at: _,
            updated_at: _,
            authorization_set: _,
            verification_key: _,
            disabled_reason: _,
            failing_since: _,
        } = self;
        let mut e = Errors::default();
        let pick = |e: &mut Errors, name: &str, f: &Field<String>| {
            if creating {
                e.required(name, f).cloned()
            } else {
                e.optional(name, f).cloned()
            }
        };
        let name = pick(&mut e, "name", &name);
        if let Some(n) = &name {
            e.check("name", rules::check_name(n));
        }
        let destination_field = destination;
        let rules = settings.destination_rules();
        let destination =
            nested(&mut e, "destination", &destination_field, |v| crate::destination::parse_destination(v, &rules));
        // A destination given, even an invalid one, stands in for the URL: its own errors say
        // what is wrong, not a missing `url`.
        let with_destination = matches!(&destination, Some(Some(_))) || matches!(&destination_field, Field::Given(_));
        let url = match (&url, with_destination) {
            (Field::Absent, true) => None,
            (_, true) => {
                e.add("url", "does not apply to a webhook with a destination");
                None
            }
            (_, false) => pick(&mut e, "url", &url),
        };
        if let Some(u) = &url {
            e.check("url", rules::check_url(u, settings));
        }
        let enabled = e.optional("enabled", &enabled).copied();
        let event_types = e.optional("event_types", &event_types).cloned();
        if let Some(types) = &event_types {
            e.extend(rules::check_event_type_patterns(types));
        }
        let headers = e.optional("headers", &headers).cloned();
        if let Some(h) = &headers {
            e.extend(rules::check_headers(h));
        }
        let authorization = e.clearable("authorization", &authorization).map(|v| v.cloned());
        if let Some(Some(a)) = &authorization {
            e.check("authorization", rules::check_authorization_value(a));
        }
        let custom_parameters = e.optional("custom_parameters", &custom_parameters).cloned();
        if let Some(p) = &custom_parameters {
            e.extend(rules::check_custom_parameters(p));
        }
        let content_type = e.optional("content_type", &content_type).copied();
        let payload_format = e.optional("payload_format", &payload_format).copied();
        let secret = match (&secret, creating) {
            (Field::Absent, _) => None,
            (f, true) => {
                let secret = e.optional("secret", f).cloned();
                if let Some(s) = &secret {
                    e.check("secret", rules::check_secret(s));
                }
                secret
            }
            (_, false) => {
                e.add("secret", "can only be set on create; use rotate-secret");
                None
            }
        };
        let rate_limit = e.clearable("rate_limit", &rate_limit).map(|v| v.copied());
        if let Some(Some(r)) = rate_limit {
            if !RATE_LIMIT_RANGE.contains(&r) {
                e.add("rate_limit", "must be from 1 to 10000 deliveries per second, or null");
            }
        }
        let filter = check_filter(&mut e, &filter);
        let transform = check_transform(&mut e, &transform);
        let ordered = e.defaulted("ordered", &ordered);
        let signature_scheme = e.defaulted("signature_scheme", &signature_scheme);
        if signature_scheme == Some(SignatureScheme::Ed25519) && secret.is_some() {
            e.add("secret", "does not apply to an ed25519 webhook: it gets a key pair");
        }
        let auth = nested(&mut e, "auth", &auth, |v| crate::endpoint::parse_auth(v, settings, !creating));
        let tls = nested(&mut e, "tls", &tls, crate::endpoint::tls::parse_tls);
        let changes = WebhookChanges {
            name,
            url,
            enabled,
            event_types,
            headers,
            authorization,
            // 003's `enable_http_authorization`: only its PUT sets it.
            authorization_enabled: None,
            custom_parameters,
            content_type,
            payload_format,
            secret,
            rate_limit,
            filter,
            transform,
            ordered,
            destination,
            auth,
            tls,
            signature_scheme,
        };
        done(e, changes)
    }
}

impl Check for CreateWebhook {
    type Checked = WebhookChanges;

    fn check(self, settings: &Settings) -> Result<WebhookChanges, Vec<FieldError>> {
        self.0.changes(settings, true)
    }
}

impl Check for PatchWebhook {
    type Checked = WebhookChanges;

    fn check(self, settings: &Settings) -> Result<WebhookChanges, Vec<FieldError>> {
        self.0.changes(settings, false)
    }
}

/// A flag of 003: `"true"`/`"false"` strings, booleans accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Bool(bool),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Bool(b) => Ok(Flag(b)),
            Either::Text(t) if t == "true" => Ok(Flag(true)),
            Either::Text(t) if t == "false" => Ok(Flag(false)),
            Either::Text(_) => Err(serde::de::Error::custom("not a flag")),
        }
    }
}

/// `"true"`, `"false"`, `true` or `false`.
impl utoipa::PartialSchema for Flag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .description(Some("`\"true\"` or `\"false\"` (booleans accepted)."))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true", "false"])))
            .into()
    }
}

impl ToSchema for Flag {}

impl crate::api::field::Expect for Flag {
    const EXPECTED: &'static str = "must be true or false";
}

/// 003's `PUT …/web_hook` parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWebHook {
    /// Without protocol: `https://` is enforced (a given `https://` prefix is accepted).
    #[serde(default)]
    #[schema(value_type = String)]
    pub endpoint: Field<String>,
    // `"true"` or `"false"`, booleans accepted (the schema of `Flag` says so).
    #[serde(default)]
    #[schema(value_type = Flag, inline)]
    pub enable_web_hook: Field<Flag>,
    #[serde(default)]
    #[schema(value_type = Flag, inline)]
    pub enable_http_authorization: Field<Flag>,
    /// Write-only value of the `Authorization` header; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, write_only)]
    pub http_authorization_value: Field<String>,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub custom_parameters: Field<BTreeMap<String, String>>,
    /// Accepted and ignored (003 sends them back).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub client_id: Field<Value>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub project_id: Field<Value>,
}

impl Check for PutWebHook {
    type Checked = WebhookChanges;

    fn check(self, settings: &Settings) -> Result<WebhookChanges, Vec<FieldError>> {
        // Named field by field, with no `..`, as `WebhookBody::changes` is.
        let PutWebHook {
            endpoint,
            enable_web_hook,
            enable_http_authorization,
            http_authorization_value,
            custom_parameters,
            client_id: _,
            project_id: _,
        } = self;
        let mut e = Errors::default();
        let mut url = None;
        if let Some(endpoint) = e.optional("endpoint", &endpoint) {
            match rules::endpoint_to_url(endpoint, settings) {
                Ok(u) => url = Some(u),
                Err(m) => e.add("endpoint", m),
            }
        }
        let enabled = e.optional("enable_web_hook", &enable_web_hook).map(|f| f.0);
        let authorization_enabled = e.optional("enable_http_authorization", &enable_http_authorization).map(|f| f.0);
        let authorization = e.clearable("http_authorization_value", &http_authorization_value).map(|v| v.cloned());
        if let Some(Some(a)) = &authorization {
            e.check("http_authorization_value", rules::check_authorization_value(a));
        }
        let custom_parameters = e.optional("custom_parameters", &custom_parameters).cloned();
        if let Some(p) = &custom_parameters {
            e.extend(rules::check_custom_parameters(p));
        }
        // 003's PUT has only these parameters; the rest of the webhook stays as it is.
        let changes = WebhookChanges {
            url,
            enabled,
            authorization_enabled,
            authorization,
            custom_parameters,
            ..Default::default()
        };
        done(e, changes)
    }
}

/// `POST /api/v1/events`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostEvent {
    /// 1–128 characters of `[A-Za-z0-9_.-]`.
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub event_type: Field<String>,
    /// A JSON object, delivered exactly as sent (default `{}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub session_id: Field<String>,
    /// §15: 1–128 printable ASCII characters; ordered webhooks deliver one event of a key at
    /// a time, in the order they were accepted.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 128)]
    pub ordering_key: Field<String>,
}

impl PostEvent {
    fn input(self, e: &mut Errors) -> Option<EventInput> {
        let event_type = e.required("event_type", &self.event_type).cloned();
        if let Some(t) = &event_type {
            e.check("event_type", rules::check_event_type(t));
        }
        let data = match &self.data {
            Field::Absent => Some(RawValue::from_string("{}".into()).expect("valid JSON")),
            Field::Given(raw) if raw.get().starts_with('{') => Some(raw.clone()),
            _ => {
                e.add("data", "must be a JSON object");
                None
            }
        };
        let session_id = match &self.session_id {
            Field::Null => None,
            f => e.optional("session_id", f).cloned(),
        };
        if let Some(s) = &session_id {
            e.check("session_id", rules::check_session_id(s));
        }
        let ordering_key = match &self.ordering_key {
            Field::Null => None,
            f => e.optional("ordering_key", f).cloned(),
        };
        if let Some(k) = &ordering_key {
            e.check("ordering_key", rules::check_ordering_key(k));
        }
        Some(EventInput { event_type: event_type?, data: data?, session_id, ordering_key })
    }
}

impl Check for PostEvent {
    type Checked = EventInput;

    fn check(self, _: &Settings) -> Result<EventInput, Vec<FieldError>> {
        let mut e = Errors::default();
        let input = self.input(&mut e);
        match input {
            Some(i) if e.0.is_empty() => Ok(i),
            _ => Err(e.into_vec()),
        }
    }
}

/// One entry of `POST /api/v1/events/batch`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchEvent {
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub event_type: Field<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub session_id: Field<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 128)]
    pub ordering_key: Field<String>,
    /// As the `Idempotency-Key` header of §5, in the same key space.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub idempotency_key: Field<String>,
}

/// `POST /api/v1/events/batch` (§10): 1–100 event objects.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostBatch {
    #[schema(value_type = Vec<BatchEvent>, min_items = 1, max_items = 100)]
    pub events: Vec<Box<RawValue>>,
}

/// One batch entry after its own checks.
pub type CheckedEntry = Result<(EventInput, Option<String>), Vec<FieldError>>;

impl Check for PostBatch {
    type Checked = Vec<CheckedEntry>;

    fn check(self, _: &Settings) -> Result<Vec<CheckedEntry>, Vec<FieldError>> {
        if self.events.is_empty() || self.events.len() > 100 {
            return Err(vec![FieldError::new("events", "must hold 1 to 100 events")]);
        }
        if let Some(i) = self.events.iter().position(|raw| !raw.get().starts_with('{')) {
            return Err(vec![FieldError::new(format!("events.{i}"), "must be a JSON object")]);
        }
        Ok(self.events.iter().map(|raw| check_entry(raw.get())).collect())
    }
}

fn check_entry(text: &str) -> CheckedEntry {
    let entry: BatchEvent = crate::api::input::typed(text).map_err(|e| e.field_errors().to_vec())?;
    let mut e = Errors::default();
    let key = match &entry.idempotency_key {
        Field::Null => None,
        f => e.optional("idempotency_key", f).cloned(),
    };
    if let Some(k) = &key {
        e.check("idempotency_key", rules::check_idempotency_key(k));
    }
    let BatchEvent { event_type, data, session_id, ordering_key, idempotency_key: _ } = entry;
    let input = PostEvent { event_type, data, session_id, ordering_key }.input(&mut e);
    match input {
        Some(i) if e.0.is_empty() => Ok((i, key)),
        _ => Err(e.into_vec()),
    }
}

/// `POST …/webhooks/{id}/test` (§7).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestWebhook {
    /// Default `webhook.test`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub event_type: Field<String>,
    /// Default: the type's catalogue example, else sample data.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Field<Box<RawValue>>,
}

impl Check for TestWebhook {
    type Checked = (Option<String>, Option<Box<RawValue>>);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let event_type = match &self.event_type {
            Field::Null => None,
            f => e.optional("event_type", f).cloned(),
        };
        if let Some(t) = &event_type {
            e.check("event_type", rules::check_event_type(t));
        }
        let data = match &self.data {
            Field::Absent | Field::Null => None,
            Field::Given(raw) if raw.get().starts_with('{') => Some(raw.clone()),
            _ => {
                e.add("data", "must be a JSON object");
                None
            }
        };
        done(e, (event_type, data))
    }
}

/// `POST …/webhooks/{id}/preview` (§15): an event to shape, and optionally a filter and a
/// transform to try instead of the webhook's own (`null`: none).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewWebhook {
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub event_type: Field<String>,
    /// The event's `data`: a JSON object (default `{}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub filter: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 8192)]
    pub transform: Field<String>,
}

/// A checked preview request.
#[derive(Debug, Clone)]
pub struct Preview {
    pub event_type: String,
    pub data: Box<RawValue>,
    /// `None`: the webhook's own; `Some(None)`: none.
    pub filter: Option<Option<String>>,
    pub transform: Option<Option<String>>,
}

impl Check for PreviewWebhook {
    type Checked = Preview;

    fn check(self, _: &Settings) -> Result<Preview, Vec<FieldError>> {
        let PreviewWebhook { event_type, data, filter, transform } = self;
        let mut e = Errors::default();
        let event_type = e.required("event_type", &event_type).cloned();
        if let Some(t) = &event_type {
            e.check("event_type", rules::check_event_type(t));
        }
        // As at intake (§5): `data` defaults to `{}`.
        let data = match &data {
            Field::Given(raw) if raw.get().starts_with('{') => Some(raw.clone()),
            Field::Absent => None,
            _ => {
                e.add("data", "must be a JSON object");
                None
            }
        };
        let filter = check_filter(&mut e, &filter);
        let transform = check_transform(&mut e, &transform);
        let data = data.unwrap_or_else(|| RawValue::from_string("{}".into()).expect("valid JSON"));
        done(e, Preview { event_type: event_type.unwrap_or_default(), data, filter, transform })
    }
}

/// `POST /api/v1/event-types` (§11).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// An event type (no wildcard).
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub name: Field<String>,
    /// Up to 1000 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 1000)]
    pub description: Field<String>,
    /// A JSON Schema (draft 2020-12) for the events' `data`, kept and returned exactly as sent.
    /// Limits: a `pattern` (or `patternProperties` key) compiles to at most 16 KiB (`a{505}` fits,
    /// `a{506}` does not); a subschema may reach at most 1000 subschemas through
    /// `$ref`/`allOf`/`anyOf`/`oneOf`/`not`/`if`; every number must be one a double holds
    /// exactly (the check compares in double precision). Otherwise 400 on `schema`, naming the place.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Field<Box<RawValue>>,
    /// A `data` object that satisfies `schema`, kept and returned exactly as sent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub example: Field<Box<RawValue>>,
}

fn check_description(e: &mut Errors, d: &str) {
    e.check("description", rules::check_description(d));
}

fn object_or_null(e: &mut Errors, name: &str, f: &Field<Box<RawValue>>) -> Option<Option<Box<RawValue>>> {
    match e.clearable(name, f) {
        Some(Some(v)) if !v.get().starts_with('{') => {
            e.add(name, "must be a JSON object");
            None
        }
        other => other.map(|v| v.cloned()),
    }
}

impl Check for CreateEventType {
    type Checked = (String, String, Option<Box<RawValue>>, Option<Box<RawValue>>);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e.required("name", &self.name).cloned();
        if let Some(n) = &name {
            e.check("name", rules::check_event_type(n));
        }
        let description = e.required("description", &self.description).cloned();
        if let Some(d) = &description {
            check_description(&mut e, d);
        }
        let schema = object_or_null(&mut e, "schema", &self.schema).flatten();
        let example = object_or_null(&mut e, "example", &self.example).flatten();
        done(e, (name.unwrap_or_default(), description.unwrap_or_default(), schema, example))
    }
}

/// `PATCH /api/v1/event-types/{name}`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEventType {
    #[serde(default)]
    #[schema(value_type = String, max_length = 1000)]
    pub description: Field<String>,
    /// `null` removes it. The limits of `createEventType` apply.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub example: Field<Box<RawValue>>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub archived: Field<bool>,
}

impl Check for PatchEventType {
    type Checked = EventTypeChanges;

    fn check(self, _: &Settings) -> Result<EventTypeChanges, Vec<FieldError>> {
        let mut e = Errors::default();
        let description = e.optional("description", &self.description).cloned();
        if let Some(d) = &description {
            check_description(&mut e, d);
        }
        let schema = object_or_null(&mut e, "schema", &self.schema);
        let example = object_or_null(&mut e, "example", &self.example);
        let archived = e.optional("archived", &self.archived).copied();
        done(e, EventTypeChanges { description, schema, example, archived })
    }
}

/// `POST …/webhooks/{id}/recover` (§12).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// RFC 3339; not older than the retention, and not in the future without `until`.
    #[serde(default)]
    #[schema(value_type = String, required = true, format = DateTime)]
    pub since: Field<String>,
    /// RFC 3339, exclusive; default now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Field<String>,
}

impl Check for Recover {
    type Checked = (Millis, Option<Millis>);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let since_text = e.required("since", &self.since).cloned();
        let since = instant(&mut e, "since", since_text.as_deref());
        let until_text = match &self.until {
            Field::Null => None,
            f => e.optional("until", f).cloned(),
        };
        let until = instant(&mut e, "until", until_text.as_deref());
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                e.add("until", "must be after since");
            }
        }
        done(e, (since.unwrap_or_default(), until))
    }
}

fn instant(e: &mut Errors, name: &str, text: Option<&str>) -> Option<Millis> {
    let parsed = Millis::parse_rfc3339(text?);
    if parsed.is_none() {
        e.add(name, "must be an RFC 3339 date-time, e.g. 2026-11-20T10:00:00Z");
    }
    parsed
}

/// `POST …/portal-sessions` (§13).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalSession {
    /// 60–86400 (default 3600).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 86400)]
    pub ttl_seconds: Field<u64>,
    /// Only `GET` with this token (default false).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub read_only: Field<bool>,
    /// The dashboard's look for this session.
    #[serde(default)]
    #[schema(value_type = Option<ThemeInput>)]
    pub theme: Field<ThemeInput>,
}

/// `theme` of a portal session: every field optional, nothing else allowed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeInput {
    /// 1-60 characters, no control characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 60)]
    pub brand_name: Field<String>,
    /// `#rrggbb`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^#[0-9a-fA-F]{6}$")]
    pub accent_color: Field<String>,
    /// `light`, `dark` or `auto` (default).
    #[serde(default)]
    #[schema(value_type = Option<ThemeMode>)]
    pub mode: Field<String>,
}

impl Expect for ThemeInput {
    const EXPECTED: &'static str = "must be an object with only brand_name, accent_color and mode (each optional)";
}

impl ThemeInput {
    fn check(&self, e: &mut Errors) -> Theme {
        let ThemeInput { brand_name, accent_color, mode } = self;
        let brand_name = e.optional("theme/brand_name", brand_name).cloned();
        if let Some(b) = &brand_name {
            let chars = b.chars().count();
            if !(1..=60).contains(&chars) || b.trim().is_empty() {
                e.add("theme/brand_name", "must be 1 to 60 characters");
            } else if b.chars().any(char::is_control) {
                e.add("theme/brand_name", "must not contain control characters");
            }
        }
        let accent_color = e.optional("theme/accent_color", accent_color).cloned();
        if let Some(c) = &accent_color {
            let hex = c.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if hex.is_none() {
                e.add("theme/accent_color", "must be a colour as #rrggbb, e.g. #0a66c2");
            }
        }
        let mode = match e.optional("theme/mode", mode).map(String::as_str) {
            None | Some("auto") => ThemeMode::Auto,
            Some("light") => ThemeMode::Light,
            Some("dark") => ThemeMode::Dark,
            Some(_) => {
                e.add("theme/mode", "must be light, dark or auto");
                ThemeMode::Auto
            }
        };
        Theme { brand_name, accent_color: accent_color.map(|c| c.to_ascii_lowercase()), mode }
    }
}

impl Check for CreatePortalSession {
    type Checked = (Duration, bool, Theme);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let ttl = match &self.ttl_seconds {
            Field::Null => None,
            f => e.optional("ttl_seconds", f).copied(),
        };
        if ttl.is_some_and(|t| !PORTAL_TTL_RANGE.contains(&t)) {
            e.add("ttl_seconds", "must be from 60 to 86400");
        }
        let read_only = match &self.read_only {
            Field::Null => None,
            f => e.optional("read_only", f).copied(),
        };
        let theme = match &self.theme {
            Field::Null => None,
            f => e.optional("theme", f),
        }
        .map(|t| t.check(&mut e))
        .unwrap_or_default();
        let ttl = ttl.map_or(crate::service::portal::DEFAULT_TTL, Duration::from_secs);
        done(e, (ttl, read_only.unwrap_or(false), theme))
    }
}

/// `GET …/events` (§8).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Only events of this type.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,128}$")]
    pub event_type: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Check for EventsQuery {
    type Checked = (Option<String>, Paging);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let paging = Paging { limit: self.limit, cursor: self.cursor };
        e.extend(paging.errors());
        let event_type = self.event_type.filter(|t| !t.is_empty());
        if let Some(t) = &event_type {
            e.check("event_type", rules::check_event_type(t));
        }
        done(e, (event_type, paging))
    }
}

/// `GET …/webhooks/{id}/deliveries` (§8).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    /// Only deliveries with this status.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Check for DeliveriesQuery {
    type Checked = (Option<Status>, Paging);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let mut e = Errors::default();
        let paging = Paging { limit: self.limit, cursor: self.cursor };
        e.extend(paging.errors());
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some("pending") => Some(Status::Pending),
            Some("success") => Some(Status::Success),
            Some("error") => Some(Status::Error),
            Some(_) => {
                e.add("status", "must be success, error or pending");
                None
            }
        };
        done(e, (status, paging))
    }
}

/// `GET /api/v1/event-types` (§11).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EventTypesQuery {
    /// Include archived types.
    pub include_archived: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Check for EventTypesQuery {
    type Checked = (bool, Paging);

    fn check(self, _: &Settings) -> Result<Self::Checked, Vec<FieldError>> {
        let paging = Paging { limit: self.limit, cursor: self.cursor };
        let errors = paging.errors();
        if errors.is_empty() {
            Ok((self.include_archived.unwrap_or(false), paging))
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::input::typed;

    fn fields<T: Check>(json: &str, settings: &Settings) -> Vec<String> {
        let value: T = typed(json).unwrap();
        value.check(settings).err().unwrap_or_default().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn accepts_a_full_webhook() {
        let s = Settings::default();
        let body: CreateWebhook = typed(
            r#"{"name": "CRM", "url": "https://example.com/hook?k={VerificationKey}",
                "event_types": ["submission.*", "aml.match.found"], "headers": {"X-Team": "kyc"},
                "authorization": "Bearer abc", "custom_parameters": {"region": "eu"},
                "content_type": "xml", "payload_format": "flat", "secret": "my-own-secret-1234", "rate_limit": 5}"#,
        )
        .unwrap();
        let ch = body.check(&s).unwrap();
        assert_eq!(ch.content_type, Some(ContentType::Xml));
        assert_eq!(ch.authorization, Some(Some("Bearer abc".into())));
        assert_eq!(ch.rate_limit, Some(Some(5)));
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let s = Settings::default();
        let f = fields::<CreateWebhook>(
            r#"{"name": "", "url": 5, "event_types": ["bad type"], "enabled": "no",
                "custom_parameters": {"event": "x"}, "content_type": "yaml", "secret": "short", "rate_limit": 0}"#,
            &s,
        );
        for expected in
            ["name", "url", "event_types", "enabled", "custom_parameters.event", "content_type", "secret", "rate_limit"]
        {
            assert!(f.contains(&expected.to_string()), "missing {expected} in {f:?}");
        }
    }

    #[test]
    fn create_requires_name_and_url_but_patch_does_not() {
        let s = Settings::default();
        assert_eq!(fields::<CreateWebhook>("{}", &s), vec!["name", "url"]);
        assert!(fields::<PatchWebhook>(r#"{"enabled": false}"#, &s).is_empty());
        assert_eq!(fields::<PatchWebhook>(r#"{"secret": "0123456789abcdef"}"#, &s), vec!["secret"]);
        // Read-only fields sent back from a GET are ignored; null clears.
        let patch: PatchWebhook =
            typed(r#"{"id": "wh_x", "authorization_set": true, "authorization": null, "rate_limit": null}"#).unwrap();
        let ch = patch.check(&s).unwrap();
        assert_eq!((ch.authorization, ch.rate_limit), (Some(None), Some(None)));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(typed::<CreateWebhook>(r#"{"colour": 1}"#).is_err());
        assert!(typed::<PostEvent>(r#"{"event_type": "a", "extra": 1}"#).is_err());
    }

    #[test]
    fn web_hook_flags_take_strings_or_booleans() {
        let s = Settings::default();
        let put: PutWebHook =
            typed(r#"{"endpoint": "e.com/x", "enable_web_hook": "false", "enable_http_authorization": true}"#).unwrap();
        let ch = put.check(&s).unwrap();
        assert_eq!((ch.enabled, ch.authorization_enabled), (Some(false), Some(true)));
        assert_eq!(ch.url.as_deref(), Some("https://e.com/x"));
        assert_eq!(
            fields::<PutWebHook>(r#"{"enable_web_hook": "maybe", "endpoint": "ftp://x"}"#, &s),
            vec!["endpoint", "enable_web_hook"]
        );
    }

    #[test]
    fn events_need_a_type_and_an_object() {
        let s = Settings::default();
        assert_eq!(fields::<PostEvent>("{}", &s), vec!["event_type"]);
        assert_eq!(fields::<PostEvent>(r#"{"event_type": "a b", "data": [1]}"#, &s), vec!["event_type", "data"]);
        let ok: PostEvent =
            typed(r#"{"event_type": "a.b", "data": {"n": 123456789012345678901234567890123456789012}}"#).unwrap();
        let input = ok.check(&s).unwrap();
        assert_eq!(input.data.get(), r#"{"n": 123456789012345678901234567890123456789012}"#, "data is kept exactly");
    }

    #[test]
    fn batches_check_their_shape_then_each_entry() {
        let s = Settings::default();
        assert!(typed::<PostBatch>(r#"{"events": []}"#).unwrap().check(&s).is_err());
        assert!(typed::<PostBatch>(r#"{"events": [{"event_type": "a"}, 5]}"#).unwrap().check(&s).is_err());
        let entries = typed::<PostBatch>(r#"{"events": [{"event_type": "a"}, {"event_type": "b c"}, {"event_type": "d", "idempotency_key": "k-1"}]}"#)
            .unwrap()
            .check(&s)
            .unwrap();
        assert!(entries[0].is_ok());
        assert_eq!(entries[1].as_ref().err().unwrap()[0].field, "event_type");
        assert_eq!(entries[2].as_ref().unwrap().1.as_deref(), Some("k-1"));
    }

    #[test]
    fn recover_windows() {
        let s = Settings::default();
        assert_eq!(fields::<Recover>("{}", &s), vec!["since"]);
        assert_eq!(fields::<Recover>(r#"{"since": "yesterday"}"#, &s), vec!["since"]);
        assert_eq!(
            fields::<Recover>(r#"{"since": "2026-11-20T10:00:00Z", "until": "2026-11-19T10:00:00Z"}"#, &s),
            vec!["until"]
        );
    }

    #[test]
    fn portal_session_bounds() {
        let s = Settings::default();
        assert_eq!(fields::<CreatePortalSession>(r#"{"ttl_seconds": 59}"#, &s), vec!["ttl_seconds"]);
        let (ttl, ro, theme) =
            typed::<CreatePortalSession>(r#"{"ttl_seconds": 600, "read_only": true}"#).unwrap().check(&s).unwrap();
        assert_eq!((ttl, ro, theme), (Duration::from_secs(600), true, Theme::default()));
        let (_, _, theme) = typed::<CreatePortalSession>(
            r##"{"theme": {"brand_name": "Acme Forms", "accent_color": "#0A66C2", "mode": "dark"}}"##,
        )
        .unwrap()
        .check(&s)
        .unwrap();
        assert_eq!(
            theme,
            Theme {
                brand_name: Some("Acme Forms".into()),
                accent_color: Some("#0a66c2".into()),
                mode: ThemeMode::Dark
            }
        );
        assert_eq!(
            fields::<CreatePortalSession>(r#"{"theme": {"accent_color": "red"}}"#, &s),
            vec!["theme/accent_color"]
        );
        assert_eq!(fields::<CreatePortalSession>(r#"{"theme": {"mode": "sepia"}}"#, &s), vec!["theme/mode"]);
        assert_eq!(fields::<CreatePortalSession>(r#"{"theme": {"brand_name": ""}}"#, &s), vec!["theme/brand_name"]);
        let long = format!(r#"{{"theme": {{"brand_name": "{}"}}}}"#, "x".repeat(61));
        assert_eq!(fields::<CreatePortalSession>(&long, &s), vec!["theme/brand_name"]);
        assert_eq!(
            fields::<CreatePortalSession>(r#"{"theme": {"brand_name": "a\u0007"}}"#, &s),
            vec!["theme/brand_name"]
        );
        assert_eq!(fields::<CreatePortalSession>(r#"{"theme": {"font": "x"}}"#, &s), vec!["theme"]);
        assert_eq!(fields::<CreatePortalSession>(r#"{"theme": "dark"}"#, &s), vec!["theme"]);
    }
}
