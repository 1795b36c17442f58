//! Deliveries never go through a proxy from the environment: a proxy would resolve and
//! connect on Hookline's behalf, so the destination guard would never see the address.
//! This file is its own test process because it sets process-wide environment variables.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hookline::config::Settings;
use hookline::sender::Sender;
use reqwest::header::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listener that counts the connections it gets and closes them.
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("http://{addr}"), seen)
}

/// A receiver that answers every request with 200.
async fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
            });
        }
    });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn proxy_variables_never_carry_deliveries() {
    let (proxy, seen) = counting_proxy().await;
    // Set before any client exists; nothing else in this process reads the environment.
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(name, &proxy);
    }
    for name in ["NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
        std::env::remove_var(name);
    }

    // Deployed settings: a name that resolves to nothing must fail on its own, not be handed
    // to the proxy to resolve.
    let deployed = Settings { delivery_timeout: Duration::from_secs(5), ..Settings::default() };
    let outcome = Sender::new(&deployed)
        .post("http://hookline-proxy-check.invalid/hook", "vk", HeaderMap::new(), b"{}".to_vec())
        .await;
    assert!(!outcome.succeeded(), "{outcome:?}");
    assert!(outcome.error.is_some(), "{outcome:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the unresolvable name went to the proxy");

    // Local settings: the receiver itself answers.
    let local = Settings { allow_http: true, allow_private_destinations: true, ..deployed };
    let outcome = Sender::new(&local).post(&receiver().await, "vk", HeaderMap::new(), b"{}".to_vec()).await;
    assert_eq!(outcome.response_code, Some(200), "{outcome:?}");
    assert_eq!(outcome.response_body.as_deref(), Some("ok"));

    assert_eq!(seen.load(Ordering::SeqCst), 0, "the local delivery went through the proxy");
}
