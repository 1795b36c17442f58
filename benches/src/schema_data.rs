//! The event-type schema and `data` documents the schema benches measure (the Criterion
//! bench `benches/schema.rs` and the instruction counter `schema_instructions`).

use hookline::clock::Millis;
use hookline::model::EventType;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// 004's `submission.completed` data, described the way a product would: nested
/// `responses`, formats, patterns, enums, bounds and required fields (~30 keywords).
pub fn submission_completed_schema() -> Value {
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

pub fn valid_data() -> Value {
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
pub fn invalid_data() -> Value {
    let mut d = valid_data();
    d["submissionId"] = json!("123456");
    d["status"] = json!("pending");
    d["submittedAt"] = json!("yesterday");
    d["responses"].as_object_mut().unwrap().remove("email");
    d["responses"]["address"]["postalCode"] = json!("12345678901234567890");
    d
}

/// The catalogue entry intake reads for `submission.completed`, with `schema` as its text.
pub fn catalogue_entry(schema: &Value) -> EventType {
    EventType {
        name: "submission.completed".into(),
        description: String::new(),
        schema: Some(RawValue::from_string(schema.to_string()).unwrap()),
        example: None,
        archived: false,
        created_at: Millis::ZERO,
        updated_at: Millis::ZERO,
        version: 1,
        revision: "bench".into(),
    }
}
