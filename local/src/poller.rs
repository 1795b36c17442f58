//! Feeds the delivery queue to the real delivery handler the way Lambda's SQS
//! event source mapping does: batches of up to 10, the batch-item failures left
//! on the queue (to come back after the visibility timeout), the rest deleted.
//! The handler runs in this process, or in another one reached through Lambda's
//! Invoke API (`HOOKLINE_POLLER=<url>`), so that the poller's CPU, which AWS spends
//! outside the function, can be measured apart from the function's.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use hookline::sender::Sender;
use hookline::App;
use tokio::sync::{watch, Semaphore};

/// Batches handled at once, like a small `MaximumConcurrency`.
const CONCURRENT_BATCHES: usize = 4;

/// Where the poller hands a batch: the delivery handler itself, or Lambda's Invoke
/// API of another process (`server::serve_invoke`).
pub enum Invoker {
    InProcess(Arc<Sender>),
    Http { client: reqwest::Client, url: String },
}

impl Invoker {
    pub fn http(url: String) -> Invoker {
        Invoker::Http {
            client: reqwest::Client::builder().no_proxy().build().expect("static client configuration"),
            url,
        }
    }

    /// The handler's answer; `None` when it could not be reached, so that the whole
    /// batch stays on the queue, as when Lambda fails an invocation.
    async fn invoke(&self, app: &App, event: SqsEvent) -> Option<SqsBatchResponse> {
        match self {
            Invoker::InProcess(sender) => Some(delivery::handle(app, sender, event).await),
            Invoker::Http { client, url } => {
                let answer = async {
                    let body = serde_json::to_vec(&event)?;
                    let bytes = client.post(url).body(body).send().await?.error_for_status()?.bytes().await?;
                    Ok::<SqsBatchResponse, Box<dyn std::error::Error + Send + Sync>>(serde_json::from_slice(&bytes)?)
                };
                match answer.await {
                    Ok(response) => Some(response),
                    Err(e) => {
                        tracing::warn!(error = %e, "invoking the delivery function failed");
                        None
                    }
                }
            }
        }
    }
}

/// Receives one batch and runs it through the handler. Returns how many
/// messages were received (0 when the queue had nothing within `wait`).
pub async fn poll_once(app: &App, sender: &Sender, wait: Duration) -> Result<usize, aws_sdk_sqs::Error> {
    let messages = receive(app, wait).await?;
    let count = messages.len();
    if count > 0 {
        let (event, receipts) = lambda_event(messages);
        let response = delivery::handle(app, sender, event).await;
        delete_done(app, receipts, response).await;
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
pub async fn run(app: Arc<App>, invoker: Arc<Invoker>, mut stop: watch::Receiver<bool>) {
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
        let (app, invoker) = (app.clone(), invoker.clone());
        tokio::spawn(async move {
            handle_batch(&app, &invoker, messages).await;
            drop(permit);
        });
    }
}

async fn handle_batch(app: &App, invoker: &Invoker, messages: Vec<aws_sdk_sqs::types::Message>) {
    let (event, receipts) = lambda_event(messages);
    if let Some(response) = invoker.invoke(app, event).await {
        delete_done(app, receipts, response).await;
    }
}

/// The event Lambda would invoke the function with, and each message's (id, receipt handle).
fn lambda_event(messages: Vec<aws_sdk_sqs::types::Message>) -> (SqsEvent, Vec<(String, String)>) {
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
    (event, receipts)
}

/// Deletes the messages the handler did not report as failed.
async fn delete_done(app: &App, receipts: Vec<(String, String)>, response: SqsBatchResponse) {
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
