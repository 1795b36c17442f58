//! The repair sweep, run on a schedule (EventBridge in the deployment, a timer in the
//! local stack): it finds pending deliveries whose wake-up is gone and queues one again.
//!
//! A wake-up can be lost two ways. The delivery function failed on its message five
//! times, and SQS moved it to the dead-letter queue: the sweep moves it back (a few
//! times at most, so a message that can never succeed stays there and raises the
//! alarm); `decide` ignores it if its delivery finished meanwhile. Or an API call
//! (a manual re-send, a recover) wrote a pending delivery whose message was dropped
//! before the write landed: such deliveries sit in the sparse `due` index until their
//! attempt is recorded, and the sweep re-queues those long overdue.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;

use crate::app::App;
use crate::clock::Millis;
use crate::error::{QueueError, StoreError};
use crate::queue::{Outgoing, WakeMessage, WakeTarget};

/// Times the sweep moves one message back from the dead-letter queue.
pub const MAX_REDRIVES: u32 = 3;
/// How overdue a manual re-send must be before the sweep queues it again.
pub const GRACE: Duration = Duration::from_secs(120);
/// Dead letters read per sweep (10 per receive).
const DEAD_LETTER_ROUNDS: usize = 10;
const DUE_BATCH: usize = 100;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Messages moved back from the dead-letter queue.
    pub redriven: usize,
    /// Dead letters left where they are (moved back too often, or unreadable).
    pub kept: usize,
    /// Overdue re-sends queued again.
    pub requeued: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

pub async fn sweep(app: &App) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport::default();
    if let Some(dlq) = app.settings.dead_letter_queue_url.clone() {
        redrive(app, &dlq, &mut report).await?;
    }
    requeue_overdue(app, Millis::now(), &mut report).await?;
    Ok(report)
}

async fn redrive(app: &App, dlq: &str, report: &mut SweepReport) -> Result<(), SweepError> {
    let sqs = app.queue.client();
    for _ in 0..DEAD_LETTER_ROUNDS {
        let out = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            // Long enough to move them; a crash in between leaves them for the next sweep.
            .visibility_timeout(60)
            .send()
            .await
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let mut moving = Vec::new();
        let mut handles = Vec::new();
        for m in messages {
            let parsed = m.body.as_deref().and_then(|b| serde_json::from_str::<WakeMessage>(b).ok());
            match parsed {
                Some(mut msg) if msg.redrives < MAX_REDRIVES => {
                    msg.redrives += 1;
                    moving.push(Outgoing { message: msg, delay: Duration::ZERO });
                    handles.push(m.receipt_handle.unwrap_or_default());
                }
                _ => report.kept += 1,
            }
        }
        if moving.is_empty() {
            continue;
        }
        // Queue first, then delete: a crash in between duplicates, never loses.
        app.queue.send_all(&moving).await?;
        let entries: Vec<DeleteMessageBatchRequestEntry> = handles
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .expect("id and handle set")
            })
            .collect();
        sqs.delete_message_batch()
            .queue_url(dlq)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
        report.redriven += moving.len();
    }
    Ok(())
}

async fn requeue_overdue(app: &App, now: Millis, report: &mut SweepReport) -> Result<(), SweepError> {
    let due = app.store.due_before(now.minus(GRACE), DUE_BATCH).await?;
    let mut wakes = Vec::new();
    for (pid, wh, generation, id) in due {
        let Some(d) = app.store.get_delivery(pid, &wh, &generation, &id, now).await? else { continue };
        let overdue = d.next_attempt_at.is_some_and(|at| now.since(at) > GRACE);
        if d.status.is_finished() || d.lease_live(now) || !overdue {
            continue;
        }
        let target = WakeTarget { delivery_id: d.id.clone(), webhook_id: wh, generation, attempt: d.attempts + 1 };
        wakes.push(Outgoing { message: WakeMessage::next(pid, target, now), delay: Duration::ZERO });
    }
    if !wakes.is_empty() {
        app.queue.send_all(&wakes).await?;
        report.requeued += wakes.len();
    }
    Ok(())
}
