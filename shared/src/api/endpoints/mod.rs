//! Every route of docs/api.md, one type each. A route's method, path, access, inputs
//! and answer are declared here once; the functions list which of these they serve.

pub mod activity;
pub mod catalogue;
pub mod events;
pub mod meta;
pub mod portal;
pub mod projects;
pub mod tests;
pub mod web_hook;
pub mod webhooks;

use crate::api::route::{Access, Method, Route};

/// A route declaration; `conflicts()` marks routes that can answer 409.
pub(crate) const fn route(
    method: Method,
    path: &'static str,
    access: Access,
    status: u16,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    Route { method, path, access, status, id, summary, tag, conflicts: false, changes_nothing: false }
}

pub(crate) const fn conflicting(r: Route) -> Route {
    Route { conflicts: true, ..r }
}

/// A `POST` that stores and sends nothing, so read-only portal sessions may call it.
pub(crate) const fn changes_nothing(r: Route) -> Route {
    Route { changes_nothing: true, ..r }
}

/// Project routes a portal token may use.
pub(crate) const PROJECT: Access = Access::Project { portal: true };
