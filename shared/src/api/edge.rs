//! The one HTTP edge every API function uses: it matches the route, authenticates the
//! caller (admin token, project API key or portal token), spends the project's rate
//! limit, reads the typed inputs, calls the endpoint, and answers in the envelope of docs/api.md §1
//! with the rate-limit headers, whatever happened.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures::FutureExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::api::input::{BodyInput, QueryInput};
use crate::api::route::{match_path, Access, Endpoint, Method, RouteInfo};
use crate::app::App;
use crate::clock::Millis;
use crate::credentials::{
    admin_token_matches, constant_time_eq, looks_like_api_key, looks_like_portal_token, sha256_hex,
};
use crate::error::{ApiError, FieldError};
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};
use crate::model::Project;
use crate::store::keys::RateBucket;
use crate::store::RateDecision;

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// No credentials needed (public routes).
    Anonymous,
    Admin,
    /// A project API key.
    Key(Project),
    /// A portal session token (docs/api.md §13).
    Portal {
        project_id: ProjectId,
        read_only: bool,
    },
}

/// What an endpoint sees of its request.
pub struct Cx<'a> {
    pub app: &'a App,
    pub caller: Caller,
    /// The project the route acts on: its `{project_id}`, or the key's own project.
    project: Option<Project>,
    params: Vec<(&'static str, String)>,
    req: &'a Request,
}

impl Cx<'_> {
    /// The project the route acts on (routes with `Access::Project` or `KeyProject`).
    pub fn project(&self) -> Result<&Project, ApiError> {
        self.project.as_ref().ok_or_else(|| ApiError::Internal("route has no project".into()))
    }

    pub fn project_id(&self) -> Result<ProjectId, ApiError> {
        self.project().map(|p| p.project_id)
    }

    /// The credential as presented (for routes that look it up again).
    pub fn presented_token(&self) -> Option<&str> {
        presented_credential(self.req)
    }

    /// The `{project_id}` of an admin route (project routes use [`Cx::project`]).
    pub fn path_project_id(&self) -> Result<ProjectId, ApiError> {
        ProjectId::parse(self.param("project_id")).ok_or_else(|| ApiError::invalid("project_id", "must be an integer"))
    }

    fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v.as_str())
    }

    /// A `{webhook_id}`; a malformed one cannot exist, so it is 404 like a missing one.
    pub fn webhook_id(&self) -> Result<WebhookId, ApiError> {
        WebhookId::parse(self.param("webhook_id")).ok_or_else(|| ApiError::not_found("webhook"))
    }

    pub fn event_id(&self) -> Result<EventId, ApiError> {
        EventId::parse(self.param("event_id")).ok_or_else(|| ApiError::not_found("event"))
    }

    pub fn delivery_id(&self) -> Result<DeliveryId, ApiError> {
        DeliveryId::parse(self.param("delivery_id")).ok_or_else(|| ApiError::not_found("delivery"))
    }

    /// An event type `{name}` of the catalogue.
    pub fn type_name(&self) -> Result<&str, ApiError> {
        let name = self.param("name");
        if crate::matching::is_valid_event_type(name) {
            Ok(name)
        } else {
            Err(ApiError::not_found("event type"))
        }
    }

    /// A dashboard `{file}` name.
    pub fn file_name(&self) -> &str {
        self.param("file")
    }

    /// The request path as it came in (with any stage prefix).
    pub fn path(&self) -> &str {
        self.req.uri().path()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw value of a header, for checks that must see non-ASCII bytes too.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.req.headers().get(name).map(|v| v.as_bytes())
    }

    /// The scheme and host portal URLs start with (docs/api.md §13): `HOOKLINE_PUBLIC_URL`
    /// when set; behind API Gateway, the domain of its request context, never a header the
    /// client could have written; otherwise (the local stack, which passes the connection's
    /// headers on) `X-Forwarded-Proto` and `X-Forwarded-Host` or `Host`. A scheme other
    /// than http(s) or a malformed host is refused, so the URL always names a web origin.
    pub fn public_base(&self) -> Result<String, ApiError> {
        if let Some(base) = &self.app.settings.public_url {
            return Ok(base.clone());
        }
        if let Some(context) = self.req.request_context_ref() {
            let domain = match context {
                RequestContext::ApiGatewayV2(c) => c.domain_name.as_deref(),
                RequestContext::ApiGatewayV1(c) => c.domain_name.as_deref(),
                // Only API Gateway's events are enabled; any other context has no domain.
                _ => None,
            };
            let domain = domain
                .ok_or_else(|| ApiError::Internal("API Gateway sent no domain name; set HOOKLINE_PUBLIC_URL".into()))?;
            return web_origin("https", domain)
                .ok_or_else(|| ApiError::Internal(format!("API Gateway's domain name `{domain}` is not a host")));
        }
        // The first value of a header a chain of proxies may have appended to.
        let first = |name: &str| self.header(name).and_then(|v| v.split(',').next()).map(str::trim);
        let scheme = match first("x-forwarded-proto") {
            None => "http",
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            Some(p) if p.eq_ignore_ascii_case("http") => "http",
            Some(_) => return Err(ApiError::invalid("X-Forwarded-Proto", "must be http or https")),
        };
        let (name, host) = match first("x-forwarded-host") {
            Some(h) => ("X-Forwarded-Host", h),
            // Only a request made in-process has no Host at all.
            None => ("Host", first("host").unwrap_or("localhost")),
        };
        web_origin(scheme, host)
            .ok_or_else(|| ApiError::invalid(name, "must be a host name or address, with an optional port"))
    }
}

/// `scheme://host[:port]` when `host` is exactly a host and an optional port (no user,
/// path, query or fragment), normalised as a browser would (lowercase, default port
/// dropped).
fn web_origin(scheme: &str, host: &str) -> Option<String> {
    if host.is_empty() || host.contains(['/', '\\', '@', '?', '#']) {
        return None;
    }
    let url = url::Url::parse(&format!("{scheme}://{host}")).ok()?;
    let origin = url.origin();
    (origin.is_tuple() && url.path() == "/").then(|| origin.ascii_serialization())
}

/// One request matched to one route, ready to run (see `function_routes!`).
pub struct Call<'a> {
    cx: Cx<'a>,
    info: &'static RouteInfo,
}

impl Call<'_> {
    pub fn is<E: Endpoint>(&self) -> bool {
        self.info.route.id == E::ROUTE.id
    }

    /// Reads the inputs `E` declares, calls it, and renders its answer.
    pub async fn run<E: Endpoint>(self) -> Result<Response<Body>, ApiError> {
        let settings = &self.cx.app.settings;
        let query = E::Query::parse(self.cx.req.uri().query(), settings)?;
        let body = E::Body::parse(self.cx.req, settings)?;
        let reply = E::handle(&self.cx, body, query).await?;
        Ok(crate::api::respond::Respond::respond(reply.value, E::ROUTE.status, reply.headers))
    }
}

pub type Dispatch = for<'a> fn(Call<'a>) -> Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

/// The 404 of a path no route of this function serves.
pub fn no_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// The path segments from `/api/` or `/dashboard` on: anything before them (an API
/// Gateway stage, `cargo lambda watch`'s `/lambda-url/<fn>`) is ignored.
pub fn segments(path: &str) -> Vec<String> {
    let from = ["/api/", "/dashboard"].iter().filter_map(|p| path.find(p)).min().map_or(path, |i| &path[i..]);
    from.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Serves one request with `routes`, the routes of this function.
pub async fn serve(app: &App, req: Request, routes: &'static [RouteInfo], dispatch: Dispatch) -> Response<Body> {
    let mut rate: Option<(RateDecision, u32)> = None;
    let answer = AssertUnwindSafe(handle(app, &req, routes, dispatch, &mut rate)).catch_unwind().await;
    let result = match answer {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(path = %req.uri().path(), "handler panicked");
            Err(ApiError::Internal("handler panicked".into()))
        }
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    if req.method() == http::Method::HEAD {
        *response.body_mut() = Body::Empty;
    }
    if let Some((d, limit)) = rate {
        if response.status() != 429 {
            let h = response.headers_mut();
            h.insert("x-ratelimit-limit", limit.into());
            h.insert("x-ratelimit-remaining", d.remaining.into());
        }
    }
    response
}

async fn handle(
    app: &App,
    req: &Request,
    routes: &'static [RouteInfo],
    dispatch: Dispatch,
    rate: &mut Option<(RateDecision, u32)>,
) -> Result<Response<Body>, ApiError> {
    let segs = segments(req.uri().path());
    // HEAD is a GET without its body.
    let method =
        if req.method() == http::Method::HEAD { Some(Method::Get) } else { Method::parse(req.method().as_str()) };
    let mut allowed = Vec::new();
    let mut found = None;
    for info in routes {
        if let Some(params) = match_path(info.route.path, &segs) {
            if Some(info.route.method) == method {
                found = Some((info, params));
                break;
            }
            allowed.push(info.route.method.as_str());
        }
    }
    let Some((info, params)) = found else {
        if allowed.is_empty() {
            return Err(no_route());
        }
        let mut r = error_response(&ApiError::MethodNotAllowed(req.method().to_string()));
        r.headers_mut().insert("allow", allowed.join(", ").parse().expect("method names are valid header text"));
        return Ok(r);
    };
    let (caller, project) = authorize(app, req, info.route.access, &params, info.route.writes(), rate).await?;
    let cx = Cx { app, caller, project, params, req };
    dispatch(Call { cx, info }).await
}

fn presented_credential(req: &Request) -> Option<&str> {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    // A Bearer token, else `X-API-Key`: an `Authorization` of another scheme (a proxy's Basic
    // credentials, say) does not hide the key beside it.
    let bearer = header("authorization").and_then(|auth| {
        let (scheme, token) = auth.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    });
    bearer.or_else(|| header("x-api-key").map(str::trim)).filter(|t| !t.is_empty())
}

/// A presented credential, recognised and checked (but not yet held against a route).
enum Credential {
    Admin,
    Key(Project),
    Portal { project: Project, read_only: bool },
}

async fn identify(app: &App, token: &str) -> Result<Credential, ApiError> {
    let invalid = || ApiError::Unauthorized("invalid credentials".into());
    if token.starts_with(crate::credentials::API_KEY_PREFIX) {
        if !looks_like_api_key(token) {
            return Err(invalid());
        }
        let hash = sha256_hex(token);
        let project = app
            .store
            .project_by_key_hash(&hash)
            .await?
            .filter(|p| constant_time_eq(p.api_key_hash.as_bytes(), hash.as_bytes()))
            .ok_or_else(invalid)?;
        return Ok(Credential::Key(project));
    }
    if token.starts_with(crate::credentials::PORTAL_TOKEN_PREFIX) {
        if !looks_like_portal_token(token) {
            return Err(invalid());
        }
        let session = app
            .store
            .portal_session(&sha256_hex(token), Millis::now())
            .await?
            .ok_or_else(|| ApiError::Unauthorized("invalid or expired portal session".into()))?;
        // A deleted project's sessions stop with it.
        let project = app
            .store
            .get_project(session.project_id)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("invalid or expired portal session".into()))?;
        return Ok(Credential::Portal { project, read_only: session.read_only });
    }
    match &app.settings.admin_token_sha256 {
        Some(hash) if admin_token_matches(token, hash) => Ok(Credential::Admin),
        _ => Err(invalid()),
    }
}

async fn spend_rate(app: &App, bucket: RateBucket, rate: &mut Option<(RateDecision, u32)>) -> Result<(), ApiError> {
    let s = &app.settings;
    let d = app.store.rate_acquire(bucket, s.rate_limit_per_minute, s.rate_limit_burst, Millis::now()).await?;
    if !d.allowed {
        return Err(ApiError::RateLimited { retry_after_secs: d.retry_after_secs, limit: s.rate_limit_burst });
    }
    *rate = Some((d, s.rate_limit_burst));
    Ok(())
}

async fn authorize(
    app: &App,
    req: &Request,
    access: Access,
    params: &[(&'static str, String)],
    writes: bool,
    rate: &mut Option<(RateDecision, u32)>,
) -> Result<(Caller, Option<Project>), ApiError> {
    if access == Access::Public {
        return Ok((Caller::Anonymous, None));
    }
    // The path's project id is checked before the credentials, as docs/api.md §4 documents for
    // the web_hook routes.
    let path_project = match params.iter().find(|(n, _)| *n == "project_id") {
        Some((_, v)) => Some(ProjectId::parse(v).ok_or_else(|| ApiError::invalid("project_id", "must be an integer"))?),
        None => None,
    };
    let token = presented_credential(req).ok_or_else(|| ApiError::Unauthorized("credentials required".into()))?;
    let credential = identify(app, token).await?;
    let forbidden = |m: &str| ApiError::Forbidden(m.to_string());
    match (access, credential) {
        (Access::Admin, Credential::Admin) => Ok((Caller::Admin, None)),
        (Access::Admin, _) => Err(forbidden("only the admin token may do this")),
        (Access::AnyCaller, Credential::Admin) => Ok((Caller::Admin, None)),
        (Access::AnyCaller, Credential::Key(p)) => {
            spend_rate(app, RateBucket::ApiKey(p.project_id), rate).await?;
            Ok((Caller::Key(p), None))
        }
        (Access::AnyCaller, Credential::Portal { project, read_only }) => {
            check_read_only(read_only, writes)?;
            spend_rate(app, RateBucket::Portal(project.project_id), rate).await?;
            Ok((Caller::Portal { project_id: project.project_id, read_only }, None))
        }
        (Access::KeyProject, Credential::Key(p)) => {
            spend_rate(app, RateBucket::ApiKey(p.project_id), rate).await?;
            Ok((Caller::Key(p.clone()), Some(p)))
        }
        (Access::KeyProject, _) => Err(forbidden("events are sent with a project API key")),
        (Access::Project { portal }, credential) => {
            let pid = path_project.ok_or_else(|| ApiError::Internal("route has no {project_id}".into()))?;
            match credential {
                Credential::Admin if pid.is_operations() => Ok((Caller::Admin, Some(Project::operations()))),
                // The operator acts on every project as its key may, and is never rate limited.
                Credential::Admin => {
                    let project = app.store.get_project(pid).await?.ok_or_else(|| ApiError::not_found("project"))?;
                    Ok((Caller::Admin, Some(project)))
                }
                Credential::Key(p) if p.project_id == pid => {
                    spend_rate(app, RateBucket::ApiKey(pid), rate).await?;
                    Ok((Caller::Key(p.clone()), Some(p)))
                }
                Credential::Key(_) => Err(forbidden("this API key is not valid for this project")),
                Credential::Portal { project, .. } if project.project_id != pid => {
                    Err(forbidden("this portal session is for another project"))
                }
                Credential::Portal { .. } if !portal => {
                    Err(forbidden("a portal session cannot do this; use the project's API key"))
                }
                Credential::Portal { project, read_only } => {
                    check_read_only(read_only, writes)?;
                    spend_rate(app, RateBucket::Portal(pid), rate).await?;
                    Ok((Caller::Portal { project_id: pid, read_only }, Some(project)))
                }
            }
        }
        (Access::Public, _) => Ok((Caller::Anonymous, None)),
    }
}

fn check_read_only(read_only: bool, writes: bool) -> Result<(), ApiError> {
    if read_only && writes {
        return Err(ApiError::Forbidden("this portal session is read-only".into()));
    }
    Ok(())
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    status: &'static str,
    message: String,
    errors: &'a [FieldError],
}

/// The docs/api.md §1 error envelope, with `Retry-After` and the limit headers on a 429.
pub fn error_response(e: &ApiError) -> Response<Body> {
    if let ApiError::Internal(detail) = e {
        tracing::error!(error = %detail, "internal error");
    }
    let body =
        serde_json::to_string(&ErrorEnvelope { status: "error", message: e.to_string(), errors: e.field_errors() })
            .expect("the envelope serializes");
    let mut b = Response::builder()
        .status(e.status())
        .header("content-type", "application/json")
        .header("x-content-type-options", "nosniff");
    if let ApiError::RateLimited { retry_after_secs, limit } = e {
        b = b
            .header("retry-after", retry_after_secs.to_string())
            .header("x-ratelimit-limit", limit.to_string())
            .header("x-ratelimit-remaining", "0");
    }
    b.body(Body::Text(body)).expect("status and headers are valid")
}
