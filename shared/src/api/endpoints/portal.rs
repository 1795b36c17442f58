//! docs/api.md §13: portal sessions for the embeddable dashboard.

use crate::api::edge::{Caller, Cx};
use crate::api::input::{MaybeJson, NoQuery};
use crate::api::requests::CreatePortalSession;
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::PortalSessionView;
use crate::error::ApiError;
use crate::service::portal;

use super::route;

pub struct Create;

impl Endpoint for Create {
    const ROUTE: Route = route(
        Method::Post,
        "/api/v1/projects/{project_id}/portal-sessions",
        Access::Project { portal: false },
        201,
        "createPortalSession",
        "portal",
        "A short-lived dashboard link for this project's customers",
    );
    type Body = MaybeJson<CreatePortalSession>;
    type Query = NoQuery;
    type Output = PortalSessionView;

    async fn handle(
        cx: &Cx<'_>,
        MaybeJson((ttl, read_only)): Self::Body,
        _: NoQuery,
    ) -> Result<Reply<PortalSessionView>, ApiError> {
        if cx.caller == Caller::Admin {
            return Err(ApiError::Forbidden("portal sessions are made with the project's API key".into()));
        }
        // The base is checked first: a refused header leaves no session behind.
        let base = cx.public_base()?;
        let (token, session) = portal::create(cx.app, cx.project()?, ttl, read_only).await?;
        let url = portal::url(&base, &token);
        Ok(PortalSessionView { token, url, expires_at: session.valid_until.rfc3339(), read_only }.into())
    }
}
