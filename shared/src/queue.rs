//! The delivery queue (SQS): what a message says and how it is sent.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::error::QueueError;

/// SQS caps a message's delay at 15 minutes; longer waits hop through re-sends.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
const SEND_BATCH: usize = 10;
const SEND_RETRIES: u32 = 4;
/// SendMessageBatch calls in flight at once for one large fan-out.
const PARALLEL_SENDS: usize = 8;

/// One wake-up for one delivery. The delivery item is the source of truth; the
/// message only says which delivery and which attempt it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub delivery_id: String,
    pub event_id: String,
    pub project_id: u64,
    pub webhook_id: String,
    /// The attempt this message is meant to make (1 for the first).
    pub attempt: u32,
}

/// A message and how long SQS should hold it before it becomes visible.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: DeliveryMessage,
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

    /// Sends every message with SendMessageBatch (10 per call, several calls at
    /// once), re-sending entries that failed; returns the number of calls made.
    pub async fn send_all(&self, messages: &[Outgoing]) -> Result<usize, QueueError> {
        // A plain loop, not a closure: keeps the future `Send` for any caller.
        let mut sends = Vec::new();
        for chunk in messages.chunks(SEND_BATCH) {
            sends.push(self.send_chunk(chunk));
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

    async fn send_chunk(&self, chunk: &[Outgoing]) -> Result<usize, QueueError> {
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
                .queue_url(&self.url)
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

    pub async fn send(&self, message: DeliveryMessage, delay: Duration) -> Result<(), QueueError> {
        self.send_all(&[Outgoing { message, delay }]).await.map(|_| ())
    }
}

/// SQS delays are whole seconds: round up, so a message never wakes before it is due.
fn delay_seconds(delay: Duration) -> i32 {
    delay.min(MAX_DELAY).as_millis().div_ceil(1000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_and_cap_at_15_minutes() {
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::from_millis(900)), 1);
        assert_eq!(delay_seconds(Duration::from_millis(4500)), 5);
        assert_eq!(delay_seconds(Duration::from_secs(36_000)), 900);
    }

    #[test]
    fn message_round_trips_as_json() {
        let m = DeliveryMessage {
            delivery_id: "msg_1".into(),
            event_id: "evt_1".into(),
            project_id: 7,
            webhook_id: "wh_1".into(),
            attempt: 2,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<DeliveryMessage>(&text).unwrap(), m);
    }
}
