//! The event intake, measured: `POST /api/v1/events` through
//! `hookline_local::router::route` (the real `event_intake::handle`, as API
//! Gateway would invoke it) for events that fan out to 1, 10 and 1000 webhooks:
//!
//! - handler latency p50/p99 and CPU per event against the emulators (latency
//!   here is "against emulators": moto is no model of SQS's speed);
//! - every DynamoDB/SQS call per event, counted at the recording proxy, beside
//!   what `ingest` itself reports (`IntakeOutcome::calls`), and the request units;
//! - latency and CPU with storage answered instantly by the stub.
//!
//! Each fan-out gets fresh queues, replaced as they fill (moto's SendMessage slows
//! down as a queue grows). Run by scripts/bench.sh; figures go to `intake.json`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hookline::service::intake::{self, EventInput};
use hookline::App;
use hookline_benches::results::{self, IntakeFanout, IntakeResults};
use hookline_benches::rusage::process_cpu;
use hookline_benches::servers::Servers;
use hookline_benches::stack::{self, BoxError, Emulators};
use hookline_benches::{data, stats};
use lambda_http::Body;
use serde_json::json;

/// (fan-out, requests against the emulators, requests against the stub)
const PLAN: [(usize, usize, usize); 3] = [(1, 300, 1000), (10, 200, 600), (1000, 6, 40)];
const COUNTED: usize = 5;
const DATA_BYTES: usize = 1024;
/// Move on to a fresh queue once this many messages were sent to one.
const FRESH_QUEUE_AT: usize = 1000;

fn request(key: &str, body: &str, idempotency_key: Option<&str>) -> lambda_http::Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri("/api/v1/events")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    if let Some(k) = idempotency_key {
        b = b.header("idempotency-key", k);
    }
    b.body(Body::Text(body.to_string())).expect("valid request")
}

async fn post(app: &App, key: &str, body: &str, idempotency_key: Option<&str>) -> (Duration, Duration) {
    let req = request(key, body, idempotency_key);
    let cpu = process_cpu();
    let t = Instant::now();
    let resp = hookline_local::router::route(app, req).await;
    let wall = t.elapsed();
    let cpu = process_cpu().saturating_sub(cpu);
    assert_eq!(resp.status().as_u16(), 202, "{:?}", resp.body());
    (wall, cpu)
}

/// `n` events; returns their latencies and the CPU time they took in all.
/// With `sdk`, the app moves to a fresh queue as one fills up (outside the timing).
async fn load(
    app: &mut App,
    key: &str,
    body: &str,
    n: usize,
    fanout: usize,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<(Vec<Duration>, Duration), BoxError> {
    let mut lat = Vec::with_capacity(n);
    let mut cpu = Duration::ZERO;
    let mut queued = 0;
    for _ in 0..n {
        let (w, c) = post(app, key, body, None).await;
        lat.push(w);
        cpu += c;
        queued += fanout;
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

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let emulators = Emulators::from_env();
    let servers = Servers::spawn(&emulators.dynamodb, &emulators.sqs)?;
    let base = stack::sdk_from_env().await;
    let table = stack::unique("bench-intake");
    stack::create_table(&base, &table).await?;
    let data = data::event_data(DATA_BYTES);
    let body = json!({"event_type": "submission.completed", "data": data}).to_string();
    let mut out = IntakeResults { data_bytes: serde_json::to_vec(&data)?.len(), ..IntakeResults::default() };
    println!("intake: POST /api/v1/events with {} bytes of event data, no Idempotency-Key", out.data_bytes);

    for (fanout, n_direct, n_stub) in PLAN {
        let settings = stack::settings(&table, "");
        let mut direct = App::new(settings.clone(), &base);
        let mut recorded = App::new(settings.clone(), &stack::sdk_via(&base, &servers.record_url()));
        let mut stub = App::new(settings, &stack::sdk_via(&base, &servers.stub_url()));
        stack::fresh_queue(&base, &mut direct).await?;
        stack::fresh_queue(&base, &mut recorded).await?;
        stack::fresh_queue(&base, &mut stub).await?;
        let (pid, key) = stack::create_project(&direct, &format!("fan-out {fanout}")).await?;
        stack::create_webhooks(&direct, pid, fanout, &servers.receiver_url("/hook")).await?;
        let rotate = Some(&base);

        load(&mut direct, &key, &body, 3, fanout, rotate).await?;
        let (lat, cpu) = load(&mut direct, &key, &body, n_direct, fanout, rotate).await?;
        let direct_sum = stats::summarize(&lat);

        servers.reset().await;
        load(&mut recorded, &key, &body, COUNTED, fanout, rotate).await?;
        let counts = servers.counts().await.record;
        let project = direct.store.get_project(pid).await?.ok_or("project")?;
        let input = EventInput { event_type: "submission.completed".into(), data: data.clone(), session_id: None };
        let outcome = intake::ingest(&direct, &project, input, None, body.as_bytes())
            .await
            .map_err(|e| format!("ingest: {e}"))?;
        stack::fresh_queue(&base, &mut direct).await?;

        load(&mut stub, &key, &body, 3, fanout, None).await?;
        let (stub_lat, stub_cpu) = load(&mut stub, &key, &body, n_stub, fanout, None).await?;
        let stub_sum = stats::summarize(&stub_lat);

        let f = IntakeFanout {
            fanout,
            direct: direct_sum,
            direct_cpu_ms_per_event: cpu.as_secs_f64() * 1000.0 / n_direct as f64,
            stub: stub_sum,
            stub_cpu_ms_per_event: stub_cpu.as_secs_f64() * 1000.0 / n_stub as f64,
            calls_per_event: per(&counts.calls, COUNTED),
            dynamodb_calls_per_event: counts.service("dynamodb:") as f64 / COUNTED as f64,
            sqs_calls_per_event: counts.service("sqs:") as f64 / COUNTED as f64,
            store_batches: outcome.calls.store_batches,
            queue_batches: outcome.calls.queue_batches,
            read_units_per_event: counts.read_units_total() / COUNTED as f64,
            write_units_per_event: counts.write_units_total() / COUNTED as f64,
            write_units_by_operation: counts.write_units.iter().map(|(k, v)| (k.clone(), v / COUNTED as f64)).collect(),
        };
        println!("fan-out {fanout:>4}:");
        println!("  against the emulators:        {}  CPU {:.3} ms/event", f.direct, f.direct_cpu_ms_per_event);
        println!("  storage answered instantly:   {}  CPU {:.3} ms/event", f.stub, f.stub_cpu_ms_per_event);
        println!(
            "  SDK calls per event: {:.1} ({:.1} DynamoDB + {:.1} SQS): {}",
            f.dynamodb_calls_per_event + f.sqs_calls_per_event,
            f.dynamodb_calls_per_event,
            f.sqs_calls_per_event,
            counts.describe_per(COUNTED as f64)
        );
        println!(
            "  ingest reports store_batches={} queue_batches={} (expected ceil(({fanout}+1)/25)={}, ceil({fanout}/10)={})",
            f.store_batches,
            f.queue_batches,
            (fanout + 1).div_ceil(25),
            fanout.div_ceil(10)
        );
        println!(
            "  request units per event: read {:.1}, write {:.1} ({:?})",
            f.read_units_per_event, f.write_units_per_event, f.write_units_by_operation
        );

        if fanout == 10 {
            servers.reset().await;
            for i in 0..COUNTED {
                let idem = format!("bench-{}-{i}", stack::unique("k"));
                post(&recorded, &key, &body, Some(&idem)).await;
            }
            let c = servers.counts().await.record;
            out.idempotent_calls_per_event = per(&c.calls, COUNTED);
            out.idempotent_write_units_per_event = c.write_units_total() / COUNTED as f64;
            println!(
                "  with an Idempotency-Key: {:.1} calls per event: {}",
                c.total() as f64 / COUNTED as f64,
                c.describe_per(COUNTED as f64)
            );
            stack::fresh_queue(&base, &mut recorded).await?;
        }
        out.fanouts.push(f);
    }
    let path = results::write("intake", &out)?;
    println!("figures written to {}", path.display());
    drop(servers);
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}
