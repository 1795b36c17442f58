//! Event intake (docs/api.md §5, §10): fan the event out, queue the wake-ups of its deliveries,
//! write the event, and only then answer 202.
//!
//! The order is what makes an error answer leave nothing behind: the wake-ups go first
//! and the event second, and a wake-up whose event never appears does nothing (see
//! `delivery::decide`). So a request answered with an error is neither listed (its
//! event was never written, or was withdrawn) nor delivered, and a 202 means both are
//! durable, whatever the queue's backlog.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::future::join_all;

use serde_json::value::RawValue;

use crate::app::App;
use crate::clock::Millis;
use crate::credentials::sha256_hex;
use crate::error::{ApiError, RecordError, StoreError};
use crate::filter::{self, Document};
use crate::ids::{random_token, EventId, ProjectId, WebhookId, MAX_FAN_OUT};
use crate::matching::subscribed;
use crate::model::{After, ContentType, Event, Generation, PayloadFormat, Project, Target, WebhookRoute};
use crate::queue::{Outgoing, WakeMessage, WakeTarget, GROUP_SIZE};
use crate::service::{catalogue, deliver};
use crate::store::{EventRecord, IdempotencyRecord, Reservation, Sequence, StoredEvent};

/// An `Idempotency-Key` is remembered this long.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How long a request holding a key may still be running (the API's own limit is 29 s).
const INTAKE_LEASE: Duration = Duration::from_secs(35);

/// One event as a client sends it, already checked.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub event_type: String,
    /// A JSON object, exactly as sent.
    pub data: Box<RawValue>,
    pub session_id: Option<String>,
    /// §15: deliveries to ordered webhooks go one at a time per key, in acceptance order.
    pub ordering_key: Option<String>,
}

/// What the intake answered for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub event_id: EventId,
    pub event_type: String,
    pub received_at: Millis,
    /// Deliveries queued: one per matching enabled webhook.
    pub deliveries: usize,
    /// The answer of an earlier request with the same idempotency key.
    pub replayed: bool,
}

impl Accepted {
    fn of(event: &Event, replayed: bool) -> Accepted {
        Accepted {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            received_at: event.received_at,
            deliveries: event.fan_out.len(),
            replayed,
        }
    }
}

/// Storage and queue calls an intake made (reported by benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    pub store_batches: usize,
    pub queue_batches: usize,
}

/// The webhooks an event of `event_type` may go to: enabled and subscribed. Their filters
/// are matched by [`targets`] once the event has its id and time.
pub async fn candidates(app: &App, pid: ProjectId, event_type: &str) -> Result<Vec<WebhookRoute>, StoreError> {
    let mut all = app.store.webhook_routes(pid).await?;
    all.retain(|w| w.enabled && subscribed(&w.event_types, event_type));
    Ok(all)
}

/// The deliveries `event` gets among the `candidates` of its type: those whose filter
/// (docs/api.md §15) matches its envelope. A filtered-out event costs nothing more.
pub fn targets(candidates: &[WebhookRoute], event: &Event) -> Vec<Target> {
    let eligible = candidates.iter().filter(|w| w.enabled && subscribed(&w.event_types, &event.event_type));
    let filtered = candidates.iter().any(|w| w.filter.is_some());
    // The envelope is read once per event, and only when some webhook filters.
    let document = if filtered { envelope_document(event) } else { None };
    eligible
        .filter(|w| match (&w.filter, &document) {
            (None, _) => true,
            (Some(f), Some(doc)) => filter::cached(f).is_ok_and(|f| f.matches(doc)),
            // Unreadable envelope: nothing can match it.
            (Some(_), None) => false,
        })
        .take(MAX_FAN_OUT)
        .map(|w| Target { webhook_id: w.id.clone(), generation: w.generation.clone() })
        .collect()
}

/// Places each delivery of `event` to an ordered webhook last in its ordering key's
/// sequence, and notes the delivery it waits for (docs/api.md §15). One write per such
/// delivery; none for events without a key or webhooks that are not ordered.
async fn link_ordered(app: &App, webhooks: &[WebhookRoute], event: &mut Event) -> Result<(), StoreError> {
    let Some(ordering_key) = event.ordering_key.clone() else { return Ok(()) };
    let ordered: std::collections::HashSet<(&WebhookId, &Generation)> =
        webhooks.iter().filter(|w| w.ordered).map(|w| (&w.id, &w.generation)).collect();
    if ordered.is_empty() {
        return Ok(());
    }
    let expires = app.expires(event.received_at);
    // Each webhook's sequence is its own: the appends of one event go at once.
    let appends =
        event.fan_out.iter().enumerate().filter(|(_, t)| ordered.contains(&(&t.webhook_id, &t.generation))).map(
            |(index, target)| {
                let seq = Sequence {
                    project_id: event.project_id,
                    webhook_id: &target.webhook_id,
                    generation: &target.generation,
                    ordering_key: &ordering_key,
                };
                let id = event.delivery_id(index);
                async move { (index, app.store.append_ordered(seq, &id, expires).await) }
            },
        );
    let mut after = Vec::new();
    for (index, appended) in join_all(appends.collect::<Vec<_>>()).await {
        if let Some(before) = appended? {
            after.push(After { index: index as u32, delivery: before });
        }
    }
    event.after = after;
    Ok(())
}

/// The §6 envelope of `event` (without custom parameters), as filters see it.
pub fn envelope_document(event: &Event) -> Option<Document> {
    let envelope = deliver::event_payload(event, &BTreeMap::new(), PayloadFormat::Envelope, ContentType::Json);
    Document::parse(std::str::from_utf8(&envelope.body).ok()?)
}

/// The first-attempt wake-ups of `events`: groups of up to `GROUP_SIZE` deliveries,
/// each group claimed as one. With `per_event`, a group never spans two events, so its
/// key depends on its event alone and a retried request (same event id) makes the same
/// groups; otherwise groups span events, for fewer messages and claims.
pub fn first_wakes(pid: ProjectId, events: &[&Event], per_event: bool, now: Millis) -> Vec<Outgoing> {
    let mut out = Vec::new();
    let mut group: Vec<WakeTarget> = Vec::new();
    let flush = |group: &mut Vec<WakeTarget>, out: &mut Vec<Outgoing>| {
        if group.is_empty() {
            return;
        }
        let message = WakeMessage::first(pid, std::mem::take(group), now);
        out.push(Outgoing { message, delay: Duration::ZERO });
    };
    for event in events {
        for (i, t) in event.fan_out.iter().enumerate() {
            group.push(WakeTarget {
                delivery_id: event.delivery_id(i),
                webhook_id: t.webhook_id.clone(),
                generation: t.generation.clone(),
                attempt: 1,
            });
            if group.len() == GROUP_SIZE {
                flush(&mut group, &mut out);
            }
        }
        if per_event {
            flush(&mut group, &mut out);
        }
    }
    flush(&mut group, &mut out);
    out
}

/// Queues an event's wake-ups, then writes the event, conditionally, so a retried
/// request finds it stored and a write landing late after its own withdrawal changes
/// nothing. On failure the event is withdrawn (best effort) and the caller answers 503.
async fn commit(app: &App, event: &Event, wakes: &[Outgoing]) -> Result<Calls, RecordError> {
    let queue_batches = queue_within_budget(app, wakes).await?;
    let writer = random_token(Millis::now());
    let record = EventRecord { event, expires: app.expires(event.received_at), writer: &writer };
    // `Ok(false)`: an earlier try of this request stored it; nothing to redo.
    match app.store.put_event(&record).await {
        Ok(_) => Ok(Calls { store_batches: 1, queue_batches }),
        Err(e) => {
            // A write that timed out may still land: withdraw, so it can never show.
            if let Err(w) = app
                .store
                .withdraw_events(event.project_id, std::slice::from_ref(&event.id), &writer, Millis::now())
                .await
            {
                tracing::error!(error = %w, "could not withdraw an event after a failed intake");
            }
            Err(e.into())
        }
    }
}

/// Queues wake-ups, or gives up after the queue budget in all: many slow sends in a row must
/// still answer 503 well before the gateway's 30 s (docs/api.md §1). Giving up half-way is
/// safe: the event is not written yet, and a wake-up without its event does nothing.
async fn queue_within_budget(app: &App, wakes: &[Outgoing]) -> Result<usize, RecordError> {
    if wakes.is_empty() {
        return Ok(0);
    }
    let budget = app.settings.queue_budget;
    match tokio::time::timeout(budget, app.queue.send_all(wakes)).await {
        Ok(sent) => Ok(sent?),
        Err(_) => Err(RecordError::QueueBudget(budget)),
    }
}

/// Records an event that needs no idempotency (tests, operational events).
pub async fn record(app: &App, event: &Event) -> Result<Calls, RecordError> {
    let wakes = first_wakes(event.project_id, &[event], false, Millis::now());
    commit(app, event, &wakes).await
}

/// The event of `input`, fanned out to those of `candidates` its filters let through.
fn new_event(
    project: &Project,
    id: EventId,
    received_at: Millis,
    input: EventInput,
    candidates: &[WebhookRoute],
) -> Event {
    let mut event = Event {
        id,
        project_id: project.project_id,
        client_id: project.client_id,
        event_type: input.event_type,
        session_id: input.session_id,
        data: input.data,
        received_at,
        fan_out: Vec::new(),
        test: false,
        ordering_key: input.ordering_key,
        after: Vec::new(),
    };
    event.fan_out = targets(candidates, &event);
    event
}

/// The outcome of one `POST /api/v1/events`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeOutcome {
    pub accepted: Accepted,
    pub calls: Calls,
}

/// An idempotency key held by this request: the event id and time it reserved.
struct Held {
    event_id: EventId,
    received_at: Millis,
    key_hash: String,
    /// Reserved by this request (not taken over from one that died): given back on failure.
    fresh: bool,
}

/// How an idempotency key stands for this request.
enum Keyed {
    /// Go ahead with the reserved id.
    Go(Held),
    /// An earlier request with the key completed: answer with its event.
    Replay(Event),
}

/// A batch entry accepted so far: its position, its input and its key, if any.
type Pending = (usize, EventInput, Option<Held>);

/// Reserves `key` for a request whose body hashes to `request_hash`, with `event_id` as
/// its event's id unless the key holds one already.
async fn reserve(
    app: &App,
    pid: ProjectId,
    key: &str,
    request_hash: String,
    event_id: EventId,
    now: Millis,
) -> Result<Keyed, ApiError> {
    let key_hash = sha256_hex(key);
    let fresh = IdempotencyRecord {
        event_id,
        received_at: now,
        request_hash: request_hash.clone(),
        lease_until: now.plus(INTAKE_LEASE),
        expires: now.plus(IDEMPOTENCY_WINDOW),
    };
    let existing = match app.store.reserve_idempotency(pid, &key_hash, &fresh, now).await? {
        Reservation::Reserved => {
            return Ok(Keyed::Go(Held { event_id: fresh.event_id, received_at: now, key_hash, fresh: true }));
        }
        Reservation::Existing(r) => r,
    };
    // A retry of our own reservation call whose answer was lost.
    if existing.event_id == fresh.event_id {
        return Ok(Keyed::Go(Held { event_id: fresh.event_id, received_at: now, key_hash, fresh: true }));
    }
    if existing.request_hash != request_hash {
        return Err(ApiError::Conflict("this Idempotency-Key was used with a different request".into()));
    }
    if let Some(StoredEvent::Found(e)) = app.store.get_event(pid, &existing.event_id, now).await? {
        return Ok(Keyed::Replay(e));
    }
    let in_progress = || ApiError::Conflict("a request with this Idempotency-Key is in progress; retry shortly".into());
    if existing.lease_until > now {
        return Err(in_progress());
    }
    // The first request died before storing its event: take over and finish it with the
    // same event id, so its own wake-ups (if any are still waiting) find it.
    if !app.store.take_over_idempotency(pid, &key_hash, existing.lease_until, now.plus(INTAKE_LEASE)).await? {
        return Err(in_progress());
    }
    Ok(Keyed::Go(Held { event_id: existing.event_id, received_at: existing.received_at, key_hash, fresh: false }))
}

/// Records one event for `project` and queues its deliveries (docs/api.md §5).
pub async fn ingest(
    app: &App,
    project: &Project,
    input: EventInput,
    idempotency_key: Option<&str>,
) -> Result<IntakeOutcome, ApiError> {
    let pid = project.project_id;
    // Without a key nothing is written before the fan-out, so the catalogue and the
    // webhooks are read at once: one round trip less per event. With a key the schema
    // is checked before the key is reserved (bad input changes nothing), and a replay
    // needs no webhooks.
    let read_early = if idempotency_key.is_none() {
        let (checked, targets) = tokio::join!(
            catalogue::check_data(app, &input.event_type, &input.data),
            candidates(app, pid, &input.event_type)
        );
        checked?;
        Some(targets?)
    } else {
        catalogue::check_data(app, &input.event_type, &input.data).await?;
        None
    };
    let now = Millis::now();
    let keyed = match idempotency_key {
        None => None,
        Some(key) => match reserve(app, pid, key, request_hash(&input), EventId::new(now), now).await? {
            Keyed::Replay(e) => return Ok(IntakeOutcome { accepted: Accepted::of(&e, true), calls: Calls::default() }),
            Keyed::Go(held) => Some(held),
        },
    };
    let (event_id, received_at) =
        keyed.as_ref().map_or_else(|| (EventId::new(now), now), |h| (h.event_id.clone(), h.received_at));
    let targets = match read_early {
        Some(t) => t,
        None => match candidates(app, pid, &input.event_type).await {
            Ok(t) => t,
            Err(e) => {
                release(app, pid, keyed.as_ref()).await;
                return Err(e.into());
            }
        },
    };
    let mut event = new_event(project, event_id, received_at, input, &targets);
    if let Err(e) = link_ordered(app, &targets, &mut event).await {
        release(app, pid, keyed.as_ref()).await;
        return Err(e.into());
    }
    let wakes = first_wakes(pid, &[&event], keyed.is_some(), now);
    match commit(app, &event, &wakes).await {
        Ok(calls) => {
            if let Some(h) = &keyed {
                if let Err(e) = app.store.finish_idempotency(pid, &h.key_hash, &h.event_id).await {
                    tracing::warn!(error = %e, "could not end the idempotency lease; repeats wait for it");
                }
            }
            Ok(IntakeOutcome { accepted: Accepted::of(&event, false), calls })
        }
        Err(e) => {
            release(app, pid, keyed.as_ref()).await;
            Err(e.into())
        }
    }
}

/// Gives a freshly reserved key back after a failure, so an immediate retry is not told
/// that the failed request is still in progress.
async fn release(app: &App, pid: ProjectId, keyed: Option<&Held>) {
    if let Some(h) = keyed.filter(|h| h.fresh) {
        if let Err(e) = app.store.release_idempotency(pid, &h.key_hash, &h.event_id).await {
            tracing::warn!(error = %e, "could not release an idempotency key after a failure");
        }
    }
}

/// What makes two requests with one idempotency key "the same request": the event they
/// describe, whichever route (docs/api.md §5 header or §10 entry) carried it.
fn request_hash(input: &EventInput) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [input.event_type.as_str(), input.data.get(), input.session_id.as_deref().unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    // Only when given, so the hashes of requests without one (stored before keys existed) hold.
    if let Some(k) = &input.ordering_key {
        h.update(b"ordering_key");
        h.update([0]);
        h.update(k.as_bytes());
    }
    hex::encode(h.finalize())
}

/// One entry of a batch (docs/api.md §10), as parsed: accepted input, or the entry's own error.
pub enum BatchEntry {
    Valid { input: EventInput, idempotency_key: Option<String> },
    Invalid(ApiError),
}

/// What became of one batch entry.
pub enum BatchResult {
    Accepted(Accepted),
    Refused(ApiError),
}

/// Where a batch entry stands while the batch is processed.
enum Slot {
    Done(BatchResult),
    /// To be stored and queued (it is in `accepted`).
    Pending,
    /// Repeats the idempotency key and the event of this earlier entry: its replay.
    SameAs(usize),
}

/// `POST /api/v1/events/batch`: every valid entry is stored and queued before the
/// answer, with batched calls; the request as a whole either succeeds or answers 503
/// with nothing left behind. Entries are only ever 202 or 400 (docs/api.md §10): a key repeated in
/// the batch for the same event is a replay of the first, and a key that cannot be used
/// (another event, or a request still running) refuses the entry alone.
pub async fn ingest_batch(
    app: &App,
    project: &Project,
    entries: Vec<BatchEntry>,
) -> Result<Vec<BatchResult>, ApiError> {
    let now = Millis::now();
    let pid = project.project_id;
    let types = entries.iter().filter_map(|e| match e {
        BatchEntry::Valid { input, .. } => Some(input.event_type.as_str()),
        BatchEntry::Invalid(_) => None,
    });
    let catalogue = catalogue::entries(app, types).await?;
    let mut slots: Vec<Slot> = Vec::with_capacity(entries.len());
    let mut unkeyed: Vec<(usize, EventInput)> = Vec::new();
    // (entry, input, key, request hash) of the first use of each key in the batch.
    let mut keyed: Vec<(usize, EventInput, String, String)> = Vec::new();
    let mut first_use: HashMap<String, (usize, String)> = HashMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let (input, key) = match entry {
            BatchEntry::Invalid(e) => {
                slots.push(Slot::Done(BatchResult::Refused(e)));
                continue;
            }
            BatchEntry::Valid { input, idempotency_key } => (input, idempotency_key),
        };
        match catalogue::check_against(catalogue.get(&input.event_type).and_then(Option::as_ref), &input.data) {
            Ok(()) => {}
            Err(e @ ApiError::Invalid { .. }) => {
                slots.push(Slot::Done(BatchResult::Refused(e)));
                continue;
            }
            Err(e) => return Err(e),
        }
        let Some(key) = key else {
            slots.push(Slot::Pending);
            unkeyed.push((i, input));
            continue;
        };
        let hash = request_hash(&input);
        match first_use.get(&key) {
            Some((j, h)) if *h == hash => slots.push(Slot::SameAs(*j)),
            Some(_) => slots.push(Slot::Done(BatchResult::Refused(ApiError::invalid(
                "idempotency_key",
                "used by an earlier entry of this batch for a different event",
            )))),
            None => {
                first_use.insert(key.clone(), (i, hash.clone()));
                slots.push(Slot::Pending);
                keyed.push((i, input, key, hash));
            }
        }
    }
    // The new events' ids, drawn at once in entry order: a batch's events sort (and list)
    // in the order they were sent, keyed or not.
    let pending: Vec<usize> = (0..slots.len()).filter(|i| matches!(slots[*i], Slot::Pending)).collect();
    let mut fresh_ids: Vec<Option<EventId>> = vec![None; slots.len()];
    for (i, id) in pending.iter().zip(EventId::sequence(now, pending.len())) {
        fresh_ids[*i] = Some(id);
    }
    let mut fresh_id = |i: usize| fresh_ids[i].take().unwrap_or_else(|| EventId::new(now));
    // Keys are distinct now: reserve them all at once.
    let reservations = join_all(
        keyed
            .iter()
            .map(|(i, _, key, hash)| reserve(app, pid, key, hash.clone(), fresh_id(*i), now))
            .collect::<Vec<_>>(),
    )
    .await;
    let mut accepted: Vec<Pending> = unkeyed.into_iter().map(|(i, input)| (i, input, None)).collect();
    let mut failure = None;
    for ((i, input, _, _), reserved) in keyed.into_iter().zip(reservations) {
        match reserved {
            Ok(Keyed::Replay(e)) => slots[i] = Slot::Done(BatchResult::Accepted(Accepted::of(&e, true))),
            Ok(Keyed::Go(held)) => accepted.push((i, input, Some(held))),
            Err(ApiError::Conflict(message)) => {
                slots[i] = Slot::Done(BatchResult::Refused(ApiError::invalid("idempotency_key", message)))
            }
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        release_all(app, pid, &accepted).await;
        return Err(e);
    }
    let webhooks = match app.store.webhook_routes(pid).await {
        Ok(w) => w,
        Err(e) => {
            release_all(app, pid, &accepted).await;
            return Err(e.into());
        }
    };
    let mut built = Vec::with_capacity(accepted.len());
    for (i, input, keyed) in &accepted {
        let (id, at) = match keyed {
            Some(h) => (h.event_id.clone(), h.received_at),
            None => (fresh_id(*i), now),
        };
        built.push((*i, new_event(project, id, at, input.clone(), &webhooks), keyed.is_some()));
    }
    // Entry order: a batch's events of one ordering key follow one another as sent.
    built.sort_by_key(|(i, _, _)| *i);
    for (_, event, _) in built.iter_mut() {
        if let Err(e) = link_ordered(app, &webhooks, event).await {
            release_all(app, pid, &accepted).await;
            return Err(e.into());
        }
    }
    let mut keyed_events = Vec::new();
    let mut plain_events = Vec::new();
    let mut order = Vec::new();
    for (i, event, keyed) in built {
        order.push((i, event.id.clone(), keyed));
        if keyed {
            keyed_events.push(event);
        } else {
            plain_events.push(event);
        }
    }
    let mut wakes = first_wakes(pid, &plain_events.iter().collect::<Vec<_>>(), false, now);
    wakes.extend(first_wakes(pid, &keyed_events.iter().collect::<Vec<_>>(), true, now));
    let stored = match queue_within_budget(app, &wakes).await {
        Ok(_) => store_batch(app, pid, &plain_events, &keyed_events).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = stored {
        release_all(app, pid, &accepted).await;
        return Err(e);
    }
    for (_, _, keyed) in &accepted {
        if let Some(h) = keyed {
            if let Err(e) = app.store.finish_idempotency(pid, &h.key_hash, &h.event_id).await {
                tracing::warn!(error = %e, "could not end an idempotency lease");
            }
        }
    }
    for (i, id, keyed) in order {
        let list = if keyed { &keyed_events } else { &plain_events };
        if let Some(e) = list.iter().find(|e| e.id == id) {
            slots[i] = Slot::Done(BatchResult::Accepted(Accepted::of(e, false)));
        }
    }
    let mut results: Vec<BatchResult> = Vec::with_capacity(slots.len());
    for slot in slots {
        results.push(match slot {
            Slot::Done(r) => r,
            Slot::SameAs(j) => match &results[j] {
                BatchResult::Accepted(a) => BatchResult::Accepted(Accepted { replayed: true, ..a.clone() }),
                BatchResult::Refused(e) => BatchResult::Refused(e.clone()),
            },
            Slot::Pending => BatchResult::Refused(ApiError::Internal("entry lost".into())),
        });
    }
    Ok(results)
}

/// Writes a batch's events: fresh ones with BatchWriteItem, keyed ones conditionally
/// (a retry may find them stored). On failure everything is withdrawn.
async fn store_batch(app: &App, pid: ProjectId, plain: &[Event], keyed: &[Event]) -> Result<(), ApiError> {
    let writer = random_token(Millis::now());
    let record = |e| EventRecord { event: e, expires: app.expires(e.received_at), writer: &writer };
    let records: Vec<EventRecord<'_>> = plain.iter().map(record).collect();
    let mut result = if records.is_empty() { Ok(0) } else { app.store.put_events(&records).await };
    if result.is_ok() {
        for e in keyed {
            if let Err(err) = app.store.put_event(&record(e)).await {
                result = Err(err);
                break;
            }
        }
    }
    if let Err(e) = result {
        let ids: Vec<EventId> = plain.iter().chain(keyed).map(|e| e.id.clone()).collect();
        if let Err(w) = app.store.withdraw_events(pid, &ids, &writer, Millis::now()).await {
            tracing::error!(error = %w, "could not withdraw events after a failed batch");
        }
        return Err(e.into());
    }
    Ok(())
}

async fn release_all(app: &App, pid: ProjectId, accepted: &[Pending]) {
    for (_, _, keyed) in accepted {
        release(app, pid, keyed.as_ref()).await;
    }
}
