//! Webhooks of a project, and its single project web hook (`wh_default`).

use std::collections::BTreeMap;

use crate::api::requests::Preview;
use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{generate_secret, generate_verification_key};
use crate::destination::Destination;
use crate::endpoint::{check_auth_complete, tls, AuthInput, TlsConfig};
use crate::error::ApiError;
use crate::error::FieldError;
use crate::ids::{EventId, ProjectId, WebhookId};
use crate::model::{ContentType, Event, Generation, PayloadFormat, Project, Webhook, WebhookRoute};
use crate::service::{deliver, intake};
use crate::signing::{generate_ed25519_key, SignatureScheme};
use crate::store::{ListError, Page};

/// Webhooks a project may have: the event keeps its whole fan-out in one item.
pub const MAX_WEBHOOKS_PER_PROJECT: usize = 2000;

/// A checked set of changes to a webhook, from a create, a PATCH or a PUT of the web_hook.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WebhookChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears the stored value.
    pub authorization: Option<Option<String>>,
    pub authorization_enabled: Option<bool>,
    pub custom_parameters: Option<BTreeMap<String, String>>,
    pub content_type: Option<ContentType>,
    pub payload_format: Option<PayloadFormat>,
    pub secret: Option<String>,
    /// `Some(None)` removes the limit.
    pub rate_limit: Option<Option<u32>>,
    /// A checked filter's JSON text; `Some(None)` removes it.
    pub filter: Option<Option<String>>,
    /// A compiled jq program's text; `Some(None)` removes it.
    pub transform: Option<Option<String>>,
    pub ordered: Option<bool>,
    /// A checked destination (§16), which replaces the URL; `Some(None)` removes it (the same
    /// change must then give a `url`).
    pub destination: Option<Option<Destination>>,
    /// §17; `Some(None)` removes it. A missing secret keeps the stored one (`AuthInput::merge`).
    pub auth: Option<Option<AuthInput>>,
    /// §17; `Some(None)` removes it. A missing key keeps the stored one (`TlsConfig::merge`).
    pub tls: Option<Option<TlsConfig>>,
    /// §17, on create only: `create` makes the key pair; `patch` refuses a different one.
    pub signature_scheme: Option<SignatureScheme>,
}

impl WebhookChanges {
    /// `wh` with these changes made. Both structs are spelled out field by field, with no
    /// `..`: a field added to either does not compile until this says what a request does
    /// to it.
    pub fn apply(self, wh: Webhook) -> Webhook {
        let WebhookChanges {
            name,
            url,
            enabled,
            event_types,
            headers,
            authorization,
            authorization_enabled,
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
            // Chosen by `create` before the changes apply, never changed after.
            signature_scheme: _,
        } = self;
        // A destination and a URL exclude each other: setting one clears the other. Setting a
        // destination also clears the HTTP settings the request does not give (a PATCH switches
        // in one step); the ones it gives are refused by `check_shape`.
        let to_destination = url.is_none() && matches!(destination, Some(Some(_)));
        let (url, destination) = match (url, destination) {
            (Some(u), d) => (Some(u), Some(d.flatten())),
            (None, Some(Some(d))) => (Some(String::new()), Some(Some(d))),
            (None, d) => (None, d),
        };
        let mut out = Webhook {
            name: name.unwrap_or(wh.name),
            url: url.unwrap_or(wh.url),
            event_types: event_types.unwrap_or(wh.event_types),
            headers: headers.unwrap_or_else(|| http_kept(to_destination, wh.headers)),
            authorization: authorization.unwrap_or_else(|| http_kept(to_destination, wh.authorization)),
            authorization_enabled: authorization_enabled.unwrap_or(wh.authorization_enabled),
            custom_parameters: custom_parameters.unwrap_or(wh.custom_parameters),
            content_type: content_type.unwrap_or_else(|| http_kept(to_destination, wh.content_type)),
            payload_format: payload_format.unwrap_or(wh.payload_format),
            secret: secret.unwrap_or(wh.secret),
            rate_limit: rate_limit.unwrap_or(wh.rate_limit),
            filter: filter.unwrap_or(wh.filter),
            transform: transform.unwrap_or(wh.transform),
            ordered: ordered.unwrap_or(wh.ordered),
            destination: destination.unwrap_or(wh.destination),
            auth: match auth {
                Some(a) => a.map(|a| a.merge(wh.auth.as_ref())),
                None => http_kept(to_destination, wh.auth),
            },
            tls: match tls {
                Some(t) => t.map(|t| t.merge(wh.tls.as_ref())),
                None => http_kept(to_destination, wh.tls),
            },
            signature_scheme: wh.signature_scheme,
            // Set by `create` and `patch` when a destination needs it.
            external_id: wh.external_id,
            // `set_enabled` below changes these three together (docs/api.md §12).
            enabled: wh.enabled,
            disabled_reason: wh.disabled_reason,
            failing_since: wh.failing_since,
            // Not a request's to change: identity, rotation and timestamps.
            id: wh.id,
            generation: wh.generation,
            project_id: wh.project_id,
            previous_secrets: wh.previous_secrets,
            verification_key: wh.verification_key,
            created_at: wh.created_at,
            updated_at: wh.updated_at,
        };
        if let Some(v) = enabled {
            out.set_enabled(v);
        }
        out
    }
}

/// An HTTP setting kept, or its default (none) when the webhook switches to a destination.
fn http_kept<T: Default>(to_destination: bool, kept: T) -> T {
    if to_destination {
        T::default()
    } else {
        kept
    }
}

fn new_webhook(id: WebhookId, project_id: ProjectId, now: Millis) -> Webhook {
    Webhook {
        id,
        generation: Generation::fresh(),
        project_id,
        name: String::new(),
        url: String::new(),
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
        signature_scheme: SignatureScheme::Hmac,
        event_types: Vec::new(),
        headers: BTreeMap::new(),
        authorization: None,
        authorization_enabled: true,
        custom_parameters: BTreeMap::new(),
        content_type: ContentType::default(),
        payload_format: PayloadFormat::default(),
        secret: generate_secret(),
        previous_secrets: Vec::new(),
        verification_key: generate_verification_key(),
        created_at: now,
        updated_at: now,
    }
}

/// What `preview` found: whether the event passes the filter, and the body it would be sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct Previewed {
    pub matches: bool,
    pub content_type: &'static str,
    pub body: Option<String>,
}

/// docs/api.md §15's preview: the exact body an event would be sent with, or that the filter
/// lets it through not; nothing is stored or sent.
pub async fn preview(app: &App, project: &Project, id: &WebhookId, p: Preview) -> Result<Previewed, ApiError> {
    let pid = project.project_id;
    let mut wh = app.store.get_webhook(pid, id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    let Preview { event_type, data, filter, transform } = p;
    if let Some(f) = filter {
        wh.filter = f;
    }
    if let Some(t) = transform {
        wh.transform = t;
    }
    let now = Millis::now();
    let event = Event {
        id: EventId::new(now),
        project_id: pid,
        client_id: project.client_id,
        event_type,
        session_id: None,
        data,
        received_at: now,
        fan_out: Vec::new(),
        test: false,
        ordering_key: None,
        after: Vec::new(),
    };
    let content_type = match wh.content_type {
        ContentType::Json => "application/json",
        ContentType::Xml => "application/xml",
    };
    // Subscriptions and the enabled flag are not the question here: only the filter.
    wh.enabled = true;
    wh.event_types.clear();
    if intake::targets(&[WebhookRoute::from(&wh)], &event).is_empty() {
        return Ok(Previewed { matches: false, content_type, body: None });
    }
    // A program that could not run now is not the program's fault: 503, try again.
    let payload = deliver::sent_payload(&event, &wh).await.map_err(|e| match e {
        crate::delivery::SendError::TransformNotRun(_) => ApiError::Unavailable(e.to_string()),
        e => ApiError::invalid("transform", e.to_string()),
    })?;
    Ok(Previewed {
        matches: true,
        content_type: payload.content_type,
        body: Some(String::from_utf8_lossy(&payload.body).into_owned()),
    })
}

pub(crate) fn list_error(e: ListError) -> ApiError {
    match e {
        ListError::Cursor(c) => ApiError::invalid("cursor", c.to_string()),
        ListError::Store(s) => s.into(),
    }
}

pub async fn list(app: &App, pid: ProjectId, limit: usize, cursor: Option<&str>) -> Result<Page<Webhook>, ApiError> {
    app.store.list_webhooks(pid, limit, cursor).await.map_err(list_error)
}

async fn check_room(app: &App, pid: ProjectId) -> Result<(), ApiError> {
    if app.store.count_webhooks(pid).await? >= MAX_WEBHOOKS_PER_PROJECT {
        return Err(ApiError::Conflict(format!("a project may have at most {MAX_WEBHOOKS_PER_PROJECT} webhooks")));
    }
    Ok(())
}

/// A webhook delivers by HTTP to its `url`, or to its `destination` (docs/api.md §16) with none
/// of the HTTP settings; checked on the result of a change, so a `PATCH` cannot mix them.
fn check_shape(wh: &Webhook) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let not_with = "does not apply to a webhook with a destination";
    match &wh.destination {
        None if wh.url.is_empty() => errors.push(FieldError::new("url", "is required (or a destination)")),
        None => {}
        Some(_) => {
            if !wh.headers.is_empty() {
                errors.push(FieldError::new("headers", not_with));
            }
            if wh.authorization.is_some() {
                errors.push(FieldError::new("authorization", not_with));
            }
            if wh.content_type == ContentType::Xml {
                errors.push(FieldError::new("content_type", "must be json for a webhook with a destination"));
            }
            if wh.auth.is_some() {
                errors.push(FieldError::new("auth", not_with));
            }
            if wh.tls.is_some() {
                errors.push(FieldError::new("tls", not_with));
            }
        }
    }
    if wh.auth.is_some() && wh.authorization.is_some() {
        errors.push(FieldError::new("auth", "excludes authorization: remove one of them (null clears it)"));
    }
    errors.extend(wh.auth.as_ref().and_then(check_auth_complete));
    errors.extend(wh.tls.as_ref().map(tls::check_complete).unwrap_or_default());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::from_fields(errors))
    }
}

/// The project's external id onto a webhook with a destination: every send assumes the
/// customer's role with it (docs/api.md §16).
async fn with_external_id(app: &App, project: &Project, mut wh: Webhook) -> Result<Webhook, ApiError> {
    if wh.destination.is_some() && wh.external_id.is_none() {
        wh.external_id = Some(crate::service::projects::with_external_id(app, project).await?.external_id);
    }
    Ok(wh)
}

/// Creates a webhook in `project` (as the caller's credential found it); the answer is the
/// only one that shows its secret.
pub async fn create(app: &App, project: &Project, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    let pid = project.project_id;
    check_room(app, pid).await?;
    let now = Millis::now();
    let mut base = new_webhook(WebhookId::new(now), pid, now);
    if changes.signature_scheme == Some(SignatureScheme::Ed25519) {
        base.signature_scheme = SignatureScheme::Ed25519;
        base.secret = generate_ed25519_key();
    }
    let wh = changes.apply(base);
    check_shape(&wh)?;
    let wh = with_external_id(app, project, wh).await?;
    if !app.store.create_webhook(&wh).await? {
        return Err(ApiError::Conflict("a webhook with this id already exists".into()));
    }
    Ok(wh)
}

pub async fn load(app: &App, pid: ProjectId, id: &WebhookId) -> Result<Webhook, ApiError> {
    app.store.get_webhook(pid, id).await?.ok_or_else(|| ApiError::not_found("webhook"))
}

/// Writes `wh` over `old`, refusing if someone else changed it in between.
async fn replace(app: &App, old: &Webhook, mut wh: Webhook) -> Result<Webhook, ApiError> {
    wh.updated_at = Millis::now().max(Millis(old.updated_at.0 + 1));
    if !app.store.replace_webhook(&wh, old).await? {
        return Err(ApiError::Conflict("the webhook was changed concurrently; retry".into()));
    }
    Ok(wh)
}

pub async fn patch(app: &App, project: &Project, id: &WebhookId, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    let old = load(app, project.project_id, id).await?;
    if changes.signature_scheme.is_some_and(|s| s != old.signature_scheme) {
        return Err(ApiError::invalid("signature_scheme", "can only be set on create"));
    }
    let wh = changes.apply(old.clone());
    check_shape(&wh)?;
    let wh = with_external_id(app, project, wh).await?;
    replace(app, &old, wh).await
}

/// Deletes a webhook; its pending deliveries are dropped when they wake up (they belong
/// to this incarnation, which no new webhook with the same id continues).
pub async fn delete(app: &App, pid: ProjectId, id: &WebhookId) -> Result<(), ApiError> {
    if !app.store.delete_webhook(pid, id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(())
}

/// New secret and verification key; each old secret keeps signing for 24 hours.
pub async fn rotate_secret(app: &App, pid: ProjectId, id: &WebhookId) -> Result<Webhook, ApiError> {
    let old = load(app, pid, id).await?;
    let mut wh = old.clone();
    let secret = match wh.signature_scheme {
        SignatureScheme::Hmac => generate_secret(),
        SignatureScheme::Ed25519 => generate_ed25519_key(),
    };
    wh.rotate(secret, generate_verification_key(), Millis::now());
    replace(app, &old, wh).await
}

pub async fn get_web_hook(app: &App, pid: ProjectId) -> Result<Webhook, ApiError> {
    app.store.get_webhook(pid, &WebhookId::default_web_hook()).await?.ok_or_else(|| ApiError::not_found("web hook"))
}

/// `PUT …/web_hook`: creates the project web hook or updates it.
pub async fn put_web_hook(app: &App, pid: ProjectId, changes: WebhookChanges) -> Result<Webhook, ApiError> {
    match app.store.get_webhook(pid, &WebhookId::default_web_hook()).await? {
        Some(old) => {
            let wh = changes.apply(old.clone());
            check_shape(&wh)?;
            replace(app, &old, wh).await
        }
        None => {
            if changes.url.is_none() {
                return Err(ApiError::invalid("endpoint", "is required to create the web hook"));
            }
            check_room(app, pid).await?;
            let now = Millis::now();
            let mut wh = new_webhook(WebhookId::default_web_hook(), pid, now);
            wh.name = "Project web hook".into();
            wh.payload_format = PayloadFormat::Flat;
            // HTTP authorization is off until `enable_http_authorization` turns it on.
            wh.authorization_enabled = false;
            let wh = changes.apply(wh);
            if !app.store.create_webhook(&wh).await? {
                return Err(ApiError::Conflict("the web hook was created concurrently; retry".into()));
            }
            Ok(wh)
        }
    }
}

pub async fn delete_web_hook(app: &App, pid: ProjectId) -> Result<(), ApiError> {
    if !app.store.delete_webhook(pid, &WebhookId::default_web_hook()).await? {
        return Err(ApiError::not_found("web hook"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{webhook_fixture, DisabledReason};

    #[test]
    fn changes_land_on_their_own_fields_and_nothing_else_moves() {
        let mut old = webhook_fixture();
        old.enabled = false;
        old.disabled_reason = Some(DisabledReason::Failing);
        old.failing_since = Some(Millis(5));
        old.authorization = Some("Bearer old".into());
        old.rate_limit = Some(9);
        assert_eq!(WebhookChanges::default().apply(old.clone()), old, "no changes, no difference");

        let changes = WebhookChanges {
            name: Some("name".into()),
            url: Some("https://url.example".into()),
            enabled: Some(true),
            event_types: Some(vec!["a.b".into()]),
            headers: Some(BTreeMap::from([("X-H".into(), "h".into())])),
            authorization: Some(None),
            authorization_enabled: Some(false),
            custom_parameters: Some(BTreeMap::from([("k".into(), "p".into())])),
            content_type: Some(ContentType::Xml),
            payload_format: Some(PayloadFormat::Flat),
            secret: Some("secret".into()),
            rate_limit: Some(None),
            filter: Some(Some(r#"{"data":{"n":1}}"#.into())),
            transform: Some(Some("{x: .id}".into())),
            ordered: Some(true),
            destination: None,
            auth: Some(Some(AuthInput {
                auth: crate::endpoint::EndpointAuth::Basic { username: "u".into(), password: "p".into() },
            })),
            tls: None,
            signature_scheme: None,
        };
        let mut expected = Webhook {
            name: "name".into(),
            url: "https://url.example".into(),
            event_types: vec!["a.b".into()],
            headers: BTreeMap::from([("X-H".into(), "h".into())]),
            authorization: None,
            authorization_enabled: false,
            custom_parameters: BTreeMap::from([("k".into(), "p".into())]),
            content_type: ContentType::Xml,
            payload_format: PayloadFormat::Flat,
            secret: "secret".into(),
            rate_limit: None,
            filter: Some(r#"{"data":{"n":1}}"#.into()),
            transform: Some("{x: .id}".into()),
            ordered: true,
            auth: Some(crate::endpoint::EndpointAuth::Basic { username: "u".into(), password: "p".into() }),
            ..old.clone()
        };
        expected.set_enabled(true);
        assert_eq!(changes.apply(old), expected);
    }
}
