//! What an event-type schema (§11) costs: compiling 004's `submission.completed` schema
//! (once per type per cold start, see `hookline::schema::cached`), and validating a ~1 KiB
//! `data` document at intake, valid (the common case) and invalid (5 violations, each turned
//! into a `FieldError`); also the whole per-event check as intake runs it
//! (`catalogue::check_against`: the cache lookup, parsing the event's exact data text, the
//! validation) and parsing a stored schema's text (once per request and distinct type, when
//! the catalogue entry is read).
//!
//! Before any of that, the first compile in the process is timed once and printed (one
//! sample: it includes the crate's one-time set-up, e.g. the draft 2020-12 meta-schema).
//! Running the bench with a filter that matches nothing prints only that line, so a few
//! runs give a few samples of it.
//!
//! `cargo bench -p hookline-benches --bench schema`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hookline::schema::EventSchema;
use hookline::service::catalogue;
use hookline_benches::schema_data::{catalogue_entry, invalid_data, submission_completed_schema, valid_data};
use serde_json::value::RawValue;
use serde_json::Value;

fn schema(c: &mut Criterion) {
    let schema = submission_completed_schema();
    let valid = valid_data();
    let invalid = invalid_data();
    let t = Instant::now();
    let compiled = EventSchema::compile(&schema).unwrap();
    println!("schema/first_compile_in_process: {:.1} µs (one sample)", t.elapsed().as_secs_f64() * 1e6);
    assert!(compiled.validate(&valid).is_empty());
    assert_eq!(compiled.validate(&invalid).len(), 5);

    let mut g = c.benchmark_group("schema");
    g.bench_function("compile_submission_completed", |b| {
        b.iter(|| black_box(EventSchema::compile(black_box(&schema)).unwrap()))
    });
    let bytes = serde_json::to_vec(&valid).unwrap().len() as u64;
    assert!((1000..1100).contains(&bytes), "the document should be about 1 KiB, not {bytes} bytes");
    g.throughput(Throughput::BytesDecimal(bytes));
    g.bench_function("validate_valid_1KiB", |b| b.iter(|| black_box(compiled.validate(black_box(&valid)))));
    g.bench_function("validate_invalid_1KiB_5_violations", |b| {
        b.iter(|| black_box(compiled.validate(black_box(&invalid))))
    });
    // What intake does per event once the catalogue entry is read: the cached compiled
    // schema, the event's data parsed from its exact text, the validation.
    let entry = catalogue_entry(&schema);
    let raw = RawValue::from_string(serde_json::to_string(&valid).unwrap()).unwrap();
    catalogue::check_against(Some(&entry), &raw).unwrap();
    g.bench_function("check_against_valid_1KiB", |b| {
        b.iter(|| black_box(catalogue::check_against(black_box(Some(&entry)), black_box(&raw))).unwrap())
    });
    g.finish();
    // Reading the catalogue entry parses its stored schema text (once per request and type).
    let text = schema.to_string();
    let mut g = c.benchmark_group("schema");
    g.throughput(Throughput::BytesDecimal(text.len() as u64));
    g.bench_function("parse_stored_schema_text", |b| {
        b.iter(|| black_box(serde_json::from_str::<Value>(black_box(&text)).unwrap()))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = schema }
criterion_main!(benches);
