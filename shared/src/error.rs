//! Failures by concern. Each becomes the JSON error envelope of docs/api.md §1 through `ApiError`.

use serde::Serialize;
use thiserror::Error;

/// One problem with one input field, as listed in the error envelope's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Storage failures.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// Storage refused the request as invalid (an item over its size limit, say).
    #[error("storage refused the request: {0}")]
    Rejected(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

/// Queue failures.
#[derive(Debug, Error)]
pub enum QueueError {
    #[error("queue is unavailable: {0}")]
    Unavailable(String),
    #[error("{failed} of {total} messages were not queued")]
    Partial { failed: usize, total: usize },
}

/// Storing an event and queueing its wake-ups (intake, test deliveries, operational events).
#[derive(Debug, Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Queueing took longer than the request may wait; nothing was stored.
    #[error("the queue took over {0:?}")]
    QueueBudget(std::time::Duration),
}

/// What an HTTP request is answered when it cannot succeed.
#[derive(Debug, Clone, Error)]
pub enum ApiError {
    #[error("{message}")]
    Invalid { message: String, errors: Vec<FieldError> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {0} is not allowed on this route")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than 256 KiB")]
    PayloadTooLarge,
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64, limit: u32 },
    /// A dependency failed or hung; nothing was changed and the client may retry.
    #[error("service temporarily unavailable, please retry")]
    Unavailable(String),
    /// A bug: never expected (docs/api.md §1 keeps 500 for these).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Invalid { message: format!("{field}: {message}"), errors: vec![FieldError::new(field, message)] }
    }

    pub fn from_fields(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        ApiError::Invalid { message, errors }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid { .. } => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::RateLimited { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ApiError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(m) => {
                tracing::warn!(error = %m, "storage refused a request");
                ApiError::Invalid { message: format!("the request cannot be stored: {m}"), errors: Vec::new() }
            }
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "storage failure");
                ApiError::Unavailable(m)
            }
            StoreError::Corrupt(m) => {
                tracing::error!(error = %m, "stored item is malformed");
                ApiError::Internal(m)
            }
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Store(e) => e.into(),
            RecordError::Queue(e) => e.into(),
            RecordError::QueueBudget(_) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        tracing::error!(error = %e, "queue failure");
        ApiError::Unavailable(e.to_string())
    }
}
