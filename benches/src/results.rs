//! Where the benchmark drivers leave their figures for `bench_report`:
//! `$HOOKLINE_BENCH_OUT`, else `target-bench/bench-results` in the workspace.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// One run of batches through `process_batch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryRun {
    pub label: String,
    pub deliveries: usize,
    pub batches: usize,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub deliveries_per_s: f64,
    pub wall_ms_per_delivery: f64,
    pub cpu_ms_per_delivery: f64,
    /// Wall time of one `process_batch` call of 10 messages.
    pub batch: Summary,
    pub failed: usize,
    pub received: u64,
}

/// A batch of 10 against a receiver that takes `receiver_delay_ms` per request,
/// and the same 10 messages one batch at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Concurrency {
    pub receiver_delay_ms: u64,
    pub batch_of_10_ms: f64,
    pub ten_batches_of_1_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryResults {
    pub webhooks: usize,
    pub data_bytes: usize,
    pub body_bytes: usize,
    pub direct: DeliveryRun,
    pub through_proxy: DeliveryRun,
    pub stub: DeliveryRun,
    /// The stub run on a current-thread Tokio runtime instead of the multi-thread one the functions use.
    pub stub_current_thread: DeliveryRun,
    /// Storage and queue calls per delivery, by operation, counted at the proxy.
    pub calls_per_delivery: BTreeMap<String, f64>,
    pub stub_calls_per_delivery: BTreeMap<String, f64>,
    pub stub_matched: BTreeMap<String, u64>,
    /// DynamoDB request units per delivery (table + indexes) as DynamoDB Local reports them.
    pub read_units_per_delivery: f64,
    pub write_units_per_delivery: f64,
    pub write_units_by_operation: BTreeMap<String, f64>,
    pub read_units_by_operation: BTreeMap<String, f64>,
    /// Writing the events and deliveries (as the intake's BatchWriteItem does), per delivery.
    pub intake_write_units_per_delivery: f64,
    /// The same two figures with every index projected `KEYS_ONLY` instead of the template's `INCLUDE`.
    pub keys_only_write_units_per_delivery: f64,
    pub keys_only_intake_write_units_per_delivery: f64,
    pub concurrency_emulators: Concurrency,
    pub concurrency_stub: Concurrency,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntakeFanout {
    pub fanout: usize,
    pub direct: Summary,
    pub direct_cpu_ms_per_event: f64,
    pub stub: Summary,
    pub stub_cpu_ms_per_event: f64,
    /// SDK calls per event by operation (counted at the proxy), and totals.
    pub calls_per_event: BTreeMap<String, f64>,
    pub dynamodb_calls_per_event: f64,
    pub sqs_calls_per_event: f64,
    /// What `ingest` itself reports (`IntakeOutcome::calls`).
    pub store_batches: usize,
    pub queue_batches: usize,
    pub read_units_per_event: f64,
    pub write_units_per_event: f64,
    pub write_units_by_operation: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntakeResults {
    pub data_bytes: usize,
    pub fanouts: Vec<IntakeFanout>,
    /// Calls per event with an `Idempotency-Key` (fan-out 10).
    pub idempotent_calls_per_event: BTreeMap<String, f64>,
    pub idempotent_write_units_per_event: f64,
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
}
