//! `scripts/bench.sh process`: the CPU a user's `hookline-local` spends per delivered
//! webhook. The release binary runs against DynamoDB Local and moto (through the
//! recording proxy of `bench-servers`, which counts every AWS call); one project,
//! 10 webhooks on one loopback receiver, 200 events sent one at a time = 2000
//! deliveries. CPU is utime+stime from /proc, between the first send and the
//! 2000th delivery received, of:
//!
//! - **one process**: `hookline-local` as the README starts it (functions and poller);
//! - **split**: the functions in one process (`HOOKLINE_POLLER=off`, the delivery
//!   function behind Lambda's Invoke API) and the SQS poller in another
//!   (`HOOKLINE_POLLER=<invoke url>`): the functions' share is what AWS bills as
//!   Lambda time, the poller's is what AWS runs outside the function.
//!
//! Each run has its own table and queue. `HOOKLINE_PROCESS_RUNS` (default 3) runs
//! of each; the medians are printed and written to `process.json`.
//! `process_bench callgrind` runs the split once with the functions' process under
//! callgrind, instrumented only between the first send and the last delivery, and
//! prints instructions per delivered webhook (the profile stays in the output dir).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hookline_benches::results::{self, ProcessResults, ProcessRun};
use hookline_benches::servers::{Servers, Tally};
use hookline_benches::stack::{self, BoxError, Emulators};
use hookline_benches::{data, flow, stats};
use serde_json::{json, Value};

const WEBHOOKS: usize = 10;
const EVENTS: usize = 200;
const DELIVERIES: u64 = (WEBHOOKS * EVENTS) as u64;
const ADMIN_TOKEN: &str = "adm_process_bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    OneProcess,
    Split,
}

/// A `hookline-local` child; killed on drop.
struct Local {
    child: Child,
    /// The lines it printed at start-up, up to "Press Ctrl-C" (or "Hookline's poller").
    banner: Vec<String>,
}

impl Local {
    fn start(exe: &Path, env: &[(&str, String)], under: &[String], log: &Path) -> Result<Local, BoxError> {
        let mut cmd = if under.is_empty() {
            Command::new(exe)
        } else {
            let mut c = Command::new(&under[0]);
            c.args(&under[1..]).arg(exe);
            c
        };
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", std::env::var("HOOKLINE_PROCESS_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?);
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", exe.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut banner = Vec::new();
        loop {
            let Some(line) = lines.next() else {
                return Err(format!("{} stopped at start-up; see {}", exe.display(), log.display()).into());
            };
            let line = line?;
            let last = line.starts_with("Press Ctrl-C") || line.starts_with("Hookline's poller");
            banner.push(line);
            if last {
                break;
            }
        }
        // Keep draining its stdout so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Local { child, banner })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn line_after(&self, label: &str) -> Option<String> {
        self.banner.iter().find_map(|l| l.trim().strip_prefix(label).map(|r| r.trim().to_string()))
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // SIGINT first: hookline-local (and valgrind's output) end cleanly on Ctrl-C.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process (every thread) from /proc/<pid>/stat.
fn proc_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15, that is 11 and 12 after the state.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos((ticks(11) + ticks(12)) * 1_000_000_000 / hz)
}

fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Workload {
    api: String,
    key: String,
    client: reqwest::Client,
}

impl Workload {
    /// A project and its 10 webhooks, made through the API as a user would.
    async fn set_up(api: String, servers: &Servers) -> Result<Workload, BoxError> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let project =
            post(&client, format!("{api}/api/v1/projects"), ADMIN_TOKEN, json!({"name": "process bench"})).await?;
        let id = project["project_id"].as_u64().ok_or("no project_id")?;
        let key = project["api_key"].as_str().ok_or("no api_key")?.to_string();
        for i in 0..WEBHOOKS {
            let url = servers.receiver_url(&format!("/process/{i}"));
            post(
                &client,
                format!("{api}/api/v1/projects/{id}/webhooks"),
                &key,
                json!({"name": format!("receiver {i}"), "url": url}),
            )
            .await?;
        }
        Ok(Workload { api, key, client })
    }

    async fn send(&self, body: &Value) -> Result<(), BoxError> {
        post(&self.client, format!("{}/api/v1/events", self.api), &self.key, body.clone()).await.map(drop)
    }
}

/// POSTs `body` and returns the envelope's `result`; an error with the answer otherwise.
async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Result<Value, BoxError> {
    let answer = client
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = answer.status();
    let bytes = answer.bytes().await?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(serde_json::from_slice::<Value>(&bytes)?["result"].take())
}

/// Waits until the receiver has answered 2xx to every delivery; false after `limit`.
async fn wait_delivered(servers: &Servers, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if servers.counts().await.received_ok >= DELIVERIES {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

struct Run {
    layout: Layout,
    wall_s: f64,
    /// CPU seconds of the functions' process (the whole stack in one process).
    functions_s: f64,
    poller_s: f64,
    record: Tally,
}

async fn run_once(
    exe: &Path,
    servers: &Servers,
    layout: Layout,
    n: usize,
    callgrind: Option<&Path>,
) -> Result<Run, BoxError> {
    let out = results::out_dir().join("process");
    std::fs::create_dir_all(&out)?;
    let name = stack::unique("process");
    let port = free_port()?;
    let common = vec![
        ("AWS_ENDPOINT_URL_DYNAMODB", servers.record_url()),
        ("AWS_ENDPOINT_URL_SQS", servers.record_url()),
        ("HOOKLINE_TABLE", name.clone()),
        ("HOOKLINE_QUEUE_NAME", name.clone()),
        ("HOOKLINE_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ("HOOKLINE_RATE_LIMIT_PER_MINUTE", "60000".to_string()),
        ("HOOKLINE_RATE_LIMIT_BURST", "100000".to_string()),
        // No repair sweep inside the measured minute: it is scheduled work, not a delivery's.
        ("HOOKLINE_SWEEP_INTERVAL", "1h".to_string()),
        ("HOOKLINE_PORT", port.to_string()),
    ];
    let tag = format!("{}-{n}", if layout == Layout::Split { "split" } else { "one" });
    let mut functions_env = common.clone();
    let mut under = Vec::new();
    if let Some(dir) = callgrind {
        under = vec![
            "valgrind".to_string(),
            "--tool=callgrind".to_string(),
            "--instr-atstart=no".to_string(),
            format!("--callgrind-out-file={}/callgrind.out.%p", dir.display()),
        ];
    }
    let invoke_port = free_port()?;
    if layout == Layout::Split {
        functions_env.push(("HOOKLINE_POLLER", "off".to_string()));
        functions_env.push(("HOOKLINE_INVOKE_PORT", invoke_port.to_string()));
    }
    let functions = Local::start(exe, &functions_env, &under, &out.join(format!("{tag}-functions.log")))?;
    let poller = if layout == Layout::Split {
        let url = functions.line_after("delivery invoke:").ok_or("no invoke URL in the banner")?;
        let mut env = common.clone();
        env.push(("HOOKLINE_POLLER", url));
        Some(Local::start(exe, &env, &[], &out.join(format!("{tag}-poller.log")))?)
    } else {
        None
    };

    let api = format!("http://127.0.0.1:{port}");
    let workload = Workload::set_up(api, servers).await?;
    // A first event and its deliveries before measuring: every connection pool warm.
    let body: Value = serde_json::from_str(&flow::event_body(data::raw_data(1024).get()))?;
    servers.reset().await;
    workload.send(&body).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while servers.counts().await.received_ok < WEBHOOKS as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    servers.reset().await;

    if callgrind.is_some() {
        callgrind_control(functions.pid(), "--instr=on")?;
    }
    let cpu = |p: &Option<Local>| p.as_ref().map_or(Duration::ZERO, |l| proc_cpu(l.pid()));
    let (f0, p0, t0) = (proc_cpu(functions.pid()), cpu(&poller), Instant::now());
    for _ in 0..EVENTS {
        workload.send(&body).await?;
    }
    let limit = if callgrind.is_some() { Duration::from_secs(1800) } else { Duration::from_secs(300) };
    if !wait_delivered(servers, limit).await {
        return Err(format!("{tag}: not every delivery arrived within {limit:?}").into());
    }
    let (f1, p1, wall) = (proc_cpu(functions.pid()), cpu(&poller), t0.elapsed());
    if callgrind.is_some() {
        callgrind_control(functions.pid(), "--instr=off")?;
        callgrind_control(functions.pid(), "--dump")?;
    }
    let counts = servers.counts().await;
    if counts.duplicate_successes > 0 {
        eprintln!("{tag}: {} deliveries succeeded twice", counts.duplicate_successes);
    }
    drop(poller);
    drop(functions);
    Ok(Run {
        layout,
        wall_s: wall.as_secs_f64(),
        functions_s: (f1 - f0).as_secs_f64(),
        poller_s: p1.saturating_sub(p0).as_secs_f64(),
        record: counts.record,
    })
}

fn callgrind_control(pid: u32, what: &str) -> Result<(), BoxError> {
    let status = Command::new("callgrind_control").arg(what).arg(pid.to_string()).stdout(Stdio::null()).status()?;
    if !status.success() {
        return Err(format!("callgrind_control {what} {pid} failed").into());
    }
    Ok(())
}

fn ms_per_delivery(s: f64) -> f64 {
    s * 1000.0 / DELIVERIES as f64
}

fn describe(run: &Run) -> String {
    let per = DELIVERIES as f64;
    format!(
        "{:>11}: functions {:.3} ms, poller {:.3} ms per delivered webhook; wall {:.1} s; WRU {:.2} RRU {:.2}; SQS {:.2} (poller {:.2}) DynamoDB {:.2} calls",
        if run.layout == Layout::Split { "split" } else { "one process" },
        ms_per_delivery(run.functions_s),
        ms_per_delivery(run.poller_s),
        run.wall_s,
        run.record.billed_write_units() / per,
        run.record.billed_read_units() / per,
        run.record.service("sqs:") as f64 / per,
        (run.record.calls.get("sqs:ReceiveMessage").copied().unwrap_or(0)
            + run.record.calls.get("sqs:DeleteMessageBatch").copied().unwrap_or(0)) as f64
            / per,
        run.record.service("dynamodb:") as f64 / per,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let emulators = Emulators::from_env();
    let servers = Servers::spawn(&emulators.dynamodb, &emulators.sqs)?;
    let exe: PathBuf = std::env::current_exe()?.with_file_name("hookline-local");

    if std::env::args().nth(1).as_deref() == Some("callgrind") {
        let dir = results::out_dir().join("process").join("callgrind");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let run = run_once(&exe, &servers, Layout::Split, 0, Some(&dir)).await?;
        println!("{}", describe(&run));
        let mut total: u64 = 0;
        for entry in std::fs::read_dir(&dir)? {
            let text = std::fs::read_to_string(entry?.path())?;
            // `totals:` counts what was collected; `summary:` stays 0 when instrumentation
            // started off.
            let count = |prefix: &str| {
                text.lines()
                    .filter_map(|l| l.strip_prefix(prefix)?.split_whitespace().next()?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
            };
            total += count("totals: ").max(count("summary: "));
        }
        let per = total as f64 / DELIVERIES as f64;
        println!("functions' process under callgrind: {total} instructions, {per:.0} per delivered webhook");
        results::write("process_callgrind", &json!({"instructions": total, "per_delivery": per}))?;
        return Ok(());
    }

    let runs: usize = std::env::var("HOOKLINE_PROCESS_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let mut all = Vec::new();
    for n in 0..runs {
        // Alternating, so that a slower minute of the machine weighs on both alike.
        for layout in [Layout::OneProcess, Layout::Split] {
            let run = run_once(&exe, &servers, layout, n, None).await?;
            println!("run {}: {}", n + 1, describe(&run));
            all.push(run);
        }
    }
    let median = |layout: Layout, f: &dyn Fn(&Run) -> f64| {
        let mut v: Vec<f64> = all.iter().filter(|r| r.layout == layout).map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        stats::percentile(&v, 0.5)
    };
    let per = DELIVERIES as f64;
    let last_split = all.iter().rev().find(|r| r.layout == Layout::Split).expect("one split run");
    let result = ProcessResults {
        deliveries: DELIVERIES,
        runs: runs as u64,
        one_process: ProcessRun {
            cpu_ms: ms_per_delivery(median(Layout::OneProcess, &|r| r.functions_s)),
            wall_s: median(Layout::OneProcess, &|r| r.wall_s),
        },
        functions_cpu_ms: ms_per_delivery(median(Layout::Split, &|r| r.functions_s)),
        poller_cpu_ms: ms_per_delivery(median(Layout::Split, &|r| r.poller_s)),
        split_wall_s: median(Layout::Split, &|r| r.wall_s),
        wru: last_split.record.billed_write_units() / per,
        rru: last_split.record.billed_read_units() / per,
        sqs_requests: last_split.record.service("sqs:") as f64 / per,
        dynamodb_calls: last_split.record.service("dynamodb:") as f64 / per,
        calls: last_split.record.describe_per(per),
    };
    println!(
        "median of {runs}: one process {:.3} ms CPU per delivered webhook (wall {:.1} s); split: functions {:.3} ms + poller {:.3} ms = {:.3} ms (wall {:.1} s)",
        result.one_process.cpu_ms,
        result.one_process.wall_s,
        result.functions_cpu_ms,
        result.poller_cpu_ms,
        result.functions_cpu_ms + result.poller_cpu_ms,
        result.split_wall_s
    );
    println!("per delivered webhook: {}", result.calls);
    print!("the last split run by item kind:\n{}", last_split.record.describe_by_item(per, "delivered webhook"));
    results::write("process", &result)?;
    Ok(())
}
