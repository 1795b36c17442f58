//! `hookline-local`: the whole stack on 127.0.0.1 (see the README's first command).

use std::sync::Arc;

use aws_config::BehaviorVersion;
use hookline::config::Settings;
use hookline::credentials::{generate_api_key, sha256_hex};
use hookline::sender::Sender;
use hookline::App;
use hookline_local::{poller, resources, server, template};
use tokio::sync::watch;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The local stack's default framing: its own origin and every loopback origin.
const LOCAL_FRAME_ANCESTORS: &str = "'self' http://127.0.0.1:* http://localhost:*";

#[global_allocator]
static ALLOCATOR: hookline::Allocator = hookline::Allocator;

// One thread, as each function runs on Lambda (one invocation at a time, current-thread
// runtimes in functions/*): a multi-thread runtime's wake-ups across threads cost more CPU
// per delivered webhook than they buy on loopback I/O (BENCHMARKS.md, process bench).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let port: u16 = std::env::var("HOOKLINE_PORT").ok().filter(|p| !p.is_empty()).map_or(Ok(3000), |p| p.parse())?;
    let admin_token = std::env::var("HOOKLINE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| generate_api_key().replacen("hk_", "adm_", 1));

    let mut settings = Settings::from_env()?;
    let visibility = visibility_timeout()?;
    settings.admin_token_sha256 = Some(sha256_hex(admin_token.trim()));
    // Local runs deliver to http:// and loopback receivers.
    settings.allow_http = true;
    settings.allow_private_destinations = true;
    // Destinations (docs/api.md §16) are roles and queues in the emulator's one account.
    if std::env::var("HOOKLINE_ALLOW_OWN_ACCOUNT_ROLES").is_err() {
        settings.allow_own_account_roles = true;
    }
    // A host page on another loopback port may frame the portal (the README's example).
    if std::env::var("HOOKLINE_PORTAL_FRAME_ANCESTORS").is_err() {
        settings.portal_frame_ancestors = LOCAL_FRAME_ANCESTORS.into();
    }

    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let defs = template::load(&template::default_path())?;
    resources::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &settings.table, &defs).await?;
    let queue_name = std::env::var("HOOKLINE_QUEUE_NAME").unwrap_or_else(|_| "hookline-delivery".into());
    // Creating is idempotent (same names, same attributes), so a process started again
    // with the same table and queue names carries on with what an earlier one left.
    let queues = resources::create_queues(&aws_sdk_sqs::Client::new(&sdk), &queue_name, &defs, visibility).await?;
    settings.queue_url = queues.delivery_url.clone();
    settings.dead_letter_queue_url = Some(queues.dead_letter_url.clone());
    if std::env::args().any(|a| a == "--setup-only") {
        // For scripts that run the functions another way (cargo lambda): just the resources.
        println!("HOOKLINE_QUEUE_URL={}", queues.delivery_url);
        println!("HOOKLINE_DEAD_LETTER_QUEUE_URL={}", queues.dead_letter_url);
        return Ok(());
    }

    let sender = Arc::new(Sender::new(&settings));
    let app = Arc::new(App::new(settings, &sdk));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mode = PollerMode::from_env()?;
    if let PollerMode::Only(url) = mode {
        // Only the poller, handing batches to the delivery function of another process.
        println!("Hookline's poller: {} → {url}", queues.delivery_url);
        let poll = tokio::spawn(poller::run(app, Arc::new(poller::Invoker::http(url)), stop_rx));
        tokio::signal::ctrl_c().await?;
        let _ = stop_tx.send(true);
        let _ = poll.await;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let http = tokio::spawn(server::serve(listener, app.clone(), stop_rx.clone()));
    let invoke = match std::env::var("HOOKLINE_INVOKE_PORT").ok().filter(|p| !p.trim().is_empty()) {
        Some(p) => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", p.trim().parse::<u16>()?)).await?;
            println!("  delivery invoke: http://{}/2015-03-31/functions/delivery/invocations", listener.local_addr()?);
            Some(tokio::spawn(server::serve_invoke(listener, app.clone(), sender.clone(), stop_rx.clone())))
        }
        None => None,
    };
    let sweep_every = std::env::var("HOOKLINE_SWEEP_INTERVAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map_or(Ok(std::time::Duration::from_secs(60)), |v| hookline::config::parse_duration(&v))?;
    let sweep = tokio::spawn(poller::sweep_every(app.clone(), sweep_every, stop_rx.clone()));
    let poll = match mode {
        PollerMode::InProcess => {
            Some(tokio::spawn(poller::run(app.clone(), Arc::new(poller::Invoker::InProcess(sender)), stop_rx)))
        }
        _ => None,
    };

    println!("Hookline is running on http://127.0.0.1:{port}");
    println!("  dashboard:       http://127.0.0.1:{port}/dashboard/");
    println!("  API document:    http://127.0.0.1:{port}/api/v1/openapi.json");
    println!("  admin token:     {admin_token}");
    println!("  table:           {}", app.settings.table);
    println!("  delivery queue:  {}", queues.delivery_url);
    if let Ok(aws) = std::env::var("AWS_ENDPOINT_URL") {
        // Where destinations (SQS, SNS, EventBridge, Kinesis, and STS) are reached locally.
        println!("aws endpoint: {aws}");
    }
    println!("  dead letters:    {}", queues.dead_letter_url);
    println!("  retry schedule:  {:?}", app.settings.retry_schedule);
    println!("  repair sweep:    every {sweep_every:?}");
    println!("Press Ctrl-C to stop.");

    tokio::signal::ctrl_c().await?;
    let _ = stop_tx.send(true);
    let _ = tokio::join!(http, sweep);
    for task in [poll, invoke].into_iter().flatten() {
        let _ = task.await;
    }
    Ok(())
}

/// `HOOKLINE_POLLER`: `in-process` (the default) feeds the delivery queue to the delivery
/// handler here; `off` leaves the queue to a poller in another process (with
/// `HOOKLINE_INVOKE_PORT`, which serves the handler through Lambda's Invoke API); a URL
/// runs only the poller, invoking the handler at that URL. Split this way, the poller's
/// CPU (which AWS spends outside the function) is measured apart (`scripts/bench.sh process`).
enum PollerMode {
    InProcess,
    Off,
    Only(String),
}

impl PollerMode {
    fn from_env() -> Result<PollerMode, BoxError> {
        let value = std::env::var("HOOKLINE_POLLER").unwrap_or_default();
        match value.trim() {
            "" | "in-process" => Ok(PollerMode::InProcess),
            "off" => Ok(PollerMode::Off),
            url if url.starts_with("http://") => Ok(PollerMode::Only(url.to_string())),
            other => Err(format!("HOOKLINE_POLLER: `{other}` is not in-process, off or an http:// URL").into()),
        }
    }
}

/// `HOOKLINE_VISIBILITY_TIMEOUT`: the delivery queue's visibility timeout in whole seconds
/// (SQS allows 0 to 12 h); unset, the template's. Short, a message whose handler died comes
/// back soon.
fn visibility_timeout() -> Result<Option<u32>, BoxError> {
    const NAME: &str = "HOOKLINE_VISIBILITY_TIMEOUT";
    let Some(text) = std::env::var(NAME).ok().filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let d = hookline::config::parse_duration(&text).map_err(|p| format!("{NAME}: {p}"))?;
    if d.subsec_nanos() != 0 || d.as_secs() > 43_200 {
        return Err(format!("{NAME}: `{text}` must be whole seconds, at most 12h").into());
    }
    Ok(Some(d.as_secs() as u32))
}
