//! docs/api.md §8: the activity view, delivery logs and re-sending by hand.

use crate::api::edge::Cx;
use crate::api::input::{Empty, NoBody, NoQuery, Query};
use crate::api::requests::{DeliveriesQuery, EventsQuery};
use crate::api::route::{Endpoint, Method, Reply, Route};
use crate::api::types::{DeliveryDetail, DeliveryList, DeliveryView, EventDetail, EventList, EventView};
use crate::error::ApiError;
use crate::service::logs;

use super::{conflicting, route, PROJECT};

pub struct Events;

impl Endpoint for Events {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/events",
        PROJECT,
        200,
        "listEvents",
        "logs",
        "Recent events, newest first, with payload (the real-time activity view)",
    );
    type Body = NoBody;
    type Query = Query<EventsQuery>;
    type Output = EventList;

    async fn handle(cx: &Cx<'_>, _: NoBody, Query((event_type, p)): Self::Query) -> Result<Reply<EventList>, ApiError> {
        let page = logs::list_events(cx.app, cx.project_id()?, event_type.as_deref(), p.limit(), p.cursor()).await?;
        Ok(EventList::new(page, |e| EventView::from(e)).into())
    }
}

pub struct Event;

impl Endpoint for Event {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/events/{event_id}",
        PROJECT,
        200,
        "getEvent",
        "logs",
        "One event, its data and its deliveries",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = EventDetail;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<EventDetail>, ApiError> {
        let (event, deliveries) = logs::get_event(cx.app, cx.project_id()?, &cx.event_id()?).await?;
        Ok(EventDetail::new(&event, &deliveries).into())
    }
}

pub struct Deliveries;

impl Endpoint for Deliveries {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries",
        PROJECT,
        200,
        "listDeliveries",
        "logs",
        "The delivery log: a webhook's deliveries, newest first",
    );
    type Body = NoBody;
    type Query = Query<DeliveriesQuery>;
    type Output = DeliveryList;

    async fn handle(cx: &Cx<'_>, _: NoBody, Query((status, p)): Self::Query) -> Result<Reply<DeliveryList>, ApiError> {
        let page =
            logs::list_deliveries(cx.app, cx.project_id()?, &cx.webhook_id()?, status, p.limit(), p.cursor()).await?;
        Ok(DeliveryList::new(page, |d| DeliveryView::from(d)).into())
    }
}

pub struct Delivery;

impl Endpoint for Delivery {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/deliveries/{delivery_id}",
        PROJECT,
        200,
        "getDelivery",
        "logs",
        "One delivery with every attempt, oldest first",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = DeliveryDetail;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<DeliveryDetail>, ApiError> {
        let (d, payload) = logs::delivery_with_payload(cx.app, cx.project_id()?, &cx.delivery_id()?).await?;
        Ok(DeliveryDetail { payload, ..DeliveryDetail::from(&d) }.into())
    }
}

pub struct Retry;

impl Endpoint for Retry {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/deliveries/{delivery_id}/retry",
        PROJECT,
        202,
        "retryDelivery",
        "logs",
        "Re-send now: one new attempt on the same `webhook-id`",
    ));
    type Body = Empty;
    type Query = NoQuery;
    type Output = DeliveryView;

    async fn handle(cx: &Cx<'_>, _: Empty, _: NoQuery) -> Result<Reply<DeliveryView>, ApiError> {
        Ok(DeliveryView::from(&logs::retry_delivery(cx.app, cx.project_id()?, &cx.delivery_id()?).await?).into())
    }
}
