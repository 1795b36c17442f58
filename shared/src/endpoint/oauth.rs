//! OAuth 2.0 client credentials (RFC 6749 §4.4) for webhooks whose `auth` asks for it
//! (docs/api.md §17): one token per webhook and configuration, kept in the process until 60 s
//! before it expires, fetched by one caller while the others wait for it.
//!
//! Only in the process, not in DynamoDB: a warm delivery function reuses its token for every
//! delivery it makes, so a store would save about one token request per cold start at the
//! price of a read per delivery and a write per token, and would put bearer tokens at rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A token is used until this long before `expires_in` runs out.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// How long a token without `expires_in` is used (a 401 drops it sooner).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Entries kept at most: past this the cache starts over (tokens are cheap to fetch again).
const MAX_ENTRIES: usize = 10_000;
/// The most of a token endpoint's answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Which token: a webhook's incarnation and every field of its `auth`, so that a changed
/// configuration never reuses a token of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn new(owner: &str, parts: &[&str]) -> TokenKey {
        let mut h = Sha256::new();
        for p in std::iter::once(&owner).chain(parts) {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        TokenKey(h.finalize().into())
    }
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    use_until: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// The process's tokens.
#[derive(Default)]
pub struct Tokens {
    slots: Mutex<HashMap<TokenKey, Slot>>,
}

/// A token as the endpoint gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    pub access_token: String,
    pub expires_in: Option<u64>,
}

impl Tokens {
    fn slot(&self, key: TokenKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= MAX_ENTRIES && !slots.contains_key(&key) {
            slots.clear();
        }
        slots.entry(key).or_default().clone()
    }

    /// The cached token for `key`, or a new one from `fetch` (called by one caller at a time:
    /// concurrent deliveries to a webhook wait for its one token request).
    pub async fn bearer<F, Fut>(&self, key: TokenKey, fetch: F) -> Result<String, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Fresh, String>>,
    {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if let Some(t) = held.as_ref().filter(|t| Instant::now() < t.use_until) {
            return Ok(t.value.clone());
        }
        let fresh = fetch().await?;
        let lifetime =
            fresh.expires_in.map(|s| Duration::from_secs(s).saturating_sub(EXPIRY_MARGIN)).unwrap_or(DEFAULT_LIFETIME);
        *held = (!lifetime.is_zero())
            .then(|| Token { value: fresh.access_token.clone(), use_until: Instant::now() + lifetime });
        Ok(fresh.access_token)
    }

    /// Drops `token` for `key` (the receiver refused it with a 401), unless a newer one
    /// replaced it meanwhile.
    pub async fn forget(&self, key: TokenKey, token: &str) {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if held.as_ref().is_some_and(|t| t.value == token) {
            *held = None;
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The form of the token request: the grant, and `scope` and `audience` when set.
pub fn token_form(scope: Option<&str>, audience: Option<&str>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(s) = scope {
        form.append_pair("scope", s);
    }
    if let Some(a) = audience {
        form.append_pair("audience", a);
    }
    form.finish()
}

/// HTTP Basic client authentication (RFC 6749 §2.3.1: id and secret form-encoded first).
pub fn client_authorization(client_id: &str, client_secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    crate::endpoint::basic_header(&enc(client_id), &enc(client_secret))
}

/// Reads a token endpoint's answer: a token, or why there is none.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Fresh, String> {
    if !(200..300).contains(&status) {
        let detail = serde_json::from_slice::<ErrorAnswer>(body)
            .map(|e| match e.error_description {
                Some(d) => format!(": {} ({})", e.error, d),
                None => format!(": {}", e.error),
            })
            .unwrap_or_default();
        return Err(format!("HTTP {status}{}", clip(&detail)));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(body).map_err(|_| "the answer has no access_token (not an OAuth 2.0 token response)")?;
    if answer.access_token.is_empty() || crate::rules::check_authorization_value(&answer.access_token).is_err() {
        return Err("the access_token cannot be sent in a header".into());
    }
    if let Some(t) = answer.token_type.as_deref().filter(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(format!("token_type {} is not Bearer", clip(t)));
    }
    // Some servers send the number as a string.
    let expires_in = match answer.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Ok(Fresh { access_token: answer.access_token, expires_in })
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Reads at most `MAX_ANSWER` bytes of a token answer.
pub async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER - body.len())]);
        if body.len() >= MAX_ANSWER {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn answers_are_read_as_rfc_6749_says() {
        let ok = read_answer(200, br#"{"access_token":"t1","token_type":"bearer","expires_in":3600}"#).unwrap();
        assert_eq!(ok, Fresh { access_token: "t1".into(), expires_in: Some(3600) });
        let refused = read_answer(401, br#"{"error":"invalid_client","error_description":"bad secret"}"#);
        assert_eq!(refused.unwrap_err(), "HTTP 401: invalid_client (bad secret)");
        assert_eq!(read_answer(500, b"oops").unwrap_err(), "HTTP 500");
        assert!(read_answer(200, b"{}").is_err());
        assert!(read_answer(200, br#"{"access_token":"t","token_type":"mac"}"#).unwrap_err().contains("not Bearer"));
        assert!(read_answer(200, b"{\"access_token\":\"a\\nb\"}").is_err(), "no header injection");
    }

    #[test]
    fn the_form_and_client_authentication() {
        assert_eq!(token_form(Some("a b"), None), "grant_type=client_credentials&scope=a+b");
        assert_eq!(client_authorization("id", "s:x"), crate::endpoint::basic_header("id", "s%3Ax"));
    }

    #[tokio::test]
    async fn one_fetch_serves_concurrent_callers_until_the_margin_then_a_401_drops_it() {
        let tokens = Tokens::default();
        let fetches = AtomicUsize::new(0);
        let key = TokenKey::new("p/wh/g", &["https://idp/token", "client"]);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Fresh { access_token: format!("t{n}"), expires_in: Some(3600) })
        };
        let got = futures::future::join_all((0..10).map(|_| tokens.bearer(key, fetch))).await;
        assert!(got.iter().all(|t| t.as_deref() == Ok("t0")));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokens.forget(key, "t0").await;
        assert_eq!(tokens.bearer(key, fetch).await.unwrap(), "t1");
        // A token that lives less than the margin is not kept.
        let short = TokenKey::new("other", &[]);
        let brief = || async { Ok(Fresh { access_token: "b".into(), expires_in: Some(30) }) };
        tokens.bearer(short, brief).await.unwrap();
        assert_eq!(tokens.bearer(short, fetch).await.unwrap(), "t2");
    }
}
