//! Destinations in the customer's AWS account (spec §16): an SQS queue, an SNS topic, an
//! EventBridge bus or a Kinesis stream that a webhook delivers to instead of HTTP.
//!
//! - [`parse_destination`] checks a `destination` object as the API receives it;
//! - [`Destinations`] (one per process) assumes the customer's role and sends one delivery.
//!
//! Nothing here uses the function's own credentials for a send: every call is made with
//! credentials from STS `AssumeRole` on the destination's `role_arn`, with the project's
//! external id.

mod arn;
mod clients;
mod send;
mod validate;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use arn::{QueueUrl, ResourceArn, RoleArn};
pub use clients::Destinations;
pub use send::{size_limit, size_of};
pub use validate::{parse_destination, DestinationRules};

/// Where a webhook with a `destination` delivers, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Destination {
    Sqs {
        queue_url: String,
        role_arn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_group_id: Option<String>,
    },
    Sns {
        topic_arn: String,
        role_arn: String,
    },
    #[serde(rename = "eventbridge")]
    EventBridge {
        event_bus_arn: String,
        role_arn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    Kinesis {
        stream_arn: String,
        role_arn: String,
    },
}

/// The EventBridge `Source` of a bus destination without one.
pub const DEFAULT_SOURCE: &str = "hookline";

impl Destination {
    /// The IAM role every send assumes.
    pub fn role_arn(&self) -> &str {
        match self {
            Destination::Sqs { role_arn, .. }
            | Destination::Sns { role_arn, .. }
            | Destination::EventBridge { role_arn, .. }
            | Destination::Kinesis { role_arn, .. } => role_arn,
        }
    }

    /// The service's short name, as failures name it: `sqs`, `sns`, `eventbridge`, `kinesis`.
    pub fn service(&self) -> &'static str {
        match self {
            Destination::Sqs { .. } => "sqs",
            Destination::Sns { .. } => "sns",
            Destination::EventBridge { .. } => "eventbridge",
            Destination::Kinesis { .. } => "kinesis",
        }
    }

    /// The queue URL or the resource ARN.
    pub fn resource(&self) -> &str {
        match self {
            Destination::Sqs { queue_url, .. } => queue_url,
            Destination::Sns { topic_arn, .. } => topic_arn,
            Destination::EventBridge { event_bus_arn, .. } => event_bus_arn,
            Destination::Kinesis { stream_arn, .. } => stream_arn,
        }
    }

    /// The resource's region, from its ARN or queue URL; `None` for an emulator queue URL
    /// (`http://127.0.0.1:<port>/…`, whose region is the deployment's) or a malformed one.
    pub fn region(&self) -> Option<&str> {
        match self {
            Destination::Sqs { queue_url, .. } => QueueUrl::parse(queue_url, true).ok()?.region,
            _ => Some(self.resource_arn()?.region),
        }
    }

    /// The AWS account that owns the resource (from its ARN or queue URL).
    pub fn account(&self) -> Option<&str> {
        match self {
            Destination::Sqs { queue_url, .. } => Some(QueueUrl::parse(queue_url, true).ok()?.account),
            _ => Some(self.resource_arn()?.account),
        }
    }

    /// Whether the resource is FIFO (an SQS queue or SNS topic whose name ends `.fifo`).
    pub fn is_fifo(&self) -> bool {
        match self {
            Destination::Sqs { queue_url, .. } => queue_url.ends_with(".fifo"),
            Destination::Sns { topic_arn, .. } => topic_arn.ends_with(".fifo"),
            _ => false,
        }
    }

    fn resource_arn(&self) -> Option<ResourceArn<'_>> {
        match self {
            Destination::Sqs { .. } => None,
            Destination::Sns { topic_arn, .. } => ResourceArn::topic(topic_arn).ok(),
            Destination::EventBridge { event_bus_arn, .. } => ResourceArn::event_bus(event_bus_arn).ok(),
            Destination::Kinesis { stream_arn, .. } => ResourceArn::stream(stream_arn).ok(),
        }
    }
}

/// One delivery to send. `attributes` are the delivery's headers (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`, `X-Webhook-Event`, `X-Webhook-Attempt`), sent
/// as String message attributes to SQS and SNS and not sent to the other services.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub project_id: u64,
    /// The project's external id (`ext_` + 32 hex), the `ExternalId` of `AssumeRole`.
    pub external_id: &'a str,
    pub webhook_id: &'a str,
    pub delivery_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub ordering_key: Option<&'a str>,
    pub body: &'a [u8],
    pub attributes: &'a [(&'a str, String)],
}

/// A send the service accepted: its `MessageId` (SQS, SNS), `EventId` (EventBridge) or
/// `SequenceNumber` (Kinesis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub id: String,
}

/// Why a send failed. `service` is `sqs`, `sns`, `eventbridge`, `kinesis`, or `sts` for
/// the `AssumeRole` step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsFailure {
    /// AWS answered with an error (a refused role, a missing resource, throttling, …), or
    /// the call could not be made; `status` is the HTTP status of AWS's answer if any.
    #[error("{service}: {code}: {message}")]
    Service { service: &'static str, code: String, message: String, status: Option<u16> },
    /// No answer within the send's time limit.
    #[error("{service}: timeout after {} ms", after.as_millis())]
    Timeout { service: &'static str, after: Duration },
    /// The payload is over the service's size limit; found before any call, so the
    /// delivery can end at once.
    #[error("{service}: the payload is {size} bytes, over the {limit}-byte limit")]
    Oversize { service: &'static str, size: usize, limit: usize },
}

impl AwsFailure {
    pub fn service(&self) -> &'static str {
        match self {
            AwsFailure::Service { service, .. }
            | AwsFailure::Timeout { service, .. }
            | AwsFailure::Oversize { service, .. } => service,
        }
    }

    /// The HTTP status of AWS's answer, for a failure that had one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AwsFailure::Service { status, .. } => *status,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_with_a_lowercase_type_tag() {
        let d = Destination::EventBridge {
            event_bus_arn: "arn:aws:events:eu-west-1:111122223333:event-bus/orders".into(),
            role_arn: "arn:aws:iam::111122223333:role/hookline".into(),
            source: None,
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            v,
            json!({"type": "eventbridge", "event_bus_arn": "arn:aws:events:eu-west-1:111122223333:event-bus/orders",
                   "role_arn": "arn:aws:iam::111122223333:role/hookline"})
        );
        assert_eq!(serde_json::from_value::<Destination>(v).unwrap(), d);
        let sqs: Destination = serde_json::from_value(json!({"type": "sqs",
            "queue_url": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
            "role_arn": "arn:aws:iam::111122223333:role/r"}))
        .unwrap();
        assert!(matches!(sqs, Destination::Sqs { message_group_id: None, .. }));
        assert!(!serde_json::to_string(&sqs).unwrap().contains("message_group_id"));
    }

    #[test]
    fn region_account_and_service_come_from_the_resource() {
        let role = "arn:aws:iam::999999999999:role/r".to_string();
        let cases = [
            (
                Destination::Sqs {
                    queue_url: "https://sqs.eu-central-1.amazonaws.com/111122223333/q.fifo".into(),
                    role_arn: role.clone(),
                    message_group_id: None,
                },
                "sqs",
                Some("eu-central-1"),
                true,
            ),
            (
                Destination::Sns {
                    topic_arn: "arn:aws-cn:sns:cn-north-1:111122223333:t".into(),
                    role_arn: role.clone(),
                },
                "sns",
                Some("cn-north-1"),
                false,
            ),
            (
                Destination::EventBridge {
                    event_bus_arn: "arn:aws-us-gov:events:us-gov-west-1:111122223333:event-bus/b".into(),
                    role_arn: role.clone(),
                    source: Some("x".into()),
                },
                "eventbridge",
                Some("us-gov-west-1"),
                false,
            ),
            (
                Destination::Kinesis {
                    stream_arn: "arn:aws:kinesis:ap-southeast-2:111122223333:stream/s".into(),
                    role_arn: role.clone(),
                },
                "kinesis",
                Some("ap-southeast-2"),
                false,
            ),
            (
                Destination::Sqs {
                    queue_url: "http://127.0.0.1:4566/111122223333/q".into(),
                    role_arn: role.clone(),
                    message_group_id: None,
                },
                "sqs",
                None,
                false,
            ),
        ];
        for (d, service, region, fifo) in cases {
            assert_eq!(d.service(), service);
            assert_eq!(d.region(), region, "{d:?}");
            assert_eq!(d.account(), Some("111122223333"), "{d:?}");
            assert_eq!(d.role_arn(), role);
            assert_eq!(d.is_fifo(), fifo);
        }
    }

    #[test]
    fn failures_display_as_the_contract_says() {
        let f = AwsFailure::Service {
            service: "sqs",
            code: "AWS.SimpleQueueService.NonExistentQueue".into(),
            message: "The specified queue does not exist.".into(),
            status: Some(400),
        };
        assert_eq!(f.to_string(), "sqs: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.");
        assert_eq!(f.status(), Some(400));
        let t = AwsFailure::Timeout { service: "sts", after: Duration::from_millis(1500) };
        assert_eq!(t.to_string(), "sts: timeout after 1500 ms");
        let o = AwsFailure::Oversize { service: "kinesis", size: 2_000_000, limit: 1_048_576 };
        assert_eq!(o.to_string(), "kinesis: the payload is 2000000 bytes, over the 1048576-byte limit");
        assert_eq!(o.service(), "kinesis");
    }
}
