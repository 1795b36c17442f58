//! The local HTTP front door: turns each request into the Lambda request API
//! Gateway would send, and calls the real function handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use bytes::Bytes;
use hookline::sender::Sender;
use hookline::App;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Bodies are read up to a little past the API's 256 KiB so the handler can answer 413.
const READ_LIMIT: usize = hookline::api::input::MAX_BODY + 1;

async fn serve_one(
    app: Arc<App>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, READ_LIMIT).collect().await {
        Ok(b) => b.to_bytes(),
        // Over the limit: pass on an oversized body so the handler answers 413.
        Err(_) => Bytes::from(vec![b' '; READ_LIMIT]),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let request = lambda_http::Request::from_parts(parts, body);
    let response = crate::router::route(&app, request).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// Serves on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, app: Arc<App>, stop: watch::Receiver<bool>) {
    accept(listener, stop, move |req| serve_one(app.clone(), req)).await
}

/// Lambda's Invoke API for the delivery function (`POST …/invocations` with the SQS
/// event, the batch response back), for a poller in another process.
pub async fn serve_invoke(listener: TcpListener, app: Arc<App>, sender: Arc<Sender>, stop: watch::Receiver<bool>) {
    accept(listener, stop, move |req| invoke_one(app.clone(), sender.clone(), req)).await
}

async fn invoke_one(
    app: Arc<App>,
    sender: Arc<Sender>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let event = match req.into_body().collect().await {
        Ok(body) => serde_json::from_slice::<SqsEvent>(&body.to_bytes()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let event = match event {
        Ok(event) => event,
        Err(e) => return Ok(plain(hyper::StatusCode::BAD_REQUEST, e)),
    };
    let response = delivery::handle(&app, &sender, event).await;
    Ok(match serde_json::to_vec(&response) {
        Ok(json) => hyper::Response::new(Full::new(Bytes::from(json))),
        Err(e) => plain(hyper::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
}

fn plain(status: hyper::StatusCode, text: String) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

async fn accept<F, Fut>(listener: TcpListener, mut stop: watch::Receiver<bool>, handler: F)
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<hyper::Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    loop {
        let (stream, _peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = service_fn(handler);
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}
