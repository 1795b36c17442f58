//! Operational events (§12): Hookline's own events, recorded in the operations project
//! (project 0) and delivered to its webhooks like any others.

use serde_json::Value;

use crate::app::App;
use crate::clock::Millis;
use crate::error::ApiError;
use crate::ids::{EventId, ProjectId};
use crate::model::Event;
use crate::service::intake;

pub const WEBHOOK_DISABLED: &str = "hookline.webhook.disabled";
pub const DELIVERY_EXHAUSTED: &str = "hookline.delivery.exhausted";

/// Records `event_type` with `data` in project 0. Callers never raise one about project
/// 0's own webhooks or deliveries, so these events cannot loop.
pub async fn record(app: &App, event_type: &str, data: Value) -> Result<EventId, ApiError> {
    let pid = ProjectId::OPERATIONS;
    let now = Millis::now();
    let event = Event {
        id: EventId::new(now),
        project_id: pid,
        client_id: None,
        event_type: event_type.to_string(),
        session_id: None,
        data: serde_json::value::to_raw_value(&data).map_err(|e| ApiError::Internal(e.to_string()))?,
        received_at: now,
        fan_out: intake::fan_out(app, pid, event_type).await?,
        test: false,
    };
    intake::record(app, &event).await?;
    Ok(event.id)
}
