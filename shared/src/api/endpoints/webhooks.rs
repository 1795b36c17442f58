//! docs/api.md §4 and §12: a project's webhooks.

use crate::api::edge::Cx;
use crate::api::input::{Empty, Json, NoBody, NoQuery, Paging, Query};
use crate::api::requests::{CreateWebhook, PatchWebhook, PreviewWebhook, Recover as RecoverBody};
use crate::api::route::{Endpoint, Method, Reply, Route};
use crate::api::types::{Deleted, PreviewView, Recovered, WebhookList, WebhookView, WebhookWithSecrets};
use crate::error::ApiError;
use crate::service::{logs, webhooks};

use super::{changes_nothing, conflicting, route, PROJECT};

pub struct List;

impl Endpoint for List {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/webhooks",
        PROJECT,
        200,
        "listWebhooks",
        "webhooks",
        "The project's webhooks (secrets never included)",
    );
    type Body = NoBody;
    type Query = Query<Paging>;
    type Output = WebhookList;

    async fn handle(cx: &Cx<'_>, _: NoBody, Query(p): Self::Query) -> Result<Reply<WebhookList>, ApiError> {
        let page = webhooks::list(cx.app, cx.project_id()?, p.limit(), p.cursor()).await?;
        Ok(WebhookList::new(page, |w| WebhookView::from(w)).into())
    }
}

pub struct Create;

impl Endpoint for Create {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/webhooks",
        PROJECT,
        201,
        "createWebhook",
        "webhooks",
        "Create a webhook; its secret and verification key are shown this once",
    ));
    type Body = Json<CreateWebhook>;
    type Query = NoQuery;
    type Output = WebhookWithSecrets;

    async fn handle(cx: &Cx<'_>, Json(changes): Self::Body, _: NoQuery) -> Result<Reply<WebhookWithSecrets>, ApiError> {
        Ok(WebhookWithSecrets::from(&webhooks::create(cx.app, cx.project()?, changes).await?).into())
    }
}

pub struct Get;

impl Endpoint for Get {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
        PROJECT,
        200,
        "getWebhook",
        "webhooks",
        "One webhook",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = WebhookView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<WebhookView>, ApiError> {
        Ok(WebhookView::from(&webhooks::load(cx.app, cx.project_id()?, &cx.webhook_id()?).await?).into())
    }
}

pub struct Patch;

impl Endpoint for Patch {
    const ROUTE: Route = conflicting(route(
        Method::Patch,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
        PROJECT,
        200,
        "patchWebhook",
        "webhooks",
        "Change a webhook; `\"authorization\": null` clears it, `enabled: true` clears a failure",
    ));
    type Body = Json<PatchWebhook>;
    type Query = NoQuery;
    type Output = WebhookView;

    async fn handle(cx: &Cx<'_>, Json(changes): Self::Body, _: NoQuery) -> Result<Reply<WebhookView>, ApiError> {
        Ok(WebhookView::from(&webhooks::patch(cx.app, cx.project()?, &cx.webhook_id()?, changes).await?).into())
    }
}

pub struct Delete;

impl Endpoint for Delete {
    const ROUTE: Route = route(
        Method::Delete,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
        PROJECT,
        200,
        "deleteWebhook",
        "webhooks",
        "Delete a webhook; its pending deliveries are dropped",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Deleted;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Deleted>, ApiError> {
        webhooks::delete(cx.app, cx.project_id()?, &cx.webhook_id()?).await?;
        Ok(Deleted.into())
    }
}

pub struct RotateSecret;

impl Endpoint for RotateSecret {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}/rotate-secret",
        PROJECT,
        200,
        "rotateWebhookSecret",
        "webhooks",
        "New secret and verification key, returned once; old secrets sign for 24 hours more",
    ));
    type Body = Empty;
    type Query = NoQuery;
    type Output = WebhookWithSecrets;

    async fn handle(cx: &Cx<'_>, _: Empty, _: NoQuery) -> Result<Reply<WebhookWithSecrets>, ApiError> {
        Ok(WebhookWithSecrets::from(&webhooks::rotate_secret(cx.app, cx.project_id()?, &cx.webhook_id()?).await?)
            .into())
    }
}

pub struct Recover;

impl Endpoint for Recover {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}/recover",
        PROJECT,
        202,
        "recoverWebhook",
        "webhooks",
        "One new attempt for every `error` delivery created in [since, until); 409 while disabled",
    ));
    type Body = Json<RecoverBody>;
    type Query = NoQuery;
    type Output = Recovered;

    async fn handle(cx: &Cx<'_>, Json((since, until)): Self::Body, _: NoQuery) -> Result<Reply<Recovered>, ApiError> {
        let recovered = logs::recover(cx.app, cx.project_id()?, &cx.webhook_id()?, since, until).await?;
        Ok(Recovered { recovered }.into())
    }
}

pub struct Preview;

impl Endpoint for Preview {
    const ROUTE: Route = changes_nothing(route(
        Method::Post,
        "/api/v1/projects/{project_id}/webhooks/{webhook_id}/preview",
        PROJECT,
        200,
        "previewWebhook",
        "webhooks",
        "The exact body an event would be sent with (after the filter and transform given, \
         else the webhook's own), or matches false; nothing is stored or sent",
    ));
    type Body = Json<PreviewWebhook>;
    type Query = NoQuery;
    type Output = PreviewView;

    async fn handle(cx: &Cx<'_>, Json(p): Self::Body, _: NoQuery) -> Result<Reply<PreviewView>, ApiError> {
        let previewed = webhooks::preview(cx.app, cx.project()?, &cx.webhook_id()?, p).await?;
        Ok(PreviewView::from(previewed).into())
    }
}
