//! What one attempt came to, whatever carried it: the one outcome type of the lifecycle,
//! and the one place that says whether an attempt succeeded. A new kind of destination
//! or failure is a new `SendError` variant here, not a new path beside it.

use std::time::Duration;

use crate::guard::NOT_ALLOWED;

/// Why an attempt failed. Every transport failure has its variant, shown in the log by its
/// message; an answer outside 2xx is `Status`, which the log shows as its code alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The destination guard refused the address (docs/api.md §6).
    #[error("{}", NOT_ALLOWED)]
    DestinationNotAllowed,
    #[error("timeout after {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    /// The TLS handshake failed (certificate, protocol). Logged as a connection failure,
    /// as it always was.
    #[error("connection failed: {0}")]
    Tls(String),
    #[error("{0}")]
    Request(String),
    /// The answer's status arrived but reading its body failed.
    #[error("reading the response failed: {0}")]
    Body(String),
    /// The receiver answered with a status outside 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    /// The webhook's transformation (docs/api.md §15) failed: nothing was sent, and
    /// another attempt would fail alike, so the delivery ends at once.
    #[error("transform failed: {0}")]
    Transform(String),
    /// The transformation could not run now (too many earlier runs, of any webhook, still hold
    /// their threads past their time limit; no thread to start). Not this program's failure:
    /// retried.
    #[error("transform not run: {0}")]
    TransformNotRun(String),
    /// A destination in the customer's AWS account (docs/api.md §16) refused the send, or did
    /// not answer: `<service>: <AWS error code>: <message>`.
    #[error("{0}")]
    Aws(String),
    /// The payload is over the destination service's size limit: no later attempt fits better.
    #[error("{0}")]
    Oversize(String),
    /// No OAuth 2.0 access token for the webhook's `auth` (docs/api.md §17): nothing was
    /// sent; retried like a connection failure.
    #[error("oauth2 token: {0}")]
    OAuthToken(String),
}

impl From<crate::transform::TransformError> for SendError {
    fn from(e: crate::transform::TransformError) -> SendError {
        if e.is_transient() {
            SendError::TransformNotRun(e.to_string())
        } else {
            SendError::Transform(e.to_string())
        }
    }
}

/// What one attempt came to, as the lifecycle needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub response_code: Option<u16>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    /// A failure other than the status code: the attempt got no complete answer.
    pub error: Option<SendError>,
    pub duration: Duration,
    /// `Retry-After` of a 429 or 503 answer.
    pub retry_after: Option<Duration>,
}

impl Outcome {
    /// An attempt that got no answer.
    pub fn failed(error: SendError, duration: Duration) -> Outcome {
        Outcome { response_code: None, response_body: None, error: Some(error), duration, retry_after: None }
    }

    pub fn succeeded(&self) -> bool {
        is_success(self.response_code, self.error.is_some())
    }

    /// A failure no later attempt can mend: the delivery ends `error` without retries.
    pub fn is_final(&self) -> bool {
        matches!(self.error, Some(SendError::Transform(_) | SendError::Oversize(_)))
    }

    /// Why it failed, or `None` when it succeeded.
    pub fn failure(&self) -> Option<SendError> {
        match (&self.error, self.response_code) {
            (Some(e), _) => Some(e.clone()),
            _ if self.succeeded() => None,
            (None, Some(code)) => Some(SendError::Status(code)),
            (None, None) => Some(SendError::Request("no answer".into())),
        }
    }

    /// The error text the log keeps: transport failures only (a status is its own field).
    pub fn log_error(&self) -> Option<String> {
        self.error.as_ref().map(SendError::to_string)
    }
}

/// The rule, in one place (live outcomes and logged attempts alike): an attempt succeeded
/// when a 2xx answer was read whole.
pub fn is_success(response_code: Option<u16>, transport_failed: bool) -> bool {
    !transport_failed && matches!(response_code, Some(200..=299))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: Option<u16>, error: Option<SendError>) -> Outcome {
        Outcome { response_code: code, response_body: None, error, duration: Duration::ZERO, retry_after: None }
    }

    #[test]
    fn only_a_2xx_read_whole_succeeds() {
        assert!(outcome(Some(204), None).succeeded());
        assert_eq!(outcome(Some(302), None).failure(), Some(SendError::Status(302)));
        assert_eq!(outcome(Some(500), None).failure(), Some(SendError::Status(500)));
        let cut = outcome(Some(200), Some(SendError::Body("reset".into())));
        assert!(!cut.succeeded(), "a 200 whose body broke off is a failure");
        assert_eq!(cut.log_error().as_deref(), Some("reading the response failed: reset"));
        assert_eq!(outcome(Some(500), None).log_error(), None, "a status is not logged as an error");
    }

    #[test]
    fn send_errors_read_as_before_in_the_log() {
        assert_eq!(SendError::DestinationNotAllowed.to_string(), "destination not allowed");
        assert_eq!(SendError::Timeout(Duration::from_secs(3)).to_string(), "timeout after 3000 ms");
        assert_eq!(SendError::Connect("refused".into()).to_string(), "connection failed: refused");
        assert_eq!(SendError::Tls("bad certificate".into()).to_string(), "connection failed: bad certificate");
    }

    #[test]
    fn a_failing_program_ends_the_delivery_but_a_busy_transform_pool_is_retried() {
        use crate::transform::TransformError;
        let failed = outcome(None, Some(TransformError::TooSlow.into()));
        assert!(failed.is_final());
        assert_eq!(failed.log_error().as_deref(), Some("transform failed: ran longer than 100 ms"));
        for transient in [TransformError::Busy, TransformError::NotStarted("no threads".into())] {
            let e = SendError::from(transient);
            assert!(e.to_string().starts_with("transform not run: "), "{e}");
            let busy = outcome(None, Some(e));
            assert!(!busy.is_final() && !busy.succeeded());
        }
    }
}

/// A stored attempt error (a [`SendError`]'s text, with the HTTP client's chain of causes) in
/// words a person understands, for 003's `response_message` (docs/api.md §7).
pub fn readable(error: &str) -> String {
    let lower = error.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("invalidcontenttype") || has("corrupt message") || has("wrong version number") {
        return "the TLS handshake failed: the receiver did not answer with TLS (is it a plain http:// server?)".into();
    }
    if has("certificate") {
        return "the TLS handshake failed: the receiver's certificate was not accepted".into();
    }
    if lower.starts_with("connection failed") && (has("tls") || has("handshake") || has("alert")) {
        return "the TLS handshake failed".into();
    }
    if let Some(ms) = error.strip_prefix("timeout after ").and_then(|r| r.strip_suffix(" ms")) {
        return format!("no answer within {ms} ms: the request timed out");
    }
    if has("connection refused") {
        return "could not connect: connection refused (nothing listens at that address and port)".into();
    }
    if has("dns error") || has("failed to lookup address") || has("name or service not known") {
        return "could not connect: the host name could not be resolved".into();
    }
    if has("connection reset") || has("broken pipe") || has("connection closed") || has("incomplete message") {
        return "the connection was closed before an HTTP response arrived".into();
    }
    if error == NOT_ALLOWED || error.starts_with("invalid URL") {
        return error.to_string();
    }
    if has("timed out") {
        return "the request timed out".into();
    }
    format!("no HTTP response: {}", error.split(": ").next().unwrap_or(error))
}

#[cfg(test)]
mod readable_tests {
    use super::*;

    #[test]
    fn attempt_errors_read_as_words() {
        let tls = "connection failed: error sending request for url (https://127.0.0.1:9/): client error (Connect): \
                   received corrupt message of type InvalidContentType";
        assert!(readable(tls).starts_with("the TLS handshake failed"));
        assert!(!readable(tls).contains("InvalidContentType"));
        let refused = "connection failed: error sending request for url (http://127.0.0.1:9/): client error \
                       (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(
            readable(refused),
            "could not connect: connection refused (nothing listens at that address and port)"
        );
        assert_eq!(readable("timeout after 10000 ms"), "no answer within 10000 ms: the request timed out");
        assert_eq!(readable(&SendError::DestinationNotAllowed.to_string()), NOT_ALLOWED);
        assert!(readable("something odd: deeper cause").starts_with("no HTTP response: something odd"));
    }
}
