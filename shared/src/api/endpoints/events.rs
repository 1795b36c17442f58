//! docs/api.md §5 and §10: event intake.

use crate::api::edge::Cx;
use crate::api::input::{AnyObject, Json, NoQuery};
use crate::api::requests::{CheckedEntry, PostBatch, PostEvent};
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::{AcceptedView, BatchItem, BatchView};
use crate::error::ApiError;
use crate::service::intake::{self, BatchEntry, BatchResult, EventInput, IntakeOutcome};

use super::{conflicting, route};

/// The `Idempotency-Key` header, checked: 1–255 printable ASCII characters, else 400
/// (a key the server cannot read must not be silently ignored).
fn idempotency_key<'a>(cx: &'a Cx<'_>) -> Result<Option<&'a str>, ApiError> {
    cx.header_bytes("idempotency-key")
        .map(|bytes| {
            crate::rules::idempotency_key_from_header(bytes).map_err(|m| ApiError::invalid("Idempotency-Key", m))
        })
        .transpose()
}

fn accepted(outcome: IntakeOutcome) -> Reply<AcceptedView> {
    let mut reply = Reply::from(AcceptedView::from(&outcome.accepted));
    if outcome.accepted.replayed {
        reply.headers.push(("idempotent-replayed", "true".into()));
    }
    reply
}

pub struct Post;

impl Endpoint for Post {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/events",
        Access::KeyProject,
        202,
        "postEvent",
        "events",
        "Record an event and queue one delivery per matching enabled webhook; 202 means stored and queued",
    ));
    type Body = Json<PostEvent>;
    type Query = NoQuery;
    type Output = AcceptedView;

    async fn handle(cx: &Cx<'_>, Json(input): Self::Body, _: NoQuery) -> Result<Reply<AcceptedView>, ApiError> {
        post(cx, input).await
    }
}

/// `POST /api/v1/events` for the path's project: the operator sends any project's events.
pub struct ProjectPost;

impl Endpoint for ProjectPost {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/events",
        Access::Project { portal: false },
        202,
        "postProjectEvent",
        "events",
        "As postEvent, for the path's project (its API key or the admin token)",
    ));
    type Body = Json<PostEvent>;
    type Query = NoQuery;
    type Output = AcceptedView;

    async fn handle(cx: &Cx<'_>, Json(input): Self::Body, _: NoQuery) -> Result<Reply<AcceptedView>, ApiError> {
        post(cx, input).await
    }
}

async fn post(cx: &Cx<'_>, input: EventInput) -> Result<Reply<AcceptedView>, ApiError> {
    let key = idempotency_key(cx)?;
    Ok(accepted(intake::ingest(cx.app, cx.project()?, input, key).await?))
}

pub struct Custom;

impl Endpoint for Custom {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/hook/custom-event",
        Access::KeyProject,
        202,
        "postCustomEvent",
        "events",
        "The custom-event hook: any JSON object is the event's data; its type is `custom.<action>`",
    ));
    type Body = AnyObject;
    type Query = NoQuery;
    type Output = AcceptedView;

    async fn handle(cx: &Cx<'_>, AnyObject(data): AnyObject, _: NoQuery) -> Result<Reply<AcceptedView>, ApiError> {
        let key = idempotency_key(cx)?;
        let input = custom_event(data);
        Ok(accepted(intake::ingest(cx.app, cx.project()?, input, key).await?))
    }
}

/// A custom event: the whole object is the data; the type comes from `action`, the
/// session from `context.session_id`.
fn custom_event(data: Box<serde_json::value::RawValue>) -> EventInput {
    #[derive(serde::Deserialize)]
    struct Peek {
        action: Option<serde_json::Value>,
        context: Option<serde_json::Value>,
    }
    let peek: Peek = serde_json::from_str(data.get()).unwrap_or(Peek { action: None, context: None });
    let action = peek.action.as_ref().and_then(|a| a.as_str()).filter(|a| {
        !a.is_empty()
            && a.len() <= 64
            && a.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    });
    let event_type = action.map_or_else(|| "custom.event".to_string(), |a| format!("custom.{a}"));
    let session_id = peek
        .context
        .as_ref()
        .and_then(|c| c.get("session_id"))
        .and_then(|s| s.as_str())
        .filter(|s| crate::rules::check_session_id(s).is_ok())
        .map(str::to_string);
    EventInput { event_type, data, session_id, ordering_key: None }
}

pub struct Batch;

impl Endpoint for Batch {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/events/batch",
        Access::KeyProject,
        202,
        "postEventBatch",
        "events",
        "1–100 events in one request; one answer per event, in order",
    );
    type Body = Json<PostBatch>;
    type Query = NoQuery;
    type Output = BatchView;

    async fn handle(cx: &Cx<'_>, Json(entries): Self::Body, _: NoQuery) -> Result<Reply<BatchView>, ApiError> {
        batch(cx, entries).await
    }
}

/// `POST /api/v1/events/batch` for the path's project.
pub struct ProjectBatch;

impl Endpoint for ProjectBatch {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/projects/{project_id}/events/batch",
        Access::Project { portal: false },
        202,
        "postProjectEventBatch",
        "events",
        "As postEventBatch, for the path's project (its API key or the admin token)",
    );
    type Body = Json<PostBatch>;
    type Query = NoQuery;
    type Output = BatchView;

    async fn handle(cx: &Cx<'_>, Json(entries): Self::Body, _: NoQuery) -> Result<Reply<BatchView>, ApiError> {
        batch(cx, entries).await
    }
}

async fn batch(cx: &Cx<'_>, entries: Vec<CheckedEntry>) -> Result<Reply<BatchView>, ApiError> {
    // A key for the whole batch would have no answer to replay that docs/api.md §10 defines.
    if cx.header_bytes("idempotency-key").is_some() {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "not used by the batch route: give each event its own idempotency_key",
        ));
    }
    let entries = entries
        .into_iter()
        .map(|e| match e {
            Ok((input, idempotency_key)) => BatchEntry::Valid { input, idempotency_key },
            Err(errors) => BatchEntry::Invalid(ApiError::from_fields(errors)),
        })
        .collect();
    let results = intake::ingest_batch(cx.app, cx.project()?, entries).await?;
    let items = results
        .into_iter()
        .map(|r| match r {
            BatchResult::Accepted(a) => BatchItem::Accepted {
                status: 202,
                event_id: a.event_id.clone(),
                event_type: a.event_type.clone(),
                received_at: a.received_at.rfc3339(),
                deliveries: a.deliveries,
                replayed: a.replayed,
            },
            BatchResult::Refused(e) => {
                BatchItem::Refused { status: e.status(), message: e.to_string(), errors: e.field_errors().to_vec() }
            }
        })
        .collect();
    Ok(BatchView { items }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_events_take_their_type_from_action() {
        let raw = |t: &str| serde_json::value::RawValue::from_string(t.into()).unwrap();
        let e = custom_event(raw(r#"{"user_id": 7, "action": "signed_up", "context": {"session_id": "s-1"}}"#));
        assert_eq!((e.event_type.as_str(), e.session_id.as_deref()), ("custom.signed_up", Some("s-1")));
        assert_eq!(custom_event(raw(r#"{"action": "has space"}"#)).event_type, "custom.event");
        assert_eq!(custom_event(raw(r#"{"action": 5}"#)).event_type, "custom.event");
        assert_eq!(custom_event(raw(r#"{"a":1}"#)).data.get(), r#"{"a":1}"#, "the whole object is the data");
    }
}
