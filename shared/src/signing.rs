//! Delivery signatures: Standard Webhooks (`webhook-signature`, symmetric `v1` or asymmetric
//! `v1a`) and the hex HMAC of `X-Webhook-Signature`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};

use crate::credentials::SECRET_PREFIX;

type HmacSha256 = Hmac<Sha256>;

/// An Ed25519 private key as stored (Standard Webhooks' prefix): `whsk_` + base64 of the 32-byte seed.
pub const ED25519_SECRET_PREFIX: &str = "whsk_";
/// An Ed25519 public key as shown: `whpk_` + base64 of the 32-byte key.
pub const ED25519_PUBLIC_PREFIX: &str = "whpk_";

/// How a webhook's deliveries are signed (docs/api.md §6, §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// `v1` HMAC-SHA256 with a shared `whsec_` secret, plus `X-Webhook-Signature`.
    #[default]
    Hmac,
    /// `v1a` Ed25519 with a key pair whose private half never leaves the store.
    Ed25519,
}

/// A new Ed25519 private key (`whsk_…`).
pub fn generate_ed25519_key() -> String {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    format!("{ED25519_SECRET_PREFIX}{}", STANDARD.encode(seed))
}

/// The key pair of a stored `whsk_` key; `None` for anything else.
pub fn ed25519_pair(secret: &str) -> Option<Ed25519KeyPair> {
    let seed = STANDARD.decode(secret.strip_prefix(ED25519_SECRET_PREFIX)?).ok()?;
    Ed25519KeyPair::from_seed_unchecked(&seed).ok()
}

/// The `whpk_` public key of a stored `whsk_` key.
pub fn ed25519_public_key(secret: &str) -> Option<String> {
    let pair = ed25519_pair(secret)?;
    Some(format!("{ED25519_PUBLIC_PREFIX}{}", STANDARD.encode(pair.public_key().as_ref())))
}

/// `v1a,<base64 Ed25519 signature of "{msg_id}.{timestamp}.{body}">` (Standard Webhooks'
/// asymmetric scheme).
pub fn ed25519_signature(pair: &Ed25519KeyPair, msg_id: &str, timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mut signed = Vec::with_capacity(msg_id.len() + ts.len() + 2 + body.len());
    signed.extend_from_slice(msg_id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(ts.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!("v1a,{}", STANDARD.encode(pair.sign(&signed).as_ref()))
}

/// The HMAC key of a secret: the base64-decoded part of a `whsec_` secret, or
/// the UTF-8 bytes of a user-supplied secret without that form.
pub fn signing_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`.
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut m = mac(key);
    m.update(msg_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per valid secret, space-separated.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: u64, body: &[u8]) -> String {
    secrets.iter().map(|s| standard_signature(&signing_key(s), msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The `webhook-signature` header of an Ed25519 webhook: one `v1a` signature per valid key.
/// A key that is not a `whsk_` key (never stored so) signs nothing rather than failing the send.
pub fn ed25519_header(secrets: &[&str], msg_id: &str, timestamp: u64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| ed25519_pair(s))
        .map(|pair| ed25519_signature(&pair, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `X-Webhook-Signature`: lowercase hex HMAC-SHA256 of the body keyed by the
/// secret string's UTF-8 bytes, as `crypto.createHmac("sha256", secret)` computes.
pub fn hex_signature(secret: &str, body: &[u8]) -> String {
    let mut m = mac(secret.as_bytes());
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: u64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        assert_eq!(
            signature_header(&[SECRET], MSG_ID, TIMESTAMP, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn lists_both_signatures_during_rotation() {
        let h = signature_header(&[SECRET, "whsec_b2xkc2VjcmV0b2xkc2VjcmV0b2xk"], MSG_ID, TIMESTAMP, BODY);
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn plain_secrets_sign_with_their_utf8_bytes() {
        assert_eq!(signing_key("my-own-secret-1234"), b"my-own-secret-1234".to_vec());
        assert_eq!(signing_key("whsec_!!notbase64"), b"whsec_!!notbase64".to_vec());
    }

    /// RFC 8032 §7.1, TEST 2: an independent Ed25519 vector (seed, public key, one-byte
    /// message 0x72, signature).
    #[test]
    fn ed25519_matches_rfc_8032() {
        let seed = hex::decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb").unwrap();
        let secret = format!("whsk_{}", STANDARD.encode(&seed));
        let public = hex::decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c").unwrap();
        assert_eq!(ed25519_public_key(&secret).unwrap(), format!("whpk_{}", STANDARD.encode(&public)));
        let sig = ed25519_pair(&secret).unwrap().sign(&[0x72]);
        assert_eq!(
            hex::encode(sig.as_ref()),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        );
    }

    #[test]
    fn v1a_signs_id_timestamp_and_body_and_verifies() {
        use aws_lc_rs::signature::{UnparsedPublicKey, ED25519};
        let secret = generate_ed25519_key();
        let header = ed25519_header(&[&secret], MSG_ID, TIMESTAMP, BODY);
        let sig = STANDARD.decode(header.strip_prefix("v1a,").unwrap()).unwrap();
        let public = STANDARD.decode(ed25519_public_key(&secret).unwrap().strip_prefix("whpk_").unwrap()).unwrap();
        let key = UnparsedPublicKey::new(&ED25519, &public);
        let signed = format!("{MSG_ID}.{TIMESTAMP}.{}", std::str::from_utf8(BODY).unwrap());
        assert!(key.verify(signed.as_bytes(), &sig).is_ok());
        assert!(key.verify(b"msg_other.1614265330.{}", &sig).is_err());
        // Two keys during a rotation: two signatures.
        let other = generate_ed25519_key();
        assert_eq!(ed25519_header(&[&other, &secret], MSG_ID, TIMESTAMP, BODY).split(' ').count(), 2);
    }

    #[test]
    fn hex_signature_matches_node_crypto() {
        // crypto.createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex")
        assert_eq!(
            hex_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
