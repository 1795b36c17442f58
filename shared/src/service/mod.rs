//! The operations behind the routes and the delivery function. The API edge parses and
//! checks requests, then calls these with typed values.

pub mod catalogue;
pub mod deliver;
pub mod intake;
pub mod logs;
pub mod ops;
pub mod portal;
pub mod projects;
pub mod sweep;
pub mod testing;
pub mod webhooks;
