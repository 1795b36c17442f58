//! The HTTP side of a delivery: one reused client (and one per distinct client TLS
//! configuration), a timeout, no redirects, no proxy, the destination guard in its resolver,
//! and the OAuth 2.0 tokens of §17.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};

use crate::config::Settings;
use crate::delivery::{Outcome, SendError};
use crate::endpoint::oauth::{self, TokenKey, Tokens};
use crate::endpoint::{tls, EndpointAuth, TlsConfig};
use crate::guard::{literal_ip, DestinationNotAllowed, DestinationPolicy, GuardedResolver};
use crate::model::Webhook;
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
    /// One client per distinct `tls` (§17), built on first use and reused.
    tls_clients: Arc<Mutex<HashMap<[u8; 32], reqwest::Client>>>,
    /// OAuth 2.0 tokens of `auth` (§17).
    tokens: Arc<Tokens>,
}

/// The settings every delivery client shares: timeouts, no redirects, no proxy, the guard.
fn builder(timeout: Duration, policy: &Arc<DestinationPolicy>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
        // A proxy would resolve and connect on our behalf, past the guard: HTTP(S)_PROXY and
        // ALL_PROXY in the environment must never apply to deliveries.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(60))
}

/// Clients kept for distinct TLS configurations; past this the set starts over.
const MAX_TLS_CLIENTS: usize = 256;

impl Sender {
    pub fn new(settings: &Settings) -> Sender {
        let policy = Arc::new(DestinationPolicy::from_settings(settings));
        let client =
            builder(settings.delivery_timeout, &policy).build().expect("the HTTP client configuration is static");
        Sender {
            client,
            policy,
            timeout: settings.delivery_timeout,
            tls_clients: Arc::default(),
            tokens: Arc::default(),
        }
    }

    /// One attempt to an HTTP webhook: its TLS client, its OAuth 2.0 token (a 401 drops it, so
    /// the next attempt fetches a new one), then the POST.
    pub async fn deliver(&self, wh: &Webhook, mut headers: HeaderMap, body: Vec<u8>) -> Outcome {
        let started = Instant::now();
        let client = match &wh.tls {
            None => self.client.clone(),
            Some(t) => match self.tls_client(t) {
                Ok(c) => c,
                Err(e) => {
                    return Outcome::failed(SendError::Tls(format!("client TLS configuration: {e}")), started.elapsed())
                }
            },
        };
        let mut bearer = None;
        if let Some(EndpointAuth::Oauth2 { token_url, client_id, client_secret, scope, audience }) = &wh.auth {
            let owner = format!("{}/{}/{}", wh.project_id, wh.id, wh.generation);
            let key = TokenKey::new(
                &owner,
                &[
                    token_url,
                    client_id,
                    client_secret,
                    scope.as_deref().unwrap_or(""),
                    audience.as_deref().unwrap_or(""),
                ],
            );
            let fetch = || self.fetch_token(token_url, client_id, client_secret, scope.as_deref(), audience.as_deref());
            match self.tokens.bearer(key, fetch).await {
                Ok(token) => match HeaderValue::try_from(format!("Bearer {token}")) {
                    Ok(v) => {
                        headers.insert(AUTHORIZATION, v);
                        bearer = Some((key, token));
                    }
                    Err(_) => {
                        return Outcome::failed(SendError::OAuthToken("unusable token".into()), started.elapsed())
                    }
                },
                Err(e) => return Outcome::failed(SendError::OAuthToken(e), started.elapsed()),
            }
        }
        let outcome = self.post_with(&client, &wh.url, &wh.verification_key, headers, body).await;
        if let (Some(401), Some((key, token))) = (outcome.response_code, bearer) {
            self.tokens.forget(key, &token).await;
        }
        outcome
    }

    fn tls_client(&self, t: &TlsConfig) -> Result<reqwest::Client, String> {
        let id = t.fingerprint();
        let mut clients = self.tls_clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&id) {
            return Ok(c.clone());
        }
        let client = tls::configure(builder(self.timeout, &self.policy), t)?.build().map_err(|e| e.to_string())?;
        if clients.len() >= MAX_TLS_CLIENTS {
            clients.clear();
        }
        clients.insert(id, client.clone());
        Ok(client)
    }

    /// A client-credentials token from `token_url`, through the destination guard.
    async fn fetch_token(
        &self,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> Result<oauth::Fresh, String> {
        let url = self.checked_url(token_url).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(url)
            .header(AUTHORIZATION, oauth::client_authorization(client_id, client_secret))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(oauth::token_form(scope, audience))
            .send()
            .await
            .map_err(|e| describe(&e, self.timeout).to_string())?;
        let status = response.status().as_u16();
        let body = oauth::read_body(response).await.map_err(|e| describe(&e, self.timeout).to_string())?;
        oauth::read_answer(status, &body)
    }

    /// The URL parsed, an IP literal checked against the policy (names are checked by the
    /// resolver when connecting).
    fn checked_url(&self, url: &str) -> Result<reqwest::Url, SendError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| SendError::InvalidUrl(e.to_string()))?;
        if let Some(ip) = literal_ip(&parsed) {
            if !self.policy.allows(ip) {
                return Err(SendError::DestinationNotAllowed);
            }
        }
        Ok(parsed)
    }

    /// POSTs `body` to `url` (with `{VerificationKey}` substituted) and records the outcome.
    pub async fn post(&self, url: &str, verification_key: &str, headers: HeaderMap, body: Vec<u8>) -> Outcome {
        self.post_with(&self.client, url, verification_key, headers, body).await
    }

    async fn post_with(
        &self,
        client: &reqwest::Client,
        url: &str,
        verification_key: &str,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Outcome {
        let started = Instant::now();
        let encoded_key: String = url::form_urlencoded::byte_serialize(verification_key.as_bytes()).collect();
        let target = url.replace(VERIFICATION_KEY_PLACEHOLDER, &encoded_key);
        let parsed = match self.checked_url(&target) {
            Ok(u) => u,
            Err(e) => return Outcome::failed(e, started.elapsed()),
        };
        let result = client.post(parsed).headers(headers).body(body).send().await;
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
