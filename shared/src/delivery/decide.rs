//! `decide`: what one wake-up (an SQS message) should do with one delivery, from what
//! storage holds at that moment. Pure: the engine reads, calls this, then acts.
//!
//! The rules behind it:
//! - Every writer that makes a delivery need a wake-up sends the message first and writes
//!   the state second (intake, retries, manual re-sends, postponements). So a message may
//!   arrive before its state: it waits up to `STATE_WAIT` for it, then is dropped, which
//!   is right, because a state that never appeared belongs to a request answered with an
//!   error.
//! - A message never repeats an attempt that storage shows as made, so a duplicate or late
//!   copy never POSTs again; the claim (a lease) makes two copies at once POST once, and
//!   a copy that finds the lease taken looks again when it ends, in case its holder died.
//! - A message for an attempt already made, whose delivery's next wake-up is long overdue,
//!   queues that wake-up again (`Heal`): the record landed after its message was dropped.

use std::time::Duration;

use crate::clock::Millis;
use crate::delivery::{Delivery, DropReason};
use crate::ids::DeliveryId;
use crate::model::{Event, Target, Webhook};

/// How long a wake-up waits for the state it was sent for before it is dropped. Longer
/// than any writer (the API's 29 s limit, the delivery function's 60 s) takes between
/// sending the message and writing the state.
pub const STATE_WAIT: Duration = Duration::from_secs(90);
/// A pending delivery whose next wake-up is this overdue has lost it (shorter than the
/// queue's 360 s visibility timeout, so the message that failed to record comes back in time).
pub const HEAL_AFTER: Duration = Duration::from_secs(120);
/// A wake-up this close to its delivery's due time counts as due.
const EARLY_TOLERANCE: Duration = Duration::from_millis(500);

/// Which kind of message woke the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeKind {
    /// The intake's wake-up for attempt 1 of a delivery not written yet (one message
    /// wakes a group of deliveries; its claim is taken per group).
    First,
    /// A wake-up for attempt `n` of written deliveries (retries, manual re-sends,
    /// postponements); its claim is the retry group's the delivery names, or else the
    /// lease on the delivery item.
    Next,
}

/// One delivery as named by a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wake {
    pub kind: WakeKind,
    /// The attempt this wake-up is meant to make (1 for the first).
    pub attempt: u32,
    /// When the writer sent it: the age decides how long to wait for the state.
    pub queued_at: Millis,
    /// Sent by a manual re-send: the delivery may still show as finished for a moment.
    pub manual: bool,
}

/// The event as storage has it.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    Missing,
    /// The intake answered with an error after queueing, and withdrew it.
    Withdrawn,
    /// Past its retention.
    Expired,
    Found(&'a Event),
}

/// Why a wake-up does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// The event never became visible (its intake failed) or is gone.
    EventNotStored,
    EventWithdrawn,
    /// The event is past its retention and the delivery was never written.
    EventExpired,
    /// The message names a webhook that is not the event's target at that position.
    NotTheEventsTarget,
    /// Success or error is recorded.
    Finished,
    /// This attempt is already recorded.
    Duplicate,
    /// A first-attempt message for a delivery that its own message now handles.
    OwnedByItsOwnWakeUp,
    /// Waited long enough for a state that never came.
    StateNeverWritten,
}

/// What to do with one delivery.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Make attempt `number` now (after taking the claim), of `event` to `webhook`.
    Attempt {
        number: u32,
        event: &'a Event,
        webhook: &'a Webhook,
    },
    /// Not due yet: sleep again until `until` (SQS delays are capped at 15 minutes).
    Postpone {
        until: Millis,
    },
    /// The state this message was sent for is not written yet: look again shortly.
    Wait,
    /// End the delivery as `error` without an attempt.
    Drop(DropReason),
    Ignore(Ignored),
    /// Queue the lost wake-up of attempt `number` again.
    Heal {
        number: u32,
    },
    /// An ordered delivery whose ordering key's previous delivery is not finished: look
    /// again at `until` (docs/api.md §15).
    Hold {
        until: Millis,
    },
}

/// Where the delivery an ordered delivery waits for stands (docs/api.md §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// Nothing to wait for: no earlier delivery, or it finished, or it will never be made.
    Clear,
    /// Still to be made or retried: look again at `until`.
    Busy { until: Millis },
}

/// How often a held delivery looks at the one before it, at least (SQS delays are whole
/// seconds).
pub const HOLD_POLL: Duration = Duration::from_secs(1);

/// Where `before` (the delivery that delivery `index` of `event` waits for) stands: its
/// stored state if written, else what became of its event (`before_event`).
pub fn ahead(event: &Event, index: usize, before: Option<&Delivery>, before_event: Seen<'_>, now: Millis) -> Ahead {
    let Some(id) = event.waits_for(index) else { return Ahead::Clear };
    // A link to a later event comes from a repeated intake request after a newer event of
    // the key: following it could make two deliveries wait for each other.
    if id.event_id() >= event.id {
        return Ahead::Clear;
    }
    let soon = now.plus(HOLD_POLL);
    match (before, before_event) {
        (Some(d), _) if d.status.is_finished() => Ahead::Clear,
        // Pending: due at its next attempt, or when another instance's lease on it ends.
        (Some(d), _) => Ahead::Busy { until: d.next_attempt_at.or(d.lease_until).map_or(soon, |t| t.max(soon)) },
        // Not written yet: its first attempt is still to come (it may be held itself).
        (None, Seen::Found(_)) => Ahead::Busy { until: soon },
        (None, Seen::Withdrawn | Seen::Expired) => Ahead::Clear,
        // Its intake may still be writing it, for as long as a state may take to appear.
        (None, Seen::Missing) if now.since(id.event_id().time()) < STATE_WAIT => Ahead::Busy { until: soon },
        (None, Seen::Missing) => Ahead::Clear,
    }
}

/// Two attempts are the same when they send the same stored event to the same webhook.
impl PartialEq for Action<'_> {
    fn eq(&self, other: &Self) -> bool {
        use Action::*;
        match (self, other) {
            (Attempt { number: a, event: e, webhook: w }, Attempt { number: b, event: f, webhook: x }) => {
                a == b && std::ptr::eq(*e, *f) && std::ptr::eq(*w, *x)
            }
            (Postpone { until: a }, Postpone { until: b }) => a == b,
            (Wait, Wait) => true,
            (Drop(a), Drop(b)) => a == b,
            (Ignore(a), Ignore(b)) => a == b,
            (Heal { number: a }, Heal { number: b }) => a == b,
            (Hold { until: a }, Hold { until: b }) => a == b,
            _ => false,
        }
    }
}

/// What storage holds for one wake-up: the event, the delivery (if written yet), the
/// webhook the target names (if it still exists), and the target the message names.
/// What an attempt would send (`'a`) outlives what only names it (`'n`).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, 'n> {
    pub event: Seen<'a>,
    /// The delivery the message names, and the target it names for it.
    pub delivery_id: &'n DeliveryId,
    pub target: &'n Target,
    pub delivery: Option<&'a Delivery>,
    pub webhook: Option<&'a Webhook>,
    /// For an ordered delivery, the one before it ([`ahead`]).
    pub ahead: Ahead,
}

pub fn decide<'a>(wake: &Wake, cx: &Context<'a, '_>, now: Millis) -> Action<'a> {
    let young = now.since(wake.queued_at) < STATE_WAIT;
    let event = match cx.event {
        Seen::Withdrawn => return Action::Ignore(Ignored::EventWithdrawn),
        Seen::Expired => {
            return match cx.delivery {
                Some(d) if !d.status.is_finished() => Action::Drop(DropReason::EventExpired),
                Some(_) => Action::Ignore(Ignored::Finished),
                None => Action::Ignore(Ignored::EventExpired),
            }
        }
        Seen::Missing => {
            return match cx.delivery {
                // A written delivery whose event is gone: TTL removed the event first.
                Some(d) if !d.status.is_finished() => Action::Drop(DropReason::EventExpired),
                Some(_) => Action::Ignore(Ignored::Finished),
                None if young => Action::Wait,
                None => Action::Ignore(Ignored::EventNotStored),
            };
        }
        Seen::Found(e) => e,
    };
    let Some(d) = cx.delivery else {
        if wake.kind != WakeKind::First || wake.attempt != 1 {
            return if young { Action::Wait } else { Action::Ignore(Ignored::StateNeverWritten) };
        }
        if event.target_of(cx.delivery_id) != Some(cx.target) {
            return Action::Ignore(Ignored::NotTheEventsTarget);
        }
        // Only the first attempt waits: the ones after it follow it anyway.
        if let Ahead::Busy { until } = cx.ahead {
            return Action::Hold { until };
        }
        return attempt(cx, event, 1);
    };
    if d.status.is_finished() {
        return if wake.manual && wake.attempt == d.attempts + 1 && young {
            Action::Wait
        } else {
            Action::Ignore(Ignored::Finished)
        };
    }
    if wake.attempt <= d.attempts {
        let overdue = d.next_attempt_at.is_some_and(|due| now.since(due) > HEAL_AFTER);
        return if overdue && !d.lease_live(now) {
            Action::Heal { number: d.attempts + 1 }
        } else {
            Action::Ignore(Ignored::Duplicate)
        };
    }
    if wake.attempt > d.attempts + 1 {
        return if young { Action::Wait } else { Action::Ignore(Ignored::StateNeverWritten) };
    }
    if wake.kind == WakeKind::First {
        return Action::Ignore(Ignored::OwnedByItsOwnWakeUp);
    }
    if let Some(until) = d.lease_until.filter(|_| d.lease_live(now)) {
        // Another instance holds the lease: look again once it ends, in case that
        // instance died with it (its own message may come back sooner than that).
        return Action::Postpone { until };
    }
    if let Some(due) = d.next_attempt_at {
        if due > now.plus(EARLY_TOLERANCE) {
            return Action::Postpone { until: due };
        }
    }
    attempt(cx, event, wake.attempt)
}

/// Attempt `number` of a due delivery. Deleted webhooks (or a new incarnation of the id)
/// and disabled ones get nothing; a test is sent whatever the flag.
fn attempt<'a>(cx: &Context<'a, '_>, event: &'a Event, number: u32) -> Action<'a> {
    match cx.webhook {
        Some(wh) if wh.generation == cx.target.generation => {
            if !wh.enabled && !event.test {
                Action::Drop(DropReason::WebhookDisabled)
            } else {
                Action::Attempt { number, event, webhook: wh }
            }
        }
        _ => Action::Drop(DropReason::WebhookDeleted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::{event, outcome};
    use crate::delivery::Status;
    use crate::ids::{ProjectId, WebhookId};

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(300)];

    fn webhook(generation: &str, enabled: bool) -> Webhook {
        Webhook { generation: generation.into(), project_id: ProjectId(7), enabled, ..crate::model::webhook_fixture() }
    }

    fn first(queued_at: u64) -> Wake {
        Wake { kind: WakeKind::First, attempt: 1, queued_at: Millis(queued_at), manual: false }
    }

    fn next(attempt: u32, queued_at: u64) -> Wake {
        Wake { kind: WakeKind::Next, attempt, queued_at: Millis(queued_at), manual: false }
    }

    struct World {
        event: Event,
        webhook: Option<Webhook>,
        delivery: Option<Delivery>,
        seen: &'static str,
    }

    impl World {
        fn new() -> World {
            World { event: event(false), webhook: Some(webhook("G1", true)), delivery: None, seen: "found" }
        }

        /// Attempt `number` of this world's event to its webhook.
        fn attempt(&self, number: u32) -> Action<'_> {
            Action::Attempt { number, event: &self.event, webhook: self.webhook.as_ref().unwrap() }
        }

        fn decide(&self, wake: &Wake, now: u64) -> Action<'_> {
            let id = self.event.delivery_id(0);
            let cx = Context {
                delivery_id: &id,
                event: match self.seen {
                    "missing" => Seen::Missing,
                    "withdrawn" => Seen::Withdrawn,
                    "expired" => Seen::Expired,
                    _ => Seen::Found(&self.event),
                },
                target: &self.event.fan_out[0],
                delivery: self.delivery.as_ref(),
                webhook: self.webhook.as_ref(),
                ahead: Ahead::Clear,
            };
            decide(wake, &cx, Millis(now))
        }

        fn failed_once(mut self) -> World {
            let d = Delivery::new(&self.event, 0, &self.event.fan_out[0], 3);
            self.delivery = Some(d.attempted(&outcome(Some(500), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0));
            self
        }
    }

    #[test]
    fn due_first_attempt() {
        let w = World::new();
        assert_eq!(w.decide(&first(1_000), 1_100), w.attempt(1));
    }

    #[test]
    fn due_retry() {
        let w = World::new().failed_once();
        assert_eq!(w.decide(&next(2, 2_000), 7_100), w.attempt(2));
    }

    #[test]
    fn postponed_until_due() {
        let w = World::new().failed_once();
        // Due at 7 000: a wake-up at 3 000 sleeps again.
        assert_eq!(w.decide(&next(2, 2_000), 3_000), Action::Postpone { until: Millis(7_000) });
        // Within the tolerance it counts as due.
        assert_eq!(w.decide(&next(2, 2_000), 6_600), w.attempt(2));
    }

    #[test]
    fn ahead_of_state_waits_then_gives_up() {
        // The event is not visible yet: the intake queues before it writes.
        let mut w = World::new();
        w.seen = "missing";
        assert_eq!(w.decide(&first(1_000), 1_050), Action::Wait);
        assert_eq!(w.decide(&first(1_000), 1_000 + 91_000), Action::Ignore(Ignored::EventNotStored));
        // A wake-up for attempt 3 while the record of attempt 1 is the latest.
        let w = World::new().failed_once();
        assert_eq!(w.decide(&next(3, 2_000), 2_100), Action::Wait);
        assert_eq!(w.decide(&next(3, 2_000), 2_000 + 91_000), Action::Ignore(Ignored::StateNeverWritten));
        // A retry wake-up for a delivery never written.
        let w = World::new();
        assert_eq!(w.decide(&next(2, 1_000), 1_100), Action::Wait);
    }

    #[test]
    fn duplicates_never_repeat_a_recorded_attempt() {
        let w = World::new().failed_once();
        assert_eq!(w.decide(&first(1_000), 2_100), Action::Ignore(Ignored::Duplicate));
        let mut done = World::new();
        let d = Delivery::new(&done.event, 0, &done.event.fan_out[0], 3);
        done.delivery = Some(d.attempted(&outcome(Some(200), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0));
        assert_eq!(done.decide(&first(1_000), 500_000), Action::Ignore(Ignored::Finished));
        assert_eq!(done.decide(&next(2, 2_000), 2_100), Action::Ignore(Ignored::Finished));
    }

    #[test]
    fn lease_lost_to_another_instance() {
        let mut w = World::new().failed_once();
        w.delivery.as_mut().unwrap().lease_until = Some(Millis(50_000));
        assert_eq!(w.decide(&next(2, 2_000), 7_100), Action::Postpone { until: Millis(50_000) });
        // An expired lease (its holder died) is taken over.
        assert_eq!(w.decide(&next(2, 2_000), 50_001), w.attempt(2));
    }

    #[test]
    fn dropped_when_the_webhook_is_gone_disabled_or_recreated() {
        let mut w = World::new();
        w.webhook = None;
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Drop(DropReason::WebhookDeleted));
        w.webhook = Some(webhook("G2", true));
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Drop(DropReason::WebhookDeleted), "a new incarnation");
        w.webhook = Some(webhook("G1", false));
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Drop(DropReason::WebhookDisabled));
        // Tests go out whatever the flag.
        w.event = event(true);
        w.event.fan_out[0].generation = "G1".into();
        assert_eq!(w.decide(&first(1_000), 1_100), w.attempt(1));
        // A written, pending delivery whose event expired.
        let mut w = World::new().failed_once();
        w.seen = "expired";
        assert_eq!(w.decide(&next(2, 2_000), 7_100), Action::Drop(DropReason::EventExpired));
        w.seen = "missing";
        assert_eq!(
            w.decide(&next(2, 2_000), 7_100),
            Action::Drop(DropReason::EventExpired),
            "or already removed by TTL"
        );
        // Never written, its event expired: nothing to do, nothing to wait for.
        let mut w = World::new();
        w.seen = "expired";
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Ignore(Ignored::EventExpired));
    }

    #[test]
    fn exhausted_deliveries_stay_finished() {
        let mut w = World::new();
        let mut d = Delivery::new(&w.event, 0, &w.event.fan_out[0], 2);
        for t in [2_000, 8_000] {
            d = d.attempted(&outcome(Some(500), None), Millis(t), Millis(t), &SCHEDULE, 0.0);
        }
        assert_eq!(d.status, Status::Error);
        assert!(d.is_exhausted());
        w.delivery = Some(d);
        assert_eq!(w.decide(&next(3, 8_000), 9_000), Action::Ignore(Ignored::Finished));
    }

    #[test]
    fn manual_retry_waits_for_its_write_then_attempts() {
        let mut w = World::new();
        let mut d = Delivery::new(&w.event, 0, &w.event.fan_out[0], 1);
        d = d.attempted(&outcome(Some(500), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0);
        w.delivery = Some(d.clone());
        let wake = Wake { kind: WakeKind::Next, attempt: 2, queued_at: Millis(10_000), manual: true };
        // The message beat the write of the re-send.
        assert_eq!(w.decide(&wake, 10_050), Action::Wait);
        // The write never landed (the request was answered with an error).
        assert_eq!(w.decide(&wake, 10_000 + 91_000), Action::Ignore(Ignored::Finished));
        // Once written, it attempts.
        w.delivery = Some(d.retried(Millis(10_010)));
        assert_eq!(w.decide(&wake, 10_100), w.attempt(2));
    }

    #[test]
    fn withdrawn_events_and_foreign_targets_are_ignored() {
        let mut w = World::new();
        w.seen = "withdrawn";
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Ignore(Ignored::EventWithdrawn));
        let w = World::new();
        let other = Target { webhook_id: WebhookId::default_web_hook(), generation: "G9".into() };
        let id = w.event.delivery_id(0);
        let cx = Context {
            event: Seen::Found(&w.event),
            delivery_id: &id,
            target: &other,
            delivery: None,
            webhook: w.webhook.as_ref(),
            ahead: Ahead::Clear,
        };
        assert_eq!(decide(&first(1_000), &cx, Millis(1_100)), Action::Ignore(Ignored::NotTheEventsTarget));
    }

    #[test]
    fn a_first_attempt_message_leaves_a_postponed_delivery_to_its_own_wake_up() {
        let mut w = World::new();
        let d = Delivery::new(&w.event, 0, &w.event.fan_out[0], 3);
        w.delivery = Some(d.postponed(Millis(5_000)));
        assert_eq!(w.decide(&first(1_000), 1_100), Action::Ignore(Ignored::OwnedByItsOwnWakeUp));
        assert_eq!(w.decide(&next(1, 1_100), 1_200), Action::Postpone { until: Millis(5_000) });
        assert_eq!(w.decide(&next(1, 1_100), 5_000), w.attempt(1));
    }

    #[test]
    fn a_lost_next_wake_up_is_healed() {
        let w = World::new().failed_once();
        // Attempt 2 was due at 7 000; the copy of attempt 1's message comes back much later.
        assert_eq!(w.decide(&first(1_000), 7_000 + 121_000), Action::Heal { number: 2 });
        assert_eq!(w.decide(&first(1_000), 7_000 + 60_000), Action::Ignore(Ignored::Duplicate));
    }

    /// An event at `at` whose delivery 0 waits for `before`.
    fn ordered_event(at: u64, before: &DeliveryId) -> Event {
        let mut e = event(false);
        e.id = crate::ids::EventId::new(Millis(at));
        e.received_at = Millis(at);
        e.after = vec![crate::model::After { index: 0, delivery: before.clone() }];
        e
    }

    #[test]
    fn an_ordered_first_attempt_waits_until_the_one_before_it_finishes() {
        let first_event = event(false);
        let before_id = first_event.delivery_id(0);
        let e = ordered_event(5_000, &before_id);
        let now = Millis(6_000);
        let soon = now.plus(HOLD_POLL);
        // Not written yet, its event stored: held, and looked at again shortly.
        assert_eq!(ahead(&e, 0, None, Seen::Found(&first_event), now), Ahead::Busy { until: soon });
        // Waiting for a retry: until that retry is due.
        let pending = Delivery::new(&first_event, 0, &first_event.fan_out[0], 3).attempted(
            &outcome(Some(500), None),
            Millis(5_500),
            Millis(5_500),
            &SCHEDULE,
            0.0,
        );
        assert_eq!(ahead(&e, 0, Some(&pending), Seen::Found(&first_event), now), Ahead::Busy { until: Millis(10_500) });
        // Finished either way, or never to be made: clear.
        let ok = pending.attempted(&outcome(Some(200), None), Millis(11_000), Millis(11_000), &SCHEDULE, 0.0);
        assert_eq!(ahead(&e, 0, Some(&ok), Seen::Found(&first_event), now), Ahead::Clear);
        let failed = pending.dropped(DropReason::WebhookDisabled);
        assert_eq!(ahead(&e, 0, Some(&failed), Seen::Found(&first_event), now), Ahead::Clear);
        assert_eq!(ahead(&e, 0, None, Seen::Withdrawn, now), Ahead::Clear);
        // An intake that may still be writing its event is waited for, for a while.
        assert_eq!(ahead(&e, 0, None, Seen::Missing, now), Ahead::Busy { until: soon });
        assert_eq!(ahead(&e, 0, None, Seen::Missing, Millis(1_000).plus(STATE_WAIT)), Ahead::Clear);
        // Deliveries without a link, and links to a later event, never wait.
        assert_eq!(ahead(&first_event, 0, None, Seen::Missing, now), Ahead::Clear);
        let later = ordered_event(9_000, &before_id).delivery_id(0);
        assert_eq!(ahead(&ordered_event(5_000, &later), 0, None, Seen::Found(&first_event), now), Ahead::Clear);
    }

    #[test]
    fn a_held_first_attempt_is_not_made_and_retries_do_not_wait() {
        fn held<'a>(w: &'a World, wake: &Wake, now: u64, id: &DeliveryId) -> Action<'a> {
            decide(
                wake,
                &Context {
                    event: Seen::Found(&w.event),
                    delivery_id: id,
                    target: &w.event.fan_out[0],
                    delivery: w.delivery.as_ref(),
                    webhook: w.webhook.as_ref(),
                    ahead: Ahead::Busy { until: Millis(9_000) },
                },
                Millis(now),
            )
        }
        let w = World::new();
        let id = w.event.delivery_id(0);
        assert_eq!(held(&w, &first(1_000), 1_100, &id), Action::Hold { until: Millis(9_000) });
        let w = w.failed_once();
        assert_eq!(held(&w, &next(2, 2_000), 7_100, &id), w.attempt(2), "only the first attempt waits");
    }
}
