//! Runs the Hookline functions on one machine: the HTTP routes of the template
//! in front of the real handlers, and the SQS event source feeding the delivery
//! handler, against local DynamoDB and SQS emulators.

pub mod poller;
pub mod resources;
pub mod router;
pub mod server;
pub mod template;
