//! What a million delivered webhooks cost on AWS, from the measured figures, beside
//! the published prices of the alternatives. Every input is a field, so BENCHMARKS.md
//! can show the formula with the numbers in it.

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
    "AWS pricing pages (Lambda, DynamoDB, SQS, API Gateway, CloudWatch, EventBridge), as published, us-east-1; prices used on 2026-11-24";

/// The hosted services the issue compares with, per million, as the issue quotes them.
pub const HOOKDECK_PER_MILLION: (f64, f64) = (3.30, 10.0);
pub const SVIX_PER_MILLION: f64 = 100.0;

/// The previous round's totals (BENCHMARKS.md of commit 01decc2, after its fixes; 100 ms
/// receiver; no batch route existed), per million delivered webhooks at fan-out 1, 10, 1000.
pub const BEFORE_PER_MILLION: [(usize, f64); 3] = [(1, 17.58), (10, 11.87), (1000, 11.34)];

/// The measured (and, where marked, assumed) inputs of the model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Inputs {
    /// Webhooks each event fans out to, and events per intake request.
    pub fanout: f64,
    pub events_per_request: f64,
    /// Function memory (template.yaml: 256 MB).
    pub memory_gb: f64,
    /// Share of a vCPU Lambda gives the function: memory / 1769 MB (a full vCPU at 1,769 MB).
    pub vcpu_share: f64,
    /// Delivery function: deliveries per invocation (SQS batch of up to 10 messages, each
    /// waking up to 10 deliveries), counted.
    pub deliveries_per_invocation: f64,
    /// Process CPU time per delivery, storage answered instantly (one core of this
    /// machine taken as one Lambda vCPU).
    pub delivery_cpu_ms_per_delivery: f64,
    /// Storage round trips an invocation waits for one after another: the batch read's
    /// chunks, the claim, then the records of a message (written one after another).
    pub delivery_sequential_calls: f64,
    /// Assumed in-region DynamoDB/SQS latency per call.
    pub storage_latency_ms: f64,
    /// Assumed receiver response time (the deliveries of an invocation wait for it together).
    pub receiver_ms: f64,
    /// Per delivered webhook, intake and delivery function together, as AWS bills them
    /// (measured units, plus failed conditional writes and reads of missing items).
    pub wru_per_delivery: f64,
    pub rru_per_delivery: f64,
    /// SQS requests per delivered webhook: sends counted at the proxy, plus the event
    /// source mapping's one ReceiveMessage and one DeleteMessageBatch per invocation.
    pub sqs_requests_per_delivery: f64,
    /// Intake, per request: CPU time (storage instant) and storage calls waited for one
    /// after another.
    pub intake_cpu_ms_per_request: f64,
    pub intake_sequential_calls: f64,
    /// Log bytes per invocation of either function (Lambda's START/END/REPORT lines; the
    /// functions log nothing at `info` on the success path).
    pub log_bytes_per_invocation: f64,
}

/// One line of the bill, in dollars per million delivered webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub item: String,
    pub formula: String,
    pub dollars: f64,
}

/// Milliseconds Lambda bills for `cpu_ms` of CPU at `vcpu` plus `calls` round trips of `latency` and `wait`.
pub fn billed_ms(cpu_ms: f64, vcpu: f64, calls: f64, latency: f64, wait: f64) -> f64 {
    (cpu_ms / vcpu + calls * latency + wait).ceil()
}

/// Dollars per million delivered webhooks (each delivered by its first attempt), line by line.
pub fn hookline(i: &Inputs, p: &Prices) -> Vec<Line> {
    let m = 1e6;
    let invocations = m / i.deliveries_per_invocation;
    let events = m / i.fanout;
    let requests = events / i.events_per_request;
    let batch_ms = billed_ms(
        i.delivery_cpu_ms_per_delivery * i.deliveries_per_invocation,
        i.vcpu_share,
        i.delivery_sequential_calls,
        i.storage_latency_ms,
        i.receiver_ms,
    );
    let intake_ms =
        billed_ms(i.intake_cpu_ms_per_request, i.vcpu_share, i.intake_sequential_calls, i.storage_latency_ms, 0.0);
    vec![
        Line {
            item: "delivery Lambda duration".into(),
            formula: format!(
                "{invocations:.0} invocations x ceil({:.2} ms CPU / {:.3} vCPU + {:.1} x {:.0} ms + {:.0} ms) = {batch_ms:.0} ms x {} GB x ${}/GB-s",
                i.delivery_cpu_ms_per_delivery * i.deliveries_per_invocation,
                i.vcpu_share,
                i.delivery_sequential_calls,
                i.storage_latency_ms,
                i.receiver_ms,
                i.memory_gb,
                p.lambda_gb_s
            ),
            dollars: invocations * batch_ms / 1000.0 * i.memory_gb * p.lambda_gb_s,
        },
        Line {
            item: "delivery Lambda requests".into(),
            formula: format!("{invocations:.0} invocations x ${}", p.lambda_request),
            dollars: invocations * p.lambda_request,
        },
        Line {
            item: "intake Lambda duration".into(),
            formula: format!(
                "{requests:.0} requests x ceil({:.2} ms CPU / {:.3} vCPU + {:.1} calls x {:.0} ms) = {intake_ms:.0} ms x {} GB x ${}/GB-s",
                i.intake_cpu_ms_per_request, i.vcpu_share, i.intake_sequential_calls, i.storage_latency_ms, i.memory_gb, p.lambda_gb_s
            ),
            dollars: requests * intake_ms / 1000.0 * i.memory_gb * p.lambda_gb_s,
        },
        Line {
            item: "intake Lambda requests + HTTP API".into(),
            formula: format!("{requests:.0} requests x (${} + ${})", p.lambda_request, p.http_api_request),
            dollars: requests * (p.lambda_request + p.http_api_request),
        },
        Line {
            item: "DynamoDB writes".into(),
            formula: format!("{:.3} WRU/delivery x 1e6 x ${}", i.wru_per_delivery, p.dynamodb_wru),
            dollars: i.wru_per_delivery * m * p.dynamodb_wru,
        },
        Line {
            item: "DynamoDB reads".into(),
            formula: format!("{:.3} RRU/delivery x 1e6 x ${}", i.rru_per_delivery, p.dynamodb_rru),
            dollars: i.rru_per_delivery * m * p.dynamodb_rru,
        },
        Line {
            item: "SQS requests".into(),
            formula: format!("{:.4} requests/delivery x 1e6 x ${}", i.sqs_requests_per_delivery, p.sqs_request),
            dollars: i.sqs_requests_per_delivery * m * p.sqs_request,
        },
        Line {
            item: "CloudWatch Logs".into(),
            formula: format!(
                "({invocations:.0} + {requests:.0}) invocations x {:.0} B x ${}/GB",
                i.log_bytes_per_invocation, p.logs_gb
            ),
            dollars: (invocations + requests) * i.log_bytes_per_invocation / 1e9 * p.logs_gb,
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

    fn zero() -> Inputs {
        Inputs {
            fanout: 1.0,
            events_per_request: 1.0,
            memory_gb: 0.25,
            vcpu_share: 1.0,
            deliveries_per_invocation: 10.0,
            delivery_cpu_ms_per_delivery: 0.0,
            delivery_sequential_calls: 0.0,
            storage_latency_ms: 0.0,
            receiver_ms: 0.0,
            wru_per_delivery: 0.0,
            rru_per_delivery: 0.0,
            sqs_requests_per_delivery: 0.0,
            intake_cpu_ms_per_request: 0.0,
            intake_sequential_calls: 0.0,
            log_bytes_per_invocation: 0.0,
        }
    }

    #[test]
    fn eventbridge_at_fan_out_one_is_a_dollar_twenty() {
        assert!((total(&eventbridge(1.0, &PRICES)) - 1.20).abs() < 1e-9);
    }

    #[test]
    fn sixteen_write_units_a_delivery_cost_ten_dollars_a_million() {
        let i = Inputs { wru_per_delivery: 16.0, ..zero() };
        let lines = hookline(&i, &PRICES);
        let writes = lines.iter().find(|l| l.item == "DynamoDB writes").unwrap();
        assert!((writes.dollars - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_batch_request_pays_api_gateway_once_for_all_its_events() {
        let single = hookline(&zero(), &PRICES);
        let batch = hookline(&Inputs { events_per_request: 100.0, ..zero() }, &PRICES);
        let api = |l: &[Line]| l.iter().find(|l| l.item.starts_with("intake Lambda requests")).unwrap().dollars;
        assert!((api(&single) - 1.2).abs() < 1e-9);
        assert!((api(&batch) - 0.012).abs() < 1e-9);
    }
}
