//! docs/api.md §3: projects and their API keys.

use crate::api::edge::Cx;
use crate::api::input::{Empty, Json, NoBody, NoQuery, Paging, Query};
use crate::api::requests::CreateProject;
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::{Deleted, ProjectList, ProjectView, ProjectWithKey};
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
        Ok(ProjectView::from(&projects::with_external_id(cx.app, cx.project()?).await?).into())
    }
}

pub struct List;

impl Endpoint for List {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/projects",
        Access::Admin,
        200,
        "listProjects",
        "projects",
        "Every project, newest first, without keys (admin token)",
    );
    type Body = NoBody;
    type Query = Query<Paging>;
    type Output = ProjectList;

    async fn handle(cx: &Cx<'_>, _: NoBody, Query(p): Self::Query) -> Result<Reply<ProjectList>, ApiError> {
        let page = projects::list(cx.app, p.limit(), p.cursor()).await?;
        Ok(ProjectList::new(page, |p| ProjectView::from(p)).into())
    }
}

pub struct Delete;

impl Endpoint for Delete {
    const ROUTE: Route = conflicting(route(
        Method::Delete,
        "/api/v1/projects/{project_id}",
        Access::Admin,
        200,
        "deleteProject",
        "projects",
        "Deletes a project (admin token): its key, portal sessions and webhooks stop at once, its pending deliveries \
         are never sent; project 0 cannot be deleted (409)",
    ));
    type Body = NoBody;
    type Query = NoQuery;
    type Output = Deleted;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<Deleted>, ApiError> {
        projects::delete(cx.app, cx.path_project_id()?).await?;
        Ok(Deleted.into())
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
        if cx.project()?.project_id.is_operations() {
            return Err(ApiError::Forbidden("the operations project has no API key".into()));
        }
        let (project, key) = projects::rotate_key(cx.app, cx.project()?).await?;
        Ok(ProjectWithKey::new(&project, key).into())
    }
}
