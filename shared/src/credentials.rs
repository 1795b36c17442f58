//! Keys, secrets and tokens: generation, hashing, constant-time comparison.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::ids::ProjectId;

pub const API_KEY_PREFIX: &str = "hk_";
pub const PORTAL_TOKEN_PREFIX: &str = "pst_";
pub const SECRET_PREFIX: &str = "whsec_";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A project API key: `hk_` + 32 random bytes in base64url.
pub fn generate_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A project's external id: `ext_` + 16 random bytes in hex (32 characters), so that it
/// fits every place AWS takes an `ExternalId` (2-1224 characters of `[\w+=,.@:/-]`).
pub fn generate_external_id() -> String {
    format!("ext_{}", hex::encode(random_bytes::<16>()))
}

/// A portal session token: `pst_{project_id}_` + 32 random bytes in base64url. The
/// project id in clear lets the dashboard know which project it signed in to; the
/// random part is the secret.
pub fn generate_portal_token(project: ProjectId) -> String {
    format!("{PORTAL_TOKEN_PREFIX}{project}_{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// Plausible shape of a portal token, checked before any storage lookup.
pub fn looks_like_portal_token(token: &str) -> bool {
    token.len() <= 128
        && token.strip_prefix(PORTAL_TOKEN_PREFIX).and_then(|rest| rest.split_once('_')).is_some_and(|(pid, secret)| {
            ProjectId::parse(pid).is_some()
                && secret.len() >= 43
                && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// A signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks form).
pub fn generate_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random_bytes::<32>()))
}

/// Random bytes in a verification key.
const VERIFICATION_KEY_BYTES: usize = 24;

/// Length of every verification key: unpadded base64url of `VERIFICATION_KEY_BYTES`.
/// Its alphabet is never percent-encoded, so this is also its length inside a URL
/// (the URL length rule of `rules::check_url` relies on it).
pub const VERIFICATION_KEY_LEN: usize = (VERIFICATION_KEY_BYTES * 4).div_ceil(3);

/// A webhook's verification key (`X-Webhook-Verification-Key`, `{VerificationKey}`): URL-safe
/// so that it can sit in a query string.
pub fn generate_verification_key() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<VERIFICATION_KEY_BYTES>())
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Compares without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a presented admin token against the configured hash.
pub fn admin_token_matches(presented: &str, expected_sha256: &str) -> bool {
    constant_time_eq(sha256_hex(presented).as_bytes(), expected_sha256.as_bytes())
}

/// Plausible shape of an API key, checked before any storage lookup.
pub fn looks_like_api_key(key: &str) -> bool {
    key.len() >= API_KEY_PREFIX.len() + 43
        && key.len() <= 128
        && key.starts_with(API_KEY_PREFIX)
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_prefixed_long_and_distinct() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert!(a.starts_with("hk_") && a.len() == 3 + 43);
        assert!(looks_like_api_key(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn portal_tokens_name_their_project() {
        let t = generate_portal_token(ProjectId(42));
        assert!(t.starts_with("pst_42_"));
        assert!(looks_like_portal_token(&t));
        assert!(!looks_like_portal_token("pst_x_abc"));
        assert!(!looks_like_portal_token(&generate_api_key()));
    }

    #[test]
    fn verification_keys_have_the_documented_length_and_stay_unchanged_in_urls() {
        assert_eq!(generate_verification_key().len(), VERIFICATION_KEY_LEN);
        assert_eq!(VERIFICATION_KEY_LEN, 32);
        // The sender URL-encodes the key: no base64url character may grow.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let encoded: String = url::form_urlencoded::byte_serialize(alphabet.as_bytes()).collect();
        assert_eq!(encoded, alphabet);
    }

    #[test]
    fn secrets_decode_to_32_bytes() {
        let s = generate_secret();
        let raw = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn admin_token_check() {
        let hash = sha256_hex("tok");
        assert!(admin_token_matches("tok", &hash));
        assert!(!admin_token_matches("tok2", &hash));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
