//! Event data of a chosen size, shaped like a form submission (nested objects,
//! arrays, numbers, strings with characters that need escaping), and the event
//! and webhook records the payload and signing benchmarks work on.

use std::collections::BTreeMap;

use hookline::clock::Millis;
use hookline::ids::{EventId, ProjectId, WebhookId};
use hookline::model::{ContentType, Event, PayloadFormat, Target, Webhook};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// The sizes the issue asks for: 1 KiB, 16 KiB and 256 KiB of event data.
pub const SIZES: [(usize, &str); 3] = [(1024, "1KiB"), (16 * 1024, "16KiB"), (256 * 1024, "256KiB")];

/// A `data` object whose compact JSON is about `target` bytes (within one answer's size).
pub fn event_data(target: usize) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("submission_id".into(), json!("sub_01KAT9YB8M2N4P6Q8R0S2T4V6W"));
    data.insert("form_id".into(), json!(42));
    data.insert("status".into(), json!("completed"));
    data.insert("score".into(), json!(87.5));
    data.insert("respondent".into(), json!({"email": "ada@example.com", "locale": "en-GB", "verified": true}));
    // The object so far, plus `"answers":[]` and a comma; each answer adds its length and a comma.
    let mut size = serde_json::to_vec(&Value::Object(data.clone())).map_or(0, |v| v.len()) + 13;
    let mut answers = Vec::new();
    let mut i = 0u32;
    while size < target {
        let answer = json!({
            "question_id": i,
            "label": format!("Question {i}: how \"likely\" are you to recommend us <1-10> & why?"),
            "value": if i.is_multiple_of(3) { json!(i % 11) } else { json!(format!("answer {i} with some free text, ünïcödé")) },
            "tags": ["a", "b"],
            "skipped": i.is_multiple_of(7),
        });
        size += answer.to_string().len() + usize::from(i > 0);
        answers.push(answer);
        i += 1;
    }
    data.insert("answers".into(), Value::Array(answers));
    data
}

/// The same data as the exact JSON text an event keeps.
pub fn raw_data(target: usize) -> Box<RawValue> {
    serde_json::value::to_raw_value(&event_data(target)).expect("data serializes")
}

pub const WEBHOOK_ID: &str = "wh_01KAT9X3Q5W8E2R7T4Y6V1J0PZ";

pub fn event(data: Box<RawValue>) -> Event {
    Event {
        id: EventId::parse("evt_01KAT9YB8KZ3X5C7V9B1N3M5Q7").expect("valid id"),
        project_id: ProjectId(1_249_918),
        client_id: Some(19_817_472),
        event_type: "submission.completed".into(),
        session_id: Some("sess_8d1f".into()),
        data,
        received_at: Millis(1_795_445_102_988),
        fan_out: vec![Target { webhook_id: WebhookId::parse(WEBHOOK_ID).expect("valid id"), generation: "G1".into() }],
        test: false,
        ordering_key: None,
        after: Vec::new(),
    }
}

pub fn webhook(format: PayloadFormat, content_type: ContentType) -> Webhook {
    Webhook {
        id: WebhookId::parse(WEBHOOK_ID).expect("valid id"),
        generation: "G1".into(),
        project_id: ProjectId(1_249_918),
        name: "bench".into(),
        url: "https://receiver.example/hook".into(),
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        rate_limit: None,
        filter: None,
        transform: None,
        ordered: false,
        destination: None,
        external_id: None,
        auth: None,
        tls: None,
        signature_scheme: Default::default(),
        event_types: vec![],
        headers: BTreeMap::from([("X-Team".to_string(), "kyc".to_string())]),
        authorization: Some("Bearer receiver-token".into()),
        authorization_enabled: true,
        custom_parameters: BTreeMap::from([("region".to_string(), "eu".to_string())]),
        content_type,
        payload_format: format,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secrets: vec![],
        verification_key: "vk_bench".into(),
        created_at: Millis(0),
        updated_at: Millis(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_has_about_the_asked_size() {
        for (size, _) in SIZES {
            let n = serde_json::to_vec(&event_data(size)).unwrap().len();
            assert!(n >= size && n < size + 300, "{size}: {n}");
            assert_eq!(raw_data(size).get().len(), n, "the raw text is the compact JSON");
        }
    }
}
