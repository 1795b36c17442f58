//! Routes a request to the function API Gateway would invoke for it, as the
//! routes in `template.yaml` do.

use hookline::App;
use lambda_http::{Body, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    ConfigApi,
    EventIntake,
    TestTrigger,
}

pub fn function_for(path: &str) -> Option<Function> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["api", "v1", "events"] | ["api", "hook", "custom-event"] => Some(Function::EventIntake),
        ["api", "v1", "projects", _, "webhooks", _, "test"]
        | ["api", "v1", "projects", _, "web_hook", "trigger_session_test"] => Some(Function::TestTrigger),
        ["api", "v1", "projects", ..] => Some(Function::ConfigApi),
        _ => None,
    }
}

pub async fn route(app: &App, req: Request) -> Response<Body> {
    match function_for(req.uri().path()) {
        Some(Function::EventIntake) => event_intake::handle(app, req).await,
        Some(Function::TestTrigger) => test_trigger::handle(app, req).await,
        // The config API answers unknown routes with the 404 envelope too.
        Some(Function::ConfigApi) | None => config_api::handle(app, req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_like_the_template() {
        assert_eq!(function_for("/api/v1/events"), Some(Function::EventIntake));
        assert_eq!(function_for("/api/hook/custom-event"), Some(Function::EventIntake));
        assert_eq!(function_for("/api/v1/projects/1/webhooks/wh_x/test"), Some(Function::TestTrigger));
        assert_eq!(function_for("/api/v1/projects/1/web_hook/trigger_session_test"), Some(Function::TestTrigger));
        assert_eq!(function_for("/api/v1/projects/1/webhooks"), Some(Function::ConfigApi));
        assert_eq!(function_for("/nope"), None);
    }
}
