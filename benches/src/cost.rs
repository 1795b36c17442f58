//! What a million delivered webhooks cost on AWS, from the measured figures,
//! beside the published price of EventBridge API destinations. Every input is
//! a field, so BENCHMARKS.md can show the formula with the numbers in it.

use serde::{Deserialize, Serialize};

/// us-east-1 list prices, in dollars.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Prices {
    /// Lambda arm64 duration, per GB-second (first 7.5 billion GB-s a month).
    pub lambda_gb_s: f64,
    pub lambda_request: f64,
    /// DynamoDB on-demand, per write / read request unit.
    pub dynamodb_wru: f64,
    pub dynamodb_rru: f64,
    /// SQS standard queue, per request (64 KB chunk).
    pub sqs_request: f64,
    /// API Gateway HTTP API, per request (first 300 million a month).
    pub http_api_request: f64,
    /// CloudWatch Logs ingestion, per GB.
    pub logs_gb: f64,
    /// EventBridge custom event put (64 KB chunk).
    pub eventbridge_event: f64,
    /// EventBridge API destination invocation.
    pub eventbridge_api_destination: f64,
}

pub const PRICES: Prices = Prices {
    lambda_gb_s: 0.000_013_333_4,
    lambda_request: 0.20e-6,
    dynamodb_wru: 0.625e-6,
    dynamodb_rru: 0.125e-6,
    sqs_request: 0.40e-6,
    http_api_request: 1.00e-6,
    logs_gb: 0.50,
    eventbridge_event: 1.00e-6,
    eventbridge_api_destination: 0.20e-6,
};

pub const PRICES_SOURCE: &str =
    "AWS pricing pages (Lambda, DynamoDB, SQS, API Gateway, CloudWatch, EventBridge), as published, us-east-1; prices used on 2026-11-23";

/// The measured (and, where marked, assumed) inputs of the model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Inputs {
    /// Webhooks each event fans out to.
    pub fanout: f64,
    /// Function memory (template.yaml: 256 MB).
    pub memory_gb: f64,
    /// Share of a vCPU Lambda gives the function: memory / 1769 MB (a full vCPU at 1,769 MB).
    pub vcpu_share: f64,
    /// Delivery function: process CPU time of one batch of 10 (measured here with storage answered
    /// instantly, on one core of this machine taken as one Lambda vCPU).
    pub delivery_cpu_ms_per_batch: f64,
    /// Storage round trips a batch waits for one after another (BatchGetItem, then per record
    /// UpdateItem and TransactWriteItems, the records concurrently): counted.
    pub delivery_sequential_calls: f64,
    /// Assumed in-region DynamoDB/SQS latency per call.
    pub storage_latency_ms: f64,
    /// Assumed receiver response time (the records of a batch wait for it concurrently).
    pub receiver_ms: f64,
    /// Request units per delivery spent by the delivery function (measured with DynamoDB Local's accounting).
    pub delivery_wru: f64,
    pub delivery_rru: f64,
    /// Intake, per event at this fan-out: CPU time (storage instant), SDK calls (all sequential),
    /// request units and SendMessageBatch calls.
    pub intake_cpu_ms: f64,
    pub intake_calls: f64,
    pub intake_wru: f64,
    pub intake_rru: f64,
    pub intake_sqs_sends: f64,
    /// Log bytes per delivery (the `processed` line) plus Lambda's START/END/REPORT lines per batch.
    pub log_bytes_per_delivery: f64,
}

/// One line of the bill, in dollars per million delivered webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub item: String,
    pub formula: String,
    pub dollars: f64,
}

/// Dollars per million delivered webhooks (each delivered by its first attempt), line by line.
pub fn hookline(i: &Inputs, p: &Prices) -> Vec<Line> {
    let m = 1e6;
    let batches = m / 10.0;
    let events = m / i.fanout;
    let batch_ms = (i.delivery_cpu_ms_per_batch / i.vcpu_share
        + i.delivery_sequential_calls * i.storage_latency_ms
        + i.receiver_ms)
        .ceil();
    let intake_ms = (i.intake_cpu_ms / i.vcpu_share + i.intake_calls * i.storage_latency_ms).ceil();
    let sqs_per_delivery = i.intake_sqs_sends / i.fanout + 0.1 + 0.1;
    vec![
        Line {
            item: "delivery Lambda duration".into(),
            formula: format!(
                "{batches:.0} batches x ceil({:.2} ms CPU / {:.3} vCPU + {:.0} x {:.0} + {:.0}) ms = {batch_ms:.0} ms x {} GB x ${}/GB-s",
                i.delivery_cpu_ms_per_batch,
                i.vcpu_share,
                i.delivery_sequential_calls,
                i.storage_latency_ms,
                i.receiver_ms,
                i.memory_gb,
                p.lambda_gb_s
            ),
            dollars: batches * batch_ms / 1000.0 * i.memory_gb * p.lambda_gb_s,
        },
        Line {
            item: "delivery Lambda requests".into(),
            formula: format!("{batches:.0} invocations x ${}", p.lambda_request),
            dollars: batches * p.lambda_request,
        },
        Line {
            item: "intake Lambda duration".into(),
            formula: format!(
                "{events:.0} events x ceil({:.2} ms CPU / {:.3} vCPU + {:.1} calls x {:.0}) ms = {intake_ms:.0} ms x {} GB x ${}/GB-s",
                i.intake_cpu_ms, i.vcpu_share, i.intake_calls, i.storage_latency_ms, i.memory_gb, p.lambda_gb_s
            ),
            dollars: events * intake_ms / 1000.0 * i.memory_gb * p.lambda_gb_s,
        },
        Line {
            item: "intake Lambda requests + HTTP API".into(),
            formula: format!("{events:.0} events x (${} + ${})", p.lambda_request, p.http_api_request),
            dollars: events * (p.lambda_request + p.http_api_request),
        },
        Line {
            item: "DynamoDB writes".into(),
            formula: format!(
                "({:.2} WRU/event / {} + {:.2} WRU/delivery) x 1e6 x ${}",
                i.intake_wru, i.fanout, i.delivery_wru, p.dynamodb_wru
            ),
            dollars: (i.intake_wru / i.fanout + i.delivery_wru) * m * p.dynamodb_wru,
        },
        Line {
            item: "DynamoDB reads".into(),
            formula: format!(
                "({:.2} RRU/event / {} + {:.2} RRU/delivery) x 1e6 x ${}",
                i.intake_rru, i.fanout, i.delivery_rru, p.dynamodb_rru
            ),
            dollars: (i.intake_rru / i.fanout + i.delivery_rru) * m * p.dynamodb_rru,
        },
        Line {
            item: "SQS requests".into(),
            formula: format!(
                "({:.0} SendMessageBatch/event / {} + 0.1 receive + 0.1 delete) = {sqs_per_delivery:.3}/delivery x 1e6 x ${}",
                i.intake_sqs_sends, i.fanout, p.sqs_request
            ),
            dollars: sqs_per_delivery * m * p.sqs_request,
        },
        Line {
            item: "CloudWatch Logs".into(),
            formula: format!("{:.0} B/delivery x 1e6 x ${}/GB", i.log_bytes_per_delivery, p.logs_gb),
            dollars: i.log_bytes_per_delivery * m / 1e9 * p.logs_gb,
        },
    ]
}

/// EventBridge: one custom event put per event, one API destination invocation per delivery.
pub fn eventbridge(fanout: f64, p: &Prices) -> Vec<Line> {
    let m = 1e6;
    vec![
        Line {
            item: "EventBridge custom events (PutEvents)".into(),
            formula: format!("1e6 / {fanout} events x ${}", p.eventbridge_event),
            dollars: m / fanout * p.eventbridge_event,
        },
        Line {
            item: "EventBridge API destination invocations".into(),
            formula: format!("1e6 x ${}", p.eventbridge_api_destination),
            dollars: m * p.eventbridge_api_destination,
        },
    ]
}

pub fn total(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.dollars).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventbridge_at_fan_out_one_is_a_dollar_twenty() {
        assert!((total(&eventbridge(1.0, &PRICES)) - 1.20).abs() < 1e-9);
    }

    #[test]
    fn sixteen_write_units_a_delivery_cost_ten_dollars_a_million() {
        let i = Inputs {
            fanout: 1.0,
            memory_gb: 0.25,
            vcpu_share: 1.0,
            delivery_cpu_ms_per_batch: 0.0,
            delivery_sequential_calls: 0.0,
            storage_latency_ms: 0.0,
            receiver_ms: 0.0,
            delivery_wru: 16.0,
            delivery_rru: 0.0,
            intake_cpu_ms: 0.0,
            intake_calls: 0.0,
            intake_wru: 0.0,
            intake_rru: 0.0,
            intake_sqs_sends: 0.0,
            log_bytes_per_delivery: 0.0,
        };
        let lines = hookline(&i, &PRICES);
        let writes = lines.iter().find(|l| l.item == "DynamoDB writes").unwrap();
        assert!((writes.dollars - 10.0).abs() < 1e-9);
    }
}
