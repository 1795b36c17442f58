//! Operational events (docs/api.md §12): Hookline's own events, recorded in the operations
//! project (project 0) and delivered to its webhooks like any others. One enum names them
//! all; its serde form is the event type and the `data` delivered.

use serde::Serialize;

use crate::app::App;
use crate::clock::Millis;
use crate::error::RecordError;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::Event;
use crate::service::intake;

/// An operational event: its variant's name is the event type, its fields the `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum OperationalEvent {
    /// A webhook failing past the threshold was disabled.
    #[serde(rename = "hookline.webhook.disabled")]
    WebhookDisabled {
        project_id: ProjectId,
        webhook_id: WebhookId,
        url: String,
        /// RFC 3339.
        failing_since: Option<String>,
        last_error: Option<String>,
        last_response_code: Option<u16>,
    },
    /// A delivery ended `error` after its last scheduled attempt.
    #[serde(rename = "hookline.delivery.exhausted")]
    DeliveryExhausted {
        project_id: ProjectId,
        webhook_id: WebhookId,
        delivery_id: DeliveryId,
        event_id: EventId,
        event_type: String,
        attempts: u32,
        last_error: Option<String>,
        last_response_code: Option<u16>,
    },
}

/// The serde form of an `OperationalEvent`, split into what an `Event` keeps.
#[derive(serde::Deserialize)]
struct Tagged {
    #[serde(rename = "type")]
    event_type: String,
    data: Box<serde_json::value::RawValue>,
}

impl OperationalEvent {
    /// The event type and the `data` delivered.
    fn parts(&self) -> (String, Box<serde_json::value::RawValue>) {
        let text = serde_json::to_string(self).expect("operational events serialize");
        let Tagged { event_type, data } = serde_json::from_str(&text).expect("serde's tagged form");
        (event_type, data)
    }
}

/// Records `event` in project 0. Callers never raise one about project 0's own webhooks or
/// deliveries, so these events cannot loop.
pub async fn record(app: &App, event: &OperationalEvent) -> Result<EventId, RecordError> {
    let pid = ProjectId::OPERATIONS;
    let now = Millis::now();
    let (event_type, data) = event.parts();
    let candidates = intake::candidates(app, pid, &event_type).await?;
    let mut event = Event {
        id: EventId::new(now),
        project_id: pid,
        client_id: None,
        fan_out: Vec::new(),
        event_type,
        session_id: None,
        data,
        received_at: now,
        test: false,
        ordering_key: None,
        after: Vec::new(),
    };
    event.fan_out = intake::targets(&candidates, &event);
    intake::record(app, &event).await?;
    Ok(event.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_its_type_and_its_data_in_order() {
        let e = OperationalEvent::WebhookDisabled {
            project_id: ProjectId(7),
            webhook_id: WebhookId::default_web_hook(),
            url: "https://x.example/h".into(),
            failing_since: Some("2026-01-01T00:00:00Z".into()),
            last_error: None,
            last_response_code: Some(500),
        };
        let (event_type, data) = e.parts();
        assert_eq!(event_type, "hookline.webhook.disabled");
        assert_eq!(
            data.get(),
            format!(
                r#"{{"project_id":7,"webhook_id":"{}","url":"https://x.example/h","failing_since":"2026-01-01T00:00:00Z","last_error":null,"last_response_code":500}}"#,
                WebhookId::default_web_hook()
            )
        );
    }
}
