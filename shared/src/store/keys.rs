//! The single-table layout: every key shape lives here and nowhere else. Lists are
//! partitions of the base table read newest first, so writing an event or a delivery
//! touches no index; the one index, `due`, is sparse and only holds deliveries that an
//! API call made pending (manual re-sends), for the repair sweep.
//!
//! | item | pk | sk | notes |
//! | --- | --- | --- | --- |
//! | project id counter | `COUNTER` | `PROJECT` | |
//! | project | `PRJ#{pid}` | `PRJ` | |
//! | project 0's external id | `PRJ#0` | `EXT` | project 0 itself is not stored |
//! | API key → project | `KEY#{sha256}` | `KEY` | a copy of the project |
//! | portal session | `PST#{sha256}` | `PST` | TTL = its expiry |
//! | webhook | `PRJ#{pid}` | `WH#{wh}` | |
//! | webhook throttle state | `WHRATE#{pid}#{wh}` | `RATE` | TTL 1 day |
//! | event | `EVT#{pid}` | `{evt}` | the project's activity list; TTL retention |
//! | delivery | `DLV#{pid}#{wh}#{generation}` | `{msg}` | the webhook's log; TTL retention |
//! | first-attempt claim | `CLAIM#{group}` | `CLAIM` | TTL 1 day |
//! | an ordering key's last delivery | `ORDER#{pid}#{wh}#{generation}` | `{ordering_key}` | TTL retention |
//! | idempotency record | `IDEM#{pid}#{sha256(key)}` | `IDEM` | TTL 24 h |
//! | project rate-limit state: its API key; its portal tokens | `RATE#{pid}`; `RATE#{pid}#PORTAL` | `RATE` | TTL 1 day |
//! | event type | `ETYPE` | `{name}` | the deployment's catalogue |
//! | event type, by age | `ETYPE_NEW` | `{created_at:013}#{name}` | a copy, for the newest-first list |
//!
//! Index `due` (keys `duepk`/`duesk`, keys only): `DUE` / `{next_attempt_at:013}#{msg}`.

use crate::clock::Millis;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::Generation;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// DynamoDB's TTL attribute (epoch seconds).
pub const TTL: &str = "expires_at";

pub const DUE_INDEX: &str = "due";
pub const DUE_PK: &str = "duepk";
pub const DUE_SK: &str = "duesk";
pub const DUE_PARTITION: &str = "DUE";

pub const PROJECT_SK: &str = "PRJ";
pub const KEY_SK: &str = "KEY";
pub const PORTAL_SK: &str = "PST";
pub const RATE_SK: &str = "RATE";
pub const CLAIM_SK: &str = "CLAIM";
pub const IDEM_SK: &str = "IDEM";
pub const WEBHOOK_SK_PREFIX: &str = "WH#";
/// Beside project 0's pk: its external id (project 0 itself is not stored).
pub const EXTERNAL_ID_SK: &str = "EXT";

pub fn counter() -> (String, String) {
    ("COUNTER".into(), "PROJECT".into())
}

pub fn project(pid: ProjectId) -> String {
    format!("PRJ#{pid}")
}

pub fn api_key(hash: &str) -> String {
    format!("KEY#{hash}")
}

pub fn portal_session(hash: &str) -> String {
    format!("PST#{hash}")
}

pub fn webhook_sk(wh: &WebhookId) -> String {
    format!("{WEBHOOK_SK_PREFIX}{wh}")
}

pub fn webhook_rate(pid: ProjectId, wh: &WebhookId) -> String {
    format!("WHRATE#{pid}#{wh}")
}

/// The partition of a project's events.
pub fn events(pid: ProjectId) -> String {
    format!("EVT#{pid}")
}

pub fn event_sk(evt: &EventId) -> String {
    evt.to_string()
}

/// The partition of one webhook incarnation's deliveries.
pub fn deliveries(pid: ProjectId, wh: &WebhookId, generation: &Generation) -> String {
    format!("DLV#{pid}#{wh}#{generation}")
}

pub fn delivery_sk(msg: &DeliveryId) -> String {
    msg.to_string()
}

/// Reads the (project, webhook, generation) back from a delivery partition key.
pub fn parse_deliveries(pk: &str) -> Option<(ProjectId, WebhookId, Generation)> {
    let mut parts = pk.strip_prefix("DLV#")?.splitn(3, '#');
    let pid = ProjectId::parse(parts.next()?)?;
    let wh = WebhookId::parse(parts.next()?)?;
    Some((pid, wh, Generation::from(parts.next()?)))
}

pub fn due_sk(at_ms: u64, msg: &DeliveryId) -> String {
    format!("{at_ms:013}#{msg}")
}

/// The smallest `due` sort key at `at_ms`: entries below it were due before then.
pub fn due_bound(at_ms: u64) -> String {
    format!("{at_ms:013}")
}

/// The project of an event-list partition key.
pub fn parse_events(pk: &str) -> Option<ProjectId> {
    ProjectId::parse(pk.strip_prefix("EVT#")?)
}

/// Whether a partition key is a webhook's delivery log.
pub fn is_deliveries(pk: &str) -> bool {
    pk.starts_with("DLV#")
}

/// Whether a sort key is a webhook's.
pub fn is_webhook_sk(sk: &str) -> bool {
    sk.starts_with(WEBHOOK_SK_PREFIX)
}

/// The partition of one ordered webhook incarnation's ordering keys (docs/api.md §15).
pub fn ordering(pid: ProjectId, wh: &WebhookId, generation: &Generation) -> String {
    format!("ORDER#{pid}#{wh}#{generation}")
}

pub fn claim(group: &crate::delivery::ClaimKey) -> String {
    format!("CLAIM#{group}")
}

pub fn idempotency(pid: ProjectId, key_hash: &str) -> String {
    format!("IDEM#{pid}#{key_hash}")
}

/// Whose requests a rate-limit bucket counts (docs/api.md §2): a project's API key, or its
/// portal sessions together, so customers' open portals never use up the product's intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateBucket {
    ApiKey(ProjectId),
    Portal(ProjectId),
}

pub fn rate(bucket: RateBucket) -> String {
    match bucket {
        RateBucket::ApiKey(pid) => format!("RATE#{pid}"),
        RateBucket::Portal(pid) => format!("RATE#{pid}#PORTAL"),
    }
}

pub fn event_types() -> String {
    "ETYPE".into()
}

/// The catalogue again, newest first for its list (docs/api.md §1): a copy of each type under
/// [`event_type_by_time`].
pub fn event_types_by_time() -> String {
    "ETYPE_NEW".into()
}

/// `{created_at ms, 13 digits}#{name}`.
pub fn event_type_by_time(created_at: Millis, name: &str) -> String {
    format!("{:013}#{name}", created_at.0)
}

pub fn is_event_type_by_time(sk: &str) -> bool {
    sk.split_once('#').is_some_and(|(ms, name)| {
        ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit()) && crate::matching::is_valid_event_type(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Millis;

    #[test]
    fn delivery_partitions_round_trip() {
        let wh = WebhookId::new(Millis(5));
        let pk = deliveries(ProjectId(12), &wh, &"GEN12345".into());
        assert_eq!(parse_deliveries(&pk), Some((ProjectId(12), wh, "GEN12345".into())));
        assert_eq!(parse_deliveries("EVT#12"), None);
    }

    #[test]
    fn due_keys_sort_by_time() {
        let e = EventId::new(Millis(5));
        let m = DeliveryId::for_event(&e, 0);
        assert!(due_sk(999, &m) < due_sk(1_000, &m));
    }
}
