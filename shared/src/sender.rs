//! The HTTP side of a delivery: one reused client, a timeout, no redirects, no proxy, and
//! the destination guard in its resolver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::Settings;
use crate::delivery::{Outcome, SendError};
use crate::guard::{literal_ip, DestinationNotAllowed, DestinationPolicy, GuardedResolver};
use crate::retry::parse_retry_after;
use crate::rules::VERIFICATION_KEY_PLACEHOLDER;

/// Only this much of a response body is kept in the log.
pub const MAX_LOGGED_BODY: usize = 4096;

pub const USER_AGENT: &str = concat!("Hookline/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Arc<DestinationPolicy>,
    timeout: Duration,
}

impl Sender {
    pub fn new(settings: &Settings) -> Sender {
        let policy = Arc::new(DestinationPolicy::from_settings(settings));
        let client = reqwest::Client::builder()
            .timeout(settings.delivery_timeout)
            .connect_timeout(settings.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
            // A proxy would resolve and connect on our behalf, past the guard: HTTP(S)_PROXY and
            // ALL_PROXY in the environment must never apply to deliveries.
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("the HTTP client configuration is static");
        Sender { client, policy, timeout: settings.delivery_timeout }
    }

    /// POSTs `body` to `url` (with `{VerificationKey}` substituted) and records the outcome.
    pub async fn post(&self, url: &str, verification_key: &str, headers: HeaderMap, body: Vec<u8>) -> Outcome {
        let started = Instant::now();
        let encoded_key: String = url::form_urlencoded::byte_serialize(verification_key.as_bytes()).collect();
        let target = url.replace(VERIFICATION_KEY_PLACEHOLDER, &encoded_key);
        let parsed = match reqwest::Url::parse(&target) {
            Ok(u) => u,
            Err(e) => return Outcome::failed(SendError::InvalidUrl(e.to_string()), started.elapsed()),
        };
        // IP literals never reach the resolver, so they are checked here.
        if let Some(ip) = literal_ip(&parsed) {
            if !self.policy.allows(ip) {
                return Outcome::failed(SendError::DestinationNotAllowed, started.elapsed());
            }
        }
        let result = self.client.post(parsed).headers(headers).body(body).send().await;
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return Outcome::failed(describe(&e, self.timeout), started.elapsed()),
        };
        let code = response.status().as_u16();
        let retry_after = if code == 429 || code == 503 {
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, crate::clock::Millis::now()))
        } else {
            None
        };
        let mut kept = Vec::new();
        let mut error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    kept.extend_from_slice(&chunk[..chunk.len().min(MAX_LOGGED_BODY - kept.len())]);
                    if kept.len() >= MAX_LOGGED_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(match describe(&e, self.timeout) {
                        SendError::Request(m) => SendError::Body(m),
                        other => other,
                    });
                    break;
                }
            }
        }
        Outcome {
            response_code: Some(code),
            response_body: Some(truncate_utf8(&kept)),
            error,
            duration: started.elapsed(),
            retry_after,
        }
    }
}

/// Up to 4 KiB of the body as text, cut on a character boundary.
fn truncate_utf8(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOGGED_BODY)]);
    let mut end = text.len().min(MAX_LOGGED_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A short, stable description of a transport failure for the log.
fn describe(e: &reqwest::Error, timeout: Duration) -> SendError {
    let mut tls = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<DestinationNotAllowed>() {
            return SendError::DestinationNotAllowed;
        }
        // rustls reports through an io::Error, whose `source` skips the error it wraps.
        let wrapped = s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        tls |= s.is::<rustls::Error>() || wrapped.is_some_and(|w| w.is::<rustls::Error>());
        source = s.source();
    }
    if e.is_timeout() {
        return SendError::Timeout(timeout);
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if tls {
        SendError::Tls(text)
    } else if e.is_connect() {
        SendError::Connect(text)
    } else {
        SendError::Request(text)
    }
}

/// Builds a header map, skipping anything that is not a valid header (validated earlier anyway).
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            map.insert(name, value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        let body = "é".repeat(3000);
        let t = truncate_utf8(body.as_bytes());
        assert!(t.len() <= MAX_LOGGED_BODY);
        assert!(t.chars().all(|c| c == 'é'));
    }
}
