//! Test deliveries: `POST …/webhooks/{id}/test` and 003's `POST …/web_hook/trigger_session_test`.

use hookline::http::{self, allow, Reply};
use hookline::service::auth::authenticate_into;
use hookline::service::testing;
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
    let (pid_segment, webhook_id) = match segs.as_slice() {
        ["api", "v1", "projects", pid, "webhooks", wh, "test"] => (*pid, Some(*wh)),
        ["api", "v1", "projects", pid, "web_hook", "trigger_session_test"] => (*pid, None),
        _ => return Err(http::not_found_route()),
    };
    allow(req.method().as_str(), &["POST"])?;
    let pid = http::project_id(pid_segment)?;
    let project = authenticate_into(app, req, Some(pid), rate).await?;
    let result = match webhook_id {
        Some(wh) => {
            let body = http::optional_json_object(req)?;
            testing::test_webhook(app, &project, wh, &body).await?
        }
        None => testing::trigger_session_test(app, &project).await?,
    };
    Ok(Reply::success(202, result))
}
