//! `hookline-local` as a real OS process against a test's table and queues, which
//! outlive it: a test can kill it with SIGKILL in the middle of its work and start
//! another in its place against the same emulators, as a crashed delivery function is
//! replaced by a new instance. (`scripts/local-stack.sh` stops the emulators with its
//! process; this restarts the process alone.)

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::{client_request, header_map, Answer, Stack, ADMIN_TOKEN};

/// How long a started process may take before its API answers.
const START_LIMIT: Duration = Duration::from_secs(60);

/// One running `hookline-local`; killed when dropped.
pub struct LocalProcess {
    child: Child,
    pub port: u16,
    log: PathBuf,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl LocalProcess {
    /// Starts `hookline-local` on a free port against `stack`'s table and queues (the
    /// process finds them made, as an earlier process left them), with the admin token
    /// [`ADMIN_TOKEN`] and `env` on top; its output goes to `log`. Returns once its API
    /// answers.
    pub async fn start(stack: &Stack, log: &Path, env: &[(&str, &str)]) -> LocalProcess {
        let binary = tokio::task::spawn_blocking(binary).await.expect("build hookline-local");
        let port = free_port();
        let out = File::create(log).expect("process log");
        let mut cmd = Command::new(binary);
        // Only what this test sets, whatever the shell running the tests exports.
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("HOOKLINE_")) {
            cmd.env_remove(name);
        }
        cmd.env("HOOKLINE_PORT", port.to_string())
            .env("HOOKLINE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("HOOKLINE_TABLE", &stack.app.settings.table)
            .env("HOOKLINE_QUEUE_NAME", &stack.name)
            .env("HOOKLINE_VISIBILITY_TIMEOUT", stack.visibility_timeout.to_string())
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("process log"))
            .stderr(out);
        let child = cmd.spawn().expect("start hookline-local");
        let mut p = LocalProcess {
            child,
            port,
            log: log.to_path_buf(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let started = Instant::now();
        loop {
            if let Some(status) = p.child.try_wait().expect("process status") {
                panic!("hookline-local exited ({status}) before answering:\n{}", p.log_text());
            }
            if let Ok(a) = p.try_call("GET", "/api/v1/openapi.json", None, None).await {
                if a.status == 200 {
                    return p;
                }
            }
            assert!(started.elapsed() < START_LIMIT, "hookline-local did not answer within {START_LIMIT:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A request to the process's API, as a client sends it over HTTP.
    pub async fn call(&self, method: &str, path: &str, auth: Option<&str>, body: Option<Value>) -> Answer {
        match self.try_call(method, path, auth, body).await {
            Ok(a) => a,
            Err(e) => panic!("{method} {path}: {e}\n{}", self.log_text()),
        }
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, hyper_util::client::legacy::Error> {
        let uri = format!("http://127.0.0.1:{}{path}", self.port);
        let req = client_request(method, &uri, auth, body).map(|b| Full::new(b.map_or_else(Bytes::new, Bytes::from)));
        let resp = self.client.request(req).await?;
        let status = resp.status().as_u16();
        let headers = header_map(resp.headers());
        let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        Ok(Answer { status, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) })
    }

    /// Kills the process with SIGKILL (nothing it does is finished or cleaned up) and
    /// waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process logged, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// The `hookline-local` executable, built by cargo (a no-op when up to date) once per
/// test binary: `CARGO_BIN_EXE_*` names only the tested package's own binaries, and this
/// makes a single test runnable on its own as well as under `cargo test --workspace`.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "hookline-local", "--bin", "hookline-local", "--message-format=json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build -p hookline-local failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The build's own report names the executable, wherever the target directory is.
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "hookline-local")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no hookline-local executable")
    })
}
