//! The delivery engine behind the SQS-triggered function: read what a batch of
//! wake-ups names, `decide` each delivery, then carry the actions out in the order that
//! keeps every guarantee: claim, POST, queue the next wake-up, record.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::future::join_all;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::app::App;
use crate::clock::Millis;
use crate::delivery::{decide, retry_groups, Action, Context, Delivery, DropReason, Seen, STATE_WAIT};
use crate::error::{QueueError, StoreError};
use crate::ids::{random_token, DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::{Event, FailureStep, Webhook};
use crate::payload::{self, Payload, PayloadSource};
use crate::queue::{Outgoing, WakeMessage, WakeTarget, GROUP_SIZE, MAX_DELAY};
use crate::retry::random_jitter;
use crate::sender::{header_map, Sender};
use crate::service::ops;
use crate::signing::{hex_signature, signature_header};
use crate::store::{delivery_key, GroupClaim, Slot, StoredEvent, WakeContext, WebhookFailureChange};

/// When an event a young wake-up names is not visible yet (the intake writes it right
/// after queueing), look once more after this before sending the message back.
const RACE_PAUSE: Duration = Duration::from_millis(200);
/// Deliveries read per log page when checking the last attempts for auto-disable.
const DISABLE_LOOKBACK: usize = 100;

/// One SQS record as the function receives it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub message_id: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("message body is not a wake-up: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// The headers of §6 for one attempt.
pub fn delivery_headers(
    wh: &Webhook,
    event_type: &str,
    msg_id: &str,
    attempt: u32,
    now: Millis,
    payload: &Payload,
) -> HeaderMap {
    let timestamp = now.epoch_secs();
    let signature = signature_header(&wh.signing_secrets(now), msg_id, timestamp, &payload.body);
    let hex = hex_signature(&wh.secret, &payload.body);
    let previous_hex = wh.previous_secret(now).map(|old| hex_signature(old, &payload.body));
    let attempt = attempt.to_string();
    let timestamp = timestamp.to_string();
    // Custom headers first, so that nothing configured can replace Hookline's own (§6 lists
    // `User-Agent: Hookline/<version>` on every delivery; a configured one is overridden).
    let mut map = header_map(wh.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let ours = header_map([
        ("content-type", payload.content_type),
        ("user-agent", crate::sender::USER_AGENT),
        ("webhook-id", msg_id),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
        ("x-webhook-signature", hex.as_str()),
        ("x-webhook-event", event_type),
        ("x-webhook-attempt", attempt.as_str()),
        ("x-webhook-verification-key", wh.verification_key.as_str()),
    ]);
    map.extend(ours);
    if let Some(prev) = &previous_hex {
        map.extend(header_map([("x-webhook-signature-previous", prev.as_str())]));
    }
    if let Some(auth) = wh.authorization_header() {
        map.extend(header_map([("authorization", auth)]));
    }
    map
}

/// The body of one delivery of `event` to `wh`.
pub fn build_payload(event: &Event, wh: &Webhook) -> Payload {
    payload::build(&PayloadSource {
        event_id: event.id.as_str(),
        event_type: &event.event_type,
        received_at_ms: event.received_at.0,
        project_id: event.project_id.0,
        client_id: event.client_id,
        session_id: event.session_id.as_deref(),
        data: &event.data,
        custom_parameters: &wh.custom_parameters,
        format: wh.payload_format,
        content_type: wh.content_type,
    })
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
    let now = Millis::now();
    let mut cx = match load(app, parsed.iter().map(|(_, m)| m), now).await {
        Ok(cx) => cx,
        Err(e) => {
            tracing::error!(error = %e, "could not load the batch");
            failed.extend(parsed.into_iter().map(|(id, _)| id));
            return failed;
        }
    };
    // The intake queues before it writes the event: a young wake-up may beat the write.
    let racing: Vec<(ProjectId, EventId)> = parsed
        .iter()
        .filter(|(_, m)| now.since(m.queued_at) < STATE_WAIT)
        .flat_map(|(_, m)| m.deliveries.iter().map(move |t| (m.project_id, t.delivery_id.event_id())))
        .filter(|k| !cx.events.contains_key(k))
        .collect();
    if !racing.is_empty() {
        tokio::time::sleep(RACE_PAUSE).await;
        match app.store.load_wake_context(&racing, &[], &[], Millis::now()).await {
            Ok(more) => cx.events.extend(more.events),
            Err(e) => tracing::warn!(error = %e, "could not re-read events"),
        }
    }
    let results =
        join_all(parsed.iter().map(|(id, msg)| async { (id.clone(), handle_message(app, sender, msg, &cx).await) }))
            .await;
    let mut recorded = Vec::new();
    for (id, result) in results {
        match result {
            Ok(mut r) => recorded.append(&mut r),
            Err(e) => {
                tracing::warn!(message_id = %id, error = %e, "will be retried by SQS");
                failed.push(id);
            }
        }
    }
    // Once per batch, not per message: the messages of a batch share one view of each
    // webhook, so per-message changes would all try (and pay for) the same write.
    after_records(app, &cx, &recorded).await;
    failed
}

async fn load<'a>(
    app: &App,
    messages: impl Iterator<Item = &'a WakeMessage>,
    now: Millis,
) -> Result<WakeContext, StoreError> {
    let (mut events, mut webhooks, mut deliveries) = (Vec::new(), Vec::new(), Vec::new());
    for m in messages {
        for t in &m.deliveries {
            events.push((m.project_id, t.delivery_id.event_id()));
            webhooks.push((m.project_id, t.webhook_id.clone()));
            deliveries.push((m.project_id, t.webhook_id.clone(), t.generation.clone(), t.delivery_id.clone()));
        }
    }
    app.store.load_wake_context(&events, &webhooks, &deliveries, now).await
}

/// One delivery's part of a message, once decided.
struct Planned<'a> {
    target: &'a WakeTarget,
    action: Action,
    event: Option<&'a Event>,
    webhook: Option<&'a Webhook>,
    /// The written delivery, if any.
    written: Option<&'a Delivery>,
}

impl Planned<'_> {
    /// The delivery as it stands: written, or new from the event's fan-out.
    fn current(&self, max_attempts: u32) -> Option<Delivery> {
        self.written.cloned().or_else(|| {
            let event = self.event?;
            let index = self.target.delivery_id.index();
            event.fan_out.get(index).map(|t| Delivery::new(event, index, t, max_attempts))
        })
    }
}

/// An attempt under way: the delivery before it, and how its record is conditioned on
/// the claim it was made under.
struct Attempting<'a> {
    plan: &'a Planned<'a>,
    before: Delivery,
    record: RecordKind,
}

/// What one delivery's handling writes last: the new state, and how.
struct Record {
    new: Delivery,
    how: RecordKind,
}

#[derive(Debug, Clone)]
enum RecordKind {
    /// The delivery's first write (a first attempt under its message's group claim).
    First,
    /// A written delivery held under its own `lease`, with `prev_attempts` made.
    Leased { lease: Millis, prev_attempts: u32 },
    /// A written delivery's attempt under retry group `group`'s claim.
    Claimed { group: String, prev_attempts: u32 },
    /// A written delivery ended without an attempt, if still as read.
    Dropped { prev_attempts: u32 },
}

/// The group claim an attempt of `plan` is taken under, if not a lease on the item: a
/// first attempt's is its message's group; a retry's is the one its delivery names, so
/// every wake-up for that attempt (the group's, a manual re-send's, a heal's) contends
/// for the same claim.
fn group_claim<'a>(msg: &'a WakeMessage, plan: &'a Planned<'_>) -> Option<&'a str> {
    match plan.written {
        Some(d) => d.next_claim.as_deref(),
        None => msg.group.as_deref(),
    }
}

/// Handles one message; returns the deliveries it recorded.
async fn handle_message(
    app: &App,
    sender: &Sender,
    msg: &WakeMessage,
    cx: &WakeContext,
) -> Result<Vec<Delivery>, DeliveryError> {
    let now = Millis::now();
    let pid = msg.project_id;
    let plans: Vec<Planned<'_>> = msg
        .deliveries
        .iter()
        .map(|t| {
            let stored = cx.events.get(&(pid, t.delivery_id.event_id()));
            let event = match stored {
                Some(StoredEvent::Found(e)) => Seen::Found(e),
                Some(StoredEvent::Withdrawn) => Seen::Withdrawn,
                Some(StoredEvent::Expired) => Seen::Expired,
                None => Seen::Missing,
            };
            let written = cx
                .deliveries
                .get(&t.delivery_id)
                .filter(|d| d.webhook_id == t.webhook_id && d.generation == t.generation);
            let webhook = cx.webhooks.get(&(pid, t.webhook_id.clone()));
            let target = t.target();
            let action = decide(
                &msg.wake(t),
                &Context { event, delivery_id: &t.delivery_id, target: &target, delivery: written, webhook },
                now,
            );
            let event = match stored {
                Some(StoredEvent::Found(e)) => Some(e),
                _ => None,
            };
            Planned { target: t, action, event, webhook, written }
        })
        .collect();
    for p in &plans {
        tracing::debug!(delivery = %p.target.delivery_id, action = ?p.action, "decided");
    }

    let max_attempts = app.settings.max_attempts();
    let lease_for = app.settings.delivery_timeout + app.settings.lease_margin;
    let lease = now.plus(lease_for);
    // Names this handling in its claims, so a retried claim call recognises its own win.
    let holder = random_token(now);
    let mut outgoing: Vec<Outgoing> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut waiting: Vec<&WakeTarget> = Vec::new();

    // Claims: one per group (first attempts, or retries sharing a wake-up), else a
    // lease per written delivery. A claim lost to another instance sends the message
    // back for when that lease ends.
    let mut groups: HashMap<&str, GroupClaim> = HashMap::new();
    for p in plans.iter().filter(|p| matches!(p.action, Action::Attempt { .. })) {
        if let Some(g) = group_claim(msg, p) {
            groups.insert(g, GroupClaim::Lost);
        }
    }
    for (group, claim) in groups.iter_mut() {
        *claim = app.store.claim_group(group, &holder, lease, now).await?;
    }
    // A claim taken over from a holder whose lease ended: that holder may be running
    // late and have recorded some of the group since this handling read it. Read the
    // group's deliveries again (consistently) and leave out any that changed.
    let taken_over: Vec<&str> =
        groups.iter().filter(|(_, c)| **c == GroupClaim::Won { took_over: true }).map(|(g, _)| *g).collect();
    let fresh = if taken_over.is_empty() {
        None
    } else {
        let keys = plans
            .iter()
            .filter(|p| group_claim(msg, p).is_some_and(|g| taken_over.contains(&g)))
            .map(|p| delivery_key(pid, &p.target.webhook_id, &p.target.generation, &p.target.delivery_id))
            .collect();
        let read = app.store.get_deliveries(keys, now).await?;
        Some(read.into_iter().map(|d| (d.id.clone(), d)).collect::<HashMap<_, _>>())
    };
    let mut attempting: Vec<Attempting<'_>> = Vec::new();
    let mut claimed_elsewhere: Vec<&WakeTarget> = Vec::new();
    let mut postponed: BTreeMap<Millis, Vec<&WakeTarget>> = BTreeMap::new();
    for p in &plans {
        match &p.action {
            Action::Attempt { .. } => {
                let Some(mut before) = p.current(max_attempts) else { continue };
                let record = match (group_claim(msg, p), p.written) {
                    (Some(g), _) if groups[g] == GroupClaim::Lost => None,
                    (Some(_), _) if changed_since_read(fresh.as_ref(), p) => {
                        tracing::info!(delivery = %p.target.delivery_id, "recorded by the claim's previous holder");
                        continue;
                    }
                    (Some(_), None) => Some(RecordKind::First),
                    (Some(g), Some(w)) => Some(RecordKind::Claimed { group: g.to_string(), prev_attempts: w.attempts }),
                    (None, _) => app.store.claim_delivery(&before, &holder, lease, now).await?.then(|| {
                        before.lease_until = Some(lease);
                        RecordKind::Leased { lease, prev_attempts: before.attempts }
                    }),
                };
                match record {
                    Some(record) => attempting.push(Attempting { plan: p, before, record }),
                    None => claimed_elsewhere.push(p.target),
                }
            }
            // Deliveries due together (a retry group) sleep again together.
            Action::Postpone { until } => postponed.entry(*until).or_default().push(p.target),
            Action::Wait => waiting.push(p.target),
            Action::Drop(reason) => {
                if let Some(d) = p.current(max_attempts) {
                    records.push(drop_record(p.written, d, *reason));
                }
            }
            Action::Heal { number } => {
                let target = WakeTarget { attempt: *number, ..p.target.clone() };
                outgoing.push(Outgoing { message: WakeMessage::next(pid, target, now), delay: Duration::ZERO });
            }
            Action::Ignore(why) => tracing::debug!(delivery = %p.target.delivery_id, ?why, "nothing to do"),
        }
    }
    for (until, targets) in postponed {
        let mut again = msg.clone();
        again.deliveries = targets.into_iter().cloned().collect();
        outgoing.push(Outgoing { message: again, delay: until.since(now).min(MAX_DELAY) });
    }
    if !claimed_elsewhere.is_empty() {
        let mut again = msg.clone();
        again.deliveries = claimed_elsewhere.into_iter().cloned().collect();
        outgoing.push(Outgoing { message: again, delay: lease_for.min(MAX_DELAY) });
    }
    if !waiting.is_empty() {
        outgoing.push(wait_again(msg, &waiting, now));
    }

    // Throttled webhooks: beyond the rate, a delivery gets a later turn of its own and
    // is postponed without spending an attempt.
    let mut sending = Vec::new();
    for a in attempting {
        let wh = a.plan.webhook.expect("decide attempts only with the webhook");
        if let (Some(rate), false) = (wh.rate_limit, msg.slot_reserved) {
            if let Slot::At(turn) = app.store.webhook_slot(pid, &wh.id, rate, now).await? {
                let target = WakeTarget { attempt: a.before.attempts + 1, ..a.plan.target.clone() };
                let mut later = WakeMessage::next(pid, target, now);
                later.slot_reserved = true;
                later.manual = msg.manual;
                outgoing.push(Outgoing { message: later, delay: turn.since(now).min(MAX_DELAY) });
                records.push(Record { new: a.before.postponed(turn), how: a.record.clone() });
                continue;
            }
        }
        sending.push(a);
    }

    // The POSTs of a message run at once.
    let mut finished = join_all(sending.iter().map(|a| attempt(app, sender, a))).await;
    // Queue the next wake-ups before recording: a recorded retry always has one. Retries
    // due at about the same time share one wake-up and one claim.
    let now = Millis::now();
    let retrying: Vec<usize> = (0..finished.len()).filter(|&i| finished[i].next_attempt_at.is_some()).collect();
    let due: Vec<Millis> = retrying.iter().filter_map(|&i| finished[i].next_attempt_at).collect();
    for (members, at) in retry_groups(&due, now, GROUP_SIZE) {
        let claim = (members.len() > 1).then(|| format!("retry.{}", random_token(now)));
        let mut targets = Vec::with_capacity(members.len());
        for i in members.into_iter().map(|m| retrying[m]) {
            if let Some(claim) = &claim {
                finished[i] = finished[i].in_retry_group(claim, at);
            }
            targets.push(WakeTarget { attempt: finished[i].attempts + 1, ..sending[i].plan.target.clone() });
        }
        outgoing
            .push(Outgoing { message: WakeMessage::next_all(pid, targets, now), delay: at.since(now).min(MAX_DELAY) });
    }
    for (a, new) in sending.iter().zip(finished) {
        records.push(Record { new, how: a.record.clone() });
    }

    if !outgoing.is_empty() {
        app.queue.send_all(&outgoing).await?;
    }
    // Every record is tried even when one fails, so that the message's retry by SQS
    // repeats as few POSTs as possible.
    let mut recorded = Vec::new();
    let mut failure = None;
    for r in records {
        let expires = app.expires(r.new.created_at);
        let written = match &r.how {
            RecordKind::First => app.store.record_first(&r.new, expires).await,
            RecordKind::Leased { lease, prev_attempts } => {
                app.store.record_next(&r.new, *lease, *prev_attempts, expires).await
            }
            RecordKind::Claimed { group, prev_attempts } => {
                app.store.record_claimed(&r.new, group, *prev_attempts, expires).await
            }
            RecordKind::Dropped { prev_attempts } => app.store.record_drop(&r.new, *prev_attempts, expires).await,
        };
        match written {
            Ok(true) => recorded.push(r.new),
            Ok(false) => tracing::info!(delivery = %r.new.id, "another instance recorded first; not logged twice"),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(recorded),
    }
}

/// Whether a delivery of a taken-over group changed since this handling read it.
fn changed_since_read(fresh: Option<&HashMap<DeliveryId, Delivery>>, p: &Planned<'_>) -> bool {
    let Some(fresh) = fresh else { return false };
    let now = fresh.get(&p.target.delivery_id);
    match (p.written, now) {
        (None, None) => false,
        (Some(read), Some(now)) => now.attempts != read.attempts || now.next_claim != read.next_claim,
        _ => true,
    }
}

fn drop_record(written: Option<&Delivery>, d: Delivery, reason: DropReason) -> Record {
    let how = match written {
        Some(w) => RecordKind::Dropped { prev_attempts: w.attempts },
        None => RecordKind::First,
    };
    Record { new: d.dropped(reason), how }
}

/// Sends the part of a message whose state is not written yet back to the queue, a
/// little later each time, keeping its original `queued_at` so the wait is bounded.
fn wait_again(msg: &WakeMessage, waiting: &[&WakeTarget], now: Millis) -> Outgoing {
    let mut again = msg.clone();
    again.deliveries = waiting.iter().map(|t| (*t).clone()).collect();
    if let Some(group) = &msg.group {
        if again.deliveries.len() != msg.deliveries.len() {
            // Part of a group: its own claim key, the same for every copy of this message.
            let ids: Vec<&str> = again.deliveries.iter().map(|t| t.delivery_id.as_str()).collect();
            again.group = Some(format!("{group}.{}", &crate::credentials::sha256_hex(&ids.join(","))[..12]));
        }
    }
    let age = now.since(msg.queued_at);
    let delay = if age < Duration::from_secs(5) { Duration::from_secs(1) } else { Duration::from_secs(5) };
    Outgoing { message: again, delay }
}

/// Makes one attempt and returns the delivery's state after it.
async fn attempt(app: &App, sender: &Sender, a: &Attempting<'_>) -> Delivery {
    let event = a.plan.event.expect("decide attempts only with the event");
    let wh = a.plan.webhook.expect("decide attempts only with the webhook");
    let number = a.before.attempts + 1;
    let payload = build_payload(event, wh);
    let started = Millis::now();
    let headers = delivery_headers(wh, &event.event_type, a.before.id.as_str(), number, started, &payload);
    let outcome = sender.post(&wh.url, &wh.verification_key, headers, payload.body).await.into_outcome();
    a.before.attempted(&outcome, started, Millis::now(), &app.settings.retry_schedule, random_jitter())
}

/// The bookkeeping after records: a webhook's failure state (§12) and the operational
/// events. Best effort: a failure here is logged, never turned into a second attempt.
async fn after_records(app: &App, cx: &WakeContext, recorded: &[Delivery]) {
    let now = Millis::now();
    // Per webhook, the attempts this batch made (tests do not count).
    let mut per_webhook: HashMap<(ProjectId, WebhookId), (bool, Millis)> = HashMap::new();
    for d in recorded.iter().filter(|d| !d.test && d.dropped.is_none()) {
        let Some(last) = d.last_attempt() else { continue };
        if d.attempts == 0 {
            continue;
        }
        let succeeded = d.status == crate::delivery::Status::Success;
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
        let data = json!({
            "project_id": d.project_id,
            "webhook_id": d.webhook_id,
            "delivery_id": d.id,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "attempts": d.attempts,
            "last_error": last.and_then(|a| a.error.clone()),
            "last_response_code": last.and_then(|a| a.response_code),
        });
        if let Err(e) = ops::record(app, ops::DELIVERY_EXHAUSTED, data).await {
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
) -> Result<(), DeliveryError> {
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
        let data = json!({
            "project_id": wh.project_id,
            "webhook_id": wh.id,
            "url": wh.url,
            "failing_since": wh.failing_since.map(Millis::rfc3339),
            "last_error": last.as_ref().and_then(|a| a.error.clone()),
            "last_response_code": last.as_ref().and_then(|a| a.response_code),
        });
        ops::record(app, ops::WEBHOOK_DISABLED, data).await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
    }
    Ok(())
}

/// Whether the webhook's last `HOOKLINE_DISABLE_AFTER_FAILURES` attempts since `since`
/// (tests left out) all failed. A success since then would have cleared `failing_since`,
/// so counting the failed attempts since then is enough.
async fn last_attempts_all_failed(app: &App, wh: &Webhook, since: Millis, now: Millis) -> Result<bool, StoreError> {
    let page =
        app.store.list_deliveries(wh, Default::default(), DISABLE_LOOKBACK, None, now).await.map_err(|e| match e {
            crate::store::ListError::Store(s) => s,
            crate::store::ListError::Cursor(c) => StoreError::Corrupt(c.to_string()),
        })?;
    let mut failed = 0u32;
    for d in page.items.iter().filter(|d| !d.test) {
        for a in d.log.iter().filter(|a| a.started_at >= since) {
            if matches!(a.response_code, Some(200..=299)) && a.error.is_none() {
                return Ok(false);
            }
            failed += 1;
        }
    }
    Ok(failed >= app.settings.disable_after_failures)
}

async fn recent_attempt(app: &App, wh: &Webhook, now: Millis) -> Option<crate::delivery::AttemptRecord> {
    let page = app.store.list_deliveries(wh, Default::default(), 10, None, now).await.ok()?;
    page.items.iter().flat_map(|d| d.log.iter()).max_by_key(|a| a.started_at).cloned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn webhook() -> Webhook {
        Webhook {
            headers: BTreeMap::from([
                ("X-Team".to_string(), "kyc".to_string()),
                ("User-Agent".to_string(), "mine".to_string()),
            ]),
            authorization: Some("Bearer t".into()),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            verification_key: "vk1".into(),
            ..crate::model::webhook_fixture()
        }
    }

    #[test]
    fn headers_carry_every_field_of_section_6() {
        let payload = Payload { body: br#"{"test": 2432232314}"#.to_vec(), content_type: "application/json" };
        let h =
            delivery_headers(&webhook(), "a.b", "msg_p5jXN8AQM9LWM0D4loKWxJek", 3, Millis(1_614_265_330_000), &payload);
        let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
        // The Standard Webhooks specification's published test vector.
        assert_eq!(get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(get("webhook-timestamp"), "1614265330");
        assert_eq!(get("webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(get("x-webhook-attempt"), "3");
        assert_eq!(get("x-webhook-event"), "a.b");
        assert_eq!(get("x-webhook-verification-key"), "vk1");
        assert_eq!(get("authorization"), "Bearer t");
        assert_eq!(get("x-team"), "kyc");
        assert_eq!(get("content-type"), "application/json");
        assert_eq!(
            get("user-agent"),
            concat!("Hookline/", env!("CARGO_PKG_VERSION")),
            "a configured one is overridden"
        );
        assert_eq!(get("x-webhook-signature"), hex_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &payload.body));
        assert!(h.get("x-webhook-signature-previous").is_none(), "no rotation, no previous signature");
    }

    #[test]
    fn during_a_rotation_both_schemes_carry_the_old_secret() {
        let mut wh = webhook();
        wh.rotate("whsec_bmV3c2VjcmV0bmV3c2VjcmV0bmV3".into(), "vk2".into(), Millis(1_000));
        let payload = Payload { body: b"{}".to_vec(), content_type: "application/json" };
        let h = delivery_headers(&wh, "a", "msg_x", 1, Millis(2_000), &payload);
        let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
        assert_eq!(get("x-webhook-signature"), hex_signature("whsec_bmV3c2VjcmV0bmV3c2VjcmV0bmV3", b"{}"));
        assert_eq!(get("x-webhook-signature-previous"), hex_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b"{}"));
        assert_eq!(get("webhook-signature").split(' ').count(), 2);
    }

    #[test]
    fn authorization_is_not_sent_while_disabled() {
        let mut wh = webhook();
        wh.authorization_enabled = false;
        let payload = Payload { body: b"{}".to_vec(), content_type: "application/json" };
        assert!(delivery_headers(&wh, "a", "msg_x", 1, Millis(0), &payload).get("authorization").is_none());
    }
}
