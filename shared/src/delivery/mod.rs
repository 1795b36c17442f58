//! The delivery lifecycle, in one place and free of I/O: the `Delivery` record with its
//! transitions (first attempt, retry, exhaustion, drop, postponement, manual retry), and
//! `decide`, which says what one wake-up should do given what storage holds. The engine
//! in `service::deliver` only carries out what these return.

mod claim;
mod decide;
mod outcome;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::{Event, Target};
use crate::retry::next_delay;

pub use claim::ClaimKey;
pub use decide::{
    ahead, decide, Action, Ahead, Context, Ignored, Seen, Wake, WakeKind, HEAL_AFTER, HOLD_POLL, STATE_WAIT,
};
pub use outcome::{is_success, readable, Outcome, SendError};

/// Delivery status (the delivery log's Success / Error / Pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Success,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Success => "success",
            Status::Error => "error",
        }
    }

    pub fn is_finished(self) -> bool {
        self != Status::Pending
    }
}

/// Why a delivery ended without an attempt: one type for every such reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    WebhookDeleted,
    WebhookDisabled,
    EventExpired,
}

impl DropReason {
    /// The text shown as the delivery's `error`.
    pub fn message(self) -> &'static str {
        match self {
            DropReason::WebhookDeleted => "webhook deleted",
            DropReason::WebhookDisabled => "webhook disabled",
            DropReason::EventExpired => "event expired",
        }
    }
}

/// Attempts one delivery keeps in its log: the first and the latest ones. However many
/// manual re-sends it gets, its item stays far below DynamoDB's 400 KB limit.
pub const MAX_LOGGED_ATTEMPTS: usize = 50;
/// Of those, the latest ones that keep their response body (4 KiB each at most).
pub const ATTEMPTS_WITH_BODY: usize = 20;
/// An attempt's error text is kept up to this many bytes.
const MAX_LOGGED_ERROR: usize = 1024;

/// Bounds a log to the first attempt and the latest `MAX_LOGGED_ATTEMPTS - 1`, the first
/// and the latest `ATTEMPTS_WITH_BODY` with their response bodies: at most about 110 KB.
fn bound_log(log: &mut Vec<AttemptRecord>) {
    if log.len() > MAX_LOGGED_ATTEMPTS {
        log.drain(1..log.len() - (MAX_LOGGED_ATTEMPTS - 1));
    }
    let keep_from = log.len().saturating_sub(ATTEMPTS_WITH_BODY);
    for a in log.iter_mut().take(keep_from).skip(1) {
        a.response_body = None;
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// One attempt in the delivery's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub started_at: Millis,
    pub response_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl AttemptRecord {
    pub fn succeeded(&self) -> bool {
        is_success(self.response_code, self.error.is_some())
    }
}

/// One (event, webhook) pair and the state of getting it delivered. Written from its
/// first attempt (or first postponement) on; before that, the event's fan-out alone
/// says it is pending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub project_id: ProjectId,
    pub event_id: EventId,
    pub event_type: String,
    pub webhook_id: WebhookId,
    pub generation: crate::model::Generation,
    pub status: Status,
    /// Attempts made so far.
    pub attempts: u32,
    /// The delivery ends `error` once `attempts` reaches this without success.
    pub max_attempts: u32,
    pub created_at: Millis,
    pub next_attempt_at: Option<Millis>,
    /// Held by the one delivery function instance making the next attempt.
    #[serde(default)]
    pub lease_until: Option<Millis>,
    /// The group claim its next attempt is taken under, when that attempt's wake-up is
    /// shared with other retries (`None`: the lease above). Every wake-up for that
    /// attempt, whichever message brings it, contends for this one claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_claim: Option<ClaimKey>,
    /// Set when it ended without an attempt.
    #[serde(default)]
    pub dropped: Option<DropReason>,
    pub test: bool,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub log: Vec<AttemptRecord>,
}

impl Delivery {
    /// The delivery of `event` to `fan_out[index]`, before any attempt.
    pub fn new(event: &Event, index: usize, target: &Target, max_attempts: u32) -> Delivery {
        Delivery {
            id: event.delivery_id(index),
            project_id: event.project_id,
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            webhook_id: target.webhook_id.clone(),
            generation: target.generation.clone(),
            status: Status::Pending,
            attempts: 0,
            max_attempts: if event.test { 1 } else { max_attempts },
            created_at: event.received_at,
            next_attempt_at: Some(event.received_at),
            lease_until: None,
            next_claim: None,
            dropped: None,
            test: event.test,
            log: Vec::new(),
        }
    }

    pub fn last_attempt(&self) -> Option<&AttemptRecord> {
        self.log.last()
    }

    /// The error shown for the delivery: the last attempt's, or why it was dropped.
    pub fn error(&self) -> Option<String> {
        match self.dropped {
            Some(reason) => Some(reason.message().to_string()),
            None => self.last_attempt().and_then(|a| a.error.clone()),
        }
    }

    /// Whether another instance holds the right to make the next attempt.
    pub fn lease_live(&self, now: Millis) -> bool {
        self.lease_until.is_some_and(|until| until > now)
    }

    /// After attempt `attempts + 1` ended with `outcome`: success, a retry on the
    /// schedule (honouring `Retry-After` within the next step), or exhausted (`error`).
    /// `jitter` is a random number in [-1, 1].
    pub fn attempted(
        &self,
        outcome: &Outcome,
        started: Millis,
        finished: Millis,
        schedule: &[Duration],
        jitter: f64,
    ) -> Delivery {
        let number = self.attempts + 1;
        let mut d = self.clone();
        d.attempts = number;
        d.lease_until = None;
        d.next_claim = None;
        d.dropped = None;
        d.log.push(AttemptRecord {
            attempt: number,
            started_at: started,
            response_code: outcome.response_code,
            response_body: outcome.response_body.clone(),
            error: outcome.log_error().map(|e| truncate(e, MAX_LOGGED_ERROR)),
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        });
        bound_log(&mut d.log);
        // Manual retries raise `max_attempts` past the schedule: their retries use its last step.
        let step = number.min(schedule.len() as u32);
        let retry = if outcome.succeeded() || outcome.is_final() || number >= d.max_attempts {
            None
        } else {
            next_delay(schedule, step, outcome.retry_after, jitter)
        };
        (d.status, d.next_attempt_at) = match retry {
            _ if outcome.succeeded() => (Status::Success, None),
            Some(wait) => (Status::Pending, Some(finished.plus(wait))),
            None => (Status::Error, None),
        };
        d
    }

    /// Whether this state is the end of the schedule after a failed attempt (docs/api.md §12's
    /// `hookline.delivery.exhausted`), as opposed to a drop or a success.
    pub fn is_exhausted(&self) -> bool {
        self.status == Status::Error && self.dropped.is_none() && self.attempts > 0
    }

    /// Ends the delivery without an attempt.
    pub fn dropped(&self, reason: DropReason) -> Delivery {
        let mut d = self.clone();
        d.status = Status::Error;
        d.dropped = Some(reason);
        d.next_attempt_at = None;
        d.lease_until = None;
        d.next_claim = None;
        d
    }

    /// Not sent yet (throttled): wait until `until`, attempts unchanged. Its own wake-up
    /// brings it, under its own lease.
    pub fn postponed(&self, until: Millis) -> Delivery {
        let mut d = self.clone();
        d.next_attempt_at = Some(until);
        d.lease_until = None;
        d.next_claim = None;
        d
    }

    /// A pending retry that shares one wake-up with others: due at the group's time,
    /// its attempt taken under the group's claim.
    pub fn in_retry_group(&self, claim: &ClaimKey, due: Millis) -> Delivery {
        let mut d = self.clone();
        d.next_attempt_at = Some(due);
        d.next_claim = Some(claim.clone());
        d
    }

    /// A manual re-send (docs/api.md §8 retry, §12 recover): one more attempt now, same
    /// `webhook-id`. A pending delivery keeps the rest of its schedule.
    pub fn retried(&self, now: Millis) -> Delivery {
        let mut d = self.clone();
        d.max_attempts =
            if self.status == Status::Pending { self.max_attempts.max(self.attempts + 1) } else { self.attempts + 1 };
        d.status = Status::Pending;
        d.dropped = None;
        d.next_attempt_at = Some(now);
        d
    }
}

/// How much later than its own due time a retry may go so as to share a wake-up, as a
/// share of its delay: above the spread of the schedule's jitter (±10 %), so the
/// retries of one message on one step of the schedule land in one group.
const GROUP_SLACK: f64 = 0.25;
/// The least slack, for short delays (a `Retry-After`, a test schedule).
const MIN_GROUP_SLACK: Duration = Duration::from_secs(1);

/// Groups retries due at about the same time, so that each group shares one wake-up and
/// one claim (one write for the group instead of a lease per delivery). Sorted by due
/// time, a group takes every retry due within `GROUP_SLACK` of the first one's delay
/// from `now`, up to `max` members, and is due when its last member is: no retry goes
/// earlier than its schedule says. Returns indices into `due`, and each group's time.
pub fn retry_groups(due: &[Millis], now: Millis, max: usize) -> Vec<(Vec<usize>, Millis)> {
    let mut order: Vec<usize> = (0..due.len()).collect();
    order.sort_by_key(|&i| due[i]);
    let mut groups: Vec<(Vec<usize>, Millis)> = Vec::new();
    let mut start = Millis::ZERO;
    for i in order {
        match groups.last_mut() {
            Some((members, at)) if members.len() < max.max(1) && due[i] <= start.plus(slack(start, now)) => {
                members.push(i);
                *at = due[i];
            }
            _ => {
                start = due[i];
                groups.push((vec![i], due[i]));
            }
        }
    }
    groups
}

fn slack(first: Millis, now: Millis) -> Duration {
    first.since(now).mul_f64(GROUP_SLACK).max(MIN_GROUP_SLACK)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::value::RawValue;

    pub fn event(test: bool) -> Event {
        Event {
            id: EventId::new(Millis(1_000)),
            project_id: ProjectId(7),
            client_id: None,
            event_type: "a.b".into(),
            session_id: None,
            data: RawValue::from_string("{}".into()).unwrap(),
            received_at: Millis(1_000),
            fan_out: vec![Target { webhook_id: WebhookId::default_web_hook(), generation: "G1".into() }],
            test,
            ordering_key: None,
            after: Vec::new(),
        }
    }

    pub fn fresh() -> Delivery {
        let e = event(false);
        Delivery::new(&e, 0, &e.fan_out[0], 3)
    }

    pub fn outcome(code: Option<u16>, error: Option<&str>) -> Outcome {
        Outcome {
            response_code: code,
            response_body: code.map(|c| format!("answer {c}")),
            error: error.map(|e| SendError::Request(e.to_string())),
            duration: Duration::from_millis(12),
            retry_after: None,
        }
    }

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(300)];

    #[test]
    fn a_new_delivery_is_pending_and_due_at_once() {
        let d = fresh();
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (Status::Pending, 0, Some(Millis(1_000))));
        assert_eq!(d.id.event_id(), d.event_id);
        assert_eq!(Delivery::new(&event(true), 0, &event(true).fan_out[0], 8).max_attempts, 1, "a test is one attempt");
    }

    #[test]
    fn success_ends_it() {
        let d = fresh().attempted(&outcome(Some(204), None), Millis(2_000), Millis(2_050), &SCHEDULE, 0.0);
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (Status::Success, 1, None));
        assert_eq!(d.log[0].response_code, Some(204));
        assert_eq!(d.log[0].duration_ms, 12);
        assert!(!d.is_exhausted());
    }

    #[test]
    fn a_failure_schedules_the_next_step_then_exhausts() {
        let d = fresh().attempted(&outcome(Some(500), None), Millis(2_000), Millis(2_050), &SCHEDULE, 0.0);
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (Status::Pending, 1, Some(Millis(7_050))));
        let d = d.attempted(&outcome(None, Some("timeout")), Millis(8_000), Millis(9_000), &SCHEDULE, 0.0);
        assert_eq!(d.next_attempt_at, Some(Millis(309_000)));
        let d = d.attempted(&outcome(Some(503), None), Millis(310_000), Millis(310_001), &SCHEDULE, 0.0);
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (Status::Error, 3, None));
        assert!(d.is_exhausted());
        assert_eq!(d.log.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(d.error(), None, "the last attempt had a status code, not an error");
    }

    #[test]
    fn retry_after_within_the_step_is_honoured() {
        let mut o = outcome(Some(429), None);
        o.retry_after = Some(Duration::from_secs(2));
        let d = fresh().attempted(&o, Millis(2_000), Millis(2_000), &SCHEDULE, 0.9);
        assert_eq!(d.next_attempt_at, Some(Millis(4_000)));
    }

    #[test]
    fn drops_end_it_without_an_attempt() {
        let d = fresh().dropped(DropReason::WebhookDisabled);
        assert_eq!((d.status, d.attempts), (Status::Error, 0));
        assert_eq!(d.error().as_deref(), Some("webhook disabled"));
        assert!(!d.is_exhausted(), "a drop is not an exhausted schedule");
    }

    #[test]
    fn postponing_spends_no_attempt() {
        let d = fresh().postponed(Millis(9_000));
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (Status::Pending, 0, Some(Millis(9_000))));
    }

    #[test]
    fn manual_retry_gives_exactly_one_more_attempt_after_the_end() {
        let mut d = fresh();
        for t in [2_000, 8_000, 310_000] {
            d = d.attempted(&outcome(Some(500), None), Millis(t), Millis(t), &SCHEDULE, 0.0);
        }
        assert_eq!(d.status, Status::Error);
        let r = d.retried(Millis(400_000));
        assert_eq!((r.status, r.max_attempts, r.next_attempt_at), (Status::Pending, 4, Some(Millis(400_000))));
        let after = r.attempted(&outcome(Some(500), None), Millis(400_000), Millis(400_001), &SCHEDULE, 0.0);
        assert_eq!((after.status, after.attempts), (Status::Error, 4), "no schedule after a manual retry");
        // A retry of a success works the same way.
        let ok = fresh().attempted(&outcome(Some(200), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0);
        assert_eq!(ok.retried(Millis(3_000)).max_attempts, 2);
    }

    #[test]
    fn retries_due_together_share_one_wake_up_due_with_its_last_member() {
        let now = Millis(100_000);
        // Four retries 5 min out, jittered ±10 %, and one a `Retry-After` brought to 2 s.
        let due = [Millis(400_000), Millis(370_000), Millis(102_000), Millis(430_000), Millis(395_000)];
        let groups = retry_groups(&due, now, 10);
        assert_eq!(groups, vec![(vec![2], Millis(102_000)), (vec![1, 4, 0, 3], Millis(430_000))]);
        // Never earlier than its own time: every member is due by the group's.
        for (members, at) in &groups {
            assert!(members.iter().all(|&i| due[i] <= *at));
        }
    }

    #[test]
    fn a_retry_group_is_bounded_in_spread_and_size() {
        let now = Millis(0);
        // 10 s out: slack 2.5 s. 13 s is beyond it and starts a group of its own.
        let due = [Millis(10_000), Millis(12_000), Millis(13_000)];
        assert_eq!(retry_groups(&due, now, 10), vec![(vec![0, 1], Millis(12_000)), (vec![2], Millis(13_000))]);
        // Short delays still group within a second.
        assert_eq!(retry_groups(&[Millis(1_000), Millis(1_900)], now, 10).len(), 1);
        // At most `max` a group.
        let same = [Millis(5_000); 5];
        let sizes: Vec<usize> = retry_groups(&same, now, 2).iter().map(|(m, _)| m.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert!(retry_groups(&[], now, 10).is_empty());
    }

    #[test]
    fn a_retry_group_names_its_claim_until_the_attempt_is_made() {
        let d = fresh().attempted(&outcome(Some(500), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0);
        let grp = ClaimKey::Retry("grp".into());
        let g = d.in_retry_group(&grp, Millis(7_500));
        assert_eq!((g.next_claim.as_ref(), g.next_attempt_at), (Some(&grp), Some(Millis(7_500))));
        // A manual re-send keeps it: its wake-up must contend with the group's.
        assert_eq!(g.retried(Millis(3_000)).next_claim.as_ref(), Some(&grp));
        // The attempt, a drop or a postponement ends it.
        let after = g.attempted(&outcome(Some(500), None), Millis(8_000), Millis(8_000), &SCHEDULE, 0.0);
        assert_eq!(after.next_claim, None);
        assert_eq!(g.dropped(DropReason::WebhookDeleted).next_claim, None);
        assert_eq!(g.postponed(Millis(9_000)).next_claim, None, "a throttled delivery wakes under its own lease");
    }

    #[test]
    fn the_log_keeps_the_first_and_the_latest_attempts() {
        let mut d = fresh();
        d.max_attempts = 1_000;
        let mut o = outcome(Some(500), None);
        o.response_body = Some("x".repeat(4096));
        for t in 0..(MAX_LOGGED_ATTEMPTS as u64 + 30) {
            d = d.attempted(&o, Millis(t), Millis(t), &SCHEDULE, 0.0);
        }
        assert_eq!(d.attempts, MAX_LOGGED_ATTEMPTS as u32 + 30, "every attempt counts");
        assert_eq!(d.log.len(), MAX_LOGGED_ATTEMPTS);
        assert_eq!(d.log[0].attempt, 1);
        assert_eq!(d.log[1].attempt, 32, "the oldest after the first go");
        assert_eq!(d.last_attempt().unwrap().attempt, d.attempts);
        let with_body: Vec<u32> = d.log.iter().filter(|a| a.response_body.is_some()).map(|a| a.attempt).collect();
        assert_eq!(with_body.len(), ATTEMPTS_WITH_BODY + 1, "the first and the latest keep their body");
        assert_eq!(with_body[1], d.attempts - ATTEMPTS_WITH_BODY as u32 + 1);
        assert!(serde_json::to_vec(&d).unwrap().len() < 120_000, "far below the 400 KB item limit");
        // At the limit, nothing is cut.
        let mut e = fresh();
        e.max_attempts = 1_000;
        for t in 0..MAX_LOGGED_ATTEMPTS as u64 {
            e = e.attempted(&o, Millis(t), Millis(t), &SCHEDULE, 0.0);
        }
        assert_eq!(
            e.log.iter().map(|a| a.attempt).collect::<Vec<_>>(),
            (1..=MAX_LOGGED_ATTEMPTS as u32).collect::<Vec<_>>()
        );
        let long = outcome(None, Some(&"é".repeat(2000)));
        let f = fresh().attempted(&long, Millis(0), Millis(0), &SCHEDULE, 0.0);
        assert!(f.log[0].error.as_ref().unwrap().len() <= 1024);
    }

    #[test]
    fn manual_retry_of_a_pending_delivery_keeps_its_schedule() {
        let d = fresh().attempted(&outcome(Some(500), None), Millis(2_000), Millis(2_000), &SCHEDULE, 0.0);
        let r = d.retried(Millis(3_000));
        assert_eq!((r.max_attempts, r.next_attempt_at), (3, Some(Millis(3_000))));
    }
}
