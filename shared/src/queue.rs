//! The delivery queue (SQS): what a wake-up message says and how it is sent.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::delivery::{ClaimKey, Wake, WakeKind};
use crate::error::QueueError;
use crate::ids::{DeliveryId, ProjectId, WebhookId};
use crate::model::Target;

/// SQS caps a message's delay at 15 minutes; longer waits hop through re-sends.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// Deliveries one intake message wakes for their first attempt.
pub const GROUP_SIZE: usize = 10;
const SEND_BATCH: usize = 10;
const SEND_RETRIES: u32 = 3;
/// SendMessageBatch calls in flight at once for one large fan-out.
const PARALLEL_SENDS: usize = 8;

/// One delivery named by a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WakeTarget {
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub generation: crate::model::Generation,
    /// The attempt this message is meant to make (1 for the first).
    pub attempt: u32,
}

impl WakeTarget {
    pub fn target(&self) -> Target {
        Target { webhook_id: self.webhook_id.clone(), generation: self.generation.clone() }
    }
}

/// Which attempts a message wakes, and the claim they are taken under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    /// The intake's wake-up for up to `GROUP_SIZE` first attempts, claimed together under
    /// `claim` (the same for every copy of the message).
    First { claim: ClaimKey },
    /// Next attempts of written deliveries (retries, manual re-sends, postponements): each
    /// is taken under the retry group's claim its delivery names, or else a lease on it.
    Next,
}

/// A wake-up. The delivery (or, before its first attempt, the event) is the source of
/// truth; the message only says which deliveries to look at and for which attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Wire", into = "Wire")]
pub struct WakeMessage {
    pub kind: MessageKind,
    pub project_id: ProjectId,
    /// When the writer sent it (its age bounds the wait for the state it announces).
    pub queued_at: Millis,
    /// Sent by a manual re-send (docs/api.md §8 retry, §12 recover).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// A postponed delivery whose turn under its webhook's rate limit is already taken.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub slot_reserved: bool,
    /// How many times the repair sweep moved it back from the dead-letter queue.
    pub redrives: u32,
    pub deliveries: Vec<WakeTarget>,
}

/// A message's body as sent: the kind is the presence of the first attempts' claim, and
/// defaults stay out, so messages already queued read the same.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<ClaimKey>,
    project_id: ProjectId,
    queued_at: Millis,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    manual: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    slot_reserved: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    redrives: u32,
    deliveries: Vec<WakeTarget>,
}

impl From<Wire> for WakeMessage {
    fn from(w: Wire) -> WakeMessage {
        let Wire { group, project_id, queued_at, manual, slot_reserved, redrives, deliveries } = w;
        let kind = match group {
            Some(claim) => MessageKind::First { claim },
            None => MessageKind::Next,
        };
        WakeMessage { kind, project_id, queued_at, manual, slot_reserved, redrives, deliveries }
    }
}

impl From<WakeMessage> for Wire {
    fn from(m: WakeMessage) -> Wire {
        let WakeMessage { kind, project_id, queued_at, manual, slot_reserved, redrives, deliveries } = m;
        let group = match kind {
            MessageKind::First { claim } => Some(claim),
            MessageKind::Next => None,
        };
        Wire { group, project_id, queued_at, manual, slot_reserved, redrives, deliveries }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl WakeMessage {
    /// A wake-up for one written delivery's attempt `attempt`.
    pub fn next(project_id: ProjectId, target: WakeTarget, queued_at: Millis) -> WakeMessage {
        WakeMessage::next_all(project_id, vec![target], queued_at)
    }

    /// One wake-up for several written deliveries' next attempts (a retry group).
    pub fn next_all(project_id: ProjectId, deliveries: Vec<WakeTarget>, queued_at: Millis) -> WakeMessage {
        WakeMessage {
            kind: MessageKind::Next,
            project_id,
            queued_at,
            manual: false,
            slot_reserved: false,
            redrives: 0,
            deliveries,
        }
    }

    /// The intake's wake-up for first attempts, claimed together.
    pub fn first(project_id: ProjectId, deliveries: Vec<WakeTarget>, queued_at: Millis) -> WakeMessage {
        let claim = ClaimKey::first_attempts(&deliveries[0].delivery_id, deliveries.len());
        WakeMessage { kind: MessageKind::First { claim }, ..WakeMessage::next_all(project_id, deliveries, queued_at) }
    }

    /// The claim of its first attempts, if it is the intake's.
    pub fn first_claim(&self) -> Option<&ClaimKey> {
        match &self.kind {
            MessageKind::First { claim } => Some(claim),
            MessageKind::Next => None,
        }
    }

    /// What `decide` needs to know of the message for one of its deliveries.
    pub fn wake(&self, target: &WakeTarget) -> Wake {
        Wake {
            kind: match self.kind {
                MessageKind::First { .. } => WakeKind::First,
                MessageKind::Next => WakeKind::Next,
            },
            attempt: target.attempt,
            queued_at: self.queued_at,
            manual: self.manual,
        }
    }
}

/// A message and how long SQS should hold it before it becomes visible.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: WakeMessage,
    pub delay: Duration,
}

#[derive(Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Queue { client, url: url.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends every message with SendMessageBatch (10 per call, several calls at once),
    /// re-sending entries that failed; returns the number of calls made.
    pub async fn send_all(&self, messages: &[Outgoing]) -> Result<usize, QueueError> {
        self.send_all_to(&self.url, messages).await
    }

    /// As `send_all`, to another queue of the deployment (the sweep's redrive).
    pub async fn send_all_to(&self, url: &str, messages: &[Outgoing]) -> Result<usize, QueueError> {
        // A plain loop, not a closure: keeps the future `Send` for any caller.
        let mut sends = Vec::new();
        for chunk in messages.chunks(SEND_BATCH) {
            sends.push(self.send_chunk(url, chunk));
        }
        let results: Vec<Result<usize, QueueError>> =
            stream::iter(sends).buffer_unordered(PARALLEL_SENDS).collect().await;
        let mut calls = 0;
        for r in results {
            calls += r.map_err(|e| match e {
                QueueError::Partial { failed, .. } => QueueError::Partial { failed, total: messages.len() },
                other => other,
            })?;
        }
        Ok(calls)
    }

    async fn send_chunk(&self, url: &str, chunk: &[Outgoing]) -> Result<usize, QueueError> {
        let mut pending: Vec<(String, &Outgoing)> = chunk.iter().enumerate().map(|(i, m)| (i.to_string(), m)).collect();
        let mut calls = 0;
        for retry in 0..=SEND_RETRIES {
            if retry > 0 {
                tokio::time::sleep(Duration::from_millis(50 << retry)).await;
            }
            calls += 1;
            let entries = pending
                .iter()
                .map(|(id, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id.clone())
                        .message_body(serde_json::to_string(&m.message).expect("message serializes"))
                        .delay_seconds(delay_seconds(m.delay))
                        .build()
                        .expect("id and body are set")
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
            let failed: Vec<String> = out.failed.iter().map(|f| f.id.clone()).collect();
            pending.retain(|(id, _)| failed.contains(id));
            if pending.is_empty() {
                return Ok(calls);
            }
        }
        Err(QueueError::Partial { failed: pending.len(), total: chunk.len() })
    }

    pub async fn send(&self, message: WakeMessage, delay: Duration) -> Result<(), QueueError> {
        self.send_all(&[Outgoing { message, delay }]).await.map(|_| ())
    }
}

/// SQS delays are whole seconds: round up, so a message never wakes before it is due.
pub fn delay_seconds(delay: Duration) -> i32 {
    delay.min(MAX_DELAY).as_millis().div_ceil(1000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    #[test]
    fn delays_round_up_and_cap_at_15_minutes() {
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::from_millis(900)), 1);
        assert_eq!(delay_seconds(Duration::from_millis(4500)), 5);
        assert_eq!(delay_seconds(Duration::from_secs(36_000)), 900);
    }

    #[test]
    fn message_round_trips_as_json_and_names_its_kind() {
        let evt = EventId::new(Millis(9));
        let t = WakeTarget {
            delivery_id: DeliveryId::for_event(&evt, 2),
            webhook_id: WebhookId::default_web_hook(),
            generation: "G".into(),
            attempt: 1,
        };
        let mut m = WakeMessage::next(ProjectId(7), t.clone(), Millis(10));
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("manual") && !text.contains("group"), "defaults stay out of the body: {text}");
        assert_eq!(serde_json::from_str::<WakeMessage>(&text).unwrap(), m);
        assert_eq!(m.wake(&t).kind, WakeKind::Next);
        let first = WakeMessage::first(ProjectId(7), vec![t.clone()], Millis(10));
        let text = serde_json::to_string(&first).unwrap();
        assert!(text.contains(&format!(r#""group":"{}.1""#, t.delivery_id)), "{text}");
        assert_eq!(serde_json::from_str::<WakeMessage>(&text).unwrap(), first);
        assert_eq!(first.wake(&t).kind, WakeKind::First);
        m.manual = true;
        assert!(serde_json::to_string(&m).unwrap().contains(r#""manual":true"#));
    }
}
