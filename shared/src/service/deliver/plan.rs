//! The engine's pure steps, around its I/O: what each delivery of a message is to do
//! (`decide_all`, `sort`), and what the attempts made lead to (`conclude`): retry groups
//! with their claims, wake-ups, and the records to write.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::clock::Millis;
use crate::delivery::{ahead, decide, retry_groups, Action, Ahead, ClaimKey, Context, Delivery, DropReason, Seen};
use crate::ids::ProjectId;
use crate::ids::{DeliveryId, EventId};
use crate::model::{Event, Webhook};
use crate::queue::{Outgoing, WakeMessage, WakeTarget, GROUP_SIZE, MAX_DELAY};
use crate::store::{StoredEvent, WakeContext};

/// One delivery's part of a message, once decided.
#[derive(Debug)]
pub struct Planned<'a> {
    pub target: &'a WakeTarget,
    pub action: Action<'a>,
    pub event: Option<&'a Event>,
    /// The written delivery, if any.
    pub written: Option<&'a Delivery>,
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

/// A delivery due for an attempt, before its claim.
#[derive(Debug)]
pub struct Due<'a> {
    pub target: &'a WakeTarget,
    pub event: &'a Event,
    pub webhook: &'a Webhook,
    pub written: Option<&'a Delivery>,
    /// The delivery before the attempt.
    pub before: Delivery,
}

/// An attempt under way: what it sends, the delivery before it, and how its record is
/// conditioned on the claim it was made under.
#[derive(Debug)]
pub struct Attempting<'a> {
    pub target: &'a WakeTarget,
    pub event: &'a Event,
    pub webhook: &'a Webhook,
    pub before: Delivery,
    pub record: RecordKind,
}

/// What one delivery's handling writes last: the new state, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub new: Delivery,
    pub how: RecordKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordKind {
    /// The delivery's first write (a first attempt under its message's claim).
    First,
    /// A written delivery held under its own `lease`, with `prev_attempts` made.
    Leased { lease: Millis, prev_attempts: u32 },
    /// A written delivery's attempt under retry group `group`'s claim.
    Claimed { group: ClaimKey, prev_attempts: u32 },
    /// A written delivery ended without an attempt, if still as read.
    Dropped { prev_attempts: u32 },
}

/// What a message's handling sends and writes, in that order: every wake-up is queued
/// before the records, so a recorded retry always has one.
#[derive(Debug, Default)]
pub struct Work {
    pub outgoing: Vec<Outgoing>,
    pub records: Vec<Record>,
}

/// The claim an attempt is taken under, if not a lease on the item: a first attempt's is
/// its message's; a retry's is the one its delivery names, so every wake-up for that
/// attempt (the group's, a manual re-send's, a heal's) contends for the same claim.
pub fn group_claim<'a>(msg: &'a WakeMessage, written: Option<&'a Delivery>) -> Option<&'a ClaimKey> {
    match written {
        Some(d) => d.next_claim.as_ref(),
        None => msg.first_claim(),
    }
}

/// Decides each delivery the message names from what storage holds.
pub fn decide_all<'a>(msg: &'a WakeMessage, cx: &'a WakeContext, now: Millis) -> Vec<Planned<'a>> {
    let pid = msg.project_id;
    let seen = |id: &EventId| match cx.events.get(&(pid, id.clone())) {
        Some(StoredEvent::Found(e)) => Seen::Found(e),
        Some(StoredEvent::Withdrawn) => Seen::Withdrawn,
        Some(StoredEvent::Expired) => Seen::Expired,
        None => Seen::Missing,
    };
    let written = |t: &WakeTarget, id: &DeliveryId| {
        cx.deliveries.get(id).filter(|d| d.webhook_id == t.webhook_id && d.generation == t.generation)
    };
    msg.deliveries
        .iter()
        .map(|t| {
            let event_seen = seen(&t.delivery_id.event_id());
            let event = match event_seen {
                Seen::Found(e) => Some(e),
                _ => None,
            };
            let written_now = written(t, &t.delivery_id);
            let webhook = cx.webhooks.get(&(pid, t.webhook_id.clone()));
            let target = t.target();
            // Loaded by the engine for the first attempts of ordered deliveries.
            let before = match (event, written_now) {
                (Some(e), None) => e.waits_for(t.delivery_id.index()).map(|b| (e, b)),
                _ => None,
            };
            let ahead_of = before.map_or(Ahead::Clear, |(e, b)| {
                ahead(e, t.delivery_id.index(), written(t, b), seen(&b.event_id()), now)
            });
            let context = Context {
                event: event_seen,
                delivery_id: &t.delivery_id,
                target: &target,
                delivery: written_now,
                webhook,
                ahead: ahead_of,
            };
            let action = decide(&msg.wake(t), &context, now);
            let written = written_now;
            tracing::debug!(delivery = %t.delivery_id, ?action, "decided");
            Planned { target: t, action, event, written }
        })
        .collect()
}

/// Splits decided deliveries into those due for an attempt and the work of the rest:
/// postponements, waits, drops and heals.
pub fn sort<'a>(msg: &WakeMessage, plans: &[Planned<'a>], now: Millis, max_attempts: u32) -> (Vec<Due<'a>>, Work) {
    let mut work = Work::default();
    let mut due = Vec::new();
    let mut waiting: Vec<&WakeTarget> = Vec::new();
    let mut postponed: BTreeMap<Millis, Vec<&WakeTarget>> = BTreeMap::new();
    let mut held: BTreeMap<Millis, Vec<&WakeTarget>> = BTreeMap::new();
    for p in plans {
        match p.action {
            Action::Attempt { event, webhook, .. } => {
                if let Some(before) = p.current(max_attempts) {
                    due.push(Due { target: p.target, event, webhook, written: p.written, before });
                }
            }
            // Deliveries due together (a retry group) sleep again together.
            Action::Postpone { until } => postponed.entry(until).or_default().push(p.target),
            Action::Wait => waiting.push(p.target),
            Action::Hold { until } => held.entry(until).or_default().push(p.target),
            Action::Drop(reason) => {
                if let Some(d) = p.current(max_attempts) {
                    work.records.push(drop_record(p.written, d, reason));
                }
            }
            Action::Heal { number } => {
                let target = WakeTarget { attempt: number, ..p.target.clone() };
                work.outgoing
                    .push(Outgoing { message: WakeMessage::next(msg.project_id, target, now), delay: Duration::ZERO });
            }
            Action::Ignore(why) => tracing::debug!(delivery = %p.target.delivery_id, ?why, "nothing to do"),
        }
    }
    for (until, targets) in postponed {
        work.outgoing.push(again(msg, targets, until.since(now).min(MAX_DELAY)));
    }
    if !waiting.is_empty() {
        work.outgoing.push(wait_again(msg, &waiting, now));
    }
    for (until, targets) in held {
        work.outgoing.push(part_again(msg, &targets, until.since(now).min(MAX_DELAY)));
    }
    (due, work)
}

/// The part `targets` of `msg`, sent again after `delay`.
pub fn again(msg: &WakeMessage, targets: Vec<&WakeTarget>, delay: Duration) -> Outgoing {
    let mut message = msg.clone();
    message.deliveries = targets.into_iter().cloned().collect();
    Outgoing { message, delay }
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
    let age = now.since(msg.queued_at);
    let delay = if age < Duration::from_secs(5) { Duration::from_secs(1) } else { Duration::from_secs(5) };
    part_again(msg, waiting, delay)
}

/// Sends `part` of a message back after `delay`. A first-attempt message's part gets a
/// claim of its own (the same for every copy of this message), as the rest of the group
/// may be claimed by this handling.
fn part_again(msg: &WakeMessage, part: &[&WakeTarget], delay: Duration) -> Outgoing {
    let mut out = again(msg, part.to_vec(), delay);
    if let Some(claim) = msg.first_claim() {
        if out.message.deliveries.len() != msg.deliveries.len() {
            // Part of a group: its own claim, the same for every copy of this message.
            let part = claim.part(out.message.deliveries.iter().map(|t| &t.delivery_id));
            out.message.kind = crate::queue::MessageKind::First { claim: part };
        }
    }
    out
}

/// What the attempts `sending` came to (`finished`, in the same order) lead to: retries
/// due at about the same time share one wake-up and one new claim (`new_claim`), each
/// wake-up is for the attempt after the one made, and every attempt is recorded as its
/// claim says.
pub fn conclude(
    pid: ProjectId,
    sending: &[Attempting<'_>],
    mut finished: Vec<Delivery>,
    now: Millis,
    mut new_claim: impl FnMut() -> ClaimKey,
) -> Work {
    let mut work = Work::default();
    let retrying: Vec<usize> = (0..finished.len()).filter(|&i| finished[i].next_attempt_at.is_some()).collect();
    let due: Vec<Millis> = retrying.iter().filter_map(|&i| finished[i].next_attempt_at).collect();
    for (members, at) in retry_groups(&due, now, GROUP_SIZE) {
        let claim = (members.len() > 1).then(&mut new_claim);
        let mut targets = Vec::with_capacity(members.len());
        for i in members.into_iter().map(|m| retrying[m]) {
            if let Some(claim) = &claim {
                finished[i] = finished[i].in_retry_group(claim, at);
            }
            targets.push(WakeTarget { attempt: finished[i].attempts + 1, ..sending[i].target.clone() });
        }
        let message = WakeMessage::next_all(pid, targets, now);
        work.outgoing.push(Outgoing { message, delay: at.since(now).min(MAX_DELAY) });
    }
    for (a, new) in sending.iter().zip(finished) {
        work.records.push(Record { new, how: a.record.clone() });
    }
    work
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::outcome;
    use crate::delivery::Status;
    use crate::ids::{EventId, WebhookId};
    use crate::model::Target;
    use crate::queue::MessageKind;
    use serde_json::value::RawValue;

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(300)];
    const NOW: Millis = Millis(1_000_000);

    struct World {
        event: Event,
        webhooks: Vec<Webhook>,
        targets: Vec<WakeTarget>,
    }

    /// An event fanned out to `n` webhooks, and its intake message's targets.
    fn world(n: usize) -> World {
        let webhooks: Vec<Webhook> = (0..n)
            .map(|i| Webhook {
                id: WebhookId::new(Millis(i as u64)),
                generation: format!("G{i}").into(),
                project_id: ProjectId(7),
                ..crate::model::webhook_fixture()
            })
            .collect();
        let event = Event {
            id: EventId::new(NOW),
            project_id: ProjectId(7),
            client_id: None,
            event_type: "a.b".into(),
            session_id: None,
            data: RawValue::from_string("{}".into()).unwrap(),
            received_at: NOW,
            fan_out: webhooks
                .iter()
                .map(|w| Target { webhook_id: w.id.clone(), generation: w.generation.clone() })
                .collect(),
            test: false,
            ordering_key: None,
            after: Vec::new(),
        };
        let targets = (0..n)
            .map(|i| WakeTarget {
                delivery_id: event.delivery_id(i),
                webhook_id: webhooks[i].id.clone(),
                generation: webhooks[i].generation.clone(),
                attempt: 1,
            })
            .collect();
        World { event, webhooks, targets }
    }

    impl World {
        fn attempting(&self, i: usize, record: RecordKind) -> Attempting<'_> {
            Attempting {
                target: &self.targets[i],
                event: &self.event,
                webhook: &self.webhooks[i],
                before: Delivery::new(&self.event, i, &self.event.fan_out[i], 3),
                record,
            }
        }
    }

    fn after(a: &Attempting<'_>, code: u16, jitter: f64) -> Delivery {
        a.before.attempted(&outcome(Some(code), None), NOW, NOW, &SCHEDULE, jitter)
    }

    #[test]
    fn retries_due_together_share_a_wake_up_and_a_new_claim() {
        let w = world(3);
        let sending: Vec<Attempting<'_>> = (0..3).map(|i| w.attempting(i, RecordKind::First)).collect();
        let finished = vec![after(&sending[0], 500, 0.5), after(&sending[1], 200, 0.0), after(&sending[2], 503, -0.5)];
        let claim = ClaimKey::Retry("r1".into());
        let work = conclude(ProjectId(7), &sending, finished, NOW, || claim.clone());

        assert_eq!(work.outgoing.len(), 1, "one wake-up for both retries");
        let wake = &work.outgoing[0];
        assert_eq!(wake.message.kind, MessageKind::Next);
        let woken: Vec<(&str, u32)> =
            wake.message.deliveries.iter().map(|t| (t.delivery_id.as_str(), t.attempt)).collect();
        assert_eq!(woken, vec![(w.targets[2].delivery_id.as_str(), 2), (w.targets[0].delivery_id.as_str(), 2)]);
        // Due with its latest member: 60 s + 10 % jitter × 0.5.
        assert_eq!(wake.delay, Duration::from_secs(63));

        assert_eq!(work.records.len(), 3, "every attempt is recorded");
        assert!(work.records.iter().all(|r| r.how == RecordKind::First));
        let (failed, ok) = (&work.records[0].new, &work.records[1].new);
        assert_eq!((failed.status, failed.next_claim.as_ref()), (Status::Pending, Some(&claim)));
        assert_eq!(failed.next_attempt_at, Some(NOW.plus(Duration::from_secs(63))));
        assert_eq!(work.records[2].new.next_claim.as_ref(), Some(&claim));
        assert_eq!((ok.status, ok.next_claim.as_ref()), (Status::Success, None));
    }

    #[test]
    fn a_lone_retry_keeps_its_own_time_and_its_lease() {
        let w = world(2);
        let lease = RecordKind::Leased { lease: NOW, prev_attempts: 0 };
        let sending = vec![w.attempting(0, lease.clone()), w.attempting(1, lease.clone())];
        let finished = vec![after(&sending[0], 500, 0.0), after(&sending[1], 204, 0.0)];
        let work = conclude(ProjectId(7), &sending, finished, NOW, || unreachable!("no group, no claim"));
        assert_eq!(work.outgoing.len(), 1);
        assert_eq!(work.outgoing[0].delay, Duration::from_secs(60));
        assert_eq!(work.outgoing[0].message.deliveries[0].delivery_id, w.targets[0].delivery_id);
        assert_eq!(work.records[0].new.next_claim, None);
        assert_eq!(work.records[0].how, lease, "recorded under the lease it was made with");
    }

    #[test]
    fn the_end_of_the_schedule_queues_nothing() {
        let w = world(1);
        let mut a = w.attempting(0, RecordKind::Claimed { group: ClaimKey::Retry("g".into()), prev_attempts: 2 });
        a.before.attempts = 2;
        let finished = vec![after(&a, 500, 0.0)];
        let work = conclude(ProjectId(7), std::slice::from_ref(&a), finished, NOW, || unreachable!());
        assert!(work.outgoing.is_empty());
        assert_eq!((work.records[0].new.status, work.records[0].new.attempts), (Status::Error, 3));
    }

    #[test]
    fn the_rest_of_a_message_is_postponed_together_waited_for_in_part_and_dropped() {
        let w = world(4);
        let msg = WakeMessage::first(ProjectId(7), w.targets.clone(), NOW);
        let later = NOW.plus(Duration::from_secs(30));
        let plans = vec![
            Planned {
                target: &w.targets[0],
                action: Action::Postpone { until: later },
                event: Some(&w.event),
                written: None,
            },
            Planned {
                target: &w.targets[1],
                action: Action::Postpone { until: later },
                event: Some(&w.event),
                written: None,
            },
            Planned { target: &w.targets[2], action: Action::Wait, event: None, written: None },
            Planned {
                target: &w.targets[3],
                action: Action::Drop(DropReason::WebhookDeleted),
                event: Some(&w.event),
                written: None,
            },
        ];
        let (due, work) = sort(&msg, &plans, NOW, 3);
        assert!(due.is_empty());
        assert_eq!(work.outgoing.len(), 2);
        let postponed = &work.outgoing[0];
        assert_eq!((postponed.message.deliveries.len(), postponed.delay), (2, Duration::from_secs(30)));
        assert_eq!(postponed.message.kind, msg.kind, "the postponed part keeps its message's claim");
        let waiting = &work.outgoing[1];
        assert_eq!(waiting.message.deliveries, vec![w.targets[2].clone()]);
        let MessageKind::First { claim } = &waiting.message.kind else { panic!("a first-attempt part") };
        assert_eq!(claim, &msg.first_claim().unwrap().part([&w.targets[2].delivery_id]), "its own claim");
        assert_eq!(work.records.len(), 1);
        assert_eq!(work.records[0].how, RecordKind::First, "a delivery never written is dropped by its first write");
        assert_eq!(work.records[0].new.error().as_deref(), Some("webhook deleted"));
    }

    #[test]
    fn a_due_attempt_carries_what_it_sends() {
        let w = world(1);
        let msg = WakeMessage::first(ProjectId(7), w.targets.clone(), NOW);
        let plans = vec![Planned {
            target: &w.targets[0],
            action: Action::Attempt { number: 1, event: &w.event, webhook: &w.webhooks[0] },
            event: Some(&w.event),
            written: None,
        }];
        let (due, work) = sort(&msg, &plans, NOW, 3);
        assert!(work.outgoing.is_empty() && work.records.is_empty());
        assert_eq!(due.len(), 1);
        assert!(std::ptr::eq(due[0].webhook, &w.webhooks[0]));
        assert_eq!(due[0].before.attempts, 0);
        assert_eq!(group_claim(&msg, due[0].written), msg.first_claim());
    }
}
