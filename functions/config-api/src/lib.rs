//! The config API: projects, keys, webhooks, the project web hook (`/web_hook`), logs and
//! re-sends, intake for a given project (`/api/v1/projects/{id}/events`), the event-type catalogue, portal sessions, the OpenAPI document and the dashboard.
//! The routes are declared in `hookline::api::endpoints`; this function serves these.

use hookline::api::endpoints::{activity, catalogue, events, meta, portal, projects, web_hook, webhooks};

hookline::function_routes![
    projects::Create,
    projects::Get,
    projects::List,
    projects::Delete,
    projects::RotateKey,
    webhooks::List,
    webhooks::Create,
    webhooks::Get,
    webhooks::Patch,
    webhooks::Delete,
    webhooks::RotateSecret,
    webhooks::Recover,
    webhooks::Preview,
    web_hook::Get,
    web_hook::Put,
    web_hook::Delete,
    web_hook::Event,
    activity::Events,
    activity::Event,
    activity::Deliveries,
    activity::Delivery,
    activity::Retry,
    // The operator's intake for any project: served here, beside that path's GET.
    events::ProjectPost,
    events::ProjectBatch,
    catalogue::List,
    catalogue::Create,
    catalogue::Get,
    catalogue::Patch,
    catalogue::Delete,
    portal::Create,
    portal::Current,
    meta::OpenApi,
    meta::Dashboard,
    meta::DashboardFile,
    meta::DashboardVendorFile,
];
