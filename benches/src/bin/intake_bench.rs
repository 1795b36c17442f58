//! The event intake, measured: `POST /api/v1/events` and `POST /api/v1/events/batch`
//! through `hookline_local::router::route` (the real `event_intake::handle`, as API
//! Gateway would invoke it) for events that fan out to 1, 10 and 1000 webhooks:
//!
//! - handler latency p50/p99 (per request) and CPU per event against the emulators
//!   (latency here is "against emulators": moto is no model of SQS's speed);
//! - every DynamoDB/SQS call per event, counted at the recording proxy by operation and
//!   item kind, and the request units;
//! - latency and CPU with storage answered instantly by the stub (median of 3 runs);
//! - with an `Idempotency-Key`, its replay, and the project rate limit under load.
//!
//! Each fan-out gets fresh queues, replaced as they fill (moto's SendMessage slows
//! down as a queue grows). Run by scripts/bench.sh; figures go to `intake.json`.

// The functions' allocator, so that what runs in this process (the replayed handler) is as shipped.
#[global_allocator]
static ALLOCATOR: hookline::Allocator = hookline::Allocator;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hookline::service::intake::{self, EventInput};
use hookline::App;
use hookline_benches::flow::{self, event_body, request};
use hookline_benches::results::{self, IntakeFanout, IntakeResults};
use hookline_benches::rusage::process_cpu;
use hookline_benches::servers::{Servers, Tally};
use hookline_benches::stack::{self, BoxError};
use hookline_benches::{data, stats};

/// (fan-out, events per request, requests against the emulators, against the stub, counted)
const PLAN: [(usize, usize, usize, usize, usize); 6] = [
    (1, 1, 300, 1000, 10),
    (1, 100, 10, 60, 2),
    (10, 1, 200, 600, 10),
    (10, 100, 4, 30, 2),
    (1000, 1, 6, 40, 2),
    (1000, 2, 3, 20, 1),
];
const DATA_BYTES: usize = 1024;
/// Move on to a fresh queue once this many messages were sent to one.
const FRESH_QUEUE_AT: usize = 300;
const STUB_RUNS: usize = 3;
/// Storage calls of one large fan-out in flight at once (`PARALLEL_SENDS`, `PARALLEL_BATCHES`).
const PARALLEL: f64 = 8.0;

fn body_for(data: &str, per_request: usize) -> (String, String) {
    if per_request <= 1 {
        ("/api/v1/events".into(), event_body(data))
    } else {
        let entries: Vec<String> = (0..per_request).map(|_| event_body(data)).collect();
        ("/api/v1/events/batch".into(), format!(r#"{{"events":[{}]}}"#, entries.join(",")))
    }
}

async fn post(
    app: &App,
    key: &str,
    path: &str,
    body: &str,
    idem: Option<&str>,
) -> Result<(Duration, Duration), BoxError> {
    let req = request(path, key, body.to_string(), idem);
    let cpu = process_cpu();
    let t = Instant::now();
    flow::post(app, req).await?;
    let wall = t.elapsed();
    Ok((wall, process_cpu().saturating_sub(cpu)))
}

/// `n` requests; returns their latencies and the CPU time they took in all. With
/// `sdk`, the app moves to a fresh queue as one fills up (outside the timing).
async fn load(
    app: &mut App,
    key: &str,
    (path, body): &(String, String),
    n: usize,
    messages_per_request: usize,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<(Vec<Duration>, Duration), BoxError> {
    let mut lat = Vec::with_capacity(n);
    let mut cpu = Duration::ZERO;
    let mut queued = 0;
    for _ in 0..n {
        let (w, c) = post(app, key, path, body, None).await?;
        lat.push(w);
        cpu += c;
        queued += messages_per_request;
        if let Some(sdk) = sdk {
            if queued >= FRESH_QUEUE_AT {
                stack::fresh_queue(sdk, app).await?;
                queued = 0;
            }
        }
    }
    if let Some(sdk) = sdk {
        stack::fresh_queue(sdk, app).await?;
    }
    Ok((lat, cpu))
}

fn per(map: &BTreeMap<String, u64>, n: usize) -> BTreeMap<String, f64> {
    map.iter().map(|(k, v)| (k.clone(), *v as f64 / n as f64)).collect()
}

fn print_counts(t: &Tally, events: f64) {
    println!(
        "  SDK calls per event: {:.3} ({:.3} DynamoDB + {:.3} SQS); request units per event: write {:.3}, read {:.3} (DynamoDB Local); condition failures {}",
        t.total() as f64 / events,
        t.service("dynamodb:") as f64 / events,
        t.service("sqs:") as f64 / events,
        t.write_units_total() / events,
        t.read_units_total() / events,
        t.condition_failures()
    );
    for (label, calls) in &t.calls_by_item {
        println!(
            "    {label:<36} calls {:>8.3}  WRU {:>7.3}  RRU {:>7.3}  per event",
            *calls as f64 / events,
            t.write_units_by_item.get(label).copied().unwrap_or(0.0) / events,
            t.read_units_by_item.get(label).copied().unwrap_or(0.0) / events
        );
    }
}

/// Storage round trips one request waits for one after another: every call, except
/// that batch writes and sends of one request go 8 at a time, and a single event without
/// an Idempotency-Key reads its catalogue entry while it queries the webhooks.
fn sequential_calls(t: &Tally, requests: usize, per_request: usize) -> f64 {
    let r = requests as f64;
    let batched = |op: &str| t.calls.get(op).copied().unwrap_or(0) as f64 / r;
    let sends = batched("sqs:SendMessageBatch");
    let writes = batched("dynamodb:BatchWriteItem");
    let overlapped = if per_request == 1 {
        let by_item = |label: &str| t.calls_by_item.get(label).copied().unwrap_or(0) as f64 / r;
        by_item("dynamodb:GetItem ETYPE").min(by_item("dynamodb:Query PRJ/WH"))
    } else {
        0.0
    };
    t.total() as f64 / r - sends - writes + (sends / PARALLEL).ceil() + (writes / PARALLEL).ceil() - overlapped
}

/// Records a successful project rate-limit `ADD` at the proxy, for the stub to answer with.
///
/// The stub answers a request it has not seen exactly with an earlier answer of the same
/// shape, a successful one if it has one. A process tries the `ADD` first when it last saw
/// the bucket busy (0d15e38), which with the benchmarks' 1 ms interval happens whenever a
/// request starts in the millisecond of the previous one's turn, as instant storage allows.
/// Against the emulators the benchmark's buckets are idle, so the only `ADD` ever recorded
/// would be a refused one, the stub would refuse every `ADD`, and each such timed request
/// would pay a restart as well: 0.6-0.7 calls per request that no real store causes. Two
/// requests to a bucket that stays busy (one a minute, a large burst) record an `ADD` that
/// succeeds; values are blanked in a shape, so it serves every project.
async fn record_busy_rate_limit(
    base: &aws_config::SdkConfig,
    servers: &Servers,
    table: &str,
    data: &str,
) -> Result<(), BoxError> {
    let mut settings = stack::settings(table, "");
    settings.rate_limit_per_minute = 1;
    settings.rate_limit_burst = 1_000;
    let direct = App::new(settings.clone(), base);
    let mut recorded = App::new(settings, &stack::sdk_via(base, &servers.record_url()));
    stack::fresh_queue(base, &mut recorded).await?;
    let (_, key) = stack::create_project(&direct, "busy rate-limit bucket").await?;
    let (path, body) = body_for(data, 1);
    for _ in 0..2 {
        post(&recorded, &key, &path, &body, None).await?;
    }
    Ok(())
}

async fn run() -> Result<(), BoxError> {
    let (_, servers, base, table) = stack::start("bench-intake").await?;
    let raw = data::raw_data(DATA_BYTES);
    let data = raw.get().to_string();
    let mut out = IntakeResults { data_bytes: data.len(), ..IntakeResults::default() };
    println!("intake: {} bytes of event data, no Idempotency-Key", out.data_bytes);

    record_busy_rate_limit(&base, &servers, &table, &data).await?;

    let mut projects: BTreeMap<usize, (hookline::ids::ProjectId, String)> = BTreeMap::new();
    for (fanout, per_request, n_direct, n_stub, counted) in PLAN {
        let settings = stack::settings(&table, "");
        let mut direct = App::new(settings.clone(), &base);
        let mut recorded = App::new(settings.clone(), &stack::sdk_via(&base, &servers.record_url()));
        let mut stub = App::new(settings, &stack::sdk_via(&base, &servers.stub_url()));
        stack::fresh_queue(&base, &mut direct).await?;
        stack::fresh_queue(&base, &mut recorded).await?;
        stack::fresh_queue(&base, &mut stub).await?;
        let (pid, key) = match projects.get(&fanout) {
            Some(p) => p.clone(),
            None => {
                let (pid, key) = stack::create_project(&direct, &format!("fan-out {fanout}")).await?;
                stack::create_webhooks(&direct, pid, fanout, &servers.receiver_url("/hook"), None).await?;
                projects.insert(fanout, (pid, key.clone()));
                (pid, key)
            }
        };
        let req = body_for(&data, per_request);
        let messages = (per_request * fanout).div_ceil(10);
        let rotate = Some(&base);

        load(&mut direct, &key, &req, 2, messages, rotate).await?;
        let (lat, cpu) = load(&mut direct, &key, &req, n_direct, messages, rotate).await?;
        let direct_sum = stats::summarize(&lat);

        servers.reset().await;
        load(&mut recorded, &key, &req, counted, messages, rotate).await?;
        let counts = servers.counts().await.record;
        let events = (counted * per_request) as f64;

        let (mut store_batches, mut queue_batches) = (0, 0);
        if per_request == 1 {
            let project = direct.store.get_project(pid).await?.ok_or("project")?;
            let input = EventInput {
                event_type: "submission.completed".into(),
                data: raw.clone(),
                session_id: None,
                ordering_key: None,
            };
            let outcome = intake::ingest(&direct, &project, input, None).await.map_err(|e| format!("ingest: {e}"))?;
            (store_batches, queue_batches) = (outcome.calls.store_batches, outcome.calls.queue_batches);
            stack::fresh_queue(&base, &mut direct).await?;
        }

        load(&mut stub, &key, &req, 3, messages, None).await?;
        servers.reset().await;
        let mut stub_runs = Vec::new();
        for _ in 0..STUB_RUNS {
            let (lat, cpu) = load(&mut stub, &key, &req, n_stub, messages, None).await?;
            stub_runs.push((cpu.as_secs_f64() * 1000.0 / (n_stub * per_request) as f64, lat));
        }
        // What the timed runs asked the stub: the calls whose CPU they measure.
        let at_stub = servers.counts().await.stub;
        stub_runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let stub_cpu_runs: Vec<f64> = stub_runs.iter().map(|r| r.0).collect();
        let (stub_cpu, stub_lat) = stub_runs.swap_remove(STUB_RUNS / 2);

        let f = IntakeFanout {
            fanout,
            events_per_request: per_request,
            direct: direct_sum,
            direct_cpu_ms_per_event: cpu.as_secs_f64() * 1000.0 / (n_direct * per_request) as f64,
            stub: stats::summarize(&stub_lat),
            stub_cpu_ms_per_event: stub_cpu,
            stub_cpu_ms_per_event_runs: stub_cpu_runs,
            counted_events: counted * per_request,
            dynamodb_calls_per_event: counts.service("dynamodb:") as f64 / events,
            sqs_calls_per_event: counts.service("sqs:") as f64 / events,
            sequential_calls_per_request: sequential_calls(&counts, counted, per_request),
            store_batches,
            queue_batches,
            read_units_per_event: counts.read_units_total() / events,
            write_units_per_event: counts.write_units_total() / events,
            counts: counts.clone(),
        };
        println!("fan-out {fanout:>4}, {per_request} event(s) per request:");
        println!("  against the emulators:        {}  CPU {:.3} ms/event", f.direct, f.direct_cpu_ms_per_event);
        println!(
            "  storage answered instantly:   {}  CPU {:.3} ms/event (runs {:?})",
            f.stub, f.stub_cpu_ms_per_event, f.stub_cpu_ms_per_event_runs
        );
        print_counts(&counts, events);
        let stub_events = (STUB_RUNS * n_stub * per_request) as f64;
        let at_stub_calls: Vec<String> =
            at_stub.calls.iter().map(|(k, v)| format!("{k} {:.3}", *v as f64 / stub_events)).collect();
        println!("  calls per event at the stub (timed runs): {}", at_stub_calls.join(", "));
        println!("  sequential storage calls per request: {:.1}", f.sequential_calls_per_request);
        if per_request == 1 {
            println!(
                "  ingest reports store_batches={} queue_batches={} (expected 1 and ceil(ceil({fanout}/10)/10)={})",
                f.store_batches,
                f.queue_batches,
                fanout.div_ceil(10).div_ceil(10)
            );
        }

        if fanout == 10 && per_request == 1 {
            servers.reset().await;
            let keys: Vec<String> = (0..counted).map(|i| format!("bench-{}-{i}", stack::unique("k"))).collect();
            for k in &keys {
                post(&recorded, &key, &req.0, &req.1, Some(k)).await?;
            }
            let c = servers.counts().await.record;
            out.idempotent_calls_per_event = per(&c.calls_by_item, counted);
            out.idempotent_write_units_per_event = c.write_units_total() / counted as f64;
            println!("  with an Idempotency-Key:");
            print_counts(&c, counted as f64);
            servers.reset().await;
            for k in &keys {
                post(&recorded, &key, &req.0, &req.1, Some(k)).await?;
            }
            let c = servers.counts().await.record;
            out.replay_calls_per_event = per(&c.calls_by_item, counted);
            println!("  the same keys again (replayed):");
            print_counts(&c, counted as f64);
            stack::fresh_queue(&base, &mut recorded).await?;
        }
        out.fanouts.push(f);
    }

    // The project rate limit under load: requests closer together than its interval
    // (600 a minute: one per 100 ms; a burst large enough that none is refused).
    let mut settings = stack::settings(&table, "");
    settings.rate_limit_per_minute = 600;
    settings.rate_limit_burst = 100_000;
    let mut busy = App::new(settings.clone(), &stack::sdk_via(&base, &servers.record_url()));
    stack::fresh_queue(&base, &mut busy).await?;
    let (_, key) = projects.get(&1).cloned().ok_or("fan-out 1 project")?;
    let req = body_for(&data, 1);
    post(&busy, &key, &req.0, &req.1, None).await?;
    servers.reset().await;
    const BUSY: usize = 20;
    for _ in 0..BUSY {
        post(&busy, &key, &req.0, &req.1, None).await?;
    }
    let c = servers.counts().await.record;
    out.busy_rate_limit_calls_per_request = per(&c.calls_by_item, BUSY);
    out.busy_rate_limit_condition_failures_per_request = c.condition_failures() as f64 / BUSY as f64;
    println!("project rate limit under load (600/min, requests back to back), fan-out 1:");
    print_counts(&c, BUSY as f64);

    let path = results::write("intake", &out)?;
    println!("figures written to {}", path.display());
    drop(servers);
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    // A current-thread runtime, as the functions have.
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(run())
}
