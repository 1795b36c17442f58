//! The bookkeeping after records: a webhook's failure state and the operational events
//! (docs/api.md §12). Best effort: a failure here is logged, never turned into a second
//! attempt.

use std::collections::HashMap;

use crate::app::App;
use crate::clock::Millis;
use crate::delivery::{AttemptRecord, Delivery, Status};
use crate::error::{RecordError, StoreError};
use crate::ids::{ProjectId, WebhookId};
use crate::model::{FailureStep, Webhook};
use crate::service::ops::{self, OperationalEvent};
use crate::store::{ListError, WakeContext, WebhookFailureChange};

/// Deliveries read per log page when checking the last attempts for auto-disable.
const DISABLE_LOOKBACK: usize = 100;

#[derive(Debug, thiserror::Error)]
enum BookkeepingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not record {event}: {source}")]
    Operational { event: &'static str, source: RecordError },
}

/// A batch's recorded deliveries, once: per webhook, its failure state; per exhausted
/// delivery, `hookline.delivery.exhausted`.
pub async fn after_records(app: &App, cx: &WakeContext, recorded: &[Delivery]) {
    let now = Millis::now();
    // Per webhook, the attempts this batch made (tests do not count).
    let mut per_webhook: HashMap<(ProjectId, WebhookId), (bool, Millis)> = HashMap::new();
    for d in recorded.iter().filter(|d| !d.test && d.dropped.is_none()) {
        let Some(last) = d.last_attempt() else { continue };
        if d.attempts == 0 {
            continue;
        }
        let succeeded = d.status == Status::Success;
        let entry = per_webhook.entry((d.project_id, d.webhook_id.clone())).or_insert((false, last.started_at));
        entry.0 |= succeeded;
        entry.1 = entry.1.min(last.started_at);
    }
    for (key, (succeeded, first)) in per_webhook {
        let Some(wh) = cx.webhooks.get(&key) else { continue };
        if let Err(e) = track_failure(app, wh, succeeded, first, now).await {
            tracing::error!(webhook = %wh.id, error = %e, "could not update the webhook's failure state");
        }
    }
    for d in recorded.iter().filter(|d| d.is_exhausted() && !d.test && !d.project_id.is_operations()) {
        let last = d.last_attempt();
        let event = OperationalEvent::DeliveryExhausted {
            project_id: d.project_id,
            webhook_id: d.webhook_id.clone(),
            delivery_id: d.id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            attempts: d.attempts,
            last_error: last.and_then(|a| a.error.clone()),
            last_response_code: last.and_then(|a| a.response_code),
        };
        if let Err(e) = ops::record(app, &event).await {
            tracing::error!(delivery = %d.id, error = %e, "could not record hookline.delivery.exhausted");
        }
    }
}

async fn track_failure(
    app: &App,
    wh: &Webhook,
    succeeded: bool,
    first: Millis,
    now: Millis,
) -> Result<(), BookkeepingError> {
    let s = &app.settings;
    let change = match wh.failure_step(succeeded, first, now, s.disable_after) {
        FailureStep::Nothing => return Ok(()),
        FailureStep::StartFailing(since) => WebhookFailureChange::StartFailing { since },
        FailureStep::Recovered => WebhookFailureChange::Recovered,
        FailureStep::CheckDisable { since } => {
            if !last_attempts_all_failed(app, wh, since, now).await? {
                return Ok(());
            }
            WebhookFailureChange::Disable { now }
        }
    };
    let changed = app.store.change_webhook_failure(wh.project_id, &wh.id, &wh.generation, change).await?;
    if changed && matches!(change, WebhookFailureChange::Disable { .. }) && !wh.project_id.is_operations() {
        tracing::warn!(webhook = %wh.id, project = %wh.project_id, "auto-disabled after failing since {}", wh.failing_since.unwrap_or_default().rfc3339());
        let last = recent_attempt(app, wh, now).await;
        let event = OperationalEvent::WebhookDisabled {
            project_id: wh.project_id,
            webhook_id: wh.id.clone(),
            url: wh.url.clone(),
            failing_since: wh.failing_since.map(Millis::rfc3339),
            last_error: last.as_ref().and_then(|a| a.error.clone()),
            last_response_code: last.as_ref().and_then(|a| a.response_code),
        };
        ops::record(app, &event)
            .await
            .map_err(|source| BookkeepingError::Operational { event: "hookline.webhook.disabled", source })?;
    }
    Ok(())
}

/// Whether the webhook's last `HOOKLINE_DISABLE_AFTER_FAILURES` attempts since `since`
/// (tests left out) all failed. A success since then would have cleared `failing_since`,
/// so counting the failed attempts since then is enough.
async fn last_attempts_all_failed(app: &App, wh: &Webhook, since: Millis, now: Millis) -> Result<bool, StoreError> {
    let page =
        app.store.list_deliveries(wh, Default::default(), DISABLE_LOOKBACK, None, now).await.map_err(|e| match e {
            ListError::Store(s) => s,
            ListError::Cursor(c) => StoreError::Corrupt(c.to_string()),
        })?;
    let mut failed = 0u32;
    for d in page.items.iter().filter(|d| !d.test) {
        for a in d.log.iter().filter(|a| a.started_at >= since) {
            if a.succeeded() {
                return Ok(false);
            }
            failed += 1;
        }
    }
    Ok(failed >= app.settings.disable_after_failures)
}

async fn recent_attempt(app: &App, wh: &Webhook, now: Millis) -> Option<AttemptRecord> {
    let page = app.store.list_deliveries(wh, Default::default(), 10, None, now).await.ok()?;
    page.items.iter().flat_map(|d| d.log.iter()).max_by_key(|a| a.started_at).cloned()
}
