//! The `destination` object as the API receives it: every problem at once, by field.

use serde_json::Value;

use super::arn::{QueueUrl, ResourceArn, RoleArn};
use super::Destination;
use crate::api::field::ObjectFields;

/// What a deployment allows in a destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationRules {
    /// The deployment's own AWS account, if known: roles in it are refused unless
    /// `allow_own_account_roles`.
    pub own_account: Option<String>,
    pub allow_own_account_roles: bool,
    /// Emulator queue URLs on loopback (`http://127.0.0.1:<port>/…`, `http://localhost:<port>/…`).
    pub allow_local: bool,
}

const TYPES: [&str; 4] = ["sqs", "sns", "eventbridge", "kinesis"];

/// The fields each type takes besides `type`: (name, required).
fn fields_of(kind: &str) -> &'static [(&'static str, bool)] {
    match kind {
        "sqs" => &[("queue_url", true), ("role_arn", true), ("message_group_id", false)],
        "sns" => &[("topic_arn", true), ("role_arn", true)],
        "eventbridge" => &[("event_bus_arn", true), ("role_arn", true), ("source", false)],
        "kinesis" => &[("stream_arn", true), ("role_arn", true)],
        _ => &[],
    }
}

type Errors = Vec<(String, String)>;

fn path(field: &str) -> String {
    format!("destination/{field}")
}

/// Checks a `destination` object: its `type`, that it has the fields of that type and no
/// other, and each field's form. Errors are `(field path, message)`, all of them at once.
pub fn parse_destination(v: &Value, rules: &DestinationRules) -> Result<Destination, Errors> {
    let Some(obj) = v.as_object() else {
        return Err(vec![("destination".into(), "must be an object".into())]);
    };
    let kind = match obj.get("type") {
        None | Some(Value::Null) => return Err(vec![(path("type"), "is required".into())]),
        Some(Value::String(s)) if TYPES.contains(&s.as_str()) => s.as_str(),
        Some(Value::String(_)) => {
            return Err(vec![(path("type"), format!("must be one of {}", TYPES.join(", ")))]);
        }
        Some(_) => return Err(vec![(path("type"), "must be a string".into())]),
    };
    let mut errors = Errors::new();
    let own = fields_of(kind);
    for key in obj.keys() {
        if key == "type" || own.iter().any(|(f, _)| f == key) {
            continue;
        }
        if TYPES.iter().any(|t| fields_of(t).iter().any(|(f, _)| f == key)) {
            errors.push((path(key), format!("does not apply to type {kind}")));
        } else {
            errors.push((path(key), "unknown field".into()));
        }
    }
    let mut fields = ObjectFields { object: "destination", obj, errors: &mut errors };
    let role_arn = fields.get("role_arn", true, |s| check_role(s, rules));
    let d = match kind {
        "sqs" => {
            let queue_url = fields.get("queue_url", true, |s| QueueUrl::parse(s, rules.allow_local).map(|_| ()));
            let message_group_id = fields.get("message_group_id", false, check_group_id);
            Destination::Sqs {
                queue_url: queue_url.unwrap_or_default(),
                role_arn: role_arn.unwrap_or_default(),
                message_group_id,
            }
        }
        "sns" => {
            let topic_arn = fields.get("topic_arn", true, |s| ResourceArn::topic(s).map(|_| ()));
            Destination::Sns { topic_arn: topic_arn.unwrap_or_default(), role_arn: role_arn.unwrap_or_default() }
        }
        "eventbridge" => {
            let event_bus_arn = fields.get("event_bus_arn", true, |s| ResourceArn::event_bus(s).map(|_| ()));
            let source = fields.get("source", false, check_source);
            Destination::EventBridge {
                event_bus_arn: event_bus_arn.unwrap_or_default(),
                role_arn: role_arn.unwrap_or_default(),
                source,
            }
        }
        _ => {
            let stream_arn = fields.get("stream_arn", true, |s| ResourceArn::stream(s).map(|_| ()));
            Destination::Kinesis { stream_arn: stream_arn.unwrap_or_default(), role_arn: role_arn.unwrap_or_default() }
        }
    };
    if errors.is_empty() {
        Ok(d)
    } else {
        Err(errors)
    }
}

fn check_role(s: &str, rules: &DestinationRules) -> Result<(), String> {
    let role = RoleArn::parse(s)?;
    if !rules.allow_own_account_roles && rules.own_account.as_deref() == Some(role.account) {
        return Err(format!(
            "is a role in this deployment's own account ({}); give a role in the account that owns the destination",
            role.account
        ));
    }
    Ok(())
}

/// An SQS `MessageGroupId`: 1 to 128 ASCII letters, digits and punctuation (no space).
fn check_group_id(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be 1 to 128 ASCII letters, digits and punctuation (no spaces)".into());
    }
    Ok(())
}

/// An EventBridge `Source`: 1 to 256 characters, not starting `aws.` (reserved for AWS).
fn check_source(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n == 0 || n > 256 || s.chars().any(char::is_control) {
        return Err("must be 1 to 256 characters without control characters".into());
    }
    if s.starts_with("aws.") {
        return Err("must not start with `aws.` (reserved for AWS services)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::111122223333:role/hookline";

    fn rules() -> DestinationRules {
        DestinationRules {
            own_account: Some("999988887777".into()),
            allow_own_account_roles: false,
            allow_local: false,
        }
    }

    fn errors(v: Value) -> Vec<(String, String)> {
        parse_destination(&v, &rules()).expect_err("refused")
    }

    fn fields(v: Value) -> Vec<String> {
        errors(v).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn accepts_each_type() {
        let sqs = parse_destination(
            &json!({"type": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo",
                    "role_arn": ROLE, "message_group_id": "all"}),
            &rules(),
        )
        .unwrap();
        assert_eq!(
            sqs,
            Destination::Sqs {
                queue_url: "https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo".into(),
                role_arn: ROLE.into(),
                message_group_id: Some("all".into())
            }
        );
        let sns = parse_destination(
            &json!({"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t", "role_arn": ROLE}),
            &rules(),
        )
        .unwrap();
        assert_eq!(sns.service(), "sns");
        let eb = parse_destination(
            &json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/default",
                    "role_arn": ROLE, "source": "com.example.hooks"}),
            &rules(),
        )
        .unwrap();
        assert!(matches!(eb, Destination::EventBridge { source: Some(ref s), .. } if s == "com.example.hooks"));
        let eb = parse_destination(
            &json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/b", "role_arn": ROLE, "source": null}),
            &rules(),
        )
        .unwrap();
        assert!(matches!(eb, Destination::EventBridge { source: None, .. }));
        let k = parse_destination(&json!({"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:111122223333:stream/s", "role_arn": ROLE}), &rules()).unwrap();
        assert_eq!(k.region(), Some("eu-west-1"));
        // What parses serializes back to the same object.
        assert_eq!(
            serde_json::to_value(&k).unwrap(),
            json!({"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:111122223333:stream/s", "role_arn": ROLE})
        );
    }

    #[test]
    fn refuses_a_non_object_and_a_bad_type() {
        for v in [json!("sqs"), json!(null), json!([1]), json!(3)] {
            assert_eq!(errors(v), vec![("destination".to_string(), "must be an object".to_string())]);
        }
        assert_eq!(
            errors(json!({"role_arn": ROLE})),
            vec![("destination/type".to_string(), "is required".to_string())]
        );
        assert_eq!(fields(json!({"type": "http", "role_arn": ROLE})), vec!["destination/type"]);
        assert!(errors(json!({"type": "SQS"}))[0].1.contains("sqs, sns, eventbridge, kinesis"));
        assert_eq!(errors(json!({"type": 1})), vec![("destination/type".to_string(), "must be a string".to_string())]);
    }

    #[test]
    fn lists_every_problem_at_once() {
        let e = errors(json!({
            "type": "sqs",
            "queue_url": "https://example.com/q",
            "role_arn": 7,
            "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t",
            "source": "x",
            "colour": "blue",
            "message_group_id": "",
        }));
        let mut got: Vec<(&str, &str)> = e.iter().map(|(f, m)| (f.as_str(), m.as_str())).collect();
        got.sort();
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(got.contains(&("destination/colour", "unknown field")));
        assert!(got.contains(&("destination/topic_arn", "does not apply to type sqs")));
        assert!(got.contains(&("destination/source", "does not apply to type sqs")));
        assert!(got.contains(&("destination/role_arn", "must be a string")));
        assert!(got.iter().any(|(f, m)| *f == "destination/queue_url" && m.contains("not an SQS queue URL")));
        assert!(got.iter().any(|(f, m)| *f == "destination/message_group_id" && m.contains("no spaces")));
        let spaced = json!({"type": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo",
                            "role_arn": ROLE, "message_group_id": "a b"});
        assert_eq!(fields(spaced), vec!["destination/message_group_id"], "SQS group ids have no spaces");
    }

    #[test]
    fn requires_each_types_fields() {
        assert_eq!(fields(json!({"type": "sqs"})), vec!["destination/role_arn", "destination/queue_url"]);
        assert_eq!(fields(json!({"type": "sns", "role_arn": ROLE})), vec!["destination/topic_arn"]);
        assert_eq!(fields(json!({"type": "eventbridge", "role_arn": ROLE})), vec!["destination/event_bus_arn"]);
        assert_eq!(
            fields(json!({"type": "kinesis", "stream_arn": null, "role_arn": ROLE})),
            vec!["destination/stream_arn"]
        );
        assert_eq!(errors(json!({"type": "kinesis", "role_arn": ROLE}))[0].1, "is required");
    }

    #[test]
    fn fields_of_another_type_are_refused() {
        let sns = json!({"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t", "role_arn": ROLE,
                         "message_group_id": "g", "queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/q"});
        assert_eq!(fields(sns), vec!["destination/message_group_id", "destination/queue_url"]);
        let kinesis = json!({"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:111122223333:stream/s",
                             "role_arn": ROLE, "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/b"});
        assert_eq!(fields(kinesis), vec!["destination/event_bus_arn"]);
        let eb = json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/b",
                        "role_arn": ROLE, "stream_arn": "x"});
        assert_eq!(fields(eb), vec!["destination/stream_arn"]);
    }

    #[test]
    fn checks_each_fields_form() {
        let base = |field: &str, value: Value, kind: &str| {
            let mut o = match kind {
                "sqs" => {
                    json!({"type": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/q", "role_arn": ROLE})
                }
                "sns" => json!({"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t", "role_arn": ROLE}),
                "eventbridge" => {
                    json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/b", "role_arn": ROLE})
                }
                _ => {
                    json!({"type": "kinesis", "stream_arn": "arn:aws:kinesis:eu-west-1:111122223333:stream/s", "role_arn": ROLE})
                }
            };
            o[field] = value;
            parse_destination(&o, &rules())
        };
        let bad = [
            ("sqs", "queue_url", json!("https://sqs.eu-west-1.amazonaws.com/111122223333/q q")),
            ("sqs", "queue_url", json!(["x"])),
            ("sqs", "role_arn", json!("arn:aws:iam::111122223333:user/u")),
            ("sqs", "message_group_id", json!("x".repeat(129))),
            ("sqs", "message_group_id", json!("tab\there")),
            ("sqs", "message_group_id", json!("é")),
            ("sns", "topic_arn", json!("arn:aws:sns:eu-west-1:111122223333:a/b")),
            ("sns", "topic_arn", json!("arn:aws:sqs:eu-west-1:111122223333:t")),
            ("sns", "role_arn", json!("")),
            ("eventbridge", "event_bus_arn", json!("arn:aws:events:eu-west-1:111122223333:b")),
            ("eventbridge", "source", json!("aws.events")),
            ("eventbridge", "source", json!("")),
            ("eventbridge", "source", json!("s".repeat(257))),
            ("eventbridge", "source", json!(5)),
            ("kinesis", "stream_arn", json!("arn:aws:kinesis:eu-west-1:1111222233:stream/s")),
            ("kinesis", "role_arn", json!("arn:aws:iam::111122223333:role/")),
        ];
        for (kind, field, value) in bad {
            let e = base(field, value.clone(), kind).expect_err(&format!("{kind} {field} {value}"));
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(e[0].0, format!("destination/{field}"));
        }
        let good = [
            ("sqs", "message_group_id", json!("x".repeat(128))),
            ("sqs", "message_group_id", json!("a-b~!")),
            ("sqs", "message_group_id", json!(null)),
            ("sqs", "queue_url", json!("https://eu-west-1.queue.amazonaws.com/111122223333/q")),
            ("eventbridge", "source", json!("s".repeat(256))),
            ("eventbridge", "source", json!("awsome.app")),
            ("sns", "role_arn", json!("arn:aws:iam::111122223333:role/path/to/r")),
        ];
        for (kind, field, value) in good {
            assert!(base(field, value.clone(), kind).is_ok(), "{kind} {field} {value}");
        }
    }

    #[test]
    fn own_account_roles_are_refused_unless_allowed() {
        let own = json!({"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t",
                         "role_arn": "arn:aws:iam::999988887777:role/r"});
        let e = parse_destination(&own, &rules()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "destination/role_arn");
        assert!(e[0].1.contains("own account"));
        let allowed = DestinationRules { allow_own_account_roles: true, ..rules() };
        assert!(parse_destination(&own, &allowed).is_ok());
        let unknown = DestinationRules { own_account: None, ..rules() };
        assert!(parse_destination(&own, &unknown).is_ok());
    }

    #[test]
    fn local_queue_urls_only_where_allowed() {
        let local = json!({"type": "sqs", "queue_url": "http://127.0.0.1:4566/123456789012/q", "role_arn": ROLE});
        let e = parse_destination(&local, &rules()).unwrap_err();
        assert_eq!(e[0].0, "destination/queue_url");
        let allowed = DestinationRules { allow_local: true, ..rules() };
        let d = parse_destination(&local, &allowed).unwrap();
        assert_eq!((d.region(), d.account()), (None, Some("123456789012")));
        let local = json!({"type": "sqs", "queue_url": "http://localhost:4566/123456789012/q.fifo", "role_arn": ROLE});
        assert!(parse_destination(&local, &allowed).unwrap().is_fifo());
        let remote =
            json!({"type": "sqs", "queue_url": "http://sqs.eu-west-1.amazonaws.com/111122223333/q", "role_arn": ROLE});
        assert!(parse_destination(&remote, &allowed).is_err());
    }
}
