//! Feeds the delivery queue to the real delivery handler the way Lambda's SQS
//! event source mapping does: batches of up to 10, the batch-item failures left
//! on the queue (to come back after the visibility timeout), the rest deleted.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use hookline::sender::Sender;
use hookline::App;
use tokio::sync::{watch, Semaphore};

/// Batches handled at once, like a small `MaximumConcurrency`.
const CONCURRENT_BATCHES: usize = 4;

/// Receives one batch and runs it through the handler. Returns how many
/// messages were received (0 when the queue had nothing within `wait`).
pub async fn poll_once(app: &App, sender: &Sender, wait: Duration) -> Result<usize, aws_sdk_sqs::Error> {
    let messages = receive(app, wait).await?;
    let count = messages.len();
    if count > 0 {
        handle_batch(app, sender, messages).await;
    }
    Ok(count)
}

/// One long-poll of up to 10 messages, as the event source mapping receives them.
async fn receive(app: &App, wait: Duration) -> Result<Vec<aws_sdk_sqs::types::Message>, aws_sdk_sqs::Error> {
    let out = app
        .queue
        .client()
        .receive_message()
        .queue_url(app.queue.url())
        .max_number_of_messages(10)
        .wait_time_seconds(wait.as_secs() as i32)
        .send()
        .await?;
    Ok(out.messages.unwrap_or_default())
}

/// Runs the repair sweep every `every` until `stop` turns true, as the deployment's
/// EventBridge schedule does.
pub async fn sweep_every(app: Arc<App>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match delivery::sweep(&app).await {
            Ok(report) => tracing::debug!(?report, "repair sweep"),
            Err(e) => tracing::warn!(error = %e, "repair sweep failed"),
        }
    }
}

/// Polls until `stop` turns true.
pub async fn run(app: Arc<App>, sender: Arc<Sender>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("semaphore is never closed"),
            _ = stop.changed() => return,
        };
        let received = tokio::select! {
            r = receive(&app, Duration::from_secs(1)) => r,
            _ = stop.changed() => return,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = %e, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let (app, sender) = (app.clone(), sender.clone());
        tokio::spawn(async move {
            handle_batch(&app, &sender, messages).await;
            drop(permit);
        });
    }
}

async fn handle_batch(app: &App, sender: &Sender, messages: Vec<aws_sdk_sqs::types::Message>) {
    let mut event = SqsEvent::default();
    let mut receipts = Vec::new();
    for m in messages {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id.clone();
        record.receipt_handle = m.receipt_handle.clone();
        record.body = m.body;
        receipts.push((m.message_id.unwrap_or_default(), m.receipt_handle.unwrap_or_default()));
        event.records.push(record);
    }
    let response = delivery::handle(app, sender, event).await;
    let failed: Vec<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
        .into_iter()
        .filter(|(id, _)| !failed.contains(id))
        .enumerate()
        .map(|(i, (_, receipt))| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(receipt)
                .build()
                .expect("id and handle set")
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    let deleted =
        app.queue.client().delete_message_batch().queue_url(app.queue.url()).set_entries(Some(entries)).send().await;
    if let Err(e) = deleted {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "delete failed; the messages will come back");
    }
}
