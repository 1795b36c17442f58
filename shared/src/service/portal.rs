//! Portal sessions (docs/api.md §13): short-lived Bearer tokens for one project's dashboard.

use std::time::Duration;

use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{generate_portal_token, sha256_hex};
use crate::error::ApiError;
use crate::model::{PortalSession, Project, Theme};

pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// A new session; returns the token (shown this once) and the session.
pub async fn create(
    app: &App,
    project: &Project,
    ttl: Duration,
    read_only: bool,
    theme: Theme,
) -> Result<(String, PortalSession), ApiError> {
    let now = Millis::now();
    let token = generate_portal_token(project.project_id);
    let session =
        PortalSession { project_id: project.project_id, read_only, created_at: now, valid_until: now.plus(ttl), theme };
    if !app.store.create_portal_session(&sha256_hex(&token), &session).await? {
        return Err(ApiError::Conflict("token collision; retry".into()));
    }
    Ok((token, session))
}

/// The dashboard address that signs in with `token`.
pub fn url(base: &str, token: &str) -> String {
    format!("{}/dashboard/#token={token}", base.trim_end_matches('/'))
}

/// The session of a presented portal token (already authenticated by the edge).
pub async fn current(app: &App, token: &str) -> Result<PortalSession, ApiError> {
    app.store
        .portal_session(&sha256_hex(token), Millis::now())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("invalid or expired portal session".into()))
}
