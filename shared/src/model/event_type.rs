use serde::{Deserialize, Serialize};

use crate::clock::Millis;

/// An entry of the deployment-wide event-type catalogue (§11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: String,
    /// JSON Schema (draft 2020-12) of the events' `data`, as JSON text.
    #[serde(default, with = "json_opt")]
    pub schema: Option<serde_json::Value>,
    /// A `data` object satisfying `schema`, as JSON text; tests without data send it.
    #[serde(default, with = "json_opt")]
    pub example: Option<serde_json::Value>,
    pub archived: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Bumped on every change, so compiled schemas are cached per version.
    pub version: u64,
}

/// Stored as JSON text: free of DynamoDB's nesting and number limits.
mod json_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| serde_json::from_str(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
