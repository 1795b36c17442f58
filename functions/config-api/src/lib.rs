//! The config API: projects, keys, webhooks, 003's `/web_hook`, and the logs.
//! Routing is done here on the request path, so API Gateway, function URLs and
//! `cargo lambda watch` (which sends no path parameters) all work the same.

use hookline::http::{self, allow, Reply};
use hookline::service::auth::{authenticate_into, require_admin};
use hookline::service::{logs, projects, webhooks};
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
    let method = req.method().as_str();
    let ["api", "v1", "projects", rest @ ..] = segs.as_slice() else {
        return Err(http::not_found_route());
    };
    if rest.is_empty() {
        allow(method, &["POST"])?;
        require_admin(app, req)?;
        let body = http::json_object(req)?;
        return Ok(Reply::success(201, projects::create(app, &body).await?));
    }
    let pid_segment = rest[0];
    let route = &rest[1..];
    // Check the route and method before anything else, so unknown routes are 404 and wrong methods 405.
    let allowed: &[&str] = match route {
        [] => &["GET"],
        ["api-key", "rotate"] => &["POST"],
        ["webhooks"] => &["GET", "POST"],
        ["webhooks", _] => &["GET", "PATCH", "DELETE"],
        ["webhooks", _, "rotate-secret"] => &["POST"],
        ["webhooks", _, "deliveries"] => &["GET"],
        ["web_hook"] => &["GET", "PUT", "DELETE"],
        ["web_hook", "events", _] => &["GET"],
        ["events"] => &["GET"],
        ["events", _] => &["GET"],
        ["deliveries", _] => &["GET"],
        ["deliveries", _, "retry"] => &["POST"],
        _ => return Err(http::not_found_route()),
    };
    allow(method, allowed)?;
    let pid = http::project_id(pid_segment)?;
    let project = authenticate_into(app, req, Some(pid), rate).await?;
    let q = http::query(req);
    let ok = |v| Ok(Reply::success(200, v));
    match (method, route) {
        ("GET", []) => ok(project.view()),
        ("POST", ["api-key", "rotate"]) => ok(projects::rotate_key(app, &project).await?),
        ("GET", ["webhooks"]) => {
            let (limit, cursor) = http::page_params(&q)?;
            ok(webhooks::list(app, pid, limit, cursor).await?)
        }
        ("POST", ["webhooks"]) => {
            let body = http::json_object(req)?;
            Ok(Reply::success(201, webhooks::create(app, pid, &body).await?))
        }
        ("GET", ["webhooks", id]) => ok(webhooks::get(app, pid, id).await?),
        ("PATCH", ["webhooks", id]) => {
            let body = http::json_object(req)?;
            ok(webhooks::patch(app, pid, id, &body).await?)
        }
        ("DELETE", ["webhooks", id]) => ok(webhooks::delete(app, pid, id).await?),
        ("POST", ["webhooks", id, "rotate-secret"]) => ok(webhooks::rotate_secret(app, pid, id).await?),
        ("GET", ["webhooks", id, "deliveries"]) => {
            let (limit, cursor) = http::page_params(&q)?;
            ok(logs::list_deliveries(app, pid, id, &q, limit, cursor).await?)
        }
        ("GET", ["web_hook"]) => ok(webhooks::get_web_hook(app, &project).await?),
        ("PUT", ["web_hook"]) => {
            let body = http::json_object(req)?;
            ok(webhooks::put_web_hook(app, &project, &body).await?)
        }
        ("DELETE", ["web_hook"]) => ok(webhooks::delete_web_hook(app, &project).await?),
        ("GET", ["web_hook", "events", id]) => ok(logs::get_web_hook_event(app, pid, id).await?),
        ("GET", ["events"]) => {
            let (limit, cursor) = http::page_params(&q)?;
            ok(logs::list_events(app, pid, &q, limit, cursor).await?)
        }
        ("GET", ["events", id]) => ok(logs::get_event(app, pid, id).await?),
        ("GET", ["deliveries", id]) => ok(logs::get_delivery(app, pid, id).await?),
        ("POST", ["deliveries", id, "retry"]) => Ok(Reply::success(202, logs::retry_delivery(app, pid, id).await?)),
        _ => Err(http::not_found_route()),
    }
}
