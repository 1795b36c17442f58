//! The delivery function's work, measured: `process_batch` on batches of 10
//! messages, as the SQS event source hands them over, against
//!
//! 1. the emulators (DynamoDB Local, moto SQS) directly;
//! 2. the same through the recording proxy, which counts every DynamoDB/SQS call
//!    and the request units DynamoDB Local says they consumed;
//! 3. the stub, which answers the recorded calls instantly: what is left is the
//!    function's own time and CPU, the storage calls counted but not waited on.
//!
//! Then the concurrency within a batch: 10 records to a receiver that takes 100 ms
//! each, in one batch and one after another.
//!
//! Wall and process CPU time (`getrusage`, every thread of this process; the
//! receiver and the proxy run in the separate `bench-servers` process).
//! Run by scripts/bench.sh; the figures go to stdout and `delivery.json`.

use std::collections::BTreeMap;
use std::time::Instant;

use hookline::clock::now_ms;
use hookline::ids;
use hookline::model::{Delivery, Event};
use hookline::sender::Sender;
use hookline::service::delivery::{process_batch, Incoming};
use hookline::service::intake::{message_for, new_delivery};
use hookline::App;
use hookline_benches::results::{self, Concurrency, DeliveryResults, DeliveryRun};
use hookline_benches::rusage::Meter;
use hookline_benches::servers::{Servers, Tally};
use hookline_benches::stack::{self, BoxError, Emulators};
use hookline_benches::{data, stats};
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

const BATCH: usize = 10;
const WEBHOOKS: usize = 10;
/// Events per measured run; each fans out to every webhook.
const EVENTS: usize = 60;
const STUB_PASSES: usize = 4;
const DATA_BYTES: usize = 1024;
const SLOW_MS: u64 = 100;

/// Writes `events` events, each with one pending delivery per webhook, and
/// returns their messages shuffled into batches of `batch` (SQS mixes them too).
async fn batches(
    app: &App,
    pid: u64,
    webhooks: &[String],
    events: usize,
    data: &Map<String, Value>,
    batch: usize,
) -> Result<Vec<Vec<Incoming>>, BoxError> {
    let mut messages = Vec::new();
    for _ in 0..events {
        let now = now_ms();
        let event = Event {
            id: ids::new_id(ids::EVENT, now),
            project_id: pid,
            client_id: Some(19_817_472),
            event_type: "submission.completed".into(),
            session_id: None,
            data: data.clone(),
            received_at: now,
            webhook_ids: webhooks.to_vec(),
            test: false,
            expires_at: app.expires_at(now),
        };
        let deliveries: Vec<Delivery> =
            webhooks.iter().map(|w| new_delivery(&event, w, app.settings.max_attempts())).collect();
        app.store.put_event_and_deliveries(&event, &deliveries).await?;
        for d in &deliveries {
            messages.push(Incoming {
                message_id: format!("sqs-{}", d.id),
                body: serde_json::to_string(&message_for(d, 1))?,
            });
        }
    }
    messages.shuffle(&mut rand::rng());
    Ok(messages.chunks(batch).map(<[Incoming]>::to_vec).collect())
}

/// Runs the batches one after another, as one function instance would.
async fn run(
    label: &str,
    app: &App,
    sender: &Sender,
    servers: &Servers,
    batches: &[Vec<Incoming>],
    passes: usize,
) -> DeliveryRun {
    servers.reset().await;
    let mut walls = Vec::new();
    let mut failed = 0;
    let meter = Meter::start();
    for _ in 0..passes {
        for b in batches {
            let t = Instant::now();
            failed += process_batch(app, sender, b).await.len();
            walls.push(t.elapsed());
        }
    }
    let m = meter.stop();
    let received = servers.counts().await.received;
    let deliveries = batches.iter().map(Vec::len).sum::<usize>() * passes;
    let r = DeliveryRun {
        label: label.to_string(),
        deliveries,
        batches: walls.len(),
        wall_s: m.wall_s,
        cpu_s: m.cpu_s,
        deliveries_per_s: deliveries as f64 / m.wall_s,
        wall_ms_per_delivery: m.wall_s * 1000.0 / deliveries as f64,
        cpu_ms_per_delivery: m.cpu_s * 1000.0 / deliveries as f64,
        batch: stats::summarize(&walls),
        failed,
        received,
    };
    println!(
        "{label:<34} {:>6} deliveries  {:>8.0} deliveries/s  wall {:.3} ms/delivery  CPU {:.3} ms/delivery  batch of 10: {}  (failed {}, receiver got {})",
        r.deliveries, r.deliveries_per_s, r.wall_ms_per_delivery, r.cpu_ms_per_delivery, r.batch, r.failed, r.received
    );
    r
}

fn per(tally: &BTreeMap<String, u64>, n: usize) -> BTreeMap<String, f64> {
    tally.iter().map(|(k, v)| (k.clone(), *v as f64 / n as f64)).collect()
}

fn per_f(tally: &BTreeMap<String, f64>, n: usize) -> BTreeMap<String, f64> {
    tally.iter().map(|(k, v)| (k.clone(), v / n as f64)).collect()
}

/// One batch of 10 slow deliveries, then 10 batches of 1.
async fn concurrency(
    app: &App,
    sender: &Sender,
    batch_of_10: &[Vec<Incoming>],
    singles: &[Vec<Incoming>],
) -> Concurrency {
    let t = Instant::now();
    for b in batch_of_10 {
        assert!(process_batch(app, sender, b).await.is_empty(), "slow batch failed");
    }
    let batch_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    for b in singles {
        assert!(process_batch(app, sender, b).await.is_empty(), "slow single failed");
    }
    let seq_ms = t.elapsed().as_secs_f64() * 1000.0;
    Concurrency { receiver_delay_ms: SLOW_MS, batch_of_10_ms: batch_ms, ten_batches_of_1_ms: seq_ms }
}

/// Write units per delivery (to write it, and in the delivery function) on a table whose indexes are KEYS_ONLY.
async fn keys_only(
    base: &aws_config::SdkConfig,
    servers: &Servers,
    sender: &Sender,
    data: &Map<String, Value>,
) -> Result<(f64, f64), BoxError> {
    let table = stack::unique("bench-keys-only");
    stack::create_table_with_projection(base, &table, Some("KEYS_ONLY")).await?;
    let settings = stack::settings(&table, "");
    let direct = App::new(settings.clone(), base);
    let recorded = App::new(settings, &stack::sdk_via(base, &servers.record_url()));
    let (pid, _) = stack::create_project(&direct, "keys only").await?;
    let hooks = stack::create_webhooks(&direct, pid, WEBHOOKS, &servers.receiver_url("/hook")).await?;
    servers.reset().await;
    let set = batches(&recorded, pid, &hooks, 10, data, BATCH).await?;
    let setup = servers.counts().await.record.write_units_total();
    let run = run("KEYS_ONLY indexes, through the proxy", &recorded, sender, servers, &set, 1).await;
    let used = servers.counts().await.record.write_units_total();
    aws_sdk_dynamodb::Client::new(base).delete_table().table_name(&table).send().await?;
    Ok((setup / run.deliveries as f64, used / run.deliveries as f64))
}

fn print_calls(title: &str, t: &Tally, deliveries: usize) {
    println!("  {title}: {} per delivery", t.describe_per(deliveries as f64));
    println!(
        "    DynamoDB request units per delivery (table + indexes, as DynamoDB Local reports them): read {:.2}, write {:.2}",
        t.read_units_total() / deliveries as f64,
        t.write_units_total() / deliveries as f64
    );
    for (op, units) in &t.write_units {
        println!("      write units of {op}: {:.2} per delivery", units / deliveries as f64);
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let emulators = Emulators::from_env();
    let servers = Servers::spawn(&emulators.dynamodb, &emulators.sqs)?;
    let base = stack::sdk_from_env().await;
    let table = stack::unique("bench-delivery");
    stack::create_table(&base, &table).await?;
    let queue_url = stack::create_queue(&base, &table).await?;
    let settings = stack::settings(&table, &queue_url);
    let direct = App::new(settings.clone(), &base);
    let recorded = App::new(settings.clone(), &stack::sdk_via(&base, &servers.record_url()));
    let stub = App::new(settings.clone(), &stack::sdk_via(&base, &servers.stub_url()));
    let sender = Sender::new(&settings);

    let (pid, _key) = stack::create_project(&direct, "bench").await?;
    let fast = stack::create_webhooks(&direct, pid, WEBHOOKS, &servers.receiver_url("/hook")).await?;
    let slow =
        stack::create_webhooks(&direct, pid, 1, &servers.receiver_url(&format!("/sleep/{SLOW_MS}/hook"))).await?;
    let data = data::event_data(DATA_BYTES);
    let body_bytes = {
        let mut e = data::event(data.clone());
        e.project_id = pid;
        let wh = direct.store.get_webhook(pid, &fast[0]).await?.ok_or("webhook")?;
        let raw = serde_json::value::to_raw_value(&e.data)?;
        hookline::payload::build(&hookline::service::delivery::payload_source(&e, &wh, &raw)).body.len()
    };
    println!(
        "delivery: {WEBHOOKS} webhooks, {EVENTS} events each to all of them, {} bytes of event data ({body_bytes}-byte payloads), batches of {BATCH}, one batch at a time",
        serde_json::to_vec(&data)?.len()
    );

    // Warm-up: connections, the emulators' first-call costs.
    let warm = batches(&direct, pid, &fast, 20, &data, BATCH).await?;
    run("warm-up (emulators)", &direct, &sender, &servers, &warm, 1).await;

    let set = batches(&direct, pid, &fast, EVENTS, &data, BATCH).await?;
    let direct_run = run("against the emulators", &direct, &sender, &servers, &set, 1).await;

    servers.reset().await;
    let set = batches(&recorded, pid, &fast, EVENTS, &data, BATCH).await?;
    let setup = servers.counts().await.record;
    let intake_wru = setup.write_units_total() / (EVENTS * WEBHOOKS) as f64;
    println!("writing the events and deliveries (BatchWriteItem): {intake_wru:.2} write units per delivery");
    let proxy_run = run("through the recording proxy", &recorded, &sender, &servers, &set, 1).await;
    let counts = servers.counts().await;
    let n = proxy_run.deliveries;
    print_calls("calls (counted at the proxy)", &counts.record, n);

    // The recorded batches again, answered instantly from the recordings.
    run("stub warm-up", &stub, &sender, &servers, &set, 1).await;
    let stub_run = run("storage answered instantly (stub)", &stub, &sender, &servers, &set, STUB_PASSES).await;
    let stub_counts = servers.counts().await;

    // What-if: the same on a current-thread Tokio runtime (one Lambda event at a time needs no
    // worker pool), with clients built inside it.
    let current_thread = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    let sdk = stack::sdk_via(&stack::sdk_from_env().await, &servers.stub_url());
                    let app = App::new(settings.clone(), &sdk);
                    let sender = Sender::new(&settings);
                    run("stub warm-up, current-thread runtime", &app, &sender, &servers, &set, 1).await;
                    run("stub, current-thread runtime", &app, &sender, &servers, &set, STUB_PASSES).await
                })
            })
            .join()
            .expect("current-thread run")
    });
    println!(
        "  calls (counted at the stub): {} per delivery; answers found by {:?}",
        stub_counts.stub.describe_per(stub_run.deliveries as f64),
        stub_counts.stub.matched
    );

    // Concurrency within a batch: a receiver that takes 100 ms per request.
    let b10 = batches(&direct, pid, &slow, 10, &data, 10).await?;
    let b1 = batches(&direct, pid, &slow, 10, &data, 1).await?;
    let conc_direct = concurrency(&direct, &sender, &b10, &b1).await;
    let b10 = batches(&direct, pid, &slow, 10, &data, 10).await?;
    let b1 = batches(&direct, pid, &slow, 10, &data, 1).await?;
    concurrency(&recorded, &sender, &b10, &b1).await;
    let conc_stub = concurrency(&stub, &sender, &b10, &b1).await;
    for (what, c) in [("emulators", &conc_direct), ("stub", &conc_stub)] {
        println!(
            "concurrency ({what}): receiver takes {SLOW_MS} ms; 10 records in one batch: {:.1} ms; the same 10 one batch at a time: {:.1} ms ({:.1}x)",
            c.batch_of_10_ms,
            c.ten_batches_of_1_ms,
            c.ten_batches_of_1_ms / c.batch_of_10_ms
        );
    }

    // What-if: the same with every index projected KEYS_ONLY (no product change; a table of our own).
    let (ko_intake, ko_delivery) = keys_only(&base, &servers, &sender, &data).await?;
    println!(
        "what-if, indexes KEYS_ONLY instead of the template's INCLUDE: write units per delivery {ko_delivery:.2} in the delivery function (now {:.2}), {ko_intake:.2} to write it (now {intake_wru:.2})",
        counts.record.write_units_total() / n as f64
    );

    let results = DeliveryResults {
        intake_write_units_per_delivery: intake_wru,
        keys_only_write_units_per_delivery: ko_delivery,
        keys_only_intake_write_units_per_delivery: ko_intake,
        webhooks: WEBHOOKS,
        data_bytes: serde_json::to_vec(&data)?.len(),
        body_bytes,
        calls_per_delivery: per(&counts.record.calls, n),
        stub_calls_per_delivery: per(&stub_counts.stub.calls, stub_run.deliveries),
        stub_matched: stub_counts.stub.matched.clone(),
        read_units_per_delivery: counts.record.read_units_total() / n as f64,
        write_units_per_delivery: counts.record.write_units_total() / n as f64,
        write_units_by_operation: per_f(&counts.record.write_units, n),
        read_units_by_operation: per_f(&counts.record.read_units, n),
        direct: direct_run,
        through_proxy: proxy_run,
        stub: stub_run,
        stub_current_thread: current_thread,
        concurrency_emulators: conc_direct,
        concurrency_stub: conc_stub,
    };
    let path = results::write("delivery", &results)?;
    println!("figures written to {}", path.display());
    drop(servers);
    // Leave nothing behind in the emulators' memory for the next benchmark.
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}
