//! Prefixed, time-sortable ids (`wh_…`, `evt_…`, `msg_…`): a 48-bit millisecond
//! timestamp and 80 bits of randomness in Crockford base32, as in ULID.

use rand::RngCore;
use sha2::{Digest, Sha256};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub const WEBHOOK: &str = "wh_";
pub const EVENT: &str = "evt_";
pub const DELIVERY: &str = "msg_";
/// The id of 003's single project web hook.
pub const DEFAULT_WEBHOOK_ID: &str = "wh_default";

fn encode(prefix: &str, ms: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (72 - 8 * i);
    }
    let mut out = String::with_capacity(prefix.len() + 26);
    out.push_str(prefix);
    for i in (0..26).rev() {
        out.push(CROCKFORD[((value >> (5 * i)) & 31) as usize] as char);
    }
    out
}

pub fn new_id(prefix: &str, now_ms: u64) -> String {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    encode(prefix, now_ms, random)
}

/// A deterministic id: the same inputs always give the same id, so a retried
/// intake re-creates exactly the deliveries it may already have written.
pub fn derived_id(prefix: &str, ms: u64, seed: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in seed {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    encode(prefix, ms, random)
}

/// Checks the shape of an id taken from a path, so junk never reaches storage.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    match id.strip_prefix(prefix) {
        Some(rest) => rest.len() == 26 && rest.bytes().all(|b| CROCKFORD.contains(&b)),
        None => false,
    }
}

pub fn is_valid_webhook_id(id: &str) -> bool {
    id == DEFAULT_WEBHOOK_ID || is_valid(WEBHOOK, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time() {
        let a = new_id(EVENT, 1_700_000_000_000);
        let b = new_id(EVENT, 1_700_000_000_001);
        assert!(a < b);
        assert!(is_valid(EVENT, &a));
        assert_eq!(a.len(), 4 + 26);
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived_id(DELIVERY, 5, &["evt_1", "wh_1"]);
        assert_eq!(a, derived_id(DELIVERY, 5, &["evt_1", "wh_1"]));
        assert_ne!(a, derived_id(DELIVERY, 5, &["evt_1", "wh_2"]));
        assert!(is_valid(DELIVERY, &a));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(!is_valid(WEBHOOK, "wh_short"));
        assert!(!is_valid(WEBHOOK, "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(is_valid_webhook_id("wh_default"));
    }
}
