//! Delivery signatures: Standard Webhooks (`webhook-signature`) and the hex HMAC of
//! `X-Webhook-Signature`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::credentials::SECRET_PREFIX;

type HmacSha256 = Hmac<Sha256>;

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

    #[test]
    fn hex_signature_matches_node_crypto() {
        // crypto.createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex")
        assert_eq!(
            hex_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
