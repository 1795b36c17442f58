//! Resource ids. Projects have positive integers; everything else has a prefixed,
//! time-sortable id (`wh_…`, `evt_…`, `msg_…`): a 48-bit millisecond timestamp and
//! 80 bits of randomness in Crockford base32, as in ULID. Each kind is its own type
//! (as svix's `create_id_type!`), so a webhook id can never be passed as an event id.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Millis;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of the ULID-like body after the prefix.
const BODY: usize = 26;
/// Base32 digits of a delivery's position in its event's fan-out.
const INDEX_DIGITS: usize = 4;
/// Largest fan-out a delivery id can address (32^4).
pub const MAX_FAN_OUT: usize = 1 << (5 * INDEX_DIGITS);

/// The 128-bit value of an id body: the millisecond above 80 random bits.
fn value(ms: u64, random: [u8; 10]) -> u128 {
    let mut value: u128 = u128::from(ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (72 - 8 * i);
    }
    value
}

fn encode_value(value: u128) -> String {
    (0..BODY).rev().map(|i| CROCKFORD[((value >> (5 * i)) & 31) as usize] as char).collect()
}

fn encode(ms: u64, random: [u8; 10]) -> String {
    encode_value(value(ms, random))
}

fn random_bytes() -> [u8; 10] {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    random
}

fn random_body(now: Millis) -> String {
    encode(now.0, random_bytes())
}

/// Makes id values that increase within a millisecond (a monotonic ULID).
#[derive(Debug, Default)]
struct Monotonic {
    last: u128,
}

impl Monotonic {
    /// `n` id values at `now`, each larger than the one before: the first is `fresh` (a
    /// random value of `now`'s millisecond) unless a value of that millisecond was made
    /// already, and then, as every following one, is the last plus one. So values made at
    /// non-decreasing times increase, and a value's time is always `now` (a clock that
    /// steps back starts a new random run at the earlier time rather than lie about it).
    /// Values from concurrent processes stay unique by their random start.
    fn next(&mut self, fresh: u128, n: usize) -> Vec<u128> {
        // 80 random bits never run out within a millisecond; were they to, the carry into
        // the time part would still keep the order.
        let first = if fresh >> 80 == self.last >> 80 { self.last + 1 } else { fresh };
        let out: Vec<u128> = (first..).take(n).collect();
        if let Some(last) = out.last() {
            self.last = *last;
        }
        out
    }
}

/// The event ids of this process.
static EVENT_IDS: Mutex<Monotonic> = Mutex::new(Monotonic { last: 0 });

fn monotonic_values(now: Millis, n: usize) -> Vec<u128> {
    let fresh = value(now.0, random_bytes());
    // A poisoned lock still holds a valid value: `next` cannot panic halfway.
    EVENT_IDS.lock().unwrap_or_else(PoisonError::into_inner).next(fresh, n)
}

/// A body derived from `parts`: the same inputs always give the same id.
fn derived_body(at: Millis, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut random = [0u8; 10];
    random.copy_from_slice(&h.finalize()[..10]);
    encode(at.0, random)
}

fn is_body(s: &str) -> bool {
    s.len() == BODY && s.bytes().all(|b| CROCKFORD.contains(&b))
}

/// The millisecond timestamp an id body starts with.
fn body_time(body: &str) -> Millis {
    let mut value: u64 = 0;
    for b in body.bytes().take(10) {
        value = (value << 5) | CROCKFORD.iter().position(|c| *c == b).unwrap_or(0) as u64;
    }
    Millis(value)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id without its prefix.
            pub fn body(&self) -> &str {
                &self.0[Self::PREFIX.len()..]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .examples([serde_json::json!(Self::example())])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// `wh_…`, or `wh_default` for the single project web hook.
    WebhookId,
    "wh_"
);
id_type!(
    /// `evt_…`: the time part is when the event was received.
    EventId,
    "evt_"
);
id_type!(
    /// `msg_…`: the event's id body plus the delivery's position in the event's fan-out,
    /// so a delivery id alone leads to its event, and ids sort by event time.
    DeliveryId,
    "msg_"
);

impl WebhookId {
    pub const DEFAULT: &'static str = "wh_default";

    pub fn new(now: Millis) -> WebhookId {
        WebhookId(format!("{}{}", Self::PREFIX, random_body(now)))
    }

    /// The single project web hook, `wh_default`.
    pub fn default_web_hook() -> WebhookId {
        WebhookId(Self::DEFAULT.to_string())
    }

    pub fn parse(s: &str) -> Option<WebhookId> {
        (s == Self::DEFAULT || s.strip_prefix(Self::PREFIX).is_some_and(is_body)).then(|| WebhookId(s.to_string()))
    }

    fn example() -> &'static str {
        "wh_01JD8ZQ3M6V7S9X2B4N8K0P1RT"
    }
}

impl EventId {
    /// A new id at `now`, larger than every id this process made before it.
    pub fn new(now: Millis) -> EventId {
        Self::sequence(now, 1).remove(0)
    }

    /// `n` new ids at `now` in increasing order (a batch's, in acceptance order), larger
    /// than every id this process made before them.
    pub fn sequence(now: Millis, n: usize) -> Vec<EventId> {
        monotonic_values(now, n).into_iter().map(|v| EventId(format!("{}{}", Self::PREFIX, encode_value(v)))).collect()
    }

    /// An id that depends only on `parts` and `at` (operational events, retried intakes).
    pub fn derived(at: Millis, parts: &[&str]) -> EventId {
        EventId(format!("{}{}", Self::PREFIX, derived_body(at, parts)))
    }

    pub fn parse(s: &str) -> Option<EventId> {
        s.strip_prefix(Self::PREFIX).is_some_and(is_body).then(|| EventId(s.to_string()))
    }

    /// When the event was received (the id's time part).
    pub fn time(&self) -> Millis {
        body_time(self.body())
    }

    /// The smallest and largest event ids of the millisecond `at`, for range queries.
    pub fn bounds_at(at: Millis) -> (String, String) {
        let low = encode(at.0, [0; 10]);
        let high = encode(at.0, [0xFF; 10]);
        (format!("{}{low}", Self::PREFIX), format!("{}{high}", Self::PREFIX))
    }

    fn example() -> &'static str {
        "evt_01JD8ZQ3M6V7S9X2B4N8K0P1RT"
    }
}

impl DeliveryId {
    /// The delivery of `event` to the webhook at `index` of its fan-out.
    pub fn for_event(event: &EventId, index: usize) -> DeliveryId {
        debug_assert!(index < MAX_FAN_OUT);
        let digits: String = (0..INDEX_DIGITS).rev().map(|i| CROCKFORD[(index >> (5 * i)) & 31] as char).collect();
        DeliveryId(format!("{}{}{digits}", Self::PREFIX, event.body()))
    }

    pub fn parse(s: &str) -> Option<DeliveryId> {
        let rest = s.strip_prefix(Self::PREFIX)?;
        (rest.len() == BODY + INDEX_DIGITS && rest.bytes().all(|b| CROCKFORD.contains(&b)))
            .then(|| DeliveryId(s.to_string()))
    }

    pub fn event_id(&self) -> EventId {
        EventId(format!("{}{}", EventId::PREFIX, &self.body()[..BODY]))
    }

    /// Position in the event's fan-out.
    pub fn index(&self) -> usize {
        self.body()[BODY..].bytes().fold(0, |acc, b| (acc << 5) | CROCKFORD.iter().position(|c| *c == b).unwrap_or(0))
    }

    /// The id range of deliveries of events received in `[since, until)`.
    pub fn range(since: Millis, until: Millis) -> (String, String) {
        let (low, _) = EventId::bounds_at(since);
        let (high, _) = EventId::bounds_at(until);
        (
            format!("{}{}", Self::PREFIX, &low[EventId::PREFIX.len()..]),
            format!("{}{}", Self::PREFIX, &high[EventId::PREFIX.len()..]),
        )
    }

    fn example() -> &'static str {
        "msg_01JD8ZQ3M6V7S9X2B4N8K0P1RT0000"
    }
}

/// A project id: a positive integer (0 is the deployment's operations project, docs/api.md §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectId(pub u64);

impl ProjectId {
    /// The operations project, where Hookline records its own events (docs/api.md §12).
    pub const OPERATIONS: ProjectId = ProjectId(0);

    /// A `{project_id}` path segment: digits only (0 included, for the operations project).
    pub fn parse(segment: &str) -> Option<ProjectId> {
        if segment.is_empty() || segment.len() > 19 || !segment.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        segment.parse().ok().map(ProjectId)
    }

    pub fn is_operations(self) -> bool {
        self == Self::OPERATIONS
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl utoipa::PartialSchema for ProjectId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .minimum(Some(0))
            .into()
    }
}

impl utoipa::ToSchema for ProjectId {}

/// A short random token that tells one incarnation of a webhook from another with the same id
/// (the project web hook `wh_default` can be deleted and created again): deliveries belong to
/// the incarnation they were made for.
pub fn new_generation() -> String {
    let mut random = [0u8; 5];
    rand::rng().fill_bytes(&mut random);
    let value = random.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    (0..8).rev().map(|i| CROCKFORD[((value >> (5 * i)) & 31) as usize] as char).collect()
}

/// A random token in the id alphabet (claim keys, tokens that need no secrecy).
pub fn random_token(now: Millis) -> String {
    random_body(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_carry_it() {
        let a = EventId::new(Millis(1_700_000_000_000));
        let b = EventId::new(Millis(1_700_000_000_001));
        assert!(a < b);
        assert_eq!(a.time(), Millis(1_700_000_000_000));
        assert_eq!(EventId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.as_str().len(), 4 + 26);
    }

    #[test]
    fn ids_increase_within_a_millisecond() {
        let at = 1_800_000_000_000;
        let mut m = Monotonic::default();
        let fresh = |ms: u64, r: u8| value(ms, [r; 10]);
        // Singles of one millisecond, whatever their random draw.
        let a = m.next(fresh(at, 0x80), 1)[0];
        let b = m.next(fresh(at, 0x10), 1)[0];
        let c = m.next(fresh(at, 0xFF), 1)[0];
        assert!(a < b && b < c, "{a:x} {b:x} {c:x}");
        // A batch, contiguous and after the singles.
        let batch = m.next(fresh(at, 0x00), 100);
        assert!(c < batch[0] && batch.windows(2).all(|w| w[0] < w[1]));
        // A later millisecond starts a new random run; an earlier one keeps its time.
        let later = m.next(fresh(at + 1, 0x00), 1)[0];
        assert!(batch[99] < later && later >> 80 == u128::from(at + 1));
        assert_eq!(m.next(fresh(at, 0x00), 1)[0] >> 80, u128::from(at));
        // The random part's overflow carries into the time and keeps the order.
        let mut top = Monotonic { last: value(at, [0xFF; 10]) };
        let over = top.next(fresh(at, 0), 1)[0];
        assert!(over > value(at, [0xFF; 10]));
    }

    #[test]
    fn event_ids_of_one_batch_parse_and_carry_their_time() {
        let at = Millis(1_800_000_000_000);
        let batch = EventId::sequence(at, 50);
        assert!(batch.windows(2).all(|w| w[0] < w[1]));
        for id in &batch {
            assert_eq!(EventId::parse(id.as_str()).as_ref(), Some(id));
            assert_eq!(id.time(), at);
            assert_eq!(DeliveryId::for_event(id, 1).event_id(), *id);
        }
    }

    #[test]
    fn delivery_ids_lead_to_their_event_and_position() {
        let e = EventId::new(Millis(1_700_000_000_000));
        for index in [0, 1, 31, 32, 999, MAX_FAN_OUT - 1] {
            let d = DeliveryId::for_event(&e, index);
            assert_eq!(d.event_id(), e);
            assert_eq!(d.index(), index);
            assert_eq!(DeliveryId::parse(d.as_str()), Some(d.clone()));
        }
        // Deliveries of one event sort by position, and after earlier events' deliveries.
        let earlier = EventId::new(Millis(1_600_000_000_000));
        assert!(DeliveryId::for_event(&earlier, 5) < DeliveryId::for_event(&e, 0));
        assert!(DeliveryId::for_event(&e, 1) < DeliveryId::for_event(&e, 2));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = EventId::derived(Millis(5), &["msg_1", "x"]);
        assert_eq!(a, EventId::derived(Millis(5), &["msg_1", "x"]));
        assert_ne!(a, EventId::derived(Millis(5), &["msg_1", "y"]));
        assert!(EventId::parse(a.as_str()).is_some());
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(WebhookId::parse("wh_short").is_none());
        assert!(WebhookId::parse("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_none());
        assert!(WebhookId::parse("wh_default").is_some());
        assert!(EventId::parse("evt_01ARZ3NDEKTSV4RRFFQ69G5FAU").is_none(), "U is not Crockford");
        assert!(DeliveryId::parse("msg_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_none(), "no fan-out position");
        assert_eq!(ProjectId::parse("42"), Some(ProjectId(42)));
        assert_eq!(ProjectId::parse("0"), Some(ProjectId(0)));
        for bad in ["", "-1", "+1", "1.0", "abc", "99999999999999999999"] {
            assert_eq!(ProjectId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn delivery_ranges_bound_event_times() {
        let e = EventId::new(Millis(1_700_000_000_500));
        let d = DeliveryId::for_event(&e, 3);
        let (low, high) = DeliveryId::range(Millis(1_700_000_000_500), Millis(1_700_000_000_501));
        assert!(low.as_str() <= d.as_str() && d.as_str() < high.as_str());
        let (low, _) = DeliveryId::range(Millis(1_700_000_000_501), Millis(1_700_000_000_600));
        assert!(d.as_str() < low.as_str());
    }

    #[test]
    fn generations_are_short_and_differ() {
        let (a, b) = (new_generation(), new_generation());
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
    }
}
