//! Claim keys: what one conditional write takes so that only one holder makes a set of
//! attempts. Two kinds, one type; the key's text (stored in the claim item, in wake-up
//! messages and in a delivery's `next_claim`) is made and read here only.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::credentials::sha256_hex;
use crate::ids::{random_token, DeliveryId};

const RETRY_PREFIX: &str = "retry.";

/// The key of a claim on a group of attempts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ClaimKey {
    /// First attempts woken by one intake message, or the part of one that waited for its
    /// event. Derived from the message, so every copy of it names the same claim.
    First(String),
    /// Retries of one message due at about the same time, sharing one wake-up. Random:
    /// each group of retries is new.
    Retry(String),
}

impl ClaimKey {
    /// The claim of an intake message's first attempts: its first delivery and its size name
    /// it, so every copy of the message, and every retry of a keyed request, names the same.
    pub fn first_attempts(first: &DeliveryId, size: usize) -> ClaimKey {
        ClaimKey::First(format!("{first}.{size}"))
    }

    /// The claim of the part of this first-attempt group that waits again: its own key, the
    /// same for every copy of the message.
    pub fn part<'a>(&self, deliveries: impl IntoIterator<Item = &'a DeliveryId>) -> ClaimKey {
        let ids: Vec<&str> = deliveries.into_iter().map(DeliveryId::as_str).collect();
        ClaimKey::First(format!("{self}.{}", &sha256_hex(&ids.join(","))[..12]))
    }

    /// A new retry group's claim.
    pub fn new_retry_group(now: Millis) -> ClaimKey {
        ClaimKey::Retry(random_token(now))
    }
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimKey::First(key) => f.write_str(key),
            ClaimKey::Retry(token) => write!(f, "{RETRY_PREFIX}{token}"),
        }
    }
}

impl From<ClaimKey> for String {
    fn from(k: ClaimKey) -> String {
        k.to_string()
    }
}

/// Delivery ids never start with the retry prefix, so the text says which kind it is.
impl From<String> for ClaimKey {
    fn from(s: String) -> ClaimKey {
        match s.strip_prefix(RETRY_PREFIX) {
            Some(token) => ClaimKey::Retry(token.to_string()),
            None => ClaimKey::First(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    #[test]
    fn keys_read_back_as_they_were_made() {
        let first = DeliveryId::for_event(&EventId::new(Millis(5)), 0);
        let group = ClaimKey::first_attempts(&first, 10);
        assert_eq!(group.to_string(), format!("{first}.10"));
        let part = group.part([&first]);
        assert!(part.to_string().starts_with(&format!("{first}.10.")));
        assert_eq!(part, group.part([&first]), "the same part of the same message, the same claim");
        let retry = ClaimKey::new_retry_group(Millis(5));
        assert!(retry.to_string().starts_with("retry."));
        for k in [group, part, retry] {
            assert_eq!(ClaimKey::from(k.to_string()), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<ClaimKey>(&json).unwrap(), k);
        }
    }
}
