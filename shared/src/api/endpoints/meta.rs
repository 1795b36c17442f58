//! docs/api.md §14's document and §13's dashboard: public, outside the envelope.

use crate::api::dashboard;
use crate::api::edge::Cx;
use crate::api::input::{NoBody, NoQuery};
use crate::api::respond::{Asset, OpenApiDocument};
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::error::ApiError;

use super::route;

pub struct OpenApi;

impl Endpoint for OpenApi {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/openapi.json",
        Access::Public,
        200,
        "getOpenApi",
        "meta",
        "This OpenAPI 3.1 document (no credentials)",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = OpenApiDocument;

    async fn handle(_: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<OpenApiDocument>, ApiError> {
        Ok(OpenApiDocument(crate::api::openapi::render(crate::api::ALL)).into())
    }
}

pub struct Dashboard;

impl Endpoint for Dashboard {
    const ROUTE: Route = route(
        Method::Get,
        "/dashboard/",
        Access::Public,
        200,
        "getDashboard",
        "portal",
        "The dashboard (docs/api.md §13); sign in with `#token=` or a project API key",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Asset;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Asset>, ApiError> {
        Ok(dashboard::index(cx).into())
    }
}

pub struct DashboardFile;

impl Endpoint for DashboardFile {
    const ROUTE: Route = route(
        Method::Get,
        "/dashboard/{file}",
        Access::Public,
        200,
        "getDashboardFile",
        "portal",
        "One of the dashboard's files",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Asset;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Asset>, ApiError> {
        dashboard::file(cx).map(Reply::from)
    }
}

pub struct DashboardVendorFile;

impl Endpoint for DashboardVendorFile {
    const ROUTE: Route = route(
        Method::Get,
        "/dashboard/vendor/{file}",
        Access::Public,
        200,
        "getDashboardVendorFile",
        "portal",
        "One of the dashboard's vendored libraries",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Asset;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Asset>, ApiError> {
        dashboard::vendor_file(cx).map(Reply::from)
    }
}
