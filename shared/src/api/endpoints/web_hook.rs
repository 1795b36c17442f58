//! The single project web hook (`wh_default`), `/api/v1/projects/{id}/web_hook`.

use crate::api::edge::Cx;
use crate::api::input::{Json, NoBody, NoQuery};
use crate::api::requests::PutWebHook;
use crate::api::route::{Endpoint, Method, Reply, Route};
use crate::api::types::{Deleted, WebHookEventView, WebHookView};
use crate::error::ApiError;
use crate::service::{logs, webhooks};

use super::{conflicting, route, PROJECT};

pub struct Get;

impl Endpoint for Get {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/web_hook",
        PROJECT,
        200,
        "getWebHook",
        "web hook",
        "The project web hook; 404 when none",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = WebHookView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<WebHookView>, ApiError> {
        let project = cx.project()?;
        Ok(WebHookView::new(project, &webhooks::get_web_hook(cx.app, project.project_id).await?).into())
    }
}

pub struct Put;

impl Endpoint for Put {
    const ROUTE: Route = conflicting(route(
        Method::Put,
        "/api/v1/projects/{project_id}/web_hook",
        PROJECT,
        200,
        "putWebHook",
        "web hook",
        "Create or update the project web hook",
    ));
    type Body = Json<PutWebHook>;
    type Query = NoQuery;
    type Output = WebHookView;

    async fn handle(cx: &Cx<'_>, Json(changes): Self::Body, _: NoQuery) -> Result<Reply<WebHookView>, ApiError> {
        let project = cx.project()?;
        Ok(WebHookView::new(project, &webhooks::put_web_hook(cx.app, project.project_id, changes).await?).into())
    }
}

pub struct Delete;

impl Endpoint for Delete {
    const ROUTE: Route = route(
        Method::Delete,
        "/api/v1/projects/{project_id}/web_hook",
        PROJECT,
        200,
        "deleteWebHook",
        "web hook",
        "Remove the project web hook",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Deleted;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Deleted>, ApiError> {
        webhooks::delete_web_hook(cx.app, cx.project_id()?).await?;
        Ok(Deleted.into())
    }
}

pub struct Event;

impl Endpoint for Event {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/web_hook/events/{event_id}",
        PROJECT,
        200,
        "getWebHookEvent",
        "web hook",
        "The Web Hook Event, to poll until `response_code` is filled",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = WebHookEventView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<WebHookEventView>, ApiError> {
        let (event, deliveries) = logs::get_event(cx.app, cx.project_id()?, &cx.event_id()?).await?;
        Ok(WebHookEventView::new(&event, deliveries.first()).into())
    }
}
