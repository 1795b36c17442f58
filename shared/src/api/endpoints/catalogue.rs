//! docs/api.md §11: the deployment's event-type catalogue.

use crate::api::edge::Cx;
use crate::api::input::{Json, NoBody, NoQuery, Query};
use crate::api::requests::{CreateEventType, EventTypesQuery, PatchEventType};
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::{Deleted, EventTypeList, EventTypeView};
use crate::error::ApiError;
use crate::service::catalogue;

use super::{conflicting, route};

pub struct List;

impl Endpoint for List {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/event-types",
        Access::AnyCaller,
        200,
        "listEventTypes",
        "catalogue",
        "The event-type catalogue",
    );
    type Body = NoBody;
    type Query = Query<EventTypesQuery>;
    type Output = EventTypeList;

    async fn handle(
        cx: &Cx<'_>,
        _: NoBody,
        Query((include_archived, p)): Self::Query,
    ) -> Result<Reply<EventTypeList>, ApiError> {
        let page = catalogue::list(cx.app, include_archived, p.limit(), p.cursor()).await?;
        Ok(EventTypeList::new(page, |t| EventTypeView::from(t)).into())
    }
}

pub struct Create;

impl Endpoint for Create {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/event-types",
        Access::Admin,
        201,
        "createEventType",
        "catalogue",
        "Add an event type (admin token); 409 if the name exists",
    ));
    type Body = Json<CreateEventType>;
    type Query = NoQuery;
    type Output = EventTypeView;

    async fn handle(
        cx: &Cx<'_>,
        Json((name, description, schema, example)): Self::Body,
        _: NoQuery,
    ) -> Result<Reply<EventTypeView>, ApiError> {
        Ok(EventTypeView::from(&catalogue::create(cx.app, name, description, schema, example).await?).into())
    }
}

pub struct Get;

impl Endpoint for Get {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/event-types/{name}",
        Access::AnyCaller,
        200,
        "getEventType",
        "catalogue",
        "One event type",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = EventTypeView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<EventTypeView>, ApiError> {
        Ok(EventTypeView::from(&catalogue::get(cx.app, cx.type_name()?).await?).into())
    }
}

pub struct Patch;

impl Endpoint for Patch {
    const ROUTE: Route = conflicting(route(
        Method::Patch,
        "/api/v1/event-types/{name}",
        Access::Admin,
        200,
        "patchEventType",
        "catalogue",
        "Change an event type (admin token), also `archived`",
    ));
    type Body = Json<PatchEventType>;
    type Query = NoQuery;
    type Output = EventTypeView;

    async fn handle(cx: &Cx<'_>, Json(changes): Self::Body, _: NoQuery) -> Result<Reply<EventTypeView>, ApiError> {
        Ok(EventTypeView::from(&catalogue::patch(cx.app, cx.type_name()?, changes).await?).into())
    }
}

pub struct Delete;

impl Endpoint for Delete {
    // 409 when the type changed between the read and the delete: the caller retries.
    const ROUTE: Route = conflicting(route(
        Method::Delete,
        "/api/v1/event-types/{name}",
        Access::Admin,
        200,
        "deleteEventType",
        "catalogue",
        "Remove an event type (admin token)",
    ));
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Deleted;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Deleted>, ApiError> {
        catalogue::delete(cx.app, cx.type_name()?).await?;
        Ok(Deleted.into())
    }
}
