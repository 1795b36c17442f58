//! Builds the body of a delivery once: envelope or flat tree, as JSON or XML.

use serde_json::{Map, Value};

use crate::clock::{epoch_seconds, rfc3339};
use crate::model::{ContentType, Event, PayloadFormat, Webhook};

/// The bytes sent (and signed) and their media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// The payload tree of §6, before serialization.
pub fn tree(event: &Event, webhook: &Webhook) -> Map<String, Value> {
    let mut out = Map::with_capacity(8 + webhook.custom_parameters.len() + event.data.len());
    match webhook.payload_format {
        PayloadFormat::Envelope => {
            out.insert("id".into(), Value::from(event.id.as_str()));
            out.insert("event".into(), Value::from(event.event_type.as_str()));
            out.insert("timestamp".into(), Value::from(rfc3339(event.received_at)));
            out.insert("project_id".into(), Value::from(event.project_id));
            out.insert("client_id".into(), event.client_id.map_or(Value::Null, Value::from));
            out.insert("data".into(), Value::Object(event.data.clone()));
            for (k, v) in &webhook.custom_parameters {
                out.entry(k.clone()).or_insert_with(|| Value::from(v.as_str()));
            }
        }
        PayloadFormat::Flat => {
            out.insert("client_id".into(), event.client_id.map_or(Value::Null, Value::from));
            out.insert("project_id".into(), Value::from(event.project_id));
            out.insert("session_id".into(), event.session_id.as_deref().map_or(Value::Null, Value::from));
            out.insert("event_type".into(), Value::from(event.event_type.as_str()));
            out.insert("event_timestamp".into(), Value::from(epoch_seconds(event.received_at)));
            for (k, v) in &webhook.custom_parameters {
                out.entry(k.clone()).or_insert_with(|| Value::from(v.as_str()));
            }
            const FIXED: [&str; 5] = ["client_id", "project_id", "session_id", "event_type", "event_timestamp"];
            for (k, v) in &event.data {
                if !FIXED.contains(&k.as_str()) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

pub fn build(event: &Event, webhook: &Webhook) -> Payload {
    let tree = tree(event, webhook);
    match webhook.content_type {
        ContentType::Json => Payload {
            body: serde_json::to_vec(&tree).expect("a JSON map always serializes"),
            content_type: "application/json",
        },
        ContentType::Xml => Payload { body: to_xml(&tree).into_bytes(), content_type: "application/xml" },
    }
}

/// The same tree as XML: root `<webhook>`, objects as nested elements, arrays as
/// repeated `<item>` elements, null as an empty element.
pub fn to_xml(tree: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str("<webhook>");
    for (k, v) in tree {
        element(&mut out, &element_name(k), v);
    }
    out.push_str("</webhook>");
    out
}

fn element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        _ => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            match v {
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => out.push_str(&n.to_string()),
                Value::String(s) => escape_into(out, s),
                Value::Array(items) => {
                    for item in items {
                        element(out, "item", item);
                    }
                }
                Value::Object(map) => {
                    for (k, v) in map {
                        element(out, &element_name(k), v);
                    }
                }
                Value::Null => unreachable!(),
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// JSON keys may hold anything; XML names may not. Invalid characters become `_`,
/// and a name that cannot start an element gets a leading `_`.
fn element_name(key: &str) -> String {
    let mut name: String =
        key.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    let starts_ok = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if !starts_ok || name.to_ascii_lowercase().starts_with("xml") {
        name.insert(0, '_');
    }
    name
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn event() -> Event {
        Event {
            id: "evt_01".into(),
            project_id: 1_249_918,
            client_id: Some(19_817_472),
            event_type: "submission.completed".into(),
            session_id: None,
            data: json!({"submissionId": "sub_1", "project_id": 5, "n": [1, 2]}).as_object().unwrap().clone(),
            received_at: 1_512_624_088_977,
            webhook_ids: vec![],
            test: false,
            expires_at: 0,
        }
    }

    fn webhook(format: PayloadFormat, ct: ContentType) -> Webhook {
        Webhook {
            id: "wh_1".into(),
            project_id: 1_249_918,
            name: "n".into(),
            url: "https://e.com".into(),
            enabled: true,
            event_types: vec![],
            headers: BTreeMap::new(),
            authorization: None,
            authorization_enabled: true,
            custom_parameters: BTreeMap::from([("region".to_string(), "eu".to_string())]),
            content_type: ct,
            payload_format: format,
            secret: "whsec_x".into(),
            previous_secret: None,
            previous_secret_until: None,
            verification_key: "vk".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn envelope_shape() {
        let p = build(&event(), &webhook(PayloadFormat::Envelope, ContentType::Json));
        assert_eq!(p.content_type, "application/json");
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(
            v,
            json!({"id": "evt_01", "event": "submission.completed", "timestamp": "2017-12-07T05:21:28.977Z",
                "project_id": 1_249_918, "client_id": 19_817_472,
                "data": {"submissionId": "sub_1", "project_id": 5, "n": [1, 2]}, "region": "eu"})
        );
        // Keys come out in the documented order.
        assert!(String::from_utf8(p.body).unwrap().starts_with(r#"{"id":"evt_01","event":"#));
    }

    #[test]
    fn flat_shape_never_lets_data_override_fixed_keys() {
        let p = build(&event(), &webhook(PayloadFormat::Flat, ContentType::Json));
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(
            v,
            json!({"client_id": 19_817_472, "project_id": 1_249_918, "session_id": null,
                "event_type": "submission.completed", "event_timestamp": 1_512_624_088.977,
                "region": "eu", "submissionId": "sub_1", "n": [1, 2]})
        );
    }

    #[test]
    fn xml_shape() {
        let mut e = event();
        e.data = json!({"a b": "<&>", "list": [1, {"x": null}], "1st": true}).as_object().unwrap().clone();
        let p = build(&e, &webhook(PayloadFormat::Envelope, ContentType::Xml));
        assert_eq!(p.content_type, "application/xml");
        let xml = String::from_utf8(p.body).unwrap();
        assert!(xml.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><webhook><id>evt_01</id><event>submission.completed</event>"#
        ));
        assert!(xml.contains(
            "<data><a_b>&lt;&amp;&gt;</a_b><list><item>1</item><item><x/></item></list><_1st>true</_1st></data>"
        ));
        assert!(xml.contains("<client_id>19817472</client_id>"));
        assert!(xml.ends_with("<region>eu</region></webhook>"));
    }
}
