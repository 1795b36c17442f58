//! The delivery function: SQS batches of wake-ups in, the failed message ids out
//! (`ReportBatchItemFailures`); and, on its EventBridge schedule, the repair sweep.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use hookline::sender::Sender;
use hookline::service::deliver::{process_batch, Incoming};
use hookline::service::sweep;
use hookline::App;
use serde_json::Value;

/// What the function was invoked with.
pub enum Invocation {
    Queue(SqsEvent),
    /// The scheduled repair sweep (any event without SQS records: EventBridge's).
    Sweep,
}

impl Invocation {
    pub fn from_json(event: Value) -> Result<Invocation, serde_json::Error> {
        if event.get("Records").is_some() {
            return serde_json::from_value(event).map(Invocation::Queue);
        }
        Ok(Invocation::Sweep)
    }
}

pub async fn handle(app: &App, sender: &Sender, event: SqsEvent) -> SqsBatchResponse {
    let batch: Vec<Incoming> = event
        .records
        .into_iter()
        .filter_map(|r| Some(Incoming { message_id: r.message_id?, body: r.body.unwrap_or_default() }))
        .collect();
    let failed = process_batch(app, sender, &batch).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// Runs the repair sweep; an error fails the invocation, so the alarm sees it.
pub async fn sweep(app: &App) -> Result<Value, sweep::SweepError> {
    let report = sweep::sweep(app).await?;
    tracing::info!(?report, "repair sweep");
    Ok(serde_json::json!({"redriven": report.redriven, "kept": report.kept, "requeued": report.requeued}))
}
