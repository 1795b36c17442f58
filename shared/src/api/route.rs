//! How a route is declared: an `Endpoint` type says its method, path, who may call it,
//! what it reads and what it answers; the edge, the local router, the OpenAPI document
//! and the template test all read that one declaration.

use std::future::Future;

use crate::api::edge::Cx;
use crate::api::input::{BodyInput, QueryInput};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub fn parse(m: &str) -> Option<Method> {
        Some(match m {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// Who may call a route (docs/api.md §2, §11, §12, §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials (the OpenAPI document).
    Public,
    /// The admin token only.
    Admin,
    /// The admin token or any project's API key or portal token (catalogue reads).
    AnyCaller,
    /// The key's own project, taken from the credential (event intake): a project API
    /// key only.
    KeyProject,
    /// The `{project_id}` of the path: its API key or one of its portal tokens, and the
    /// admin token on every project (docs/api.md §2). `portal: false` refuses portal tokens (403).
    Project { portal: bool },
}

impl Access {
    pub fn rate_limited(self) -> bool {
        matches!(self, Access::KeyProject | Access::Project { .. } | Access::AnyCaller)
    }
}

/// A route's declaration.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// With `{name}` segments, as API Gateway and OpenAPI write them.
    pub path: &'static str,
    pub access: Access,
    /// The success status.
    pub status: u16,
    /// The OpenAPI `operationId`.
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether it can answer 409 (conflicts, idempotency, state).
    pub conflicts: bool,
    /// A `POST` that stores and sends nothing (a preview): read-only sessions may call it.
    pub changes_nothing: bool,
}

/// What an endpoint answers: a value for the envelope's `result`, and extra headers.
pub struct Reply<T> {
    pub value: T,
    pub headers: Vec<(&'static str, String)>,
}

impl<T> From<T> for Reply<T> {
    fn from(value: T) -> Self {
        Reply { value, headers: Vec::new() }
    }
}

/// One route: its declaration, its inputs and output, and the call into the services.
pub trait Endpoint: Send + Sync + 'static {
    const ROUTE: Route;
    type Body: BodyInput;
    type Query: QueryInput;
    type Output: crate::api::respond::Respond;

    fn handle(
        cx: &Cx<'_>,
        body: Self::Body,
        query: Self::Query,
    ) -> impl Future<Output = Result<Reply<Self::Output>, ApiError>> + Send;
}

/// Every route, as the edge and the document see it (see `routes!`).
#[derive(Clone, Copy)]
pub struct RouteInfo {
    pub route: Route,
    /// Adds the route's operation to the OpenAPI document.
    pub document: fn(&mut crate::api::openapi::Doc),
}

impl std::fmt::Debug for RouteInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.route.method.as_str(), self.route.path)
    }
}

/// Matches a request path against a route template; returns the `{name}` values.
pub fn match_path(template: &'static str, segments: &[String]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        match p.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            Some(name) => params.push((name, s.clone())),
            None if p == s => {}
            None => return None,
        }
    }
    Some(params)
}

/// Declares the functions' route lists: `handle(app, req)` serving exactly these
/// endpoints, and `ROUTES` for the local router and the template test.
#[macro_export]
macro_rules! function_routes {
    ($($endpoint:ty),+ $(,)?) => {
        /// The routes this function serves.
        pub static ROUTES: &[$crate::api::RouteInfo] = &[$($crate::api::info::<$endpoint>()),+];

        fn dispatch<'a>(
            call: $crate::api::edge::Call<'a>,
        ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Result<::lambda_http::Response<::lambda_http::Body>, $crate::ApiError>> + Send + 'a>> {
            Box::pin(async move {
                $(
                    if call.is::<$endpoint>() {
                        return call.run::<$endpoint>().await;
                    }
                )+
                Err($crate::api::edge::no_route())
            })
        }

        /// Serves one request through the shared edge.
        pub async fn handle(app: &$crate::App, req: ::lambda_http::Request) -> ::lambda_http::Response<::lambda_http::Body> {
            $crate::api::edge::serve(app, req, ROUTES, dispatch).await
        }
    };
}

impl Route {
    /// Whether a read-only portal session is refused this route.
    pub fn writes(&self) -> bool {
        self.method != Method::Get && !self.changes_nothing
    }
}
