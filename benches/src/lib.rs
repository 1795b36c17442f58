//! Benchmarks of Hookline: the hot path (signing, payloads) with Criterion, and
//! the delivery function, the intake and the cold starts against the local
//! emulators, with a loopback receiver and a DynamoDB/SQS proxy that counts
//! (and can answer instantly with recorded responses). `scripts/bench.sh` runs
//! everything; BENCHMARKS.md reports the figures.

pub mod cost;
pub mod data;
pub mod flow;
pub mod results;
pub mod rusage;
pub mod schema_data;
pub mod servers;
pub mod stack;
pub mod stats;
