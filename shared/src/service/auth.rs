//! Who is calling: the admin token, or a project API key (rate-limited).

use lambda_http::Request;

use crate::app::App;
use crate::clock::now_ms;
use crate::credentials::{admin_token_matches, looks_like_api_key, sha256_hex};
use crate::error::ApiError;
use crate::http::presented_credential;
use crate::model::Project;
use crate::store::RateDecision;

pub fn require_admin(app: &App, req: &Request) -> Result<(), ApiError> {
    let token = presented_credential(req).ok_or_else(|| ApiError::Unauthorized("admin token required".into()))?;
    match &app.settings.admin_token_sha256 {
        Some(hash) if admin_token_matches(token, hash) => Ok(()),
        _ => Err(ApiError::Unauthorized("invalid admin token".into())),
    }
}

/// A caller identified by its project API key, with the rate-limit decision
/// that let the request through (its numbers go into response headers).
#[derive(Debug, Clone)]
pub struct Caller {
    pub project: Project,
    pub rate: RateDecision,
    pub rate_limit: u32,
}

impl Caller {
    pub fn rate_headers(&self) -> Option<(RateDecision, u32)> {
        Some((self.rate, self.rate_limit))
    }
}

/// Authenticates like `authenticate` and remembers the rate-limit numbers for
/// the response headers, whatever the rest of the request comes to.
pub async fn authenticate_into(
    app: &App,
    req: &Request,
    project_id: Option<u64>,
    rate: &mut Option<(RateDecision, u32)>,
) -> Result<Project, ApiError> {
    let caller = authenticate(app, req, project_id).await?;
    *rate = caller.rate_headers();
    Ok(caller.project)
}

/// Authenticates a project key (401 when missing or unknown), checks that it
/// belongs to `project_id` when the route names one (403 otherwise), and spends
/// one request of the project's rate limit (429 past it).
pub async fn authenticate(app: &App, req: &Request, project_id: Option<u64>) -> Result<Caller, ApiError> {
    let key = presented_credential(req).ok_or_else(|| ApiError::Unauthorized("API key required".into()))?;
    if !looks_like_api_key(key) {
        return Err(ApiError::Unauthorized("invalid API key".into()));
    }
    let hash = sha256_hex(key);
    let project = app
        .store
        .project_by_key_hash(&hash)
        .await?
        .filter(|p| crate::credentials::constant_time_eq(p.api_key_hash.as_bytes(), hash.as_bytes()))
        .ok_or_else(|| ApiError::Unauthorized("invalid API key".into()))?;
    if let Some(pid) = project_id {
        if pid != project.project_id {
            return Err(ApiError::Forbidden("this API key is not valid for this project".into()));
        }
    }
    let s = &app.settings;
    let rate =
        app.store.rate_acquire(project.project_id, s.rate_limit_per_minute, s.rate_limit_burst, now_ms()).await?;
    if !rate.allowed {
        return Err(ApiError::RateLimited { retry_after_secs: rate.retry_after_secs, limit: s.rate_limit_burst });
    }
    Ok(Caller { project, rate, rate_limit: s.rate_limit_burst })
}
