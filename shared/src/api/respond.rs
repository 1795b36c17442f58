//! How an endpoint's answer becomes a response: most answer in the docs/api.md §1 envelope; the
//! OpenAPI document and the dashboard's files are sent as they are.

use lambda_http::{Body, Response};
use serde::Serialize;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::Content;
use utoipa::ToSchema;

use crate::api::openapi::Doc;

pub trait Respond: Send {
    fn respond(self, status: u16, headers: Vec<(&'static str, String)>) -> Response<Body>;
    /// The success response in the OpenAPI document.
    fn document(doc: &mut Doc) -> DocResponse;
}

#[derive(Serialize)]
struct Envelope<T> {
    status: &'static str,
    message: &'static str,
    result: T,
}

impl<T: Serialize + ToSchema + Send> Respond for T {
    fn respond(self, status: u16, headers: Vec<(&'static str, String)>) -> Response<Body> {
        let body = serde_json::to_string(&Envelope { status: "success", message: "success", result: self })
            .expect("results serialize");
        let mut b = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-content-type-options", "nosniff");
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.body(Body::Text(body)).expect("status and headers are valid")
    }

    fn document(doc: &mut Doc) -> DocResponse {
        let result = doc.schema::<T>();
        ResponseBuilder::new()
            .description("success")
            .content("application/json", Content::new(Some(doc.success_envelope(result))))
            .build()
    }
}

/// The OpenAPI document itself (docs/api.md §14): JSON, not wrapped in the envelope.
pub struct OpenApiDocument(pub String);

impl Respond for OpenApiDocument {
    fn respond(self, status: u16, _: Vec<(&'static str, String)>) -> Response<Body> {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-content-type-options", "nosniff")
            .header("cache-control", "public, max-age=300")
            .body(Body::Text(self.0))
            .expect("status and headers are valid")
    }

    fn document(_: &mut Doc) -> DocResponse {
        let schema = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("An OpenAPI 3.1 document"));
        ResponseBuilder::new()
            .description("this document")
            .content("application/json", Content::new(Some(schema)))
            .build()
    }
}

/// A file of the dashboard, with the security headers of docs/api.md §13.
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub headers: Vec<(&'static str, String)>,
    /// A redirect instead of a file (`/dashboard` → `/dashboard/`).
    pub redirect: Option<String>,
}

impl Respond for Asset {
    fn respond(self, status: u16, _: Vec<(&'static str, String)>) -> Response<Body> {
        let mut b = Response::builder();
        if let Some(location) = self.redirect {
            b = b.status(308).header("location", location);
        } else {
            b = b.status(status).header("content-type", self.content_type);
        }
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        b.body(Body::Binary(self.body.to_vec())).expect("status and headers are valid")
    }

    fn document(_: &mut Doc) -> DocResponse {
        let schema = utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String);
        ResponseBuilder::new().description("a dashboard file").content("text/html", Content::new(Some(schema))).build()
    }
}
