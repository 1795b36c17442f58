//! The HTTP edge: route declarations (`endpoints`), typed inputs (`requests`, `input`,
//! `field`) and answers (`types`, `respond`), the edge itself (`edge`), the dashboard's
//! files, and the OpenAPI document generated from all of them.

pub mod dashboard;
pub mod edge;
pub mod endpoints;
pub mod field;
pub mod input;
pub mod openapi;
pub mod requests;
pub mod respond;
pub mod route;
pub mod types;

pub use edge::{Caller, Cx};
pub use route::{Access, Endpoint, Method, Reply, Route, RouteInfo};

use endpoints::{activity, catalogue, events, meta, portal, projects, tests, web_hook, webhooks};

/// A route's entry in a table.
pub const fn info<E: Endpoint>() -> RouteInfo {
    RouteInfo { route: E::ROUTE, document: openapi::document::<E> }
}

/// Every route of docs/api.md, in its order. The functions serve these
/// between them (a test checks that each is served once, and that `template.yaml`
/// routes each path to the function that serves it).
pub static ALL: &[RouteInfo] = &[
    info::<projects::Create>(),
    info::<projects::Get>(),
    info::<projects::List>(),
    info::<projects::Delete>(),
    info::<projects::RotateKey>(),
    info::<webhooks::List>(),
    info::<webhooks::Create>(),
    info::<webhooks::Get>(),
    info::<webhooks::Patch>(),
    info::<webhooks::Delete>(),
    info::<webhooks::RotateSecret>(),
    info::<webhooks::Recover>(),
    info::<webhooks::Preview>(),
    info::<web_hook::Get>(),
    info::<web_hook::Put>(),
    info::<web_hook::Delete>(),
    info::<web_hook::Event>(),
    info::<events::Post>(),
    info::<events::Batch>(),
    info::<events::Custom>(),
    info::<events::ProjectPost>(),
    info::<events::ProjectBatch>(),
    info::<tests::Webhook>(),
    info::<tests::Session>(),
    info::<activity::Events>(),
    info::<activity::Event>(),
    info::<activity::Deliveries>(),
    info::<activity::Delivery>(),
    info::<activity::Retry>(),
    info::<catalogue::List>(),
    info::<catalogue::Create>(),
    info::<catalogue::Get>(),
    info::<catalogue::Patch>(),
    info::<catalogue::Delete>(),
    info::<portal::Create>(),
    info::<portal::Current>(),
    info::<meta::OpenApi>(),
    info::<meta::Dashboard>(),
    info::<meta::DashboardFile>(),
    info::<meta::DashboardVendorFile>(),
];
