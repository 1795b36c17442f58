//! The activity view and delivery logs (docs/api.md §8), re-sending by hand, and recover (§12).

use std::time::Duration;

use crate::app::App;
use crate::clock::Millis;
use crate::delivery::{Delivery, Status};
use crate::error::ApiError;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::Event;
use crate::queue::{Outgoing, WakeMessage, WakeTarget};
use crate::service::webhooks::{list_error, load};
use crate::store::{DeliveryFilter, Page, StoredEvent};

/// Deliveries a recover re-sends per request at most (the rest: call again).
const MAX_RECOVER: usize = 1000;

pub async fn list_events(
    app: &App,
    pid: ProjectId,
    event_type: Option<&str>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Event>, ApiError> {
    app.store.list_events(pid, event_type, limit, cursor, Millis::now()).await.map_err(list_error)
}

/// An event and its deliveries, in fan-out order. A delivery not written yet (its first
/// attempt has not happened) shows as pending, as it is.
pub async fn get_event(app: &App, pid: ProjectId, id: &EventId) -> Result<(Event, Vec<Delivery>), ApiError> {
    let now = Millis::now();
    let Some(StoredEvent::Found(event)) = app.store.get_event(pid, id, now).await? else {
        return Err(ApiError::not_found("event"));
    };
    let wanted = event
        .fan_out
        .iter()
        .enumerate()
        .map(|(i, t)| crate::store::delivery_key(pid, &t.webhook_id, &t.generation, &event.delivery_id(i)))
        .collect();
    let written = app.store.get_deliveries(wanted, now).await?;
    let max_attempts = app.settings.max_attempts();
    let deliveries = event
        .fan_out
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = event.delivery_id(i);
            written.iter().find(|d| d.id == id).cloned().unwrap_or_else(|| Delivery::new(&event, i, t, max_attempts))
        })
        .collect();
    Ok((event, deliveries))
}

/// One delivery, written or still waiting for its first attempt.
pub async fn get_delivery(app: &App, pid: ProjectId, id: &DeliveryId) -> Result<(Delivery, bool), ApiError> {
    let (d, written, _) = delivery_and_event(app, pid, id).await?;
    Ok((d, written))
}

/// A delivery and the body it is sent with: rebuilt from the event and the webhook's
/// current format settings (as the next attempt would send it; not stored per delivery, which
/// would cost a write per delivery), after the webhook's transformation. `None` once the
/// webhook is deleted, or while its transformation fails (the attempts say why).
pub async fn delivery_with_payload(
    app: &App,
    pid: ProjectId,
    id: &DeliveryId,
) -> Result<(Delivery, Option<String>), ApiError> {
    let (d, _, event) = delivery_and_event(app, pid, id).await?;
    let payload = match app.store.get_webhook(pid, &d.webhook_id).await? {
        Some(wh) => crate::service::deliver::sent_payload(&event, &wh).await.ok(),
        None => None,
    };
    Ok((d, payload.map(|p| String::from_utf8_lossy(&p.body).into_owned())))
}

async fn delivery_and_event(app: &App, pid: ProjectId, id: &DeliveryId) -> Result<(Delivery, bool, Event), ApiError> {
    let now = Millis::now();
    let event_id = id.event_id();
    let Some(StoredEvent::Found(event)) = app.store.get_event(pid, &event_id, now).await? else {
        return Err(ApiError::not_found("delivery"));
    };
    let Some(target) = event.target_of(id) else { return Err(ApiError::not_found("delivery")) };
    match app.store.get_delivery(pid, &target.webhook_id, &target.generation, id, now).await? {
        Some(d) => Ok((d, true, event)),
        None => {
            let d = Delivery::new(&event, id.index(), target, app.settings.max_attempts());
            Ok((d, false, event))
        }
    }
}

pub async fn list_deliveries(
    app: &App,
    pid: ProjectId,
    webhook_id: &WebhookId,
    status: Option<Status>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Delivery>, ApiError> {
    let wh = load(app, pid, webhook_id).await?;
    let filter = DeliveryFilter { status, created: None };
    app.store.list_deliveries(&wh, filter, limit, cursor, Millis::now()).await.map_err(list_error)
}

/// Re-sends a delivery now: one more attempt on the same `webhook-id` (docs/api.md §8).
pub async fn retry_delivery(app: &App, pid: ProjectId, id: &DeliveryId) -> Result<Delivery, ApiError> {
    let (d, written) = get_delivery(app, pid, id).await?;
    if !written {
        return Err(ApiError::Conflict("this delivery has not had its first attempt yet; it is on its way".into()));
    }
    if app.store.get_webhook(pid, &d.webhook_id).await?.filter(|w| w.generation == d.generation).is_none() {
        return Err(ApiError::Conflict("the webhook of this delivery was deleted".into()));
    }
    let now = Millis::now();
    let retried = resend(app, &[d], now).await?;
    retried
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Conflict("an attempt of this delivery was just made or is under way; retry".into()))
}

/// Queues one more attempt for each delivery, then writes them as pending. The wake-ups
/// go first: one that finds its delivery not yet re-sent waits for the write, and gives
/// up if the write never comes (this request then answered an error). Returns the
/// deliveries whose write succeeded (the others changed meanwhile, or their retry
/// group is making their next attempt right now, which the delivery item cannot show).
async fn resend(app: &App, deliveries: &[Delivery], now: Millis) -> Result<Vec<Delivery>, ApiError> {
    let mut open = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        match &d.next_claim {
            Some(group) if app.store.group_claimed(group, now).await? => {}
            _ => open.push(d),
        }
    }
    let wakes: Vec<Outgoing> = open
        .iter()
        .map(|d| {
            let target = WakeTarget {
                delivery_id: d.id.clone(),
                webhook_id: d.webhook_id.clone(),
                generation: d.generation.clone(),
                attempt: d.attempts + 1,
            };
            let mut m = WakeMessage::next(d.project_id, target, now);
            m.manual = true;
            Outgoing { message: m, delay: Duration::ZERO }
        })
        .collect();
    app.queue.send_all(&wakes).await?;
    let mut done = Vec::new();
    for d in open {
        let new = d.retried(now);
        if app.store.record_retry(&new, d, app.expires(d.created_at)).await? {
            done.push(new);
        }
    }
    Ok(done)
}

/// docs/api.md §12's recover: every `error` delivery of the webhook created in `[since, until)`
/// gets one new attempt, as a manual retry does. 409 while the webhook is disabled.
pub async fn recover(
    app: &App,
    pid: ProjectId,
    webhook_id: &WebhookId,
    since: Millis,
    until: Option<Millis>,
) -> Result<usize, ApiError> {
    let wh = load(app, pid, webhook_id).await?;
    if !wh.enabled {
        return Err(ApiError::Conflict("the webhook is disabled; enable it before recovering its deliveries".into()));
    }
    let now = Millis::now();
    if since < now.minus(app.settings.retention()) {
        return Err(ApiError::invalid("since", "is older than the retention period"));
    }
    // The error names the field the caller sent: `until` when given, else `since`
    // (the window then ends now).
    let until = match until {
        Some(u) if u <= since => return Err(ApiError::invalid("until", "must be after since")),
        Some(u) => u,
        None if since >= now => return Err(ApiError::invalid("since", "must not be in the future")),
        None => now.plus(Duration::from_secs(1)),
    };
    let filter = DeliveryFilter { status: Some(Status::Error), created: Some((since, until)) };
    let mut failed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app.store.list_deliveries(&wh, filter, 200, cursor.as_deref(), now).await.map_err(list_error)?;
        failed.extend(
            page.items
                .into_iter()
                .filter(|d| d.status == Status::Error && d.created_at >= since && d.created_at < until),
        );
        match page.next_cursor {
            Some(c) if failed.len() < MAX_RECOVER => cursor = Some(c),
            _ => break,
        }
    }
    failed.truncate(MAX_RECOVER);
    let mut recovered = 0;
    for chunk in failed.chunks(100) {
        recovered += resend(app, chunk, now).await?.len();
    }
    Ok(recovered)
}
