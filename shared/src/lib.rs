//! Hookline's shared crate: domain rules, storage, queue, signing, delivery and the HTTP
//! edge, used by every function so that each rule lives in one place.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod delivery;
pub mod destination;
pub mod endpoint;
pub mod error;
pub mod filter;
pub mod guard;
pub mod ids;
pub mod matching;
pub mod model;
pub mod payload;
pub mod queue;
pub mod retry;
pub mod rules;
pub mod schema;
pub mod sender;
pub mod service;
pub mod signing;
pub mod store;
pub mod transform;

pub use app::App;
pub use error::ApiError;
/// The allocator of every binary (`#[global_allocator]` in each `main.rs`): the SDK's
/// requests and responses are many small allocations, which glibc's malloc made about a
/// tenth of the CPU per delivered webhook (BENCHMARKS.md, process bench).
pub use mimalloc::MiMalloc as Allocator;
