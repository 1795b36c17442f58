//! The delivery engine behind the SQS-triggered function, in named phases per message:
//! prepare (decide each delivery, take the claims, respect rate limits) → send (the
//! attempts, at once) → record (queue the next wake-ups, then write the states). The
//! steps between the I/O are pure and live in `plan`; the lifecycle rules themselves are
//! `delivery::decide` and the `Delivery` transitions.

mod bookkeeping;
mod plan;
mod request;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;

use crate::app::App;
use crate::clock::Millis;
use crate::delivery::{ClaimKey, Delivery, Outcome, STATE_WAIT};
use crate::error::{QueueError, StoreError};
use crate::ids::{random_token, DeliveryId, EventId, ProjectId};
use crate::queue::{Outgoing, WakeMessage, WakeTarget, MAX_DELAY};
use crate::retry::random_jitter;
use crate::sender::Sender;
use crate::store::{delivery_key, GroupClaim, Listing, Slot, StoredEvent, WakeContext};
use plan::{Attempting, Due, Record, RecordKind, Work};

pub use request::{build_payload, delivery_headers, event_payload, plain_payload, sent_payload, transformed};

/// When an event a young wake-up names is not visible yet (the intake writes it right
/// after queueing), look once more after this before sending the message back.
const RACE_PAUSE: Duration = Duration::from_millis(200);

/// One SQS record as the function receives it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub message_id: String,
    pub body: String,
}

/// Why a message is left for SQS to bring back.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("message body is not a wake-up: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Processes a batch; returns the message ids to report as failed (SQS makes them
/// visible again, and moves them to the dead-letter queue after enough receives).
pub async fn process_batch(app: &App, sender: &Sender, batch: &[Incoming]) -> Vec<String> {
    let mut failed = Vec::new();
    let mut parsed = Vec::with_capacity(batch.len());
    for m in batch {
        match serde_json::from_str::<WakeMessage>(&m.body) {
            Ok(msg) if !msg.deliveries.is_empty() => parsed.push((m.message_id.clone(), msg)),
            Ok(_) => tracing::warn!(message_id = %m.message_id, "empty wake-up ignored"),
            Err(e) => {
                tracing::error!(message_id = %m.message_id, error = %DeliveryError::Malformed(e.to_string()), "unprocessable message");
                failed.push(m.message_id.clone());
            }
        }
    }
    let cx = match load(app, parsed.iter().map(|(_, m)| m)).await {
        Ok(cx) => cx,
        Err(e) => {
            tracing::error!(error = %e, "could not load the batch");
            failed.extend(parsed.into_iter().map(|(id, _)| id));
            return failed;
        }
    };
    let results =
        join_all(parsed.iter().map(|(id, msg)| async { (id.clone(), handle_message(app, sender, msg, &cx).await) }))
            .await;
    let mut recorded = Vec::new();
    for (id, Handled { recorded: mut r, retry }) in results {
        recorded.append(&mut r);
        if let Some(e) = retry {
            tracing::warn!(message_id = %id, error = %e, "will be retried by SQS");
            failed.push(id);
        }
    }
    // Once per batch, not per message: the messages of a batch share one view of each
    // webhook, so per-message changes would all try (and pay for) the same write.
    bookkeeping::after_records(app, &cx, &recorded).await;
    failed
}

/// Reads what a batch names in one go. The intake queues before it writes the event, so
/// a young wake-up may beat the write: its missing events are read once more.
async fn load<'a>(
    app: &App,
    messages: impl Iterator<Item = &'a WakeMessage> + Clone,
) -> Result<WakeContext, StoreError> {
    let now = Millis::now();
    let (mut events, mut webhooks, mut deliveries) = (Vec::new(), Vec::new(), Vec::new());
    for m in messages.clone() {
        for t in &m.deliveries {
            events.push((m.project_id, t.delivery_id.event_id()));
            webhooks.push((m.project_id, t.webhook_id.clone()));
            deliveries.push((m.project_id, t.webhook_id.clone(), t.generation.clone(), t.delivery_id.clone()));
        }
    }
    let all = messages.clone();
    let mut cx = app.store.load_wake_context(&events, &webhooks, &deliveries, now).await?;
    let racing: Vec<(ProjectId, EventId)> = messages
        .filter(|m| now.since(m.queued_at) < STATE_WAIT)
        .flat_map(|m| m.deliveries.iter().map(move |t| (m.project_id, t.delivery_id.event_id())))
        .filter(|k| !cx.events.contains_key(k))
        .collect();
    if !racing.is_empty() {
        tokio::time::sleep(RACE_PAUSE).await;
        match app.store.load_wake_context(&racing, &[], &[], Millis::now()).await {
            Ok(more) => cx.events.extend(more.events),
            Err(e) => tracing::warn!(error = %e, "could not re-read events"),
        }
    }
    load_earlier(app, all, &mut cx).await?;
    Ok(cx)
}

/// Reads the earlier deliveries (and their events) that the batch's unwritten ordered
/// deliveries wait for (docs/api.md §15). No call at all when the batch has none.
async fn load_earlier<'a>(
    app: &App,
    messages: impl Iterator<Item = &'a WakeMessage>,
    cx: &mut WakeContext,
) -> Result<(), StoreError> {
    let (mut events, mut deliveries) = (Vec::new(), Vec::new());
    for m in messages {
        for t in &m.deliveries {
            let Some(StoredEvent::Found(e)) = cx.events.get(&(m.project_id, t.delivery_id.event_id())) else {
                continue;
            };
            if t.attempt != 1 || cx.deliveries.contains_key(&t.delivery_id) {
                continue;
            }
            if let Some(before) = e.waits_for(t.delivery_id.index()) {
                events.push((m.project_id, before.event_id()));
                deliveries.push((m.project_id, t.webhook_id.clone(), t.generation.clone(), before.clone()));
            }
        }
    }
    if deliveries.is_empty() {
        return Ok(());
    }
    let more = app.store.load_wake_context(&events, &[], &deliveries, Millis::now()).await?;
    for (k, e) in more.events {
        cx.events.entry(k).or_insert(e);
    }
    for (k, d) in more.deliveries {
        cx.deliveries.entry(k).or_insert(d);
    }
    Ok(())
}

/// What handling a message recorded, and why SQS should bring it back, if it should.
struct Handled {
    recorded: Vec<Delivery>,
    retry: Option<DeliveryError>,
}

/// Handles one message, phase by phase.
async fn handle_message(app: &App, sender: &Sender, msg: &WakeMessage, cx: &WakeContext) -> Handled {
    match prepare_and_send(app, sender, msg, cx).await {
        Ok(work) => record(app, work).await,
        Err(e) => Handled { recorded: Vec::new(), retry: Some(e) },
    }
}

/// The phases up to the attempts' results: what the record phase is to queue and write.
async fn prepare_and_send(
    app: &App,
    sender: &Sender,
    msg: &WakeMessage,
    cx: &WakeContext,
) -> Result<Work, DeliveryError> {
    let now = Millis::now();
    // Prepare.
    let plans = plan::decide_all(msg, cx, now);
    let (due, mut work) = plan::sort(msg, &plans, now, app.settings.max_attempts());
    let claimed = claim(app, msg, due, now, &mut work).await?;
    let sending = throttle(app, msg, claimed, now, &mut work).await?;
    // Send.
    let finished = join_all(sending.iter().map(|a| attempt(sender, app, a))).await;
    let done = Millis::now();
    let concluded = plan::conclude(msg.project_id, &sending, finished, done, || ClaimKey::new_retry_group(done));
    work.outgoing.extend(concluded.outgoing);
    work.records.extend(concluded.records);
    Ok(work)
}

/// Takes the claims of the due deliveries: one per group (first attempts, or retries
/// sharing a wake-up), else a lease per written delivery. What another instance holds is
/// sent back for when that lease ends.
async fn claim<'a>(
    app: &App,
    msg: &'a WakeMessage,
    due: Vec<Due<'a>>,
    now: Millis,
    work: &mut Work,
) -> Result<Vec<Attempting<'a>>, StoreError> {
    let lease_for = app.settings.delivery_timeout + app.settings.lease_margin;
    let lease = now.plus(lease_for);
    // Names this handling in its claims, so a retried claim call recognises its own win.
    let holder = random_token(now);
    let mut groups: HashMap<&ClaimKey, GroupClaim> = HashMap::new();
    for d in &due {
        if let Some(g) = plan::group_claim(msg, d.written) {
            groups.insert(g, GroupClaim::Lost);
        }
    }
    for (group, claim) in groups.iter_mut() {
        *claim = app.store.claim_group(group, &holder, lease, now).await?;
    }
    let fresh = reread_taken_over(app, msg, &due, &groups, now).await?;
    let mut attempting = Vec::new();
    let mut elsewhere: Vec<&WakeTarget> = Vec::new();
    for Due { target, event, webhook, written, mut before } in due {
        let record = match (plan::group_claim(msg, written), written) {
            (Some(g), _) if groups[g] == GroupClaim::Lost => None,
            (Some(_), _) if changed_since_read(fresh.as_ref(), target, written) => {
                tracing::info!(delivery = %target.delivery_id, "recorded by the claim's previous holder");
                continue;
            }
            (Some(_), None) => Some(RecordKind::First),
            (Some(g), Some(w)) => Some(RecordKind::Claimed { group: g.clone(), prev_attempts: w.attempts }),
            (None, _) => app.store.claim_delivery(&before, &holder, lease, now).await?.then(|| {
                before.lease_until = Some(lease);
                RecordKind::Leased { lease, prev_attempts: before.attempts }
            }),
        };
        match record {
            Some(record) => attempting.push(Attempting { target, event, webhook, before, record }),
            None => elsewhere.push(target),
        }
    }
    if !elsewhere.is_empty() {
        work.outgoing.push(plan::again(msg, elsewhere, lease_for.min(MAX_DELAY)));
    }
    Ok(attempting)
}

/// A claim taken over from a holder whose lease ended: that holder may be running late
/// and have recorded some of the group since this handling read it. Reads the group's
/// deliveries again (consistently).
async fn reread_taken_over(
    app: &App,
    msg: &WakeMessage,
    due: &[Due<'_>],
    groups: &HashMap<&ClaimKey, GroupClaim>,
    now: Millis,
) -> Result<Option<HashMap<DeliveryId, Delivery>>, StoreError> {
    let taken_over: Vec<&ClaimKey> =
        groups.iter().filter(|(_, c)| **c == GroupClaim::Won { took_over: true }).map(|(g, _)| *g).collect();
    if taken_over.is_empty() {
        return Ok(None);
    }
    let keys = due
        .iter()
        .filter(|d| plan::group_claim(msg, d.written).is_some_and(|g| taken_over.contains(&g)))
        .map(|d| delivery_key(msg.project_id, &d.target.webhook_id, &d.target.generation, &d.target.delivery_id))
        .collect();
    let read = app.store.get_deliveries(keys, now).await?;
    Ok(Some(read.into_iter().map(|d| (d.id.clone(), d)).collect()))
}

/// Whether a delivery of a taken-over group changed since this handling read it.
fn changed_since_read(
    fresh: Option<&HashMap<DeliveryId, Delivery>>,
    target: &WakeTarget,
    read: Option<&Delivery>,
) -> bool {
    let Some(fresh) = fresh else { return false };
    match (read, fresh.get(&target.delivery_id)) {
        (None, None) => false,
        (Some(read), Some(now)) => now.attempts != read.attempts || now.next_claim != read.next_claim,
        _ => true,
    }
}

/// Throttled webhooks: beyond the rate, a delivery gets a later turn of its own and is
/// postponed without spending an attempt.
async fn throttle<'a>(
    app: &App,
    msg: &WakeMessage,
    claimed: Vec<Attempting<'a>>,
    now: Millis,
    work: &mut Work,
) -> Result<Vec<Attempting<'a>>, StoreError> {
    let pid = msg.project_id;
    let mut sending = Vec::with_capacity(claimed.len());
    for a in claimed {
        if let (Some(rate), false) = (a.webhook.rate_limit, msg.slot_reserved) {
            if let Slot::At(turn) = app.store.webhook_slot(pid, &a.webhook.id, rate, now).await? {
                let target = WakeTarget { attempt: a.before.attempts + 1, ..a.target.clone() };
                let mut later = WakeMessage::next(pid, target, now);
                later.slot_reserved = true;
                later.manual = msg.manual;
                work.outgoing.push(Outgoing { message: later, delay: turn.since(now).min(MAX_DELAY) });
                work.records.push(Record { new: a.before.postponed(turn), how: a.record.clone() });
                continue;
            }
        }
        sending.push(a);
    }
    Ok(sending)
}

/// Makes one attempt and returns the delivery's state after it.
async fn attempt(sender: &Sender, app: &App, a: &Attempting<'_>) -> Delivery {
    let number = a.before.attempts + 1;
    let started = Millis::now();
    let outcome = match sent_payload(a.event, a.webhook).await {
        Ok(payload) => {
            let headers =
                delivery_headers(a.webhook, &a.event.event_type, a.before.id.as_str(), number, started, &payload);
            request::send(app, sender, a.webhook, a.event, headers, payload).await
        }
        // A transformation runs for up to 100 ms on a thread of its own; nothing is sent.
        Err(e) => Outcome::failed(e, Millis::now().since(started)),
    };
    a.before.attempted(&outcome, started, Millis::now(), &app.settings.retry_schedule, random_jitter())
}

/// Queues the wake-ups, then writes the records. Every record is written whatever befell
/// the queue or another record: an attempt that reached its receiver is always logged,
/// and the message's retry by SQS repeats as few POSTs as possible. When the queue
/// failed, a pending delivery is recorded in the `due` index, where the repair sweep
/// finds it should its wake-up be missing.
async fn record(app: &App, work: Work) -> Handled {
    let Work { outgoing, records } = work;
    let queued = match outgoing.is_empty() {
        true => Ok(()),
        false => app.queue.send_all(&outgoing).await.map(drop),
    };
    let listing = if queued.is_ok() { Listing::Unlisted } else { Listing::Due };
    let mut recorded = Vec::new();
    let mut failure = None;
    for Record { new, how } in records {
        let expires = app.expires(new.created_at);
        let written = match &how {
            RecordKind::First => app.store.record_first(&new, expires, listing).await,
            RecordKind::Leased { lease, prev_attempts } => {
                app.store.record_next(&new, *lease, *prev_attempts, expires, listing).await
            }
            RecordKind::Claimed { group, prev_attempts } => {
                app.store.record_claimed(&new, group, *prev_attempts, expires, listing).await
            }
            RecordKind::Dropped { prev_attempts } => app.store.record_drop(&new, *prev_attempts, expires).await,
        };
        match written {
            Ok(true) => recorded.push(new),
            Ok(false) => tracing::info!(delivery = %new.id, "another instance recorded first; not logged twice"),
            Err(e) => {
                tracing::error!(delivery = %new.id, error = %e, "could not record the delivery");
                failure = failure.or(Some(DeliveryError::Store(e)));
            }
        }
    }
    // The message comes back for what was not queued or not written.
    if let Err(e) = queued {
        tracing::error!(error = %e, "could not queue wake-ups; the deliveries waiting on them are listed as due");
        failure = Some(e.into());
    }
    Handled { recorded, retry: failure }
}
