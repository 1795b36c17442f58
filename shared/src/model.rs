//! The domain records and the JSON views users see of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::rfc3339;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub project_id: u64,
    pub client_id: Option<i64>,
    pub name: String,
    /// SHA-256 (hex) of the current API key; the key itself is never stored.
    pub api_key_hash: String,
    pub created_at: u64,
}

impl Project {
    pub fn view(&self) -> Value {
        json!({
            "project_id": self.project_id,
            "client_id": self.client_id,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    #[default]
    Json,
    Xml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    #[default]
    Envelope,
    Flat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub project_id: u64,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    /// Write-only `Authorization` header value (003).
    pub authorization: Option<String>,
    /// 003's `enable_http_authorization`: the value is sent only while this is on.
    pub authorization_enabled: bool,
    pub custom_parameters: BTreeMap<String, String>,
    pub content_type: ContentType,
    pub payload_format: PayloadFormat,
    pub secret: String,
    /// The secret replaced by the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<u64>,
    pub verification_key: String,
    pub created_at: u64,
    pub updated_at: u64,
}

/// How long the old secret keeps signing after a rotation.
pub const SECRET_OVERLAP_MS: u64 = 24 * 3600 * 1000;

impl Webhook {
    /// The public view: no secret, no verification key, no authorization value.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "url": self.url,
            "enabled": self.enabled,
            "event_types": self.event_types,
            "headers": self.headers,
            "authorization_set": self.authorization.is_some(),
            "custom_parameters": self.custom_parameters,
            "content_type": self.content_type,
            "payload_format": self.payload_format,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        })
    }

    /// The view returned once, on create and on rotation.
    pub fn view_with_secrets(&self) -> Value {
        let mut v = self.view();
        v["secret"] = json!(self.secret);
        v["verification_key"] = json!(self.verification_key);
        v
    }

    /// Secrets that sign a delivery sent at `now_ms`: the current one, and the
    /// previous one during the overlap after a rotation.
    pub fn signing_secrets(&self, now_ms: u64) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now_ms < until {
                out.push(prev.as_str());
            }
        }
        out
    }

    pub fn authorization_header(&self) -> Option<&str> {
        self.authorization.as_deref().filter(|_| self.authorization_enabled)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub project_id: u64,
    pub client_id: Option<i64>,
    pub event_type: String,
    pub session_id: Option<String>,
    /// Kept as the JSON text: exact, and free of DynamoDB's nesting limits.
    #[serde(with = "json_text")]
    pub data: Map<String, Value>,
    pub received_at: u64,
    /// The webhooks this event fans out to, fixed at intake.
    pub webhook_ids: Vec<String>,
    /// A test event (§7): delivered whatever the webhook's flag and subscriptions.
    pub test: bool,
    pub expires_at: u64,
}

impl Event {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "project_id": self.project_id,
            "client_id": self.client_id,
            "event_type": self.event_type,
            "session_id": self.session_id,
            "data": self.data,
            "received_at": rfc3339(self.received_at),
            "test": self.test,
        })
    }
}

mod json_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::{Map, Value};

    pub fn serialize<S: Serializer>(v: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&serde_json::to_string(v).map_err(serde::ser::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Success,
    Error,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Success => "success",
            DeliveryStatus::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "success" => Some(DeliveryStatus::Success),
            "error" => Some(DeliveryStatus::Error),
            _ => None,
        }
    }
}

/// One (event, webhook) pair and the state of getting it delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub project_id: u64,
    pub event_id: String,
    pub event_type: String,
    pub webhook_id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The delivery turns `error` once `attempts` reaches this without success.
    pub max_attempts: u32,
    pub response_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: u64,
    pub last_attempt_at: Option<u64>,
    pub next_attempt_at: Option<u64>,
    /// Held by the one delivery function instance sending the next attempt.
    pub lease_until: Option<u64>,
    pub test: bool,
    pub expires_at: u64,
}

impl Delivery {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "webhook_id": self.webhook_id,
            "status": self.status,
            "attempts": self.attempts,
            "response_code": self.response_code,
            "response_body": self.response_body,
            "error": self.error,
            "created_at": rfc3339(self.created_at),
            "last_attempt_at": self.last_attempt_at.map(rfc3339),
            "next_attempt_at": self.next_attempt_at.map(rfc3339),
        })
    }
}

/// One HTTP attempt of a delivery, as recorded in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery_id: String,
    pub attempt: u32,
    pub started_at: u64,
    pub response_code: Option<u16>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub expires_at: u64,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        matches!(self.response_code, Some(200..=299)) && self.error.is_none()
    }

    pub fn view(&self) -> Value {
        json!({
            "attempt": self.attempt,
            "started_at": rfc3339(self.started_at),
            "response_code": self.response_code,
            "response_body": self.response_body,
            "error": self.error,
            "duration_ms": self.duration_ms,
        })
    }
}
