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

/// The HTTP API paths the template routes to a function (`Path` of its `HttpApi`
/// events), and whether it has the default route.
pub fn http_paths(yaml: &str, resource: &str) -> Result<(Vec<String>, bool), TemplateError> {
    let doc: Value = serde_yaml::from_str(yaml)?;
    let events = doc
        .get("Resources")
        .and_then(|r| r.get(resource))
        .and_then(|r| r.get("Properties"))
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .ok_or_else(|| TemplateError::Missing(format!("{resource} has no Events")))?;
    let mut paths = Vec::new();
    let mut default = false;
    for (_, event) in events {
        if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
            continue;
        }
        match event.get("Properties").and_then(|p| p.get("Path")).and_then(Value::as_str) {
            Some(path) => paths.push(path.to_string()),
            None => default = true,
        }
    }
    Ok((paths, default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Function;
    use std::collections::BTreeSet;

    #[test]
    fn reads_the_repository_template() {
        let d = load(&default_path()).unwrap();
        assert_eq!(d.table.key, KeyDef { hash: "pk".into(), range: Some("sk".into()) });
        let names: Vec<&str> = d.table.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec![hookline::store::keys::DUE_INDEX]);
        assert_eq!(d.table.ttl_attribute.as_deref(), Some(hookline::store::keys::TTL));
        assert!(d.queue.max_receive_count.is_some());
        assert!(d.queue.visibility_timeout >= 60);
    }

    #[test]
    fn the_due_index_matches_the_store() {
        let d = load(&default_path()).unwrap();
        let due = &d.table.indexes[0];
        assert_eq!(
            due.key,
            KeyDef { hash: hookline::store::keys::DUE_PK.into(), range: Some(hookline::store::keys::DUE_SK.into()) }
        );
        assert_eq!(due.projection, "KEYS_ONLY");
    }

    /// The template routes exactly the paths each function declares, and the default
    /// route goes to the config API (which answers unknown paths in the envelope).
    #[test]
    fn template_routes_match_the_functions_routes() {
        let yaml = std::fs::read_to_string(default_path()).unwrap();
        for f in Function::ALL {
            let (paths, default) = http_paths(&yaml, f.resource()).unwrap();
            let in_template: BTreeSet<String> = paths.into_iter().collect();
            // API Gateway paths have no trailing slash.
            let in_code: BTreeSet<String> =
                f.routes().iter().map(|r| r.route.path.strip_suffix('/').unwrap_or(r.route.path).to_string()).collect();
            assert_eq!(in_template, in_code, "{} routes in template.yaml differ from its route table", f.resource());
            assert_eq!(default, f == Function::ConfigApi, "only the config API takes the default route");
        }
    }
}
