//! What one attempt sends: the body (docs/api.md §6 payload formats) and the headers
//! (signatures, attempt number, custom headers).

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;

use crate::app::App;
use crate::clock::Millis;
use crate::delivery::{Outcome, SendError};
use crate::destination::{AwsFailure, Message, Sent};
use crate::model::{ContentType, Event, PayloadFormat, Webhook};
use crate::payload::{self, Payload, PayloadSource};
use crate::sender::header_map;
use crate::sender::Sender;
use crate::signing::{ed25519_header, hex_signature, signature_header, SignatureScheme};
use crate::transform;

/// The headers of docs/api.md §6 for one attempt.
pub fn delivery_headers(
    wh: &Webhook,
    event_type: &str,
    msg_id: &str,
    attempt: u32,
    now: Millis,
    payload: &Payload,
) -> HeaderMap {
    let timestamp = now.epoch_secs();
    let (signature, hex, previous_hex) = match wh.signature_scheme {
        SignatureScheme::Hmac => (
            signature_header(&wh.signing_secrets(now), msg_id, timestamp, &payload.body),
            Some(hex_signature(&wh.secret, &payload.body)),
            wh.previous_secret(now).map(|old| hex_signature(old, &payload.body)),
        ),
        // §17: asymmetric `v1a` signatures only; 004's HMAC header needs a shared secret.
        SignatureScheme::Ed25519 => {
            (ed25519_header(&wh.signing_secrets(now), msg_id, timestamp, &payload.body), None, None)
        }
    };
    let attempt = attempt.to_string();
    let timestamp = timestamp.to_string();
    // Custom headers first, so that nothing configured can replace Hookline's own (docs/api.md §6 lists
    // `User-Agent: Hookline/<version>` on every delivery; a configured one is overridden).
    let mut map = header_map(wh.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let ours = header_map([
        ("content-type", payload.content_type),
        ("user-agent", crate::sender::USER_AGENT),
        ("webhook-id", msg_id),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
        ("x-webhook-event", event_type),
        ("x-webhook-attempt", attempt.as_str()),
        ("x-webhook-verification-key", wh.verification_key.as_str()),
    ]);
    map.extend(ours);
    if let Some(hex) = &hex {
        map.extend(header_map([("x-webhook-signature", hex.as_str())]));
    }
    if let Some(prev) = &previous_hex {
        map.extend(header_map([("x-webhook-signature-previous", prev.as_str())]));
    }
    if let Some(auth) = wh.authorization_header() {
        map.extend(header_map([("authorization", auth.as_ref())]));
    }
    map
}

/// Sends one attempt where the webhook delivers: its URL, or its destination in the
/// customer's AWS account (docs/api.md §16), whose answer becomes the same `Outcome`.
pub async fn send(
    app: &App,
    sender: &Sender,
    wh: &Webhook,
    event: &Event,
    headers: HeaderMap,
    payload: Payload,
) -> Outcome {
    let Some(dest) = &wh.destination else {
        return sender.deliver(wh, headers, payload.body).await;
    };
    let started = std::time::Instant::now();
    // The headers of §6 that a message can carry, as SQS and SNS message attributes.
    let attributes: Vec<(&str, String)> =
        ["webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Event", "X-Webhook-Attempt"]
            .into_iter()
            .filter_map(|name| Some((name, headers.get(name)?.to_str().ok()?.to_string())))
            .collect();
    let delivery_id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let message = Message {
        project_id: wh.project_id.0,
        external_id: wh.external_id.as_deref().unwrap_or_default(),
        webhook_id: wh.id.as_str(),
        delivery_id,
        event_id: event.id.as_str(),
        event_type: &event.event_type,
        ordering_key: event.ordering_key.as_deref(),
        body: &payload.body,
        attributes: &attributes,
    };
    let sent = app.destinations.send(dest, &message, app.settings.delivery_timeout).await;
    let duration = started.elapsed();
    match sent {
        Ok(Sent { id }) => {
            Outcome { response_code: Some(200), response_body: Some(id), error: None, duration, retry_after: None }
        }
        Err(failure @ AwsFailure::Oversize { .. }) => {
            Outcome::failed(SendError::Oversize(failure.to_string()), duration)
        }
        Err(failure) => Outcome {
            response_code: failure.status(),
            response_body: None,
            error: Some(SendError::Aws(failure.to_string())),
            duration,
            retry_after: None,
        },
    }
}

/// The body of one delivery of `event` to `wh`: the payload of §6, or what the webhook's
/// transformation makes of it (§15), which fails the attempt when it fails.
pub async fn sent_payload(event: &Event, wh: &Webhook) -> Result<Payload, SendError> {
    let Some(code) = &wh.transform else { return Ok(build_payload(event, wh)) };
    transformed(code, &plain_payload(event, wh, ContentType::Json), wh.content_type).await
}

/// `code` run on a JSON payload, its output written in `content_type`.
pub async fn transformed(code: &str, json: &Payload, content_type: ContentType) -> Result<Payload, SendError> {
    let program = transform::cached(code).map_err(SendError::Transform)?;
    let input = std::str::from_utf8(&json.body).map_err(|e| SendError::Transform(e.to_string()))?;
    let output = program.run(input).await.map_err(SendError::from)?;
    Ok(payload::render(&output, content_type))
}

/// The §6 payload of `event` for `wh`, before any transformation.
pub fn build_payload(event: &Event, wh: &Webhook) -> Payload {
    plain_payload(event, wh, wh.content_type)
}

/// The §6 payload in a given content type.
pub fn plain_payload(event: &Event, wh: &Webhook, content_type: ContentType) -> Payload {
    event_payload(event, &wh.custom_parameters, wh.payload_format, content_type)
}

/// The §6 payload of `event` in a given shape: every payload of an event, the envelope that
/// filters see (docs/api.md §15) included, is built here.
pub fn event_payload(
    event: &Event,
    custom_parameters: &BTreeMap<String, String>,
    format: PayloadFormat,
    content_type: ContentType,
) -> Payload {
    payload::build(&PayloadSource {
        event_id: event.id.as_str(),
        event_type: &event.event_type,
        received_at_ms: event.received_at.0,
        project_id: event.project_id.0,
        client_id: event.client_id,
        session_id: event.session_id.as_deref(),
        data: &event.data,
        custom_parameters,
        format,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn webhook() -> Webhook {
        Webhook {
            headers: BTreeMap::from([
                ("X-Team".to_string(), "kyc".to_string()),
                ("User-Agent".to_string(), "mine".to_string()),
            ]),
            authorization: Some("Bearer t".into()),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            verification_key: "vk1".into(),
            ..crate::model::webhook_fixture()
        }
    }

    #[test]
    fn headers_carry_every_field_of_section_6() {
        let payload = Payload { body: br#"{"test": 2432232314}"#.to_vec(), content_type: "application/json" };
        let h =
            delivery_headers(&webhook(), "a.b", "msg_p5jXN8AQM9LWM0D4loKWxJek", 3, Millis(1_614_265_330_000), &payload);
        let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
        // The Standard Webhooks specification's published test vector.
        assert_eq!(get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(get("webhook-timestamp"), "1614265330");
        assert_eq!(get("webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(get("x-webhook-attempt"), "3");
        assert_eq!(get("x-webhook-event"), "a.b");
        assert_eq!(get("x-webhook-verification-key"), "vk1");
        assert_eq!(get("authorization"), "Bearer t");
        assert_eq!(get("x-team"), "kyc");
        assert_eq!(get("content-type"), "application/json");
        assert_eq!(
            get("user-agent"),
            concat!("Hookline/", env!("CARGO_PKG_VERSION")),
            "a configured one is overridden"
        );
        assert_eq!(get("x-webhook-signature"), hex_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &payload.body));
        assert!(h.get("x-webhook-signature-previous").is_none(), "no rotation, no previous signature");
    }

    #[test]
    fn during_a_rotation_both_schemes_carry_the_old_secret() {
        let mut wh = webhook();
        wh.rotate("whsec_bmV3c2VjcmV0bmV3c2VjcmV0bmV3".into(), "vk2".into(), Millis(1_000));
        let payload = Payload { body: b"{}".to_vec(), content_type: "application/json" };
        let h = delivery_headers(&wh, "a", "msg_x", 1, Millis(2_000), &payload);
        let get = |k: &str| h.get(k).unwrap().to_str().unwrap().to_string();
        assert_eq!(get("x-webhook-signature"), hex_signature("whsec_bmV3c2VjcmV0bmV3c2VjcmV0bmV3", b"{}"));
        assert_eq!(get("x-webhook-signature-previous"), hex_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b"{}"));
        assert_eq!(get("webhook-signature").split(' ').count(), 2);
    }

    #[test]
    fn authorization_is_not_sent_while_disabled() {
        let mut wh = webhook();
        wh.authorization_enabled = false;
        let payload = Payload { body: b"{}".to_vec(), content_type: "application/json" };
        assert!(delivery_headers(&wh, "a", "msg_x", 1, Millis(0), &payload).get("authorization").is_none());
    }
}
