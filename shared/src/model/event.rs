use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::clock::Millis;
use crate::ids::{DeliveryId, EventId, ProjectId, WebhookId};

/// One webhook incarnation an event fans out to, fixed at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub webhook_id: WebhookId,
    pub generation: crate::model::Generation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub project_id: ProjectId,
    pub client_id: Option<i64>,
    pub event_type: String,
    pub session_id: Option<String>,
    /// Exactly the JSON text the client sent: every digit, any nesting, no store limit.
    #[serde(with = "raw_text")]
    pub data: Box<RawValue>,
    pub received_at: Millis,
    /// The deliveries, in order: delivery `i` goes to `fan_out[i]` (its id encodes `i`).
    pub fan_out: Vec<Target>,
    /// A test event (docs/api.md §7): delivered whatever the webhook's flag and subscriptions.
    pub test: bool,
    /// §15: the event's place in a sequence, for ordered webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
    /// The deliveries of this event that wait for an earlier one of their ordering key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<After>,
}

/// Delivery `index` of an event waits for `delivery` (of the same webhook incarnation) to
/// finish before its first attempt (docs/api.md §15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct After {
    pub index: u32,
    pub delivery: DeliveryId,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.project_id == other.project_id
            && self.client_id == other.client_id
            && self.event_type == other.event_type
            && self.session_id == other.session_id
            && self.data.get() == other.data.get()
            && self.received_at == other.received_at
            && self.fan_out == other.fan_out
            && self.test == other.test
            && self.ordering_key == other.ordering_key
            && self.after == other.after
    }
}

impl Event {
    pub fn delivery_id(&self, index: usize) -> DeliveryId {
        DeliveryId::for_event(&self.id, index)
    }

    /// The earlier delivery that delivery `index` waits for, if any.
    pub fn waits_for(&self, index: usize) -> Option<&DeliveryId> {
        self.after.iter().find(|a| a.index as usize == index).map(|a| &a.delivery)
    }

    /// The target of a delivery of this event, if the id is one of its deliveries.
    pub fn target_of(&self, delivery: &DeliveryId) -> Option<&Target> {
        (delivery.event_id() == self.id).then(|| self.fan_out.get(delivery.index())).flatten()
    }
}

/// Stores a `RawValue` as a string attribute: DynamoDB would otherwise see a map.
pub mod raw_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(v: &RawValue, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.get())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<RawValue>, D::Error> {
        RawValue::from_string(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
