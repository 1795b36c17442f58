//! Event intake: `POST /api/v1/events` and 000's `POST /api/hook/custom-event`.

use hookline::http::{self, allow, Reply};
use hookline::service::auth::authenticate_into;
use hookline::service::intake::{self, EventInput};
use hookline::store::RateDecision;
use hookline::{ApiError, App};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let mut rate = None;
    let result = dispatch(app, &req, &mut rate).await;
    http::respond(result, rate)
}

async fn dispatch(app: &App, req: &Request, rate: &mut Option<(RateDecision, u32)>) -> Result<Reply, ApiError> {
    let segments = http::api_segments(req);
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let custom = match segs.as_slice() {
        ["api", "v1", "events"] => false,
        ["api", "hook", "custom-event"] => true,
        _ => return Err(http::not_found_route()),
    };
    allow(req.method().as_str(), &["POST"])?;
    let project = authenticate_into(app, req, None, rate).await?;
    let body = http::json_object(req)?;
    let input: EventInput = if custom { intake::parse_custom_event(body) } else { intake::parse_event(&body)? };
    let key = http::header(req, "idempotency-key");
    let outcome = intake::ingest(app, &project, input, key, req.body().as_ref()).await?;
    let reply = Reply::success(202, outcome.result);
    Ok(if outcome.replayed { reply.header("Idempotent-Replayed", "true") } else { reply })
}
