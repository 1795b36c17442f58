//! The SQS-triggered delivery function: a batch in, the failed message ids out
//! (`ReportBatchItemFailures`), the records of a batch delivered concurrently.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use hookline::sender::Sender;
use hookline::service::delivery::{process_batch, Incoming};
use hookline::App;

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
