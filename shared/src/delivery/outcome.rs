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
}
