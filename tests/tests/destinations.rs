//! Destinations in the customer's AWS account (spec §16) against the moto server: each test
//! creates its own role, queues, topic, bus or stream with the SDK, sends through
//! `hookline::destination::Destinations`, and reads back what arrived.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use hookline::destination::{AwsFailure, Destination, Destinations, Message};
use hookline::signing::signature_header;
use hookline_tests::faults::{FaultProxy, Mode};
use serde_json::Value;
use sha2::Sha256;

const REGION: &str = "us-east-1";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const EXTERNAL_ID: &str = "ext_0123456789abcdef0123456789abcdef";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Whitespace, escapes and non-ASCII text: a re-serialized payload would not match.
const PAYLOAD: &str = "{\"test\": 2432232314,  \"name\": \"Zo\u{eb} \u{2603}\", \"n\": [1, 2.50, \"x\\\"y\"]}";

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL_SQS").expect("the moto server (source /tmp/emulators.env or run scripts/test.sh)")
}

async fn config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).endpoint_url(endpoint).region(Region::new(REGION)).load().await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// SDK clients on the base (the function's own) credentials, to create and read resources.
struct Aws {
    base: SdkConfig,
    sqs: aws_sdk_sqs::Client,
}

impl Aws {
    async fn at(endpoint: &str) -> Aws {
        let base = config(endpoint).await;
        Aws { sqs: aws_sdk_sqs::Client::new(&base), base }
    }

    /// A role in moto's account (moto neither needs nor enforces its trust policy).
    async fn role(&self) -> String {
        let iam = aws_sdk_iam::Client::new(&self.base);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext_0123456789abcdef0123456789abcdef"}}}]}"#;
        let out =
            iam.create_role().role_name(unique("hookline")).assume_role_policy_document(policy).send().await.unwrap();
        out.role.unwrap().arn
    }

    async fn queue(&self, fifo: bool) -> (String, String) {
        let mut req = self.sqs.create_queue().queue_name(if fifo { unique("dest") + ".fifo" } else { unique("dest") });
        if fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let url = req.send().await.unwrap().queue_url.unwrap();
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let arn = attrs.attributes.unwrap()[&QueueAttributeName::QueueArn].clone();
        (url, arn)
    }

    /// The queue's next message, waiting up to 10 s.
    async fn receive(&self, url: &str) -> aws_sdk_sqs::types::Message {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .max_number_of_messages(1)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
                return m;
            }
            assert!(Instant::now() < deadline, "no message arrived in {url}");
        }
    }
}

/// The delivery headers as the engine passes them, signed with the Standard Webhooks key.
fn headers(msg_id: &str, timestamp: u64, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", msg_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature_header(&[SECRET], msg_id, timestamp, body)),
        ("X-Webhook-Event", "order.created".to_string()),
        ("X-Webhook-Attempt", "1".to_string()),
    ]
}

fn message<'a>(body: &'a [u8], attributes: &'a [(&'a str, String)], ordering_key: Option<&'a str>) -> Message<'a> {
    Message {
        project_id: 42,
        external_id: EXTERNAL_ID,
        webhook_id: "wh_2VZ0s4ZsWJ7GuV5Wm4n6dz",
        delivery_id: "dl_2VZ0s9fS8wcXbCvd1Fk9q3",
        event_id: "evt_2VZ0s2bW9x2cHnQ1jG8Rkq",
        event_type: "order.created",
        ordering_key,
        body,
        attributes,
    }
}

/// Standard Webhooks verification, by hand: HMAC-SHA256 keyed by the base64-decoded
/// secret over `{id}.{timestamp}.{body}`, base64, with the `v1,` prefix.
fn verifies(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|s| s == expected)
}

#[test]
fn the_hand_verifier_agrees_with_the_standard_webhooks_test_vector() {
    let body = br#"{"test": 2432232314}"#;
    let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert!(verifies(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, sig));
    assert!(!verifies(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331", body, sig));
    assert_eq!(signature_header(&[SECRET], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body), sig);
}

/// The String message attributes of an SQS message, by name.
fn string_attributes(m: &aws_sdk_sqs::types::Message) -> HashMap<String, String> {
    m.message_attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(v.data_type, "String", "{k}");
            (k, v.string_value.unwrap_or_default())
        })
        .collect()
}

fn assert_signed_headers(m: &aws_sdk_sqs::types::Message, body: &[u8]) {
    let a = string_attributes(m);
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Event", "X-Webhook-Attempt"] {
        assert!(a.contains_key(name), "{name} missing from {a:?}");
    }
    assert_eq!(a["X-Webhook-Event"], "order.created");
    assert_eq!(a["X-Webhook-Attempt"], "1");
    assert!(verifies(SECRET, &a["webhook-id"], &a["webhook-timestamp"], body, &a["webhook-signature"]), "{a:?}");
}

fn system_attribute(m: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName) -> Option<String> {
    m.attributes.as_ref().and_then(|a| a.get(&name).cloned())
}

#[tokio::test]
async fn sqs_gets_the_payload_byte_for_byte_with_signed_attributes() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let (queue_url, _) = aws.queue(false).await;
    let d = Destination::Sqs { queue_url: queue_url.clone(), role_arn, message_group_id: None };
    let dest = Destinations::new(&aws.base);
    let attributes = headers("msg_sqs_1", 1_700_000_000, PAYLOAD.as_bytes());
    let sent = dest.send(&d, &message(PAYLOAD.as_bytes(), &attributes, None), TIMEOUT).await.expect("sent");
    let m = aws.receive(&queue_url).await;
    assert_eq!(m.message_id.as_deref(), Some(sent.id.as_str()), "the outcome is the MessageId");
    assert_eq!(m.body.as_deref().unwrap().as_bytes(), PAYLOAD.as_bytes());
    assert_signed_headers(&m, PAYLOAD.as_bytes());
    assert_eq!(string_attributes(&m)["webhook-id"], "msg_sqs_1");
}

#[tokio::test]
async fn a_fifo_queue_gets_the_group_and_the_delivery_id_as_dedup_id() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let (queue_url, _) = aws.queue(true).await;
    let dest = Destinations::new(&aws.base);
    let attributes = headers("msg_fifo", 1_700_000_000, PAYLOAD.as_bytes());
    let cases: [(Option<&str>, Option<&str>, &str); 3] = [
        (Some("configured"), Some("customer-9"), "configured"),
        (None, Some("customer-9"), "customer-9"),
        (None, None, "wh_2VZ0s4ZsWJ7GuV5Wm4n6dz"),
    ];
    for (i, (configured, ordering_key, group)) in cases.into_iter().enumerate() {
        let d = Destination::Sqs {
            queue_url: queue_url.clone(),
            role_arn: role_arn.clone(),
            message_group_id: configured.map(str::to_string),
        };
        let delivery_id = format!("dl_fifo_{i}");
        let m = Message { delivery_id: &delivery_id, ..message(PAYLOAD.as_bytes(), &attributes, ordering_key) };
        dest.send(&d, &m, TIMEOUT).await.expect("sent");
        let got = aws.receive(&queue_url).await;
        assert_eq!(system_attribute(&got, MessageSystemAttributeName::MessageGroupId).as_deref(), Some(group));
        assert_eq!(
            system_attribute(&got, MessageSystemAttributeName::MessageDeduplicationId).as_deref(),
            Some(delivery_id.as_str())
        );
        assert_eq!(got.body.as_deref().unwrap(), PAYLOAD);
        aws.sqs
            .delete_message()
            .queue_url(&queue_url)
            .receipt_handle(got.receipt_handle.unwrap())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sns_publishes_the_payload_with_signed_attributes() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let sns = aws_sdk_sns::Client::new(&aws.base);
    let topic_arn = sns.create_topic().name(unique("dest")).send().await.unwrap().topic_arn.unwrap();
    let (queue_url, queue_arn) = aws.queue(false).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let d = Destination::Sns { topic_arn, role_arn };
    let attributes = headers("msg_sns_1", 1_700_000_001, PAYLOAD.as_bytes());
    let sent = Destinations::new(&aws.base)
        .send(&d, &message(PAYLOAD.as_bytes(), &attributes, None), TIMEOUT)
        .await
        .expect("published");
    assert!(!sent.id.is_empty());
    let m = aws.receive(&queue_url).await;
    assert_eq!(m.body.as_deref().unwrap().as_bytes(), PAYLOAD.as_bytes());
    assert_signed_headers(&m, PAYLOAD.as_bytes());
}

#[tokio::test]
async fn a_fifo_topic_gets_the_ordering_key_as_group_and_the_delivery_id_as_dedup_id() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let sns = aws_sdk_sns::Client::new(&aws.base);
    let topic_arn = sns
        .create_topic()
        .name(unique("dest") + ".fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (queue_url, queue_arn) = aws.queue(true).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let d = Destination::Sns { topic_arn, role_arn };
    let attributes = headers("msg_sns_fifo", 1_700_000_002, PAYLOAD.as_bytes());
    Destinations::new(&aws.base)
        .send(&d, &message(PAYLOAD.as_bytes(), &attributes, Some("customer-9")), TIMEOUT)
        .await
        .expect("published");
    let m = aws.receive(&queue_url).await;
    assert_eq!(m.body.as_deref().unwrap(), PAYLOAD);
    assert_eq!(system_attribute(&m, MessageSystemAttributeName::MessageGroupId).as_deref(), Some("customer-9"));
    assert_eq!(
        system_attribute(&m, MessageSystemAttributeName::MessageDeduplicationId).as_deref(),
        Some("dl_2VZ0s9fS8wcXbCvd1Fk9q3")
    );
    assert_signed_headers(&m, PAYLOAD.as_bytes());
}

#[tokio::test]
async fn eventbridge_puts_one_event_with_the_event_type_and_source() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let events = aws_sdk_eventbridge::Client::new(&aws.base);
    let bus = unique("dest");
    let event_bus_arn = events.create_event_bus().name(&bus).send().await.unwrap().event_bus_arn.unwrap();
    let (queue_url, queue_arn) = aws.queue(false).await;
    events
        .put_rule()
        .name("all-orders")
        .event_bus_name(&bus)
        .event_pattern(r#"{"detail-type": ["order.created"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-orders")
        .event_bus_name(&bus)
        .targets(aws_sdk_eventbridge::types::Target::builder().id("q").arn(queue_arn).build().unwrap())
        .send()
        .await
        .unwrap();
    let dest = Destinations::new(&aws.base);
    for source in [None, Some("com.example.shop")] {
        let d = Destination::EventBridge {
            event_bus_arn: event_bus_arn.clone(),
            role_arn: role_arn.clone(),
            source: source.map(str::to_string),
        };
        let sent = dest.send(&d, &message(PAYLOAD.as_bytes(), &[], None), TIMEOUT).await.expect("put");
        let m = aws.receive(&queue_url).await;
        let event: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
        assert_eq!(event["id"], sent.id.as_str(), "the outcome is the EventId");
        assert_eq!(event["detail-type"], "order.created");
        assert_eq!(event["source"], source.unwrap_or("hookline"));
        // EventBridge re-serializes the detail (so does moto): equal as JSON.
        assert_eq!(event["detail"], serde_json::from_str::<Value>(PAYLOAD).unwrap());
        aws.sqs.delete_message().queue_url(&queue_url).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
    }
}

#[tokio::test]
async fn an_eventbridge_entry_refused_in_a_200_answer_is_a_failure() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let events = aws_sdk_eventbridge::Client::new(&aws.base);
    let event_bus_arn = events.create_event_bus().name(unique("dest")).send().await.unwrap().event_bus_arn.unwrap();
    let d = Destination::EventBridge { event_bus_arn, role_arn, source: None };
    let e = Destinations::new(&aws.base).send(&d, &message(b"not json", &[], None), TIMEOUT).await.unwrap_err();
    assert!(
        matches!(&e, AwsFailure::Service { service: "eventbridge", code, .. } if code == "MalformedDetail"),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("eventbridge: MalformedDetail: "), "{e}");
}

#[tokio::test]
async fn kinesis_gets_the_payload_under_the_ordering_key_or_the_event_id() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws.base);
    let stream = unique("dest");
    kinesis.create_stream().stream_name(&stream).shard_count(1).send().await.unwrap();
    let summary = kinesis.describe_stream_summary().stream_name(&stream).send().await.unwrap();
    let stream_arn = summary.stream_description_summary.unwrap().stream_arn;
    assert_eq!(stream_arn, format!("arn:aws:kinesis:{REGION}:123456789012:stream/{stream}"));
    let d = Destination::Kinesis { stream_arn: stream_arn.clone(), role_arn };
    let dest = Destinations::new(&aws.base);
    let binary: &[u8] = &[0, 159, 146, 150, 255, b'\n'];
    let first = dest.send(&d, &message(PAYLOAD.as_bytes(), &[], Some("customer-9")), TIMEOUT).await.expect("put");
    let second = dest.send(&d, &message(binary, &[], None), TIMEOUT).await.expect("put");
    let shards = kinesis.list_shards().stream_arn(&stream_arn).send().await.unwrap().shards.unwrap();
    let iterator = kinesis
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(shards[0].shard_id.clone())
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    // moto finds the stream by its ARN, not from the iterator.
    let records = kinesis.get_records().stream_arn(&stream_arn).shard_iterator(iterator).send().await.unwrap().records;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].sequence_number, first.id, "the outcome is the SequenceNumber");
    assert_eq!(records[0].data.as_ref(), PAYLOAD.as_bytes());
    assert_eq!(records[0].partition_key.as_deref(), Some("customer-9"));
    assert_eq!(records[1].sequence_number, second.id);
    assert_eq!(records[1].data.as_ref(), binary);
    assert_eq!(records[1].partition_key.as_deref(), Some("evt_2VZ0s2bW9x2cHnQ1jG8Rkq"));
}

#[tokio::test]
async fn a_missing_queue_is_an_sqs_failure_with_the_aws_code_and_status() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let queue_url = format!("{}/123456789012/{}", moto(), unique("missing"));
    let d = Destination::Sqs { queue_url, role_arn, message_group_id: None };
    let e = Destinations::new(&aws.base).send(&d, &message(PAYLOAD.as_bytes(), &[], None), TIMEOUT).await.unwrap_err();
    let AwsFailure::Service { service, code, message, status } = &e else { panic!("{e:?}") };
    assert_eq!(*service, "sqs");
    assert!(
        ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"].contains(&code.as_str()),
        "{code}: {message}"
    );
    assert_eq!(*status, Some(400));
    assert_eq!(e.to_string(), format!("sqs: {code}: {message}"));
}

#[tokio::test]
async fn an_oversize_payload_fails_before_any_call() {
    let proxy = FaultProxy::start().await;
    let base = config(&proxy.url).await;
    let dest = Destinations::new(&base);
    let role_arn = "arn:aws:iam::123456789012:role/never-assumed".to_string();
    let big = vec![b'x'; 262_145];
    let cases = [
        Destination::Sqs {
            queue_url: format!("{}/123456789012/q", moto()),
            role_arn: role_arn.clone(),
            message_group_id: None,
        },
        Destination::Sns { topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(), role_arn: role_arn.clone() },
        Destination::EventBridge {
            event_bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/b".into(),
            role_arn: role_arn.clone(),
            source: None,
        },
    ];
    for d in &cases {
        let e = dest.send(d, &message(&big, &[], None), TIMEOUT).await.unwrap_err();
        assert!(matches!(e, AwsFailure::Oversize { limit: 262_144, .. }), "{e:?}");
        assert_eq!(e.service(), d.service());
    }
    // SQS counts the attributes too.
    let attributes = headers("msg_big", 1_700_000_000, b"");
    let near = vec![b'x'; 262_144 - 10];
    let e = dest.send(&cases[0], &message(&near, &attributes, None), TIMEOUT).await.unwrap_err();
    assert!(matches!(e, AwsFailure::Oversize { service: "sqs", .. }), "{e:?}");
    let kinesis =
        Destination::Kinesis { stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s".into(), role_arn };
    let huge = vec![b'x'; 1_048_577];
    let e = dest.send(&kinesis, &message(&huge, &[], None), TIMEOUT).await.unwrap_err();
    assert_eq!(e, AwsFailure::Oversize { service: "kinesis", size: 1_048_577 + 26, limit: 1_048_576 });
    assert_eq!(e.to_string(), "kinesis: the payload is 1048603 bytes, over the 1048576-byte limit");
    for op in ["AssumeRole", "SendMessage", "Publish", "PutEvents", "PutRecord", ""] {
        assert_eq!(proxy.seen(op), 0, "{op} was called");
    }
}

#[tokio::test]
async fn many_sends_for_one_role_assume_it_once() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let (queue_url, _) = aws.queue(false).await;
    let proxy = FaultProxy::start().await;
    let dest = Destinations::new(&config(&proxy.url).await);
    let d = Destination::Sqs { queue_url: queue_url.clone(), role_arn: role_arn.clone(), message_group_id: None };
    let bodies: Vec<String> = (0..20).map(|i| format!("{{\"n\": {i}}}")).collect();
    // Concurrent first sends: one AssumeRole, the others wait for it.
    let sends = bodies.iter().map(|b| {
        let (dest, d) = (dest.clone(), d.clone());
        async move { dest.send(&d, &message(b.as_bytes(), &[], None), TIMEOUT).await }
    });
    for r in futures::future::join_all(sends).await {
        r.expect("sent");
    }
    assert_eq!(proxy.seen("AssumeRole"), 1);
    assert_eq!(proxy.seen("SendMessage"), 20);
    // Later sends reuse the credentials.
    for b in &bodies[..5] {
        dest.send(&d, &message(b.as_bytes(), &[], None), TIMEOUT).await.expect("sent");
    }
    assert_eq!(proxy.seen("AssumeRole"), 1);
    // Another project (another external id) assumes the role for itself.
    let other =
        Message { project_id: 43, external_id: "ext_fedcba9876543210fedcba9876543210", ..message(b"{}", &[], None) };
    dest.send(&d, &other, TIMEOUT).await.expect("sent");
    assert_eq!(proxy.seen("AssumeRole"), 2);
    assert_eq!(proxy.seen("SendMessage"), 26);
}

#[tokio::test]
async fn a_hanging_sts_is_a_timeout_within_the_send_timeout() {
    let proxy = FaultProxy::start().await;
    proxy.always("AssumeRole", Mode::Hang);
    let dest = Destinations::new(&config(&proxy.url).await);
    let d = Destination::Sqs {
        queue_url: format!("{}/123456789012/q", moto()),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        message_group_id: None,
    };
    let limit = Duration::from_secs(2);
    let started = Instant::now();
    let e = dest.send(&d, &message(PAYLOAD.as_bytes(), &[], None), limit).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, AwsFailure::Timeout { service: "sts", after: limit });
    assert_eq!(e.to_string(), "sts: timeout after 2000 ms");
    assert!(took < limit + Duration::from_millis(500), "took {took:?}");
    assert!(proxy.seen("AssumeRole") >= 1);
    assert_eq!(proxy.seen("SendMessage"), 0);
}

#[tokio::test]
async fn a_hanging_service_is_a_timeout_of_that_service() {
    let aws = Aws::at(&moto()).await;
    let role_arn = aws.role().await;
    let (queue_url, _) = aws.queue(false).await;
    let proxy = FaultProxy::start().await;
    proxy.always("SendMessage", Mode::Hang);
    let dest = Destinations::new(&config(&proxy.url).await);
    let d = Destination::Sqs { queue_url, role_arn, message_group_id: None };
    let limit = Duration::from_secs(2);
    let started = Instant::now();
    let e = dest.send(&d, &message(PAYLOAD.as_bytes(), &[], None), limit).await.unwrap_err();
    assert_eq!(e, AwsFailure::Timeout { service: "sqs", after: limit });
    assert!(started.elapsed() < limit + Duration::from_millis(500));
    assert_eq!(proxy.seen("AssumeRole"), 1);
}

#[tokio::test]
async fn a_failing_sts_is_an_sts_failure_with_its_status() {
    let proxy = FaultProxy::start().await;
    proxy.always("AssumeRole", Mode::Fail);
    let dest = Destinations::new(&config(&proxy.url).await);
    let d = Destination::Sns {
        topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
    };
    let e = dest.send(&d, &message(PAYLOAD.as_bytes(), &[], None), TIMEOUT).await.unwrap_err();
    assert!(matches!(e, AwsFailure::Service { service: "sts", status: Some(500), .. }), "{e:?}");
    assert!(e.to_string().starts_with("sts: "), "{e}");
    assert_eq!(proxy.seen("Publish"), 0);
}
