//! What a delivered webhook costs, end to end, and how fast the delivery function is.
//!
//! 1. **Scenarios, counted at the proxy**: events posted through the local router to the
//!    real intake (one per request, or through `POST /api/v1/events/batch`), their
//!    wake-ups taken off the SQS queue and handed to `process_batch` in batches of 10
//!    messages, as the event source mapping does, until the receiver has answered 2xx
//!    for every delivery. Every DynamoDB and SQS call of the intake and of the delivery
//!    function is counted by operation and item kind, with the request units DynamoDB
//!    Local reports. Fan-out 1, 10 and 1000 with and without the batch route; a receiver
//!    answering 500 then 200 (a failed attempt and its retry); a webhook with a
//!    `rate_limit` of 5 a second getting 20 deliveries (throttling); fan-out 10 to an SQS
//!    queue destination in moto through an assumed role (docs/api.md §16) instead of HTTP,
//!    whose messages are taken off that queue as they arrive. Each scenario checks that
//!    every delivery arrived once and is stored as `success`.
//! 2. **Speed**: the same batches against the emulators, through the proxy, and with
//!    storage answered instantly by the stub (`delivery_bench replay …`, a child process
//!    so that it can also run under callgrind for an instruction count that does not
//!    depend on the machine's load), on the functions' current-thread runtime.
//! 3. **Duplicates**: a batch handled by two instances at once, then once more: one POST
//!    per delivery, and what the copies cost.
//! 4. **Concurrency**: 10 deliveries to a receiver that takes 100 ms each, in one
//!    message, in 10 messages of one batch, and in 10 batches.
//!
//! Wall and process CPU time (`getrusage`, every thread of the process; the receiver
//! and the proxy run in the separate `bench-servers` process). Run by scripts/bench.sh;
//! the figures go to stdout and `delivery.json`.
//!
//! `delivery_bench destination` (`scripts/bench.sh destination`) runs only fan-out 10 over
//! HTTP and to the SQS destination, counted, then their batches replayed against the stub
//! alternately, and writes `destination.json`.

// The functions' allocator, so that what runs in this process (the replayed handler) is as shipped.
#[global_allocator]
static ALLOCATOR: hookline::Allocator = hookline::Allocator;

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use hookline::config::Settings;
use hookline::destination::parse_destination;
use hookline::ids::ProjectId;
use hookline::model::Webhook;
use hookline::sender::Sender;
use hookline::service::deliver::{build_payload, process_batch, Incoming};
use hookline::service::webhooks::WebhookChanges;
use hookline::App;
use hookline_benches::flow::{self, SQS_BATCH};
use hookline_benches::results::{
    self, Concurrency, DeliveryResults, DeliveryRun, DestinationResults, Duplicates, Scenario,
};
use hookline_benches::rusage::Meter;
use hookline_benches::servers::{Servers, Tally};
use hookline_benches::stack::{self, BoxError};
use hookline_benches::{data, stats};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

const DATA_BYTES: usize = 1024;
/// Events of the fan-out 10 timing runs (600 deliveries, 60 messages, 6 invocations).
const EVENTS: usize = 60;
const SLOW_MS: u64 = 100;
/// Passes over the recorded batches per stub run (after one warm-up pass), and runs.
const STUB_PASSES: usize = 5;
const STUB_RUNS: usize = 5;
const CALLGRIND_PASSES: usize = 2;
/// How long a scenario may wait for retries and postponed deliveries.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// moto's one account: the destination's role and queue are in it, and so is "the
/// deployment", whose settings must then allow roles in its own account (docs/api.md §16).
const MOTO_ACCOUNT: &str = "123456789012";
const DESTINATION: &str = "fan-out 10 to an SQS queue destination through an assumed role, POST /api/v1/events";

/// What every part of the run shares.
struct Setup {
    base: SdkConfig,
    servers: Servers,
    table: String,
    data: String,
}

/// A project with its webhooks and its own queue, and an `App` per storage path.
struct Fixture {
    direct: App,
    recorded: App,
    stub: App,
    sender: Sender,
    pid: ProjectId,
    key: String,
    webhooks: Vec<Webhook>,
    queue_url: String,
    /// Ordering keys the fixture's events are spread over (0: none).
    ordering_keys: usize,
    /// The SQS queue the webhooks deliver to instead of the receiver (docs/api.md §16).
    destination_queue: Option<String>,
}

async fn fixture(
    s: &Setup,
    name: &str,
    webhooks: usize,
    path: &str,
    rate_limit: Option<u32>,
    retry_schedule: Option<Vec<Duration>>,
) -> Result<Fixture, BoxError> {
    let base = WebhookChanges { rate_limit: Some(rate_limit), ..WebhookChanges::default() };
    fixture_with(s, name, webhooks, path, base, retry_schedule, 0).await
}

/// A fixture whose webhooks have `base`'s settings; its events carry `ordering_keys` keys.
async fn fixture_with(
    s: &Setup,
    name: &str,
    webhooks: usize,
    path: &str,
    base: WebhookChanges,
    retry_schedule: Option<Vec<Duration>>,
    ordering_keys: usize,
) -> Result<Fixture, BoxError> {
    let queue_url = stack::create_queue(&s.base, &stack::unique("bench-queue")).await?;
    let mut settings = stack::settings(&s.table, &queue_url);
    if let Some(r) = retry_schedule {
        settings.retry_schedule = r;
    }
    let destination_queue = match &base.destination {
        Some(Some(hookline::destination::Destination::Sqs { queue_url, .. })) => {
            allow_moto_roles(&mut settings);
            Some(queue_url.clone())
        }
        _ => None,
    };
    let direct = App::new(settings.clone(), &s.base);
    let recorded = App::new(settings.clone(), &stack::sdk_via(&s.base, &s.servers.record_url()));
    let stub = App::new(settings.clone(), &stack::sdk_via(&s.base, &s.servers.stub_url()));
    let sender = Sender::new(&settings);
    let (pid, key) = stack::create_project(&direct, name).await?;
    let webhooks = stack::create_webhooks_with(&direct, pid, webhooks, &s.servers.receiver_url(path), base).await?;
    Ok(Fixture { direct, recorded, stub, sender, pid, key, webhooks, queue_url, ordering_keys, destination_queue })
}

/// Settings of a deployment whose destination roles are in moto's one account.
fn allow_moto_roles(settings: &mut Settings) {
    settings.aws_account_id = Some(MOTO_ACCOUNT.to_string());
    settings.allow_own_account_roles = true;
}

/// A fixture of `webhooks` webhooks that deliver to one new SQS queue in moto through one
/// role (docs/api.md §16), checked as the API checks a `destination`. moto's STS answers
/// `AssumeRole` for any role ARN, so no IAM role is created.
async fn destination_fixture(s: &Setup, name: &str, webhooks: usize) -> Result<Fixture, BoxError> {
    let sqs = aws_sdk_sqs::Client::new(&s.base);
    let url = sqs.create_queue().queue_name(stack::unique("bench-destination")).send().await?.queue_url;
    let url = url.ok_or("no queue URL")?;
    let mut settings = stack::settings(&s.table, "");
    allow_moto_roles(&mut settings);
    let role = format!("arn:aws:iam::{MOTO_ACCOUNT}:role/hookline-bench-destination");
    let destination = parse_destination(
        &serde_json::json!({"type": "sqs", "queue_url": url, "role_arn": role}),
        &settings.destination_rules(),
    )
    .map_err(|e| format!("destination refused: {e:?}"))?;
    let base = WebhookChanges { destination: Some(Some(destination)), ..WebhookChanges::default() };
    fixture_with(s, name, webhooks, "/unused", base, None, 0).await
}

/// Takes every message now on a destination queue, deleting it (moto's SendMessage slows
/// down as a queue grows); returns their `webhook-id` attributes.
async fn take_destination_messages(sdk: &SdkConfig, url: &str) -> Result<Vec<String>, BoxError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut ids = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("webhook-id")
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return Ok(ids);
        }
        flow::delete_received(&sqs, url, &got).await?;
        ids.extend(got.into_iter().map(|m| {
            m.message_attributes
                .and_then(|mut a| a.remove("webhook-id"))
                .and_then(|v| v.string_value)
                .unwrap_or_default()
        }));
    }
}

/// What arrived where a fixture's webhooks deliver since a scenario began: 2xx answers of
/// the receiver, or messages on the destination queue (taken off it as they come).
#[derive(Default)]
struct Arrivals {
    /// Distinct deliveries that arrived, and arrivals of a delivery that had already arrived.
    delivered: u64,
    doubled: u64,
    /// Requests the receiver got, or messages the destination queue got.
    requests: u64,
    ids: HashSet<String>,
}

impl Arrivals {
    async fn update(&mut self, s: &Setup, f: &Fixture) -> Result<(), BoxError> {
        match &f.destination_queue {
            None => {
                let c = s.servers.counts().await;
                self.delivered = c.received_ok - c.duplicate_successes;
                self.doubled = c.duplicate_successes;
                self.requests = c.received;
            }
            Some(url) => {
                for id in take_destination_messages(&s.base, url).await? {
                    self.requests += 1;
                    if !self.ids.insert(id) {
                        self.doubled += 1;
                    }
                }
                self.delivered = self.ids.len() as u64;
            }
        }
        Ok(())
    }
}

/// Deliveries of `n` events through the fixture's own clients, before anything is counted:
/// connections, the emulators' first-call costs (and, for a destination, its queue emptied).
async fn warm_up(s: &Setup, f: &Fixture, n: usize) -> Result<(), BoxError> {
    flow::post_events(&f.direct, &f.key, &s.data, n, 1).await?;
    let warm = flow::take_messages(&s.base, &f.queue_url, Duration::from_secs(5)).await?;
    flow::deliver(&f.direct, &f.sender, &warm).await;
    Arrivals::default().update(s, f).await
}

fn shuffled(mut messages: Vec<Incoming>) -> Vec<Incoming> {
    // SQS mixes the messages of a standard queue: a batch holds messages of several events.
    messages.shuffle(&mut rand::rng());
    messages
}

fn batches(messages: &[Incoming]) -> Vec<Vec<Incoming>> {
    messages.chunks(SQS_BATCH).map(<[Incoming]>::to_vec).collect()
}

fn run_of(
    label: &str,
    deliveries: usize,
    round: &flow::Round,
    m: hookline_benches::rusage::Measured,
    received: u64,
) -> DeliveryRun {
    DeliveryRun {
        label: label.to_string(),
        deliveries,
        batches: round.invocations,
        wall_s: m.wall_s,
        cpu_s: m.cpu_s,
        deliveries_per_s: deliveries as f64 / m.wall_s,
        wall_ms_per_delivery: m.wall_s * 1000.0 / deliveries as f64,
        cpu_ms_per_delivery: m.cpu_s * 1000.0 / deliveries as f64,
        batch: stats::summarize(&round.walls),
        failed: round.failed,
        received,
        instructions_per_delivery: None,
        cpu_ms_per_delivery_runs: vec![m.cpu_s * 1000.0 / deliveries as f64],
    }
}

fn print_run(r: &DeliveryRun) {
    println!(
        "{:<44} {:>6} deliveries  {:>7.0}/s  wall {:.3} ms/delivery  CPU {:.3} ms/delivery  invocation: {}  (failed {}, receiver got {})",
        r.label, r.deliveries, r.deliveries_per_s, r.wall_ms_per_delivery, r.cpu_ms_per_delivery, r.batch, r.failed, r.received
    );
}

/// One end-to-end scenario through the proxy; also returns the first round's batches
/// (for replays) and its timing.
#[allow(clippy::too_many_arguments)]
async fn scenario(
    s: &Setup,
    f: &Fixture,
    name: &str,
    description: &str,
    events: usize,
    per_request: usize,
) -> Result<(Scenario, Vec<Vec<Incoming>>, DeliveryRun), BoxError> {
    let started = Instant::now();
    let (status_before, attempts_before) = flow::stored_deliveries(&f.direct, &f.webhooks).await?;
    s.servers.reset().await;
    let requests = flow::post_events_keyed(&f.recorded, &f.key, &s.data, events, per_request, f.ordering_keys).await?;
    let intake = s.servers.counts().await.record;
    s.servers.reset().await;
    let first = shuffled(flow::take_messages(&s.base, &f.queue_url, Duration::from_secs(5)).await?);
    let deliveries = flow::deliveries_named(&first);
    let first_batches = batches(&first);
    let meter = Meter::start();
    let round = flow::deliver(&f.recorded, &f.sender, &first).await;
    let m = meter.stop();
    let mut arrivals = Arrivals::default();
    arrivals.update(s, f).await?;
    let timing = run_of("through the recording proxy", deliveries, &round, m, arrivals.requests);
    let (mut messages, mut invocations, mut failed) = (first.len(), round.invocations, round.failed);
    // Retries and postponed deliveries come back through the queue; then one last look
    // for any message left over.
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    let mut last_look = false;
    loop {
        arrivals.update(s, f).await?;
        let done = arrivals.delivered as usize >= deliveries;
        if (done && last_look) || Instant::now() > deadline {
            break;
        }
        let wait = if done { Duration::from_millis(1500) } else { Duration::from_secs(2) };
        last_look = done;
        let more = shuffled(flow::take_messages(&s.base, &f.queue_url, wait).await?);
        if more.is_empty() {
            continue;
        }
        messages += more.len();
        let r = flow::deliver(&f.recorded, &f.sender, &more).await;
        invocations += r.invocations;
        failed += r.failed;
    }
    let counts = s.servers.counts().await;
    arrivals.update(s, f).await?;
    let log = s.servers.received().await;
    // What this scenario's deliveries left in storage (the fixture's earlier ones subtracted).
    let (mut stored_status, mut stored_attempts) = flow::stored_deliveries(&f.direct, &f.webhooks).await?;
    stored_attempts -= attempts_before;
    for (k, v) in status_before {
        if let Some(n) = stored_status.get_mut(&k) {
            *n -= v;
        }
    }
    stored_status.retain(|_, n| *n > 0);
    let ok: Vec<u64> = log.iter().filter(|r| r.status < 300).map(|r| r.at_ms).collect();
    let span = match (ok.iter().min(), ok.iter().max()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
        _ => 0.0,
    };
    let mut per_second: BTreeMap<u64, usize> = BTreeMap::new();
    let first_ok = ok.iter().min().copied().unwrap_or(0);
    for t in &ok {
        *per_second.entry((t - first_ok) / 1000).or_default() += 1;
    }
    let sc = Scenario {
        name: name.to_string(),
        description: description.to_string(),
        fanout: f.webhooks.len(),
        events,
        events_per_request: per_request,
        requests,
        deliveries,
        delivered: arrivals.delivered as usize,
        duplicate_successes: arrivals.doubled,
        receiver_requests: arrivals.requests,
        failed_attempts: log.iter().filter(|r| r.status >= 300).count() as u64,
        messages,
        invocations,
        failed_messages: failed,
        intake,
        delivery: counts.record,
        stored_status,
        stored_attempts,
        receiver_span_s: span,
        receiver_max_per_second: per_second.values().copied().max().unwrap_or(0),
        wall_s: started.elapsed().as_secs_f64(),
    };
    print_scenario(&sc);
    Ok((sc, first_batches, timing))
}

fn print_tally(title: &str, t: &Tally, per: f64) {
    println!(
        "  {title}: {:.3} WRU + {:.3} RRU per delivery (DynamoDB Local); {} condition failures; BatchGetItem keys {} found {}; SQS messages sent {}",
        t.write_units_total() / per,
        t.read_units_total() / per,
        t.condition_failures(),
        t.batch_get_keys,
        t.batch_get_found,
        t.sqs_messages_sent
    );
    print!("{}", t.describe_by_item(per, "delivery"));
}

fn print_scenario(s: &Scenario) {
    println!(
        "scenario {}: {} — fan-out {}, {} events in {} requests, {} deliveries; {}: {} requests, {} distinct 2xx, {} doubled, {} failed attempts; {} messages in {} invocations ({} reported failed); stored {:?}, {} attempts; {:.1} s",
        s.name,
        s.description,
        s.fanout,
        s.events,
        s.requests,
        s.deliveries,
        if s.destination_calls() > 0.0 { "destination queue (a message counts as a 2xx)" } else { "receiver" },
        s.receiver_requests,
        s.delivered,
        s.duplicate_successes,
        s.failed_attempts,
        s.messages,
        s.invocations,
        s.failed_messages,
        s.stored_status,
        s.stored_attempts,
        s.wall_s
    );
    if s.receiver_max_per_second > 0 && s.name.contains("throttl") {
        println!(
            "  receiver: 2xx answers over {:.1} s, at most {} in one second",
            s.receiver_span_s, s.receiver_max_per_second
        );
    }
    let n = s.unit();
    print_tally("intake", &s.intake, n);
    print_tally("delivery function", &s.delivery, n);
    if s.destination_calls() > 0.0 || s.assume_role_calls() > 0.0 {
        println!(
            "  destination: {:.4} STS AssumeRole calls and {:.3} calls in the customer's account per delivered webhook; Hookline's own SQS requests {:.3} per delivery",
            s.assume_role_calls(),
            s.destination_calls(),
            s.sqs_requests()
        );
    }
    if !s.clean() {
        println!(
            "  !! PROBLEM: {} of {} delivered, {} doubled, {} messages failed, stored {:?}",
            s.delivered, s.deliveries, s.duplicate_successes, s.failed_messages, s.stored_status
        );
    }
}

// ---------------------------------------------------------------------------------
// Replays against the stub, in a child process.

#[derive(Debug, Serialize, Deserialize)]
struct ReplayOut {
    deliveries: usize,
    batches: usize,
    wall_s: f64,
    cpu_s: f64,
    failed: usize,
    walls_ms: Vec<f64>,
}

/// Runs everything a measured stretch of work does inside this one frame, so that
/// callgrind's `--toggle-collect=*measured_region*` counts exactly it (on a
/// current-thread runtime every task runs on this thread, inside `block_on`).
#[inline(never)]
fn measured_region<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    rt.block_on(f)
}

/// `delivery_bench replay FILE STUB_URL TABLE QUEUE_URL current|multi PASSES`
fn replay_child(args: &[String]) -> Result<(), BoxError> {
    let [file, stub_url, table, queue_url, flavor, passes] = args else {
        return Err("usage: delivery_bench replay FILE STUB_URL TABLE QUEUE_URL current|multi PASSES".into());
    };
    let passes: usize = passes.parse()?;
    let recorded: Vec<Vec<(String, String)>> = serde_json::from_slice(&std::fs::read(file)?)?;
    let batches: Vec<Vec<Incoming>> = recorded
        .into_iter()
        .map(|b| b.into_iter().map(|(message_id, body)| Incoming { message_id, body }).collect())
        .collect();
    let rt = match flavor.as_str() {
        "multi" => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    let settings = stack::settings(table, queue_url);
    let (app, sender) = rt.block_on(async {
        let sdk = stack::sdk_via(&stack::sdk_from_env().await, stub_url);
        (App::new(settings.clone(), &sdk), Sender::new(&settings))
    });
    let deliveries_per_pass = flow::deliveries_named(&batches.concat());
    // Warm-up: connections, lazy statics, the allocator's arenas.
    rt.block_on(async {
        for b in &batches {
            process_batch(&app, &sender, b).await;
        }
    });
    let meter = Meter::start();
    let (failed, walls) = measured_region(&rt, async {
        let mut failed = 0;
        let mut walls = Vec::new();
        for _ in 0..passes {
            for b in &batches {
                let t = Instant::now();
                failed += process_batch(&app, &sender, b).await.len();
                walls.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        (failed, walls)
    });
    let m = meter.stop();
    let out = ReplayOut {
        deliveries: deliveries_per_pass * passes,
        batches: batches.len() * passes,
        wall_s: m.wall_s,
        cpu_s: m.cpu_s,
        failed,
        walls_ms: walls,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// Writes `batches` for a replay child; returns the file.
fn write_batches(name: &str, batches: &[Vec<Incoming>]) -> Result<std::path::PathBuf, BoxError> {
    let plain: Vec<Vec<(&str, &str)>> =
        batches.iter().map(|b| b.iter().map(|m| (m.message_id.as_str(), m.body.as_str())).collect()).collect();
    let dir = results::out_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("replay-{name}.json"));
    std::fs::write(&path, serde_json::to_vec(&plain)?)?;
    Ok(path)
}

struct Replayer<'a> {
    s: &'a Setup,
    queue_url: String,
}

impl Replayer<'_> {
    fn command(
        &self,
        file: &std::path::Path,
        flavor: &str,
        passes: usize,
        callgrind: bool,
    ) -> Result<Command, BoxError> {
        let exe = std::env::current_exe()?;
        let args: Vec<String> = vec![
            "replay".into(),
            file.display().to_string(),
            self.s.servers.stub_url(),
            self.s.table.clone(),
            self.queue_url.clone(),
            flavor.into(),
            passes.to_string(),
        ];
        Ok(if callgrind {
            let mut c = Command::new("valgrind");
            c.arg("--tool=callgrind")
                .arg("--toggle-collect=*measured_region*")
                .arg(format!("--callgrind-out-file={}", results::out_dir().join("callgrind.delivery.%p").display()))
                .arg(exe)
                .args(args);
            c
        } else {
            let mut c = Command::new(exe);
            c.args(args);
            c
        })
    }

    /// One child run; with `callgrind`, also the instructions it counted.
    async fn once(
        &self,
        file: &std::path::Path,
        flavor: &str,
        passes: usize,
        callgrind: bool,
    ) -> Result<(ReplayOut, Option<u64>, Tally), BoxError> {
        self.s.servers.reset().await;
        let mut cmd = self.command(file, flavor, passes, callgrind)?;
        let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("replay child failed ({}): {stderr}", out.status).into());
        }
        let line = stdout.lines().last().ok_or("replay child printed nothing")?;
        let r: ReplayOut = serde_json::from_str(line)?;
        let instructions =
            stderr.lines().find_map(|l| l.split("Collected :").nth(1)).and_then(|n| n.trim().parse::<u64>().ok());
        Ok((r, instructions, self.s.servers.counts().await.stub))
    }

    /// `runs` child runs; the run with the median CPU per delivery, every run's figure
    /// kept; with `callgrind`, one more run under callgrind for the instruction count.
    async fn median(
        &self,
        label: &str,
        file: &std::path::Path,
        flavor: &str,
        runs: usize,
        callgrind: bool,
    ) -> Result<(DeliveryRun, Tally), BoxError> {
        let mut all = Vec::new();
        let mut tally = Tally::default();
        for _ in 0..runs {
            let (r, t) = self.timed(file, flavor).await?;
            tally = t;
            all.push(r);
        }
        Ok((self.summarize(label, all, file, flavor, callgrind).await, tally))
    }

    /// As `median` for several sets of batches on the current-thread runtime, their runs
    /// alternating (A B A B …) so that a change in the machine's load falls on all of them.
    async fn alternating(
        &self,
        sets: &[(&str, &std::path::Path)],
        runs: usize,
        callgrind: bool,
    ) -> Result<Vec<(DeliveryRun, Tally)>, BoxError> {
        let mut all: Vec<Vec<(ReplayOut, u64)>> = sets.iter().map(|_| Vec::new()).collect();
        let mut tallies = vec![Tally::default(); sets.len()];
        for _ in 0..runs {
            for (i, (_, file)) in sets.iter().enumerate() {
                let (r, t) = self.timed(file, "current").await?;
                all[i].push(r);
                tallies[i] = t;
            }
        }
        let mut out = Vec::new();
        for ((label, file), (runs, tally)) in sets.iter().zip(all.into_iter().zip(tallies)) {
            out.push((self.summarize(label, runs, file, "current", callgrind).await, tally));
        }
        Ok(out)
    }

    /// One timed child run of `STUB_PASSES` passes: what it measured, the requests the
    /// receiver got, and the calls at the stub.
    async fn timed(&self, file: &std::path::Path, flavor: &str) -> Result<((ReplayOut, u64), Tally), BoxError> {
        let (r, _, t) = self.once(file, flavor, STUB_PASSES, false).await?;
        let received = self.s.servers.counts().await.received;
        Ok(((r, received), t))
    }

    /// The run with the median CPU per delivery of `all`, every run's figure kept; with
    /// `callgrind`, one more run under callgrind for the instruction count.
    async fn summarize(
        &self,
        label: &str,
        mut all: Vec<(ReplayOut, u64)>,
        file: &std::path::Path,
        flavor: &str,
        callgrind: bool,
    ) -> DeliveryRun {
        let runs = all.len();
        all.sort_by(|a, b| (a.0.cpu_s / a.0.deliveries as f64).total_cmp(&(b.0.cpu_s / b.0.deliveries as f64)));
        let per_run: Vec<f64> = all.iter().map(|(r, _)| r.cpu_s * 1000.0 / r.deliveries as f64).collect();
        let (r, received) = &all[all.len() / 2];
        let walls: Vec<Duration> = r.walls_ms.iter().map(|ms| Duration::from_secs_f64(ms / 1000.0)).collect();
        let mut run = DeliveryRun {
            label: label.to_string(),
            deliveries: r.deliveries,
            batches: r.batches,
            wall_s: r.wall_s,
            cpu_s: r.cpu_s,
            deliveries_per_s: r.deliveries as f64 / r.wall_s,
            wall_ms_per_delivery: r.wall_s * 1000.0 / r.deliveries as f64,
            cpu_ms_per_delivery: r.cpu_s * 1000.0 / r.deliveries as f64,
            batch: stats::summarize(&walls),
            failed: r.failed,
            received: *received,
            instructions_per_delivery: None,
            cpu_ms_per_delivery_runs: per_run,
        };
        if callgrind {
            match self.once(file, flavor, CALLGRIND_PASSES, true).await {
                Ok((r, Some(ir), _)) if r.failed == 0 => {
                    run.instructions_per_delivery = Some(ir as f64 / r.deliveries as f64)
                }
                Ok((r, Some(_), _)) => println!("  (callgrind run: {} messages failed; count left out)", r.failed),
                Ok((_, None, _)) => println!("  (callgrind printed no instruction count)"),
                Err(e) => println!("  (callgrind run failed: {e})"),
            }
        }
        print_run(&run);
        println!(
            "    CPU ms/delivery of the {runs} runs: {:?}{}",
            run.cpu_ms_per_delivery_runs.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
            run.instructions_per_delivery
                .map_or(String::new(), |i| format!("; callgrind: {i:.0} instructions per delivery"))
        );
        run
    }
}

fn has_valgrind() -> bool {
    std::env::var("HOOKLINE_BENCH_CALLGRIND").map_or(true, |v| v != "0")
        && Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------
// Duplicate messages.

/// 10 events at fan-out 10: their batch handled by two "instances" at once, then again.
async fn duplicates(s: &Setup) -> Result<Duplicates, BoxError> {
    let f = fixture(s, "duplicates", 10, "/hook", None, None).await?;
    flow::post_events(&f.recorded, &f.key, &s.data, 10, 1).await?;
    let messages = flow::take_messages(&s.base, &f.queue_url, Duration::from_secs(5)).await?;
    let deliveries = flow::deliveries_named(&messages);
    s.servers.reset().await;
    let (a, b) = futures::join!(
        process_batch(&f.recorded, &f.sender, &messages),
        process_batch(&f.recorded, &f.sender, &messages)
    );
    let concurrent = s.servers.counts().await;
    s.servers.reset().await;
    let c = process_batch(&f.recorded, &f.sender, &messages).await;
    let late = s.servers.counts().await;
    let leftover = flow::take_messages(&s.base, &f.queue_url, Duration::from_millis(1500)).await?;
    let (stored_status, stored_attempts) = flow::stored_deliveries(&f.direct, &f.webhooks).await?;
    let d = Duplicates {
        deliveries,
        concurrent_receiver_requests: concurrent.received,
        concurrent: concurrent.record,
        late_receiver_requests: late.received,
        late: late.record,
        stored_status,
        stored_attempts,
    };
    println!(
        "duplicates: {deliveries} deliveries; two copies of the batch at once: receiver got {} (failed messages {}+{}); a late copy: receiver got {} (failed {}); stored {:?}, {} attempts; {} messages left on the queue",
        d.concurrent_receiver_requests,
        a.len(),
        b.len(),
        d.late_receiver_requests,
        c.len(),
        d.stored_status,
        d.stored_attempts,
        leftover.len()
    );
    print_tally("  both copies at once", &d.concurrent, deliveries as f64);
    print_tally("  the late copy", &d.late, deliveries as f64);
    Ok(d)
}

// ---------------------------------------------------------------------------------
// Concurrency.

async fn time_batches(app: &App, sender: &Sender, batches: &[Vec<Incoming>]) -> Result<f64, BoxError> {
    let t = Instant::now();
    for b in batches {
        let failed = process_batch(app, sender, b).await;
        if !failed.is_empty() {
            return Err(format!("slow batch failed: {failed:?}").into());
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// Messages for the concurrency runs, posted with `app`: one message of 10 deliveries,
/// 10 messages of one in one batch, the same again as 10 batches.
async fn slow_sets(
    s: &Setup,
    ten: &Fixture,
    one: &Fixture,
    app_ten: &App,
    app_one: &App,
) -> Result<[Vec<Vec<Incoming>>; 3], BoxError> {
    flow::post_events(app_ten, &ten.key, &s.data, 1, 1).await?;
    let a = flow::take_messages(&s.base, &ten.queue_url, Duration::from_secs(5)).await?;
    flow::post_events(app_one, &one.key, &s.data, 10, 1).await?;
    let b = flow::take_messages(&s.base, &one.queue_url, Duration::from_secs(5)).await?;
    flow::post_events(app_one, &one.key, &s.data, 10, 1).await?;
    let c = flow::take_messages(&s.base, &one.queue_url, Duration::from_secs(5)).await?;
    if a.len() != 1 || b.len() != 10 || c.len() != 10 {
        return Err(format!("unexpected message counts {} {} {}", a.len(), b.len(), c.len()).into());
    }
    Ok([vec![a], vec![b], c.into_iter().map(|m| vec![m]).collect()])
}

async fn concurrency(
    app_ten: &App,
    app_one: &App,
    sender: &Sender,
    sets: &[Vec<Vec<Incoming>>; 3],
) -> Result<Concurrency, BoxError> {
    Ok(Concurrency {
        receiver_delay_ms: SLOW_MS,
        one_message_of_10_ms: time_batches(app_ten, sender, &sets[0]).await?,
        one_batch_of_10_messages_ms: time_batches(app_one, sender, &sets[1]).await?,
        ten_batches_of_1_ms: time_batches(app_one, sender, &sets[2]).await?,
    })
}

fn print_concurrency(what: &str, c: &Concurrency) {
    println!(
        "concurrency ({what}): receiver takes {SLOW_MS} ms; one message of 10 deliveries: {:.1} ms; 10 messages of 1 in one batch: {:.1} ms; 10 batches of 1: {:.1} ms",
        c.one_message_of_10_ms, c.one_batch_of_10_messages_ms, c.ten_batches_of_1_ms
    );
}

// ---------------------------------------------------------------------------------

async fn run() -> Result<(), BoxError> {
    let (_, servers, base, table) = stack::start("bench-delivery").await?;
    let raw = data::raw_data(DATA_BYTES);
    let s = Setup { base, servers, table, data: raw.get().to_string() };

    let f10 = fixture(&s, "fan-out 10", 10, "/hook", None, None).await?;
    let body_bytes = {
        let mut e = data::event(raw.clone());
        e.project_id = f10.pid;
        build_payload(&e, &f10.webhooks[0]).body.len()
    };
    println!(
        "delivery: {} bytes of event data ({body_bytes}-byte payloads); SQS batches of {SQS_BATCH} messages, one invocation at a time",
        s.data.len()
    );

    // Warm-up: connections, the emulators' first-call costs.
    flow::post_events(&f10.direct, &f10.key, &s.data, 20, 1).await?;
    let warm = flow::take_messages(&s.base, &f10.queue_url, Duration::from_secs(5)).await?;
    flow::deliver(&f10.direct, &f10.sender, &warm).await;

    // 1. Against the emulators, timed.
    flow::post_events(&f10.direct, &f10.key, &s.data, EVENTS, 1).await?;
    let msgs = shuffled(flow::take_messages(&s.base, &f10.queue_url, Duration::from_secs(5)).await?);
    s.servers.reset().await;
    let meter = Meter::start();
    let round = flow::deliver(&f10.direct, &f10.sender, &msgs).await;
    let m = meter.stop();
    let direct =
        run_of("against the emulators", flow::deliveries_named(&msgs), &round, m, s.servers.counts().await.received);
    print_run(&direct);

    // 2. The scenarios, counted at the proxy.
    let mut scenarios = Vec::new();
    let (sc, f10_batches, through_proxy) =
        scenario(&s, &f10, "fanout10", "fan-out 10, POST /api/v1/events", EVENTS, 1).await?;
    print_run(&through_proxy);
    scenarios.push(sc);
    let (sc, _, _) =
        scenario(&s, &f10, "fanout10_batch", "fan-out 10, POST /api/v1/events/batch (100 events)", 100, 100).await?;
    scenarios.push(sc);
    let f1 = fixture(&s, "fan-out 1", 1, "/hook", None, None).await?;
    let (sc, f1_batches, _) = scenario(&s, &f1, "fanout1", "fan-out 1, POST /api/v1/events", 100, 1).await?;
    scenarios.push(sc);
    let (sc, _, _) =
        scenario(&s, &f1, "fanout1_batch", "fan-out 1, POST /api/v1/events/batch (100 events)", 200, 100).await?;
    scenarios.push(sc);
    let f1000 = fixture(&s, "fan-out 1000", 1000, "/hook", None, None).await?;
    let (sc, _, _) = scenario(&s, &f1000, "fanout1000", "fan-out 1000, POST /api/v1/events", 2, 1).await?;
    scenarios.push(sc);
    let (sc, _, _) =
        scenario(&s, &f1000, "fanout1000_batch", "fan-out 1000, POST /api/v1/events/batch (2 events)", 2, 2).await?;
    scenarios.push(sc);
    let ffail = fixture(&s, "failing once", 10, "/fail-once/hook", None, Some(vec![Duration::from_secs(1); 3])).await?;
    let (sc, _, _) = scenario(
        &s,
        &ffail,
        "fanout10_fail_once",
        "fan-out 10, every receiver answers 500 then 200 (retry after ~1 s)",
        20,
        1,
    )
    .await?;
    scenarios.push(sc);
    let fthrottle = fixture(&s, "throttled", 1, "/hook", Some(5), None).await?;
    let (sc, _, _) = scenario(
        &s,
        &fthrottle,
        "throttled",
        "one webhook with rate_limit 5/s, 20 events in one batch request",
        20,
        20,
    )
    .await?;
    scenarios.push(sc);
    // Routing and shaping (docs/api.md §15): events no webhook's filter lets through, and
    // ordered webhooks with events spread over 5 ordering keys.
    let never = WebhookChanges { filter: Some(Some(r#"{"event": "never.sent"}"#.into())), ..WebhookChanges::default() };
    let ffiltered = fixture_with(&s, "filtered out", 10, "/hook", never, None, 0).await?;
    let (sc, _, _) = scenario(
        &s,
        &ffiltered,
        "filtered_out",
        "fan-out 10, every webhook's filter refuses the event (figures are per event)",
        20,
        1,
    )
    .await?;
    scenarios.push(sc);
    let ordered = WebhookChanges { ordered: Some(true), ..WebhookChanges::default() };
    let fordered = fixture_with(&s, "ordered", 10, "/hook", ordered, None, 5).await?;
    let (sc, _, _) = scenario(
        &s,
        &fordered,
        "fanout10_ordered",
        "fan-out 10, ordered webhooks, events over 5 ordering keys, POST /api/v1/events",
        20,
        1,
    )
    .await?;
    scenarios.push(sc);
    // A destination in the customer's account (docs/api.md §16): fan-out 10 to an SQS queue.
    let fdest = destination_fixture(&s, "destination", 10).await?;
    warm_up(&s, &fdest, 20).await?;
    let (sc, dest_batches, dest_proxy) = scenario(&s, &fdest, "fanout10_destination", DESTINATION, EVENTS, 1).await?;
    print_run(&dest_proxy);
    scenarios.push(sc);

    // 3. The recorded batches again, answered instantly (child processes).
    let replayer = Replayer { s: &s, queue_url: f10.queue_url.clone() };
    let callgrind = has_valgrind();
    let file10 = write_batches("fanout10", &f10_batches)?;
    let file1 = write_batches("fanout1", &f1_batches)?;
    let (stub, stub_tally) =
        replayer.median("stub, current-thread (as shipped)", &file10, "current", STUB_RUNS, callgrind).await?;
    let (stub_multi, _) = replayer.median("stub, multi-thread runtime", &file10, "multi", 3, false).await?;
    let (stub_f1, _) =
        replayer.median("stub, fan-out 1 (10 one-delivery messages)", &file1, "current", 3, callgrind).await?;
    println!(
        "  calls at the stub: {} per delivery; answers found by {:?}",
        stub_tally.describe_per(stub_calls_per(&stub)),
        stub_tally.matched
    );
    let file_dest = write_batches("fanout10_destination", &dest_batches)?;
    let (stub_dest, dest_tally) =
        replayer.median("stub, current-thread, SQS destination", &file_dest, "current", STUB_RUNS, callgrind).await?;
    println!(
        "  calls at the stub (destination): {} per delivery; answers found by {:?}",
        dest_tally.describe_per(stub_calls_per(&stub_dest)),
        dest_tally.matched
    );

    // 4. Duplicate messages (SQS is at-least-once).
    let dups = duplicates(&s).await?;

    // 5. Concurrency within a batch.
    let slow10 = fixture(&s, "slow 10", 10, &format!("/sleep/{SLOW_MS}/hook"), None, None).await?;
    let slow1 = fixture(&s, "slow 1", 1, &format!("/sleep/{SLOW_MS}/hook"), None, None).await?;
    let sets = slow_sets(&s, &slow10, &slow1, &slow10.direct, &slow1.direct).await?;
    let conc_direct = concurrency(&slow10.direct, &slow1.direct, &slow10.sender, &sets).await?;
    let sets = slow_sets(&s, &slow10, &slow1, &slow10.recorded, &slow1.recorded).await?;
    concurrency(&slow10.recorded, &slow1.recorded, &slow10.sender, &sets).await?;
    let conc_stub = concurrency(&slow10.stub, &slow1.stub, &slow10.sender, &sets).await?;
    print_concurrency("emulators", &conc_direct);
    print_concurrency("stub", &conc_stub);

    let per = stub_calls_per(&stub);
    let results = DeliveryResults {
        webhooks: 10,
        data_bytes: s.data.len(),
        body_bytes,
        scenarios,
        direct,
        through_proxy,
        stub,
        stub_multi_thread: stub_multi,
        stub_fanout1: stub_f1,
        stub_matched: stub_tally.matched.clone(),
        stub_calls_per_delivery: stub_tally.calls.iter().map(|(k, v)| (k.clone(), *v as f64 / per)).collect(),
        concurrency_emulators: conc_direct,
        concurrency_stub: conc_stub,
        duplicates: dups,
        stub_destination: Some(stub_dest),
    };
    let path = results::write("delivery", &results)?;
    println!("figures written to {}", path.display());
    let Setup { base, servers, table, .. } = s;
    drop(servers);
    // Leave nothing behind in the emulators' memory for the next benchmark.
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}

/// Deliveries a stub replay's calls are spread over: its passes and the warm-up pass.
fn stub_calls_per(r: &DeliveryRun) -> f64 {
    r.deliveries as f64 / STUB_PASSES as f64 * (STUB_PASSES + 1) as f64
}

/// `delivery_bench destination`: fan-out 10 over HTTP and to an SQS queue destination, the
/// same number of events posted the same way, counted at the proxy; then the two sets of
/// batches replayed against the stub, alternating.
async fn run_destination() -> Result<(), BoxError> {
    let (_, servers, base, table) = stack::start("bench-destination").await?;
    let raw = data::raw_data(DATA_BYTES);
    let s = Setup { base, servers, table, data: raw.get().to_string() };
    println!(
        "destination vs HTTP: fan-out 10, {EVENTS} events one per request, {} bytes of event data; SQS batches of {SQS_BATCH} messages, one invocation at a time",
        s.data.len()
    );
    let f10 = fixture(&s, "fan-out 10", 10, "/hook", None, None).await?;
    let fdest = destination_fixture(&s, "destination", 10).await?;
    warm_up(&s, &f10, 20).await?;
    warm_up(&s, &fdest, 20).await?;
    let (http, http_batches, http_proxy) =
        scenario(&s, &f10, "fanout10", "fan-out 10, POST /api/v1/events", EVENTS, 1).await?;
    print_run(&http_proxy);
    let (dest, dest_batches, dest_proxy) = scenario(&s, &fdest, "fanout10_destination", DESTINATION, EVENTS, 1).await?;
    print_run(&dest_proxy);

    let replayer = Replayer { s: &s, queue_url: f10.queue_url.clone() };
    let file_http = write_batches("fanout10", &http_batches)?;
    let file_dest = write_batches("fanout10_destination", &dest_batches)?;
    let sets =
        [("stub, current-thread, HTTP", file_http.as_path()), ("stub, current-thread, SQS destination", &file_dest)];
    let mut stubs = replayer.alternating(&sets, STUB_RUNS, has_valgrind()).await?.into_iter();
    let (http_stub, http_tally) = stubs.next().ok_or("no HTTP replay")?;
    let (dest_stub, dest_tally) = stubs.next().ok_or("no destination replay")?;
    let per_delivery = |t: &Tally, r: &DeliveryRun| -> BTreeMap<String, f64> {
        t.calls.iter().map(|(k, v)| (k.clone(), *v as f64 / stub_calls_per(r))).collect()
    };
    let results = DestinationResults {
        data_bytes: s.data.len(),
        http_stub_calls_per_delivery: per_delivery(&http_tally, &http_stub),
        destination_stub_calls_per_delivery: per_delivery(&dest_tally, &dest_stub),
        http,
        destination: dest,
        http_through_proxy: http_proxy,
        destination_through_proxy: dest_proxy,
        http_stub,
        destination_stub: dest_stub,
    };
    print_destination_comparison(&results);
    let path = results::write("destination", &results)?;
    println!("figures written to {}", path.display());
    let Setup { base, servers, table, .. } = s;
    drop(servers);
    if let Some(url) = &fdest.destination_queue {
        aws_sdk_sqs::Client::new(&base).delete_queue().queue_url(url).send().await?;
    }
    aws_sdk_dynamodb::Client::new(&base).delete_table().table_name(&table).send().await?;
    Ok(())
}

fn print_destination_comparison(r: &DestinationResults) {
    let (h, d) = (&r.http, &r.destination);
    let change = |a: f64, b: f64| if a > 0.0 { format!("{:+.0} %", (b / a - 1.0) * 100.0) } else { "-".into() };
    let units = |sc: &Scenario| {
        let n = sc.unit();
        format!(
            "{:.3} / {:.3} (intake {:.3} / {:.3} + delivery {:.3} / {:.3})",
            sc.billed_wru(),
            sc.billed_rru(),
            sc.intake.billed_write_units() / n,
            sc.intake.billed_read_units() / n,
            sc.delivery.billed_write_units() / n,
            sc.delivery.billed_read_units() / n
        )
    };
    println!(
        "\nfan-out 10, {} events one per request: HTTP {} deliveries, SQS destination {} deliveries",
        h.events, h.deliveries, d.deliveries
    );
    println!("  WRU / RRU per delivered webhook, as billed:  HTTP {}", units(h));
    println!("                                               destination {}", units(d));
    println!(
        "  STS AssumeRole per delivered webhook: HTTP {:.4}, destination {:.4} (calls: {} for the {} deliveries of a fresh process)",
        h.assume_role_calls(),
        d.assume_role_calls(),
        d.delivery.calls.get("sts:AssumeRole").copied().unwrap_or(0),
        d.deliveries
    );
    println!(
        "  calls in the customer's account per delivery: HTTP {:.3}, destination {:.3} ({:?}); Hookline's own SQS requests per delivery: {:.3} / {:.3}",
        h.destination_calls(),
        d.destination_calls(),
        d.delivery.calls.iter().filter(|(k, _)| k.starts_with("customer:")).collect::<Vec<_>>(),
        h.sqs_requests(),
        d.sqs_requests()
    );
    let (hp, dp) = (&r.http_through_proxy, &r.destination_through_proxy);
    println!(
        "  process CPU per delivery, first round through the recording proxy ({} batches): HTTP {:.3} ms, destination {:.3} ms ({})",
        hp.batches,
        hp.cpu_ms_per_delivery,
        dp.cpu_ms_per_delivery,
        change(hp.cpu_ms_per_delivery, dp.cpu_ms_per_delivery)
    );
    let (hs, ds) = (&r.http_stub, &r.destination_stub);
    println!(
        "  process CPU per delivery, stub, median of {} alternating runs of {} deliveries: HTTP {:.3} ms {:?}, destination {:.3} ms {:?} ({})",
        hs.cpu_ms_per_delivery_runs.len(),
        hs.deliveries,
        hs.cpu_ms_per_delivery,
        hs.cpu_ms_per_delivery_runs.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        ds.cpu_ms_per_delivery,
        ds.cpu_ms_per_delivery_runs.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        change(hs.cpu_ms_per_delivery, ds.cpu_ms_per_delivery)
    );
    if let (Some(a), Some(b)) = (hs.instructions_per_delivery, ds.instructions_per_delivery) {
        println!("  instructions per delivery (callgrind): HTTP {a:.0}, destination {b:.0} ({})", change(a, b));
    }
    let calls = |m: &BTreeMap<String, f64>| m.iter().map(|(k, v)| format!("{k} {v:.2}")).collect::<Vec<_>>().join(", ");
    println!("  calls at the stub per delivery: HTTP {}", calls(&r.http_stub_calls_per_delivery));
    println!("                                   destination {}", calls(&r.destination_stub_calls_per_delivery));
    if !h.clean() || !d.clean() {
        println!("  !! PROBLEM: a scenario did not deliver every delivery exactly once, stored success");
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The driver runs on a current-thread runtime, as the functions do.
    let rt = || tokio::runtime::Builder::new_current_thread().enable_all().build();
    match args.first().map(String::as_str) {
        Some("replay") => replay_child(&args[1..]),
        Some("destination") => rt()?.block_on(run_destination()),
        None => rt()?.block_on(run()),
        Some(other) => Err(format!("usage: delivery_bench [destination | replay …]; got {other:?}").into()),
    }
}
