use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::clock::Millis;

/// An entry of the deployment-wide event-type catalogue (§11).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: String,
    /// JSON Schema (draft 2020-12) of the events' `data`, exactly the JSON text sent: numbers
    /// keep every digit.
    #[serde(default, with = "json_text")]
    pub schema: Option<Box<RawValue>>,
    /// A `data` object satisfying `schema`, exactly the JSON text sent; tests without data send it.
    #[serde(default, with = "json_text")]
    pub example: Option<Box<RawValue>>,
    pub archived: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Bumped on every change: the condition of concurrent writes.
    pub version: u64,
    /// Random, new on every write (a deleted and re-created type starts again at version 1):
    /// compiled schemas are cached by name and revision. Empty on entries written before it existed.
    #[serde(default)]
    pub revision: String,
}

impl PartialEq for EventType {
    fn eq(&self, other: &Self) -> bool {
        let text = |v: &Option<Box<RawValue>>| v.as_ref().map(|r| r.get().to_string());
        self.name == other.name
            && self.description == other.description
            && text(&self.schema) == text(&other.schema)
            && text(&self.example) == text(&other.example)
            && self.archived == other.archived
            && self.created_at == other.created_at
            && self.updated_at == other.updated_at
            && self.version == other.version
            && self.revision == other.revision
    }
}

/// Stored as JSON text: free of DynamoDB's nesting and number limits, and exact.
mod json_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(v: &Option<Box<RawValue>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(v.get()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| RawValue::from_string(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
