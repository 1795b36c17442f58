//! One call per delivery to SQS, SNS, EventBridge or Kinesis, the services' size limits,
//! and AWS errors as [`AwsFailure`]s.

use std::time::Duration;

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::{AwsFailure, Destination, Message, Sent, DEFAULT_SOURCE};

/// SQS: message body and attributes (names, types and values), 256 KiB.
pub const SQS_LIMIT: usize = 262_144;
/// SNS: message and attributes, 256 KiB.
pub const SNS_LIMIT: usize = 262_144;
/// EventBridge: one `PutEvents` entry (source, detail type and detail), 256 KiB.
pub const EVENTBRIDGE_LIMIT: usize = 262_144;
/// Kinesis: a record's data and partition key, 1 MiB.
pub const KINESIS_LIMIT: usize = 1_048_576;

/// The size the service counts against its limit for this message.
pub fn size_of(d: &Destination, m: &Message<'_>) -> usize {
    let attributes =
        || m.attributes.iter().map(|(name, value)| name.len() + "String".len() + value.len()).sum::<usize>();
    match d {
        Destination::Sqs { .. } | Destination::Sns { .. } => m.body.len() + attributes(),
        Destination::EventBridge { source, .. } => {
            source.as_deref().unwrap_or(DEFAULT_SOURCE).len() + m.event_type.len() + m.body.len()
        }
        Destination::Kinesis { .. } => m.body.len() + partition_key(m).len(),
    }
}

/// The service's limit on [`size_of`].
pub fn size_limit(d: &Destination) -> usize {
    match d {
        Destination::Sqs { .. } => SQS_LIMIT,
        Destination::Sns { .. } => SNS_LIMIT,
        Destination::EventBridge { .. } => EVENTBRIDGE_LIMIT,
        Destination::Kinesis { .. } => KINESIS_LIMIT,
    }
}

/// `Oversize` when the message is over its service's limit, before any call.
pub(super) fn check_size(d: &Destination, m: &Message<'_>) -> Result<(), AwsFailure> {
    let (size, limit) = (size_of(d, m), size_limit(d));
    if size > limit {
        return Err(AwsFailure::Oversize { service: d.service(), size, limit });
    }
    Ok(())
}

/// SQS, SNS and EventBridge take the payload as text.
pub(super) fn text<'a>(d: &Destination, m: &Message<'a>) -> Result<&'a str, AwsFailure> {
    std::str::from_utf8(m.body).map_err(|e| AwsFailure::Service {
        service: d.service(),
        code: "InvalidPayload".into(),
        message: format!("the payload is not UTF-8 text ({e})"),
        status: None,
    })
}

/// Kinesis: the event's ordering key, else its id.
pub(super) fn partition_key<'a>(m: &Message<'a>) -> &'a str {
    m.ordering_key.unwrap_or(m.event_id)
}

/// A FIFO queue's or topic's message group: the given one, else the event's ordering
/// key, else the webhook id. An ordering key may hold spaces, which a group id may not: they
/// become `_`. Keys that then meet share a group, which keeps each one's order.
pub(super) fn group_id<'a>(configured: Option<&'a str>, m: &Message<'a>) -> std::borrow::Cow<'a, str> {
    match (configured, m.ordering_key) {
        (Some(g), _) => g.into(),
        (None, Some(k)) if k.contains(' ') => k.replace(' ', "_").into(),
        (None, Some(k)) => k.into(),
        (None, None) => m.webhook_id.into(),
    }
}

/// An SDK error as the contract words it: the AWS error code and message with the HTTP
/// status of the answer; a timeout (the SDK's own or the connection's) as `Timeout`.
pub(super) fn failure<E>(service: &'static str, err: SdkError<E, HttpResponse>, after: Duration) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (code, message) = match &err {
        SdkError::TimeoutError(_) => return AwsFailure::Timeout { service, after },
        SdkError::DispatchFailure(f) if f.is_timeout() => return AwsFailure::Timeout { service, after },
        SdkError::DispatchFailure(_) => ("DispatchFailure".to_string(), DisplayErrorContext(&err).to_string()),
        SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_string(), DisplayErrorContext(&err).to_string()),
        _ => (
            err.code().unwrap_or("Unknown").to_string(),
            err.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(&err).to_string()),
        ),
    };
    AwsFailure::Service { service, code, message, status }
}

fn missing(service: &'static str, what: &str) -> AwsFailure {
    AwsFailure::Service {
        service,
        code: "InvalidResponse".into(),
        message: format!("the answer has no {what}"),
        status: None,
    }
}

/// The per-call SDK timeout: the time left of the send. Only the operation timeout: the SDK
/// keys its HTTP connectors by connect timeout, so a per-call one (different every call)
/// built a new connector, TLS roots and connection for every send (the delivery bench's
/// destination scenario found it); the caller's `tokio::time::timeout` bounds connecting too.
macro_rules! with_timeout {
    ($krate:ident, $left:expr) => {
        $krate::config::Builder::default()
            .timeout_config($krate::config::timeout::TimeoutConfig::builder().operation_timeout($left).build())
    };
}

/// The signature headers as `String` message attributes (SQS and SNS have the same shape in
/// different crates).
macro_rules! string_attributes {
    ($krate:ident, $m:expr) => {
        $m.attributes
            .iter()
            .map(|(name, value)| {
                let value = $krate::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .expect("the data type is set");
                (name.to_string(), value)
            })
            .collect()
    };
}

pub(super) async fn sqs(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    message_group_id: Option<&str>,
    m: &Message<'_>,
    body: &str,
    left: Duration,
    after: Duration,
) -> Result<Sent, AwsFailure> {
    let mut req = client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .set_message_attributes(Some(string_attributes!(aws_sdk_sqs, m)));
    if queue_url.ends_with(".fifo") {
        req = req.message_group_id(group_id(message_group_id, m)).message_deduplication_id(m.delivery_id);
    }
    let out = req
        .customize()
        .config_override(with_timeout!(aws_sdk_sqs, left))
        .send()
        .await
        .map_err(|e| failure("sqs", e, after))?;
    Ok(Sent { id: out.message_id.ok_or_else(|| missing("sqs", "MessageId"))? })
}

pub(super) async fn sns(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    m: &Message<'_>,
    body: &str,
    left: Duration,
    after: Duration,
) -> Result<Sent, AwsFailure> {
    let mut req = client
        .publish()
        .topic_arn(topic_arn)
        .message(body)
        .set_message_attributes(Some(string_attributes!(aws_sdk_sns, m)));
    if topic_arn.ends_with(".fifo") {
        req = req.message_group_id(group_id(None, m)).message_deduplication_id(m.delivery_id);
    }
    let out = req
        .customize()
        .config_override(with_timeout!(aws_sdk_sns, left))
        .send()
        .await
        .map_err(|e| failure("sns", e, after))?;
    Ok(Sent { id: out.message_id.ok_or_else(|| missing("sns", "MessageId"))? })
}

pub(super) async fn eventbridge(
    client: &aws_sdk_eventbridge::Client,
    event_bus_arn: &str,
    source: Option<&str>,
    m: &Message<'_>,
    body: &str,
    left: Duration,
    after: Duration,
) -> Result<Sent, AwsFailure> {
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(event_bus_arn)
        .source(source.unwrap_or(DEFAULT_SOURCE))
        .detail_type(m.event_type)
        .detail(body)
        .build();
    let out = client
        .put_events()
        .entries(entry)
        .customize()
        .config_override(with_timeout!(aws_sdk_eventbridge, left))
        .send()
        .await
        .map_err(|e| failure("eventbridge", e, after))?;
    let Some(result) = out.entries.unwrap_or_default().into_iter().next() else {
        return Err(missing("eventbridge", "entry"));
    };
    // A refused entry comes back in a 200 answer, with its own code and message.
    if let Some(code) = result.error_code {
        return Err(AwsFailure::Service {
            service: "eventbridge",
            code,
            message: result.error_message.unwrap_or_default(),
            status: None,
        });
    }
    Ok(Sent { id: result.event_id.ok_or_else(|| missing("eventbridge", "EventId"))? })
}

pub(super) async fn kinesis(
    client: &aws_sdk_kinesis::Client,
    stream_arn: &str,
    m: &Message<'_>,
    left: Duration,
    after: Duration,
) -> Result<Sent, AwsFailure> {
    let out = client
        .put_record()
        .stream_arn(stream_arn)
        .partition_key(partition_key(m))
        .data(aws_sdk_kinesis::primitives::Blob::new(m.body))
        .customize()
        .config_override(with_timeout!(aws_sdk_kinesis, left))
        .send()
        .await
        .map_err(|e| failure("kinesis", e, after))?;
    Ok(Sent { id: out.sequence_number })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/r";

    fn message<'a>(body: &'a [u8], attributes: &'a [(&'a str, String)], ordering_key: Option<&'a str>) -> Message<'a> {
        Message {
            project_id: 7,
            external_id: "ext_00000000000000000000000000000000",
            webhook_id: "wh_1",
            delivery_id: "dl_1",
            event_id: "evt_1",
            event_type: "order.created",
            ordering_key,
            body,
            attributes,
        }
    }

    fn all() -> [Destination; 4] {
        [
            Destination::Sqs {
                queue_url: "https://sqs.eu-west-1.amazonaws.com/111122223333/q".into(),
                role_arn: ROLE.into(),
                message_group_id: None,
            },
            Destination::Sns { topic_arn: "arn:aws:sns:eu-west-1:111122223333:t".into(), role_arn: ROLE.into() },
            Destination::EventBridge {
                event_bus_arn: "arn:aws:events:eu-west-1:111122223333:event-bus/b".into(),
                role_arn: ROLE.into(),
                source: None,
            },
            Destination::Kinesis {
                stream_arn: "arn:aws:kinesis:eu-west-1:111122223333:stream/s".into(),
                role_arn: ROLE.into(),
            },
        ]
    }

    #[test]
    fn sizes_count_what_each_service_counts() {
        let attributes = [("webhook-id", "msg_1".to_string()), ("X-Webhook-Attempt", "1".to_string())];
        let m = message(b"0123456789", &attributes, Some("key"));
        let [sqs, sns, eb, kinesis] = all();
        let attrs = "webhook-id".len() + 6 + 5 + "X-Webhook-Attempt".len() + 6 + 1;
        assert_eq!(size_of(&sqs, &m), 10 + attrs);
        assert_eq!(size_of(&sns, &m), 10 + attrs);
        assert_eq!(size_of(&eb, &m), "hookline".len() + "order.created".len() + 10);
        assert_eq!(size_of(&kinesis, &m), 10 + 3);
        let no_key = message(b"0123456789", &attributes, None);
        assert_eq!(size_of(&kinesis, &no_key), 10 + "evt_1".len());
    }

    #[test]
    fn oversize_is_found_at_the_limit() {
        for d in all() {
            let limit = size_limit(&d);
            let fixed = size_of(&d, &message(b"", &[], None));
            let fits = vec![b'x'; limit - fixed];
            assert!(check_size(&d, &message(&fits, &[], None)).is_ok(), "{d:?}");
            let over = vec![b'x'; limit - fixed + 1];
            assert_eq!(
                check_size(&d, &message(&over, &[], None)),
                Err(AwsFailure::Oversize { service: d.service(), size: limit + 1, limit })
            );
        }
        assert_eq!(size_limit(&all()[3]), 1_048_576);
    }

    #[test]
    fn group_and_partition_keys_fall_back() {
        let with_key = message(b"", &[], Some("customer-9"));
        let without = message(b"", &[], None);
        assert_eq!(group_id(Some("fixed"), &with_key), "fixed");
        assert_eq!(group_id(None, &with_key), "customer-9");
        assert_eq!(group_id(None, &without), "wh_1");
        assert_eq!(group_id(None, &message(b"", &[], Some("customer 9"))), "customer_9", "no spaces in a group id");
        assert_eq!(partition_key(&with_key), "customer-9");
        assert_eq!(partition_key(&without), "evt_1");
    }

    #[test]
    fn non_utf8_payloads_are_refused_for_text_services() {
        let m = message(&[0xff, 0xfe], &[], None);
        let e = text(&all()[0], &m).unwrap_err();
        assert!(
            matches!(e, AwsFailure::Service { service: "sqs", ref code, status: None, .. } if code == "InvalidPayload")
        );
    }
}
