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
use hookline::clock::Millis;
use hookline::model::EventType;
use hookline::schema::EventSchema;
use hookline::service::catalogue;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// 004's `submission.completed` data, described the way a product would: nested
/// `responses`, formats, patterns, enums, bounds and required fields (~30 keywords).
fn submission_completed_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "submission.completed",
        "type": "object",
        "required": ["submissionId", "invitationId", "workflowId", "status", "submittedAt", "responses"],
        "properties": {
            "submissionId": {"type": "string", "pattern": "^sub_[A-Za-z0-9]{6,32}$"},
            "invitationId": {"type": "string", "pattern": "^inv_[A-Za-z0-9]{6,32}$"},
            "customerEmail": {"type": "string", "format": "email"},
            "workflowId": {"type": "string", "pattern": "^wf_[A-Za-z0-9]{6,32}$"},
            "workflowName": {"type": "string", "minLength": 1, "maxLength": 200},
            "status": {"enum": ["completed", "approved", "rejected"]},
            "submittedAt": {"type": "string", "format": "date-time"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20, "uniqueItems": true},
            "responses": {
                "type": "object",
                "required": ["firstName", "lastName", "email"],
                "properties": {
                    "firstName": {"type": "string", "minLength": 1},
                    "lastName": {"type": "string", "minLength": 1},
                    "email": {"type": "string", "format": "email"},
                    "dateOfBirth": {"type": "string", "format": "date"},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "address": {"$ref": "#/$defs/address"}
                },
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
            }
        },
        "$defs": {
            "address": {
                "type": "object",
                "required": ["line1", "city", "country"],
                "properties": {
                    "line1": {"type": "string"},
                    "city": {"type": "string"},
                    "postalCode": {"type": "string", "maxLength": 16},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"}
                }
            }
        }
    })
}

fn valid_data() -> Value {
    json!({
        "submissionId": "sub_123456", "invitationId": "inv_123456", "customerEmail": "customer@example.com",
        "workflowId": "wf_123456", "workflowName": "Basic KYC", "status": "completed",
        "submittedAt": "2024-01-15T10:30:00Z", "score": 0.87, "tags": ["kyc", "eu", "priority", "returning"],
        "responses": {
            "firstName": "John", "middleName": "Alexander", "lastName": "Doe", "email": "john@example.com",
            "dateOfBirth": "1985-04-12", "riskAssessment": "low", "referralCode": "REF-2024-00017",
            "preferredLanguage": "de", "country": "DE",
            "address": {"line1": "Friedrichstraße 123", "city": "Berlin", "postalCode": "10117", "country": "DE"},
            "occupation": "Software engineer", "employer": "Example GmbH", "sourceOfFunds": "salary",
            "politicallyExposed": false, "annualIncome": 85000, "phone": "+49 30 1234567",
            "nationality": "German", "taxResidency": "DE", "idDocumentType": "passport",
            "idDocumentNumber": "C01X00T47", "idDocumentExpiry": "2031-06-30",
            "consentGiven": true, "consentTimestamp": "2024-01-15T10:29:41Z",
            "notes": "Customer completed all steps without assistance; documents verified automatically."
        }
    })
}

/// Five violations: pattern, enum, format, a missing nested property, a nested bound.
fn invalid_data() -> Value {
    let mut d = valid_data();
    d["submissionId"] = json!("123456");
    d["status"] = json!("pending");
    d["submittedAt"] = json!("yesterday");
    d["responses"].as_object_mut().unwrap().remove("email");
    d["responses"]["address"]["postalCode"] = json!("12345678901234567890");
    d
}

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
    let entry = EventType {
        name: "submission.completed".into(),
        description: String::new(),
        schema: Some(RawValue::from_string(schema.to_string()).unwrap()),
        example: None,
        archived: false,
        created_at: Millis::ZERO,
        updated_at: Millis::ZERO,
        version: 1,
        revision: "bench".into(),
    };
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
