//! Routes a request to the function API Gateway would invoke for it: the one whose
//! route table has the path (the template routes each path to that function, as a test
//! in `template.rs` checks), else the config API, which the default route reaches.

use hookline::api::edge::segments;
use hookline::api::route::match_path;
use hookline::api::RouteInfo;
use hookline::App;
use lambda_http::{Body, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    ConfigApi,
    EventIntake,
    TestTrigger,
}

impl Function {
    pub const ALL: [Function; 3] = [Function::ConfigApi, Function::EventIntake, Function::TestTrigger];

    /// The routes the function's crate declares.
    pub fn routes(self) -> &'static [RouteInfo] {
        match self {
            Function::ConfigApi => config_api::ROUTES,
            Function::EventIntake => event_intake::ROUTES,
            Function::TestTrigger => test_trigger::ROUTES,
        }
    }

    /// The template's resource for the function.
    pub fn resource(self) -> &'static str {
        match self {
            Function::ConfigApi => "ConfigApiFunction",
            Function::EventIntake => "EventIntakeFunction",
            Function::TestTrigger => "TestTriggerFunction",
        }
    }
}

pub fn function_for(path: &str) -> Option<Function> {
    let segs = segments(path);
    Function::ALL.into_iter().find(|f| f.routes().iter().any(|r| match_path(r.route.path, &segs).is_some()))
}

pub async fn route(app: &App, req: Request) -> Response<Body> {
    match function_for(req.uri().path()) {
        Some(Function::EventIntake) => event_intake::handle(app, req).await,
        Some(Function::TestTrigger) => test_trigger::handle(app, req).await,
        // The default route: the config API answers unknown paths with the 404 envelope.
        Some(Function::ConfigApi) | None => config_api::handle(app, req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn routes_like_the_template() {
        assert_eq!(function_for("/api/v1/events"), Some(Function::EventIntake));
        assert_eq!(function_for("/api/v1/events/batch"), Some(Function::EventIntake));
        assert_eq!(function_for("/api/hook/custom-event"), Some(Function::EventIntake));
        assert_eq!(function_for("/api/v1/projects/1/webhooks/wh_x/test"), Some(Function::TestTrigger));
        assert_eq!(function_for("/api/v1/projects/1/web_hook/trigger_session_test"), Some(Function::TestTrigger));
        assert_eq!(function_for("/api/v1/projects/1/webhooks"), Some(Function::ConfigApi));
        assert_eq!(function_for("/dashboard/"), Some(Function::ConfigApi));
        assert_eq!(function_for("/nope"), None);
    }

    /// Every route of docs/api.md is served by exactly one function, and no path is
    /// split between two (API Gateway routes a path, not a method, to a function).
    #[test]
    fn every_route_is_served_once() {
        let mut served = HashSet::new();
        let mut owner = std::collections::HashMap::new();
        for f in Function::ALL {
            for r in f.routes() {
                assert!(served.insert((r.route.method, r.route.path)), "{r:?} is served twice");
                assert_eq!(*owner.entry(r.route.path).or_insert(f), f, "{} is split between functions", r.route.path);
            }
        }
        let all: HashSet<_> = hookline::api::ALL.iter().map(|r| (r.route.method, r.route.path)).collect();
        assert_eq!(served, all, "the functions serve exactly the routes of the document");
    }
}
