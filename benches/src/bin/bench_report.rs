//! Prints the benchmark figures in one place: the Criterion results as MB/s and
//! as a ratio to raw HMAC-SHA256, the delivery, intake and cold-start figures,
//! the targets met or missed, and the cost model per million delivered
//! webhooks beside EventBridge API destinations. Reads what the other drivers
//! wrote (`HOOKLINE_BENCH_OUT`) and Criterion's `estimates.json` files
//! (`HOOKLINE_BENCH_CRITERION`, default `target-bench/criterion`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hookline_benches::cost::{self, Inputs, PRICES, PRICES_SOURCE};
use hookline_benches::results::{self, ColdStart, DeliveryResults, IntakeResults};
use serde_json::Value;

/// Assumed for the cost model (see BENCHMARKS.md).
const STORAGE_LATENCY_MS: f64 = 5.0;
const RECEIVER_MS: [f64; 2] = [100.0, 300.0];
/// One `processed` log line (~200 B) per delivery, and START/END/REPORT (~300 B) per batch of 10.
const LOG_BYTES_PER_DELIVERY: f64 = 230.0;

struct Bench {
    group: String,
    function: String,
    size: String,
    bytes: f64,
    mean_ns: f64,
}

fn criterion_dir() -> PathBuf {
    std::env::var_os("HOOKLINE_BENCH_CRITERION")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target-bench").join("criterion"))
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("benchmark.json").exists() {
                out.push(p);
            } else {
                find(&p, out);
            }
        }
    }
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

fn criterion_results() -> Vec<Bench> {
    let mut dirs = Vec::new();
    find(&criterion_dir(), &mut dirs);
    let mut out = Vec::new();
    for d in dirs {
        let (Some(b), Some(e)) = (read_json(&d.join("benchmark.json")), read_json(&d.join("estimates.json"))) else {
            continue;
        };
        let bytes = b["throughput"]["BytesDecimal"].as_f64().or_else(|| b["throughput"]["Bytes"].as_f64());
        let mean = e["mean"]["point_estimate"].as_f64();
        if let (Some(bytes), Some(mean_ns)) = (bytes, mean) {
            out.push(Bench {
                group: b["group_id"].as_str().unwrap_or("").into(),
                function: b["function_id"].as_str().unwrap_or("").into(),
                size: b["value_str"].as_str().unwrap_or("").into(),
                bytes,
                mean_ns,
            });
        }
    }
    out
}

fn size_order(s: &str) -> u32 {
    match s {
        "1KiB" => 0,
        "16KiB" => 1,
        _ => 2,
    }
}

fn print_hot_path() -> BTreeMap<String, f64> {
    let mut benches = criterion_results();
    let mut raw = BTreeMap::new();
    for b in &benches {
        if b.function == "raw_hmac_sha256" {
            raw.insert(b.size.clone(), b.bytes / b.mean_ns * 1000.0);
        }
    }
    if benches.is_empty() {
        println!("(no Criterion results under {}: run the hot_path bench first)", criterion_dir().display());
        return raw;
    }
    benches.sort_by(|a, b| {
        (&a.group, size_order(&a.size), &a.function).cmp(&(&b.group, size_order(&b.size), &b.function))
    });
    println!("| bench | data | time per call | MB/s | share of raw HMAC-SHA256 speed |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for b in &benches {
        let mbs = b.bytes / b.mean_ns * 1000.0;
        let ratio = raw.get(&b.size).map_or(String::from("-"), |r| format!("{:.2}", mbs / r));
        let time =
            if b.mean_ns >= 1e6 { format!("{:.2} ms", b.mean_ns / 1e6) } else { format!("{:.1} µs", b.mean_ns / 1e3) };
        println!("| {}/{} | {} ({:.0} B) | {time} | {mbs:.0} | {ratio} |", b.group, b.function, b.size, b.bytes);
    }
    raw
}

fn check(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn main() {
    println!("## Hot path (Criterion)\n");
    print_hot_path();

    let delivery: Option<DeliveryResults> = results::read("delivery");
    let intake: Option<IntakeResults> = results::read("intake");
    let cold: Option<Vec<ColdStart>> = results::read("cold_start");

    if let Some(d) = &delivery {
        println!("\n## Delivery function (process_batch, batches of 10, {} B of event data)\n", d.data_bytes);
        println!(
            "| storage | deliveries | deliveries/s | wall ms/delivery | CPU ms/delivery | batch p50 | batch p99 |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for r in [&d.direct, &d.through_proxy, &d.stub, &d.stub_current_thread] {
            println!(
                "| {} | {} | {:.0} | {:.3} | {:.3} | {:.2} ms | {:.2} ms |",
                r.label,
                r.deliveries,
                r.deliveries_per_s,
                r.wall_ms_per_delivery,
                r.cpu_ms_per_delivery,
                r.batch.p50_ms,
                r.batch.p99_ms
            );
        }
        println!("\nCalls per delivery: {:?}", d.calls_per_delivery);
        println!(
            "Request units per delivery (delivery function): read {:.2}, write {:.2} {:?}; writing the delivery: {:.2} WRU",
            d.read_units_per_delivery, d.write_units_per_delivery, d.write_units_by_operation, d.intake_write_units_per_delivery
        );
        println!(
            "With KEYS_ONLY indexes: {:.2} WRU in the delivery function, {:.2} WRU to write it",
            d.keys_only_write_units_per_delivery, d.keys_only_intake_write_units_per_delivery
        );
        for (what, c) in [("emulators", &d.concurrency_emulators), ("stub", &d.concurrency_stub)] {
            println!(
                "Concurrency ({what}, receiver {} ms): batch of 10 {:.1} ms; 10 batches of 1 {:.1} ms",
                c.receiver_delay_ms, c.batch_of_10_ms, c.ten_batches_of_1_ms
            );
        }
    }

    if let Some(i) = &intake {
        println!("\n## Intake (POST /api/v1/events through the router, {} B of event data)\n", i.data_bytes);
        println!("| fan-out | emulators p50 / p99 | storage instant p50 / p99 | CPU ms/event (emulators / instant) | SDK calls/event | DynamoDB | SQS | ingest: store_batches / queue_batches | WRU/event |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for f in &i.fanouts {
            println!(
                "| {} | {:.1} / {:.1} ms | {:.2} / {:.2} ms | {:.2} / {:.2} | {:.1} | {:.1} | {:.1} | {} / {} | {:.1} |",
                f.fanout,
                f.direct.p50_ms,
                f.direct.p99_ms,
                f.stub.p50_ms,
                f.stub.p99_ms,
                f.direct_cpu_ms_per_event,
                f.stub_cpu_ms_per_event,
                f.dynamodb_calls_per_event + f.sqs_calls_per_event,
                f.dynamodb_calls_per_event,
                f.sqs_calls_per_event,
                f.store_batches,
                f.queue_batches,
                f.write_units_per_event
            );
        }
        println!("\nWith an Idempotency-Key (fan-out 10): {:?}", i.idempotent_calls_per_event);
    }

    if let Some(c) = &cold {
        println!("\n## Cold start (release binaries, fake Runtime API, storage on loopback emulators)\n");
        println!("| function | binary | init p50 | first event p50 (min-max) | peak RSS (max) | CPU p50 | answer |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
        for f in c {
            let mut cpu = f.cpu_ms.clone();
            cpu.sort_by(f64::total_cmp);
            println!(
                "| {} | {:.1} MiB | {:.1} ms | {:.1} ms ({:.1}-{:.1}) | {:.1} MiB | {:.1} ms | {} |",
                f.function,
                f.binary_bytes as f64 / 1048576.0,
                f.init_ms.p50_ms,
                f.first_event_ms.p50_ms,
                f.first_event_ms.min_ms,
                f.first_event_ms.max_ms,
                f.peak_rss_kib.iter().max().copied().unwrap_or(0) as f64 / 1024.0,
                cpu.get(cpu.len() / 2).copied().unwrap_or(0.0),
                f.status
            );
        }
    }

    println!("\n## Targets\n");
    if let Some(d) = &delivery {
        println!(
            "- handler CPU per delivery under 1 ms excluding network: {:.3} ms with storage instant: {}",
            d.stub.cpu_ms_per_delivery,
            check(d.stub.cpu_ms_per_delivery < 1.0)
        );
        let c = &d.concurrency_stub;
        println!(
            "- 10 deliveries of a batch in about the time of one ({} ms receiver): {:.1} ms for the batch vs {:.1} ms one by one: {}",
            c.receiver_delay_ms,
            c.batch_of_10_ms,
            c.ten_batches_of_1_ms,
            check(c.batch_of_10_ms < 2.0 * c.receiver_delay_ms as f64)
        );
    }
    if let Some(c) = &cold {
        let worst = c.iter().map(|f| f.first_event_ms.p50_ms).fold(0.0, f64::max);
        let rss = c.iter().flat_map(|f| f.peak_rss_kib.iter().copied()).max().unwrap_or(0) as f64 / 1024.0;
        println!("- cold start under 50 ms locally: worst function p50 {worst:.1} ms: {}", check(worst < 50.0));
        println!("- peak RSS under 40 MB per function: worst {rss:.1} MiB: {}", check(rss * 1.048576 < 40.0));
    }
    if let Some(i) = &intake {
        for f in &i.fanouts {
            let expected = (f.fanout + 1).div_ceil(25) + f.fanout.div_ceil(10);
            println!(
                "- calls per event O(webhooks / batch size) at fan-out {}: {} + {} batch calls (expected {expected}), {:.1} SDK calls in all: {}",
                f.fanout,
                f.store_batches,
                f.queue_batches,
                f.dynamodb_calls_per_event + f.sqs_calls_per_event,
                check(f.store_batches + f.queue_batches == expected)
            );
        }
    }

    let (Some(d), Some(i)) = (&delivery, &intake) else {
        println!("\n(cost model needs delivery.json and intake.json)");
        return;
    };
    println!("\n## Cost per million delivered webhooks\n");
    println!("Prices: {PRICES_SOURCE}: {PRICES:?}");
    println!(
        "Assumed: in-region storage latency {STORAGE_LATENCY_MS} ms per call, {LOG_BYTES_PER_DELIVERY} log bytes per delivery; first attempts succeed.\n"
    );
    let sequential = d.calls_per_delivery.get("dynamodb:BatchGetItem").map_or(0.0, |_| 1.0)
        + d.calls_per_delivery.get("dynamodb:UpdateItem").map_or(0.0, |_| 1.0)
        + d.calls_per_delivery.get("dynamodb:TransactWriteItems").map_or(0.0, |_| 1.0);
    for f in &i.fanouts {
        for receiver in RECEIVER_MS {
            let inputs = Inputs {
                fanout: f.fanout as f64,
                memory_gb: 0.25,
                vcpu_share: 256.0 / 1769.0,
                delivery_cpu_ms_per_batch: d.stub.cpu_ms_per_delivery * 10.0,
                delivery_sequential_calls: sequential,
                storage_latency_ms: STORAGE_LATENCY_MS,
                receiver_ms: receiver,
                delivery_wru: d.write_units_per_delivery,
                delivery_rru: d.read_units_per_delivery,
                intake_cpu_ms: f.stub_cpu_ms_per_event,
                intake_calls: f.dynamodb_calls_per_event + f.sqs_calls_per_event,
                intake_wru: f.write_units_per_event,
                intake_rru: f.read_units_per_event,
                intake_sqs_sends: f.calls_per_event.get("sqs:SendMessageBatch").copied().unwrap_or(0.0),
                log_bytes_per_delivery: LOG_BYTES_PER_DELIVERY,
            };
            let lines = cost::hookline(&inputs, &PRICES);
            let eb = cost::eventbridge(f.fanout as f64, &PRICES);
            println!("### fan-out {}, receiver {receiver} ms\n", f.fanout);
            println!("| item | formula | $ per million |");
            println!("| --- | --- | ---: |");
            for l in &lines {
                println!("| {} | {} | {:.3} |", l.item, l.formula, l.dollars);
            }
            println!("| **Hookline total** | | **{:.2}** |", cost::total(&lines));
            for l in &eb {
                println!("| {} | {} | {:.3} |", l.item, l.formula, l.dollars);
            }
            println!("| **EventBridge API destinations total** | | **{:.2}** |\n", cost::total(&eb));
        }
    }
}
