//! Where the benchmark drivers leave their figures for `bench_report`:
//! `$HOOKLINE_BENCH_OUT`, else `target-bench/bench-results` in the workspace.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::servers::Tally;
use crate::stats::Summary;

pub fn out_dir() -> PathBuf {
    std::env::var_os("HOOKLINE_BENCH_OUT").map(PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target-bench").join("bench-results")
    })
}

pub fn write<T: Serialize>(name: &str, value: &T) -> std::io::Result<PathBuf> {
    let dir = out_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
    Ok(path)
}

pub fn read<T: DeserializeOwned>(name: &str) -> Option<T> {
    let text = std::fs::read(out_dir().join(format!("{name}.json"))).ok()?;
    serde_json::from_slice(&text).ok()
}

/// One run of SQS batches through `process_batch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryRun {
    pub label: String,
    pub deliveries: usize,
    /// `process_batch` calls (function invocations), each of up to 10 messages.
    pub batches: usize,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub deliveries_per_s: f64,
    pub wall_ms_per_delivery: f64,
    pub cpu_ms_per_delivery: f64,
    /// Wall time of one `process_batch` call.
    pub batch: Summary,
    /// Messages reported failed, and requests the receiver got (should equal `deliveries`).
    pub failed: usize,
    pub received: u64,
    /// Instructions per delivery counted by callgrind (current-thread runtime only), if run.
    #[serde(default)]
    pub instructions_per_delivery: Option<f64>,
    /// Every repetition's CPU ms per delivery (the run above is the median one).
    #[serde(default)]
    pub cpu_ms_per_delivery_runs: Vec<f64>,
}

/// Deliveries of one message vs. spread over messages and batches, against a
/// receiver that takes `receiver_delay_ms` per request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Concurrency {
    pub receiver_delay_ms: u64,
    /// One message naming 10 deliveries (one event, fan-out 10), one batch.
    pub one_message_of_10_ms: f64,
    /// 10 messages of one delivery each, in one batch.
    pub one_batch_of_10_messages_ms: f64,
    /// The same 10 messages one batch at a time.
    pub ten_batches_of_1_ms: f64,
}

/// One end-to-end run counted at the proxy: events posted through the router (the
/// intake), their wake-ups taken off the queue and handed to `process_batch` in SQS
/// batches of 10 (the delivery function), until every delivery was answered 2xx.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub fanout: usize,
    pub events: usize,
    /// Events per intake request (1: `POST /api/v1/events`; more: `/api/v1/events/batch`).
    pub events_per_request: usize,
    pub requests: usize,
    /// Deliveries the events made, and those the receiver answered 2xx (distinct `webhook-id`s).
    pub deliveries: usize,
    pub delivered: usize,
    /// 2xx answers for a `webhook-id` answered 2xx before (a delivery that succeeded twice).
    pub duplicate_successes: u64,
    /// Requests the receiver got in all (failed attempts included).
    pub receiver_requests: u64,
    /// Attempts that failed (the receiver answered 5xx).
    pub failed_attempts: u64,
    /// Messages the delivery function got (the intake's and its own), invocations, and
    /// the messages it reported failed.
    pub messages: usize,
    pub invocations: usize,
    pub failed_messages: usize,
    /// Calls and units, as the proxy counted them, of the intake and of the delivery function.
    pub intake: Tally,
    pub delivery: Tally,
    /// What the delivery items say once it is over: status counts and attempts made.
    pub stored_status: BTreeMap<String, usize>,
    pub stored_attempts: u64,
    /// Seconds from the first to the last 2xx answer, and the most 2xx answers the
    /// receiver gave in any one second (throttling check).
    #[serde(default)]
    pub receiver_span_s: f64,
    #[serde(default)]
    pub receiver_max_per_second: usize,
    pub wall_s: f64,
}

impl Scenario {
    /// What the figures are per: a delivered webhook, or an event when the scenario makes no
    /// deliveries (events every filter refuses).
    pub fn unit(&self) -> f64 {
        if self.deliveries == 0 {
            self.events.max(1) as f64
        } else {
            self.deliveries as f64
        }
    }

    fn per(&self, v: f64) -> f64 {
        v / self.unit()
    }

    /// Write and read units per delivered webhook, intake and delivery function
    /// together, as AWS bills them (see `Tally::billed_write_units`).
    pub fn billed_wru(&self) -> f64 {
        self.per(self.intake.billed_write_units() + self.delivery.billed_write_units())
    }

    pub fn billed_rru(&self) -> f64 {
        self.per(self.intake.billed_read_units() + self.delivery.billed_read_units())
    }

    /// SQS requests per delivered webhook: the sends counted, plus the event source
    /// mapping's ReceiveMessage and DeleteMessageBatch once per invocation.
    pub fn sqs_requests(&self) -> f64 {
        self.per((self.intake.service("sqs:") + self.delivery.service("sqs:")) as f64 + 2.0 * self.invocations as f64)
    }

    /// STS `AssumeRole` calls per delivered webhook (docs/api.md §16: one per role and
    /// external id per process while its credentials are fresh).
    pub fn assume_role_calls(&self) -> f64 {
        let n = |t: &Tally| t.calls.get("sts:AssumeRole").copied().unwrap_or(0);
        self.per((n(&self.intake) + n(&self.delivery)) as f64)
    }

    /// Calls to destinations in the customer's account (`customer:sqs:SendMessage`, …) per
    /// delivered webhook: the service calls that replace the HTTP POST.
    pub fn destination_calls(&self) -> f64 {
        self.per(self.delivery.service("customer:") as f64)
    }

    pub fn deliveries_per_invocation(&self) -> f64 {
        self.deliveries as f64 / self.invocations.max(1) as f64
    }

    pub fn deliveries_per_message(&self) -> f64 {
        self.deliveries as f64 / self.messages.max(1) as f64
    }

    /// Storage calls an invocation waits for one after another on the success path: the
    /// batch read (100 keys a call, one call after another), the group claims (the
    /// messages of a batch run concurrently), then a message's records, one after another.
    pub fn sequential_calls_per_invocation(&self) -> f64 {
        let reads = self.delivery.calls.get("dynamodb:BatchGetItem").copied().unwrap_or(0) as f64
            / self.invocations.max(1) as f64;
        reads + 1.0 + self.deliveries_per_message()
    }

    /// Whether every delivery arrived exactly once and is stored as `success`.
    pub fn clean(&self) -> bool {
        if self.deliveries == 0 {
            return self.delivered == 0 && self.failed_messages == 0 && self.stored_status.is_empty();
        }
        self.delivered == self.deliveries
            && self.duplicate_successes == 0
            && self.failed_messages == 0
            && self.stored_status.get("success").copied().unwrap_or(0) == self.deliveries
            && self.stored_status.len() == 1
    }
}

/// SQS delivers at least once: the same batch handled twice at the same time (two
/// instances got copies), then once more after it was recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Duplicates {
    pub deliveries: usize,
    /// Requests the receiver got while both copies ran at once (should be `deliveries`),
    /// and the calls both copies made together.
    pub concurrent_receiver_requests: u64,
    pub concurrent: Tally,
    /// Requests the receiver got from the late copy (should be 0), and its calls.
    pub late_receiver_requests: u64,
    pub late: Tally,
    pub stored_status: BTreeMap<String, usize>,
    pub stored_attempts: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryResults {
    pub webhooks: usize,
    pub data_bytes: usize,
    pub body_bytes: usize,
    pub scenarios: Vec<Scenario>,
    pub direct: DeliveryRun,
    pub through_proxy: DeliveryRun,
    /// Storage answered instantly, on the functions' current-thread runtime (as shipped),
    /// and on a multi-thread runtime (as the first run of the previous round measured).
    pub stub: DeliveryRun,
    pub stub_multi_thread: DeliveryRun,
    /// As `stub`, for batches of 10 one-delivery messages (fan-out 1, one event per request).
    pub stub_fanout1: DeliveryRun,
    pub stub_matched: BTreeMap<String, u64>,
    pub stub_calls_per_delivery: BTreeMap<String, f64>,
    pub concurrency_emulators: Concurrency,
    pub concurrency_stub: Concurrency,
    #[serde(default)]
    pub duplicates: Duplicates,
    /// As `stub`, for the batches of the `fanout10_destination` scenario (SQS destinations).
    #[serde(default)]
    pub stub_destination: Option<DeliveryRun>,
}

/// `delivery_bench destination`: fan-out 10 to an SQS queue destination (docs/api.md §16)
/// beside fan-out 10 over HTTP, the same number of events and batches of the same size.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DestinationResults {
    pub data_bytes: usize,
    /// The two scenarios, counted at the proxy.
    pub http: Scenario,
    pub destination: Scenario,
    /// Their first round of batches, timed through the recording proxy.
    pub http_through_proxy: DeliveryRun,
    pub destination_through_proxy: DeliveryRun,
    /// Their batches replayed with storage (and the destination's SQS) answered instantly,
    /// on the functions' current-thread runtime, the two alternating.
    pub http_stub: DeliveryRun,
    pub destination_stub: DeliveryRun,
    /// Calls at the stub per delivery, every pass (warm-up included).
    pub http_stub_calls_per_delivery: BTreeMap<String, f64>,
    pub destination_stub_calls_per_delivery: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntakeFanout {
    pub fanout: usize,
    /// Events per request: 1 for `POST /api/v1/events`, more for `/api/v1/events/batch`.
    pub events_per_request: usize,
    /// Per request (latency) and per event (CPU).
    pub direct: Summary,
    pub direct_cpu_ms_per_event: f64,
    pub stub: Summary,
    pub stub_cpu_ms_per_event: f64,
    #[serde(default)]
    pub stub_cpu_ms_per_event_runs: Vec<f64>,
    /// Calls counted at the proxy over `counted_events` events.
    pub counted_events: usize,
    pub counts: Tally,
    pub dynamodb_calls_per_event: f64,
    pub sqs_calls_per_event: f64,
    /// Storage calls one request waits for one after another (counted from the calls:
    /// concurrent batch calls count once per wave of 8).
    pub sequential_calls_per_request: f64,
    /// What the intake itself reports (`Calls`), per request (single-event route only).
    pub store_batches: usize,
    pub queue_batches: usize,
    pub read_units_per_event: f64,
    pub write_units_per_event: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntakeResults {
    pub data_bytes: usize,
    pub fanouts: Vec<IntakeFanout>,
    /// Calls per event with an `Idempotency-Key` (fan-out 10), and the same key sent again.
    pub idempotent_calls_per_event: BTreeMap<String, f64>,
    pub idempotent_write_units_per_event: f64,
    pub replay_calls_per_event: BTreeMap<String, f64>,
    /// The project rate limit under load (requests closer together than its interval):
    /// calls and condition failures per request.
    pub busy_rate_limit_calls_per_request: BTreeMap<String, f64>,
    pub busy_rate_limit_condition_failures_per_request: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ColdStart {
    pub function: String,
    pub binary_bytes: u64,
    pub event: String,
    pub status: String,
    /// Process start to the first `GET …/invocation/next` (init done).
    pub init_ms: Summary,
    /// Process start to the first response posted.
    pub first_event_ms: Summary,
    /// First `next` to the response: the first invocation itself.
    pub first_invoke_ms: Summary,
    pub peak_rss_kib: Vec<u64>,
    pub cpu_ms: Vec<f64>,
    /// DynamoDB and SQS calls of the first event, by operation and item kind.
    #[serde(default)]
    pub first_event_calls: BTreeMap<String, u64>,
}

/// `process_bench`: CPU of the release `hookline-local` per delivered webhook (medians).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessResults {
    pub deliveries: u64,
    pub runs: u64,
    /// Functions and poller in one process, as the README starts the stack.
    pub one_process: ProcessRun,
    /// The poller in its own process: the functions' share and the poller's.
    pub functions_cpu_ms: f64,
    pub poller_cpu_ms: f64,
    pub split_wall_s: f64,
    pub wru: f64,
    pub rru: f64,
    pub sqs_requests: f64,
    pub dynamodb_calls: f64,
    /// Calls per delivered webhook by operation.
    pub calls: String,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ProcessRun {
    pub cpu_ms: f64,
    pub wall_s: f64,
}
