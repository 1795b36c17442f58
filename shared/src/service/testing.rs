//! Test deliveries (§7): one delivery of a test event to one webhook, whatever its
//! enabled flag and subscriptions.

use serde_json::value::RawValue;

use crate::app::App;
use crate::clock::Millis;
use crate::error::ApiError;
use crate::ids::{EventId, WebhookId};
use crate::model::{Event, Project, Target, Webhook};
use crate::service::{catalogue, intake, webhooks};

/// The default type of `POST …/webhooks/{id}/test`.
pub const DEFAULT_TEST_TYPE: &str = "webhook.test";

fn raw(value: serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).expect("a JSON value serializes")
}

fn sample_data(event_type: &str) -> Box<RawValue> {
    raw(
        serde_json::json!({"message": "This is a test event sent by Hookline.", "event_type": event_type, "sample": true}),
    )
}

async fn send_test(
    app: &App,
    project: &Project,
    wh: &Webhook,
    event_type: String,
    data: Box<RawValue>,
) -> Result<Event, ApiError> {
    let now = Millis::now();
    let event = Event {
        id: EventId::new(now),
        project_id: project.project_id,
        client_id: project.client_id,
        event_type,
        session_id: None,
        data,
        received_at: now,
        fan_out: vec![Target { webhook_id: wh.id.clone(), generation: wh.generation.clone() }],
        test: true,
        ordering_key: None,
        after: Vec::new(),
    };
    intake::record(app, &event).await?;
    Ok(event)
}

/// `POST …/webhooks/{id}/test`: explicit `data` is checked against the type's schema;
/// without it the type's catalogue `example` is sent, else sample data.
pub async fn test_webhook(
    app: &App,
    project: &Project,
    webhook_id: &WebhookId,
    event_type: Option<String>,
    data: Option<Box<RawValue>>,
) -> Result<Event, ApiError> {
    let wh = webhooks::load(app, project.project_id, webhook_id).await?;
    let event_type = event_type.unwrap_or_else(|| DEFAULT_TEST_TYPE.to_string());
    let data = match data {
        Some(d) => {
            catalogue::check_data(app, &event_type, &d).await?;
            d
        }
        None => match catalogue::example(app, &event_type).await? {
            Some(example) => example,
            None => sample_data(&event_type),
        },
    };
    send_test(app, project, &wh, event_type, data).await
}

/// 003's `trigger_session_test`: `session.test`, null session, 003's sample data.
pub async fn trigger_session_test(app: &App, project: &Project) -> Result<Event, ApiError> {
    let wh = webhooks::get_web_hook(app, project.project_id).await?;
    send_test(app, project, &wh, "session.test".into(), raw(serde_json::json!({"ssl_version": 1.2}))).await
}
