//! The per-event schema check, repeated a fixed number of times, for counting instructions
//! (repeatable whatever else the machine runs, unlike Criterion's times):
//!
//! ```text
//! cargo build --release -p hookline-benches --bin schema_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/schema_instructions 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/schema_instructions 10000
//! ```
//!
//! (total at 10000 - total at 0) / 10000 is one `catalogue::check_against` of the ~1 KiB valid
//! document against 004's `submission.completed` schema, as intake runs it per event.

use hookline::service::catalogue;
use hookline_benches::schema_data::{catalogue_entry, submission_completed_schema, valid_data};
use serde_json::value::RawValue;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let entry = catalogue_entry(&submission_completed_schema());
    let raw = RawValue::from_string(serde_json::to_string(&valid_data()).unwrap()).unwrap();
    // The first call compiles and caches the schema: part of the fixed cost, as at n = 0.
    catalogue::check_against(Some(&entry), &raw).unwrap();
    for _ in 0..n {
        std::hint::black_box(catalogue::check_against(std::hint::black_box(Some(&entry)), std::hint::black_box(&raw)))
            .unwrap();
    }
}
