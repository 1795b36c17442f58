//! What an event-type schema (§11) costs: compiling 004's `submission.completed` schema
//! (once per type per cold start, see `hookline::schema::cached`), and validating a ~1 KiB
//! `data` document at intake, valid (the common case) and invalid (5 violations, each turned
//! into a `FieldError`).
//!
//! `cargo bench -p hookline-benches --bench schema`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hookline::schema::EventSchema;
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
    let compiled = EventSchema::compile(&schema).unwrap();
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
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = schema }
criterion_main!(benches);
