//! The OpenAPI 3.1 document (docs/api.md §14), generated from the route declarations and the
//! request and response types: `GET /api/v1/openapi.json` serves it, and the repository
//! keeps the same text as `openapi.json` (a test fails when it is stale).

use std::collections::BTreeMap;

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, Content, Header, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
};
use utoipa::ToSchema;

use crate::api::input::{BodyInput, QueryInput};
use crate::api::respond::Respond;
use crate::api::route::{Access, Endpoint, Method, RouteInfo};
use crate::error::FieldError;

/// The command that rewrites `openapi.json` from the code.
pub const REGENERATE: &str = "cargo run -p hookline --example openapi > openapi.json";

/// A document being built: paths and the named schemas they refer to.
pub struct Doc {
    paths: Paths,
    schemas: BTreeMap<String, RefOr<Schema>>,
}

impl Doc {
    fn new() -> Doc {
        Doc { paths: Paths::new(), schemas: BTreeMap::new() }
    }

    /// Registers `T` (and every schema it refers to) and returns a reference to it.
    pub fn schema<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut nested = Vec::new();
        T::schemas(&mut nested);
        for (name, schema) in nested {
            self.schemas.entry(name).or_insert(schema);
        }
        let name = T::name().to_string();
        self.schemas.entry(name.clone()).or_insert_with(T::schema);
        Ref::from_schema_name(name).into()
    }

    /// docs/api.md §1's success envelope around `result`.
    pub fn success_envelope(&mut self, result: RefOr<Schema>) -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["success"])))
            .property("message", ObjectBuilder::new().schema_type(Type::String))
            .property("result", result)
            .required("status")
            .required("message")
            .required("result")
            .into()
    }

    fn error_envelope(&mut self) -> RefOr<Schema> {
        let name = "Error";
        if !self.schemas.contains_key(name) {
            let field = self.schema::<FieldError>();
            let schema = ObjectBuilder::new()
                .description(Some(
                    "docs/api.md §1's error envelope: the message is for a person; `errors` lists field problems",
                ))
                .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["error"])))
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .property("errors", ArrayBuilder::new().items(field))
                .required("status")
                .required("message")
                .required("errors")
                .into();
            self.schemas.insert(name.to_string(), schema);
        }
        Ref::from_schema_name(name).into()
    }

    fn add(&mut self, path: &str, method: HttpMethod, op: utoipa::openapi::path::Operation) {
        self.paths.add_path_operation(path, vec![method], op);
    }
}

/// What an error status means, for the document.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => "malformed or invalid input",
        401 => "missing or wrong credentials",
        403 => "credentials valid, but not for this",
        404 => "no such resource",
        405 => "method not allowed on this route",
        409 => "conflict",
        413 => "body larger than 256 KiB",
        415 => "body not application/json",
        429 => "rate limited",
        503 => "a dependency failed or hung; nothing was changed, retry",
        _ => "error",
    }
}

/// The `{name}` parameters of a path and their schemas.
fn path_parameter(name: &str) -> ParameterBuilder {
    let schema: RefOr<Schema> = match name {
        "project_id" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .minimum(Some(0))
            .into(),
        _ => ObjectBuilder::new().schema_type(Type::String).into(),
    };
    let description = match name {
        "project_id" => "The project (0 is the operations project, admin token only)",
        "webhook_id" => "`wh_…` or `wh_default`",
        "event_id" => "`evt_…`",
        "delivery_id" => "`msg_…`",
        "name" => "An event type",
        _ => "",
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
}

fn http_method(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

/// Adds endpoint `E` to the document.
pub fn document<E: Endpoint>(doc: &mut Doc) {
    let route = E::ROUTE;
    let params: Vec<&str> =
        route.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|n| n.strip_suffix('}'))).collect();
    let mut op = OperationBuilder::new().operation_id(Some(route.id)).summary(Some(route.summary)).tag(route.tag);
    for p in &params {
        op = op.parameter(path_parameter(p));
    }
    for q in E::Query::document() {
        op = op.parameter(q);
    }
    op = op.request_body(E::Body::document(doc));
    let mut responses = ResponsesBuilder::new().response(route.status.to_string(), E::Output::document(doc));
    let public = route.access == Access::Public;
    let mut errors = vec![405];
    if !public || !params.is_empty() || E::Body::READS_BODY {
        errors.push(400);
    }
    if !public {
        errors.extend([401, 403, 503]);
    }
    if !params.is_empty() {
        errors.push(404);
    }
    if route.conflicts {
        errors.push(409);
    }
    // docs/api.md §1: bodies over 256 KiB get 413 on every route; only routes that read one
    // check its type.
    errors.push(413);
    if E::Body::READS_BODY {
        errors.push(415);
    }
    if route.access.rate_limited() {
        errors.push(429);
    }
    errors.sort_unstable();
    errors.dedup();
    let envelope = doc.error_envelope();
    for status in errors {
        let mut r = ResponseBuilder::new()
            .description(error_description(status))
            .content("application/json", Content::new(Some(envelope.clone())));
        if status == 429 {
            let seconds = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
            r = r
                .header("Retry-After", seconds.clone())
                .header("X-RateLimit-Limit", seconds.clone())
                .header("X-RateLimit-Remaining", seconds);
        }
        responses = responses.response(status.to_string(), r.build());
    }
    op = op.responses(responses.build());
    op = match route.access {
        Access::Public => op.securities(Some(Vec::<SecurityRequirement>::new())),
        Access::Admin => op.security(SecurityRequirement::new("bearer", Vec::<String>::new())),
        _ => op
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .security(SecurityRequirement::new("apiKey", Vec::<String>::new())),
    };
    doc.add(route.path, http_method(route.method), op.build());
}

/// The document of every route in `routes`.
pub fn build(routes: &[RouteInfo]) -> OpenApi {
    let mut doc = Doc::new();
    for r in routes {
        (r.document)(&mut doc);
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token, a project API key (`hk_…`) or a portal session token (`pst_…`)",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A project API key (`hk_…`)",
            ))),
        );
    for (name, schema) in doc.schemas {
        components = components.schema(name, schema);
    }
    let tags = ["projects", "webhooks", "web hook", "events", "logs", "tests", "catalogue", "portal", "meta"];
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Hookline")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Webhooks as a service in your own AWS account. Every JSON answer uses the envelope of docs/api.md §1: `{status, message, result}` on success, `{status, message, errors}` on failure."))
                .build(),
        )
        .paths(doc.paths)
        .components(Some(components.build()))
        .tags(Some(tags.iter().map(|t| TagBuilder::new().name(*t).build())))
        .build()
}

/// The document as served and as kept in the repository: pretty JSON, stable order.
pub fn render(routes: &[RouteInfo]) -> String {
    let mut text = serde_json::to_string_pretty(&build(routes)).expect("the document serializes");
    text.push('\n');
    text
}
