//! The operations behind the routes. Handlers parse requests and call these.

pub mod auth;
pub mod delivery;
pub mod intake;
pub mod logs;
pub mod projects;
pub mod testing;
pub mod webhooks;
