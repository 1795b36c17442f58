//! Reads the table and queue definitions out of `template.yaml`, so the local
//! stack and the tests create exactly what `sam deploy` creates.

use serde_yaml::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot parse the template: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Missing(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyDef {
    pub hash: String,
    pub range: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub name: String,
    pub key: KeyDef,
    pub projection: String,
    /// The attributes an `INCLUDE` projection copies into the index.
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// (name, type) of every key attribute.
    pub attributes: Vec<(String, String)>,
    pub key: KeyDef,
    pub indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueDef {
    pub visibility_timeout: u32,
    pub retention_seconds: u32,
    /// `maxReceiveCount` of the redrive policy to the dead-letter queue.
    pub max_receive_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Definitions {
    pub table: TableDef,
    pub queue: QueueDef,
    pub dead_letter_queue: QueueDef,
}

pub const TABLE_RESOURCE: &str = "HooklineTable";
pub const QUEUE_RESOURCE: &str = "DeliveryQueue";
pub const DLQ_RESOURCE: &str = "DeliveryDeadLetterQueue";

/// The workspace's template, found from this crate's directory.
pub fn default_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("template.yaml")
}

pub fn load(path: &std::path::Path) -> Result<Definitions, TemplateError> {
    parse(&std::fs::read_to_string(path)?)
}

fn props<'a>(doc: &'a Value, resource: &str) -> Result<&'a Value, TemplateError> {
    doc.get("Resources")
        .and_then(|r| r.get(resource))
        .and_then(|r| r.get("Properties"))
        .ok_or_else(|| TemplateError::Missing(format!("resource {resource} has no Properties")))
}

fn text(v: &Value, field: &str) -> Result<String, TemplateError> {
    v.get(field).and_then(Value::as_str).map(str::to_string).ok_or_else(|| TemplateError::Missing(field.into()))
}

fn key_schema(v: &Value) -> Result<KeyDef, TemplateError> {
    let elems =
        v.get("KeySchema").and_then(Value::as_sequence).ok_or_else(|| TemplateError::Missing("KeySchema".into()))?;
    let mut hash = None;
    let mut range = None;
    for e in elems {
        match text(e, "KeyType")?.as_str() {
            "HASH" => hash = Some(text(e, "AttributeName")?),
            _ => range = Some(text(e, "AttributeName")?),
        }
    }
    Ok(KeyDef { hash: hash.ok_or_else(|| TemplateError::Missing("HASH key".into()))?, range })
}

fn number(v: &Value, field: &str, default: u32) -> u32 {
    v.get(field)
        .and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
        .map_or(default, |n| n as u32)
}

fn queue(v: &Value) -> QueueDef {
    QueueDef {
        visibility_timeout: number(v, "VisibilityTimeout", 30),
        retention_seconds: number(v, "MessageRetentionPeriod", 345_600),
        max_receive_count: v.get("RedrivePolicy").map(|r| number(r, "maxReceiveCount", 5)),
    }
}

pub fn parse(yaml: &str) -> Result<Definitions, TemplateError> {
    let doc: Value = serde_yaml::from_str(yaml)?;
    let t = props(&doc, TABLE_RESOURCE)?;
    let attributes = t
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| TemplateError::Missing("AttributeDefinitions".into()))?
        .iter()
        .map(|a| Ok((text(a, "AttributeName")?, text(a, "AttributeType")?)))
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let indexes = t
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|ixs| {
            ixs.iter()
                .map(|ix| {
                    Ok(IndexDef {
                        name: text(ix, "IndexName")?,
                        key: key_schema(ix)?,
                        projection: ix
                            .get("Projection")
                            .map_or(Ok("ALL".to_string()), |p| text(p, "ProjectionType"))?,
                        non_key_attributes: ix
                            .get("Projection")
                            .and_then(|p| p.get("NonKeyAttributes"))
                            .and_then(Value::as_sequence)
                            .map(|attrs| attrs.iter().filter_map(Value::as_str).map(str::to_string).collect())
                            .unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, TemplateError>>()
        })
        .transpose()?
        .unwrap_or_default();
    let ttl_attribute = t
        .get("TimeToLiveSpecification")
        .and_then(|s| s.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Definitions {
        table: TableDef { attributes, key: key_schema(t)?, indexes, ttl_attribute },
        queue: queue(props(&doc, QUEUE_RESOURCE)?),
        dead_letter_queue: queue(props(&doc, DLQ_RESOURCE)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_repository_template() {
        let d = load(&default_path()).unwrap();
        assert_eq!(d.table.key, KeyDef { hash: "pk".into(), range: Some("sk".into()) });
        let names: Vec<&str> = d.table.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["gsi1", "gsi2", "gsi3"]);
        assert_eq!(d.table.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(d.queue.max_receive_count.is_some());
        assert!(d.queue.visibility_timeout >= 60);
    }

    /// Every field the list views deserialize must be projected into every index,
    /// or listing would fail; only the lease is left out on purpose.
    #[test]
    fn indexes_project_every_listed_field() {
        use hookline::model::{Delivery, DeliveryStatus, Event};
        let event = Event {
            id: "evt".into(),
            project_id: 1,
            client_id: None,
            event_type: "t".into(),
            session_id: None,
            data: Default::default(),
            received_at: 0,
            webhook_ids: vec![],
            test: false,
            expires_at: 0,
        };
        let delivery = Delivery {
            id: "msg".into(),
            project_id: 1,
            event_id: "evt".into(),
            event_type: "t".into(),
            webhook_id: "wh".into(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            max_attempts: 1,
            response_code: None,
            response_body: None,
            error: None,
            created_at: 0,
            last_attempt_at: None,
            next_attempt_at: None,
            lease_until: None,
            test: false,
            expires_at: 0,
        };
        let mut fields: Vec<String> = Vec::new();
        for v in [serde_json::to_value(&event).unwrap(), serde_json::to_value(&delivery).unwrap()] {
            fields.extend(v.as_object().unwrap().keys().filter(|k| *k != "lease_until").cloned());
        }
        let d = load(&default_path()).unwrap();
        for ix in &d.table.indexes {
            assert_eq!(ix.projection, "INCLUDE");
            for f in &fields {
                assert!(ix.non_key_attributes.contains(f), "index {} does not project {f}", ix.name);
            }
            assert!(!ix.non_key_attributes.iter().any(|a| a == "lease_until"));
        }
    }

    #[test]
    fn index_names_match_the_store() {
        let d = load(&default_path()).unwrap();
        for ix in &d.table.indexes {
            let (pk, sk) = hookline::store::keys::index_attrs(&ix.name);
            assert_eq!(ix.key, KeyDef { hash: pk.into(), range: Some(sk.into()) });
        }
    }
}
