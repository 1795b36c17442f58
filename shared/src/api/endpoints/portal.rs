//! docs/api.md §13: portal sessions for the embeddable dashboard.

use crate::api::edge::{Caller, Cx};
use crate::api::input::{MaybeJson, NoBody, NoQuery};
use crate::api::requests::CreatePortalSession;
use crate::api::route::{Access, Endpoint, Method, Reply, Route};
use crate::api::types::{PortalSessionView, SessionKind, SessionView};
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
        MaybeJson((ttl, read_only, theme)): Self::Body,
        _: NoQuery,
    ) -> Result<Reply<PortalSessionView>, ApiError> {
        if cx.project()?.project_id.is_operations() {
            return Err(ApiError::Forbidden("the operations project has no portal".into()));
        }
        // The base is checked first: a refused header leaves no session behind.
        let base = cx.public_base()?;
        let (token, session) = portal::create(cx.app, cx.project()?, ttl, read_only, theme).await?;
        let url = portal::url(&base, &token);
        Ok(PortalSessionView {
            token,
            url,
            expires_at: session.valid_until.rfc3339(),
            read_only,
            theme: session.theme,
            frame_ancestors: cx.app.settings.frame_ancestors(),
        }
        .into())
    }
}

/// Who the presented credential is, for the dashboard: a portal session learns its project,
/// whether it is read-only, when it expires and its theme.
pub struct Current;

impl Endpoint for Current {
    const ROUTE: Route = route(
        Method::Get,
        "/api/v1/session",
        Access::AnyCaller,
        200,
        "getSession",
        "portal",
        "The presented credential: admin, a project key or a portal session (with its theme)",
    );
    type Body = NoBody;
    type Query = NoQuery;
    type Output = SessionView;

    async fn handle(cx: &Cx<'_>, _: NoBody, _: NoQuery) -> Result<Reply<SessionView>, ApiError> {
        let view = match &cx.caller {
            Caller::Portal { project_id, read_only } => {
                let session = portal::current(cx.app, cx.presented_token().unwrap_or_default()).await?;
                SessionView {
                    kind: SessionKind::Portal,
                    project_id: Some(*project_id),
                    read_only: *read_only,
                    expires_at: Some(session.valid_until.rfc3339()),
                    theme: Some(session.theme),
                }
            }
            Caller::Key(p) => SessionView {
                kind: SessionKind::Project,
                project_id: Some(p.project_id),
                read_only: false,
                expires_at: None,
                theme: None,
            },
            Caller::Admin | Caller::Anonymous => SessionView {
                kind: SessionKind::Admin,
                project_id: None,
                read_only: false,
                expires_at: None,
                theme: None,
            },
        };
        Ok(view.into())
    }
}
