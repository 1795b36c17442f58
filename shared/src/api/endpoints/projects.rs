//! docs/api.md §3: projects and their API keys.

use crate::api::edge::{Caller, Cx};
use crate::api::input::{Empty, Json, NoBody, NoQuery};
use crate::api::requests::CreateProject;
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::{ProjectView, ProjectWithKey};
use crate::error::ApiError;
use crate::service::projects;

use super::{conflicting, route, PROJECT};

pub struct Create;

impl Endpoint for Create {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/projects",
        Access::Admin,
        201,
        "createProject",
        "projects",
        "Create a project (admin token); its API key is shown this once",
    );
    type Body = Json<CreateProject>;
    type Query = NoQuery;
    type Output = ProjectWithKey;

    async fn handle(
        cx: &Cx<'_>,
        Json((name, client_id)): Self::Body,
        _: NoQuery,
    ) -> Result<Reply<ProjectWithKey>, ApiError> {
        let (project, key) = projects::create(cx.app, name, client_id).await?;
        Ok(ProjectWithKey::new(&project, key).into())
    }
}

pub struct Get;

impl Endpoint for Get {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects/{project_id}",
        PROJECT,
        200,
        "getProject",
        "projects",
        "The project, without any key",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = ProjectView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<ProjectView>, ApiError> {
        Ok(ProjectView::from(cx.project()?).into())
    }
}

pub struct RotateKey;

impl Endpoint for RotateKey {
    const ROUTE: Route = conflicting(route(
        Method::Post,
        "/api/v1/projects/{project_id}/api-key/rotate",
        Access::Project { portal: false },
        200,
        "rotateApiKey",
        "projects",
        "A new API key, returned once; the old one stops working",
    ));
    type Body = Empty;
    type Query = NoQuery;
    type Output = ProjectWithKey;

    async fn handle(cx: &Cx<'_>, _: Empty, _: NoQuery) -> Result<Reply<ProjectWithKey>, ApiError> {
        // Project 0 has no key to rotate.
        if cx.caller == Caller::Admin {
            return Err(ApiError::Forbidden("the operations project has no API key".into()));
        }
        let (project, key) = projects::rotate_key(cx.app, cx.project()?).await?;
        Ok(ProjectWithKey::new(&project, key).into())
    }
}
