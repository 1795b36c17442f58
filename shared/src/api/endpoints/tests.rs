//! docs/api.md §7: test deliveries.

use crate::api::edge::Cx;
use crate::api::input::{MaybeJson, NoBody, NoQuery};
use crate::api::requests::TestWebhook;
use crate::api::route::{Endpoint, Method, Reply, Route};
use crate::api::types::WebHookEventView;
use crate::error::ApiError;
use crate::service::testing;

use super::{route, PROJECT};

pub struct Webhook;

impl Endpoint for Webhook {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}/test",
        PROJECT,
        202,
        "testWebhook",
        "tests",
        "Queue one test delivery to this webhook, whatever its flag and subscriptions",
    );
    type Body = MaybeJson<TestWebhook>;
    type Query = NoQuery;
    type Output = WebHookEventView;

    async fn handle(
        cx: &Cx<'_>,
        MaybeJson((event_type, data)): Self::Body,
        _: NoQuery,
    ) -> Result<Reply<WebHookEventView>, ApiError> {
        let event = testing::test_webhook(cx.app, cx.project()?, &cx.webhook_id()?, event_type, data).await?;
        Ok(WebHookEventView::new(&event, None).into())
    }
}

pub struct Session;

impl Endpoint for Session {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/projects/{project_id}/web_hook/trigger_session_test",
        PROJECT,
        202,
        "triggerSessionTest",
        "tests",
        "The project web hook's test: a `session.test` event to it",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = WebHookEventView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<WebHookEventView>, ApiError> {
        let event = testing::trigger_session_test(cx.app, cx.project()?).await?;
        Ok(WebHookEventView::new(&event, None).into())
    }
}
