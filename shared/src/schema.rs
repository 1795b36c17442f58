//! JSON Schema for the event-type catalogue (§11): a type's `schema` is compiled once and
//! checks each event's `data` (intake, batch intake, test deliveries) and the type's `example`.
//!
//! Built on the `jsonschema` crate, compiled without its HTTP and file resolvers. Fetching is
//! impossible three times over: those resolvers are not in the binary, [`EventSchema::compile`]
//! refuses any reference that does not start with `#` before compiling, and the compiler's
//! retriever refuses every URI, so a reference the walk misses fails instead of being fetched.
//!
//! Choices, each also documented where it is made:
//! - Only draft 2020-12 (§11). `$schema` may be left out or name 2020-12; any other value is
//!   refused, because a draft-07 schema compiled as 2020-12 would quietly mean something else
//!   (`items` as an array, `definitions`, `dependencies`).
//! - `format` is an assertion: `"format": "email"` refuses a string that is not an email
//!   address. Draft 2020-12 leaves this to the implementation; a catalogue documenting an event
//!   expects the check. Unknown formats are ignored, as the draft says.
//! - `pattern` uses the linear-time `regex` engine: schemas run on every intake, so no pattern
//!   may backtrack for seconds. Lookaround and backreferences are therefore refused at compile.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, PatternOptions, ValidationError, Validator};
use serde_json::Value;
use thiserror::Error;

use crate::error::FieldError;

/// The only `$schema` accepted (with or without an empty fragment).
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// At most this many violations are listed for one document; a last entry counts the rest.
pub const MAX_VIOLATIONS: usize = 100;

/// Why a schema cannot be used. Becomes a [`FieldError`] on field `schema`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemaError {
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("`$schema` at `{at}` must be {DRAFT_2020_12} or left out; only draft 2020-12 is supported (got {found})")]
    UnsupportedDraft { at: String, found: String },
    #[error(
        "`{keyword}` at `{at}` refers to `{reference}`; only references inside the schema (starting with #) are allowed"
    )]
    ExternalReference { at: String, keyword: &'static str, reference: String },
    #[error("is not a valid draft 2020-12 schema: `{at}` {message}")]
    Invalid { at: String, message: String },
    #[error("cannot be used: `{at}` {message}")]
    Unusable { at: String, message: String },
}

impl From<SchemaError> for FieldError {
    fn from(e: SchemaError) -> Self {
        FieldError::new("schema", e.to_string())
    }
}

/// A compiled event schema. `Send + Sync`; share it as `Arc<EventSchema>` (see [`cached`]).
pub struct EventSchema {
    validator: Validator,
}

impl std::fmt::Debug for EventSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSchema")
    }
}

impl EventSchema {
    /// Checks and compiles a catalogue `schema`: a JSON object, valid against the draft 2020-12
    /// meta-schema, with `$schema` absent or 2020-12 everywhere, and `$ref`/`$dynamicRef` only
    /// to places inside itself. Compiled as draft 2020-12.
    pub fn compile(schema: &Value) -> Result<EventSchema, SchemaError> {
        if !schema.is_object() {
            return Err(SchemaError::NotAnObject);
        }
        check_references(schema, &mut String::new(), false)?;
        jsonschema::draft202012::meta::validate(schema).map_err(|e| {
            let at = fragment(e.instance_path().as_str());
            // The meta-schema says `type` is anyOf(name, list of names): say that plainly.
            let message = match e.kind() {
                ValidationErrorKind::AnyOf { .. } if at.ends_with("/type") => {
                    "must be array, boolean, integer, null, number, object or string, or a list of them".to_string()
                }
                _ => describe(&e),
            };
            SchemaError::Invalid { at, message }
        })?;
        Ok(EventSchema { validator: build(schema)? })
    }

    /// Checks an event's `data`: one entry per violation, `field` = `data` + the JSON pointer
    /// of the failing value (`data/responses/email`; the document itself is `data`), sorted by
    /// that pointer (array indexes in numeric order), then by message.
    pub fn validate(&self, data: &Value) -> Vec<FieldError> {
        self.report("data", data)
    }

    fn report(&self, prefix: &str, instance: &Value) -> Vec<FieldError> {
        // The common case, a valid document, takes the crate's fast path.
        if self.validator.is_valid(instance) {
            return Vec::new();
        }
        let mut out: Vec<FieldError> =
            self.validator.iter_errors(instance).flat_map(|e| violations(prefix, &e)).collect();
        // The crate's order follows the schema's key order, which a store may not keep.
        out.sort_by(|a, b| pointer_cmp(&a.field, &b.field).then_with(|| a.message.cmp(&b.message)));
        out.dedup();
        if out.len() > MAX_VIOLATIONS {
            let rest = out.len() - MAX_VIOLATIONS;
            out.truncate(MAX_VIOLATIONS);
            out.push(FieldError::new(prefix, format!("and {rest} more violations not listed")));
        }
        out
    }
}

/// Checks a catalogue entry's `example` against its schema, as [`EventSchema::validate`] does
/// for `data`, with field prefix `example`.
pub fn check_example(schema: &EventSchema, example: &Value) -> Vec<FieldError> {
    schema.report("example", example)
}

/// Refuses every retrieval: only reached if a non-local reference got past `check_references`.
struct RefuseRetrieval;

impl jsonschema::Retrieve for RefuseRetrieval {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("`{}` was not fetched: schemas may only refer to places inside themselves", uri.as_str()).into())
    }
}

fn build(schema: &Value) -> Result<Validator, SchemaError> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_retriever(RefuseRetrieval)
        .should_validate_formats(true)
        .with_pattern_options(PatternOptions::regex())
        .build(schema)
        .map_err(|e| SchemaError::Unusable {
            at: fragment(e.instance_path().as_str()),
            message: match e.kind() {
                ValidationErrorKind::Format { format } if format == "regex" => format!(
                    "{} is not a supported regular expression (patterns run on a linear-time engine: no lookaround \
                     or backreferences)",
                    e.instance()
                ),
                ValidationErrorKind::Referencing(_) => format!("has a reference that points nowhere: {e}"),
                _ => e.to_string(),
            },
        })
}

/// Keywords whose values are instance data, not schemas: a `$ref` key in them is just data.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "default", "examples"];
/// Keywords whose values map names (property names, definition names) to schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];

/// Walks the schema for `$ref`, `$dynamicRef` and `$schema`. `names` is true inside a
/// [`SCHEMA_MAPS`] keyword, where keys are names rather than keywords. Unknown keywords are
/// walked too, so the walk errs on the side of refusing.
fn check_references(value: &Value, at: &mut String, names: bool) -> Result<(), SchemaError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if !names {
                    if DATA_KEYWORDS.contains(&key.as_str()) {
                        continue;
                    }
                    match (key.as_str(), child) {
                        ("$ref", Value::String(r)) | ("$dynamicRef", Value::String(r)) if !r.starts_with('#') => {
                            let keyword = if key == "$ref" { "$ref" } else { "$dynamicRef" };
                            return Err(SchemaError::ExternalReference {
                                at: fragment(at),
                                keyword,
                                reference: r.clone(),
                            });
                        }
                        ("$schema", found) if !is_draft_2020_12(found) => {
                            return Err(SchemaError::UnsupportedDraft { at: fragment(at), found: found.to_string() });
                        }
                        _ => {}
                    }
                }
                let len = at.len();
                at.push('/');
                at.push_str(&escape_pointer(key));
                check_references(child, at, !names && SCHEMA_MAPS.contains(&key.as_str()))?;
                at.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                check_references(item, at, false)?;
                at.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_draft_2020_12(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.strip_suffix('#').unwrap_or(s) == DRAFT_2020_12)
}

/// A place in the schema as a URI fragment (`#/properties/age`), the form `$ref` uses.
fn fragment(pointer: &str) -> String {
    format!("#{pointer}")
}

/// RFC 6901: `~` and `/` inside a key.
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Orders pointers segment by segment, numbers numerically: `items/2` before `items/10`.
fn pointer_cmp(a: &str, b: &str) -> Ordering {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut a = a.split('/');
    let mut b = b.split('/');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = if number(x) && number(y) { x.len().cmp(&y.len()).then_with(|| x.cmp(y)) } else { x.cmp(y) };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The entries for one error of the crate. A missing required property and each property
/// that is not allowed are reported at that property's own pointer, where a person looks.
fn violations(prefix: &str, e: &ValidationError<'_>) -> Vec<FieldError> {
    let base = format!("{prefix}{}", e.instance_path().as_str());
    let at = |name: &str| format!("{base}/{}", escape_pointer(name));
    match e.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            vec![FieldError::new(at(&name), "is required")]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            unexpected.iter().map(|name| FieldError::new(at(name), "is not allowed by the schema")).collect()
        }
        _ => vec![FieldError::new(base, describe(e))],
    }
}

fn type_name(t: jsonschema::types::JsonType) -> &'static str {
    use jsonschema::types::JsonType::*;
    match t {
        Array => "an array",
        Boolean => "a boolean",
        Integer => "an integer",
        Null => "null",
        Number => "a number",
        Object => "an object",
        String => "a string",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A JSON value for a message, cut short when long.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 60 {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}...")
}

/// The crate's message, rephrased as "what the value must be"; the value itself is not
/// repeated (it may be large, and the field already says where it is).
fn describe(e: &ValidationError<'_>) -> String {
    use ValidationErrorKind as K;
    match e.kind() {
        K::Type { kind: TypeKind::Single(t) } => format!("must be {}", type_name(*t)),
        K::Type { kind: TypeKind::Multiple(ts) } => {
            format!("must be {}", ts.iter().map(type_name).collect::<Vec<_>>().join(" or "))
        }
        K::Format { format } => format!("must be a valid {format}"),
        K::MinLength { limit } => format!("must be at least {} long", plural(*limit, "character", "characters")),
        K::MaxLength { limit } => format!("must be at most {} long", plural(*limit, "character", "characters")),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        K::MultipleOf { multiple_of } => format!("must be a multiple of {multiple_of}"),
        K::Enum { options } => match options.as_array() {
            Some(list) if list.len() <= 10 => {
                format!("must be one of {}", list.iter().map(short).collect::<Vec<_>>().join(", "))
            }
            Some(list) => format!(
                "must be one of {}, ... ({} allowed values)",
                list.iter().take(10).map(short).collect::<Vec<_>>().join(", "),
                list.len()
            ),
            None => format!("must be one of {}", short(options)),
        },
        K::Constant { expected_value } => format!("must be {}", short(expected_value)),
        K::Pattern { pattern } => format!("must match the pattern {pattern}"),
        K::MinItems { limit } => format!("must have at least {}", plural(*limit, "item", "items")),
        K::MaxItems { limit } => format!("must have at most {}", plural(*limit, "item", "items")),
        K::UniqueItems => "must not contain the same item twice".into(),
        K::MinProperties { limit } => format!("must have at least {}", plural(*limit, "property", "properties")),
        K::MaxProperties { limit } => format!("must have at most {}", plural(*limit, "property", "properties")),
        K::AdditionalItems { .. } | K::UnevaluatedItems { .. } => "has more items than the schema allows".into(),
        K::Contains => "must contain an item that matches the schema of `contains`".into(),
        K::AnyOf { .. } => "must match at least one of the schemas in `anyOf`".into(),
        K::OneOfNotValid { .. } => "must match exactly one of the schemas in `oneOf` (it matches none)".into(),
        K::OneOfMultipleValid { .. } => "must match exactly one of the schemas in `oneOf` (it matches several)".into(),
        K::Not { .. } => "must not match the schema in `not`".into(),
        K::FalseSchema => "is not allowed by the schema".into(),
        K::PropertyNames { error } => format!("has a property name that is not allowed: {error}"),
        _ => e.masked_with("the value").to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Process-wide cache

/// Compiled schemas by (event type, catalogue version). Emptied when it would exceed
/// `limit`: a catalogue has far fewer types, so that only happens after many edits, and a
/// cold recompile costs about a millisecond.
struct SchemaCache {
    limit: usize,
    map: Mutex<HashMap<(String, u64), Arc<EventSchema>>>,
}

impl SchemaCache {
    fn new(limit: usize) -> Self {
        SchemaCache { limit, map: Mutex::new(HashMap::new()) }
    }

    /// Entries are immutable once inserted, so a panic elsewhere cannot leave one half-made.
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, u64), Arc<EventSchema>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_or_compile(&self, name: &str, version: u64, schema: &Value) -> Result<Arc<EventSchema>, SchemaError> {
        let key = (name.to_string(), version);
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // Compiled without the lock held, so one slow compile does not stall other types.
        let compiled = Arc::new(EventSchema::compile(schema)?);
        let mut map = self.lock();
        if map.len() >= self.limit && !map.contains_key(&key) {
            map.clear();
        }
        // Two callers may have compiled at once; both get the one that was stored first.
        Ok(map.entry(key).or_insert(compiled).clone())
    }
}

/// The compiled schema of event type `name` at catalogue `version`, compiled on first use
/// and then shared for the life of the process (one compile per type per cold start).
///
/// The key is (name, version): the catalogue must give a changed schema a new version,
/// because a cached (name, version) is never compiled again. Errors are not cached.
pub fn cached(name: &str, version: u64, schema: &Value) -> Result<Arc<EventSchema>, SchemaError> {
    static CACHE: OnceLock<SchemaCache> = OnceLock::new();
    CACHE.get_or_init(|| SchemaCache::new(1000)).get_or_compile(name, version, schema)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn submission_schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["submissionId", "status", "responses"],
            "properties": {
                "submissionId": {"type": "string", "pattern": "^sub_[A-Za-z0-9]+$"},
                "status": {"enum": ["completed", "approved", "rejected"]},
                "submittedAt": {"type": "string", "format": "date-time"},
                "responses": {
                    "type": "object",
                    "required": ["email"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "age": {"type": "integer", "minimum": 18}
                    }
                },
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}
            },
            "$defs": {
                "item": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
            }
        })
    }

    fn compile(schema: Value) -> EventSchema {
        EventSchema::compile(&schema).unwrap()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn is_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<EventSchema>();
        shareable::<Arc<EventSchema>>();
    }

    #[test]
    fn accepts_valid_data() {
        let s = compile(submission_schema());
        let data = json!({
            "submissionId": "sub_123456", "status": "completed", "submittedAt": "2024-01-15T10:30:00Z",
            "responses": {"email": "john@example.com", "age": 30}, "items": [{"id": "a"}]
        });
        assert_eq!(s.validate(&data), vec![]);
    }

    #[test]
    fn a_missing_nested_property_is_reported_at_its_own_pointer() {
        let s = compile(submission_schema());
        let data = json!({"submissionId": "sub_1", "status": "completed", "responses": {"firstName": "John"}});
        assert_eq!(s.validate(&data), vec![FieldError::new("data/responses/email", "is required")]);
    }

    #[test]
    fn every_violation_is_listed_in_pointer_order() {
        let s = compile(submission_schema());
        let data = json!({
            "submissionId": "123", "status": "pending", "submittedAt": "yesterday",
            "responses": {"email": "not an email", "age": 12.5}
        });
        assert_eq!(
            s.validate(&data),
            vec![
                FieldError::new("data/responses/age", "must be an integer"),
                FieldError::new("data/responses/age", "must be at least 18"),
                FieldError::new("data/responses/email", "must be a valid email"),
                FieldError::new("data/status", r#"must be one of "completed", "approved", "rejected""#),
                FieldError::new("data/submissionId", "must match the pattern ^sub_[A-Za-z0-9]+$"),
                FieldError::new("data/submittedAt", "must be a valid date-time"),
            ]
        );
    }

    #[test]
    fn array_items_have_index_pointers_in_numeric_order() {
        let s = compile(submission_schema());
        let items: Vec<Value> = (0..12).map(|i| if i % 5 == 0 { json!({}) } else { json!({"id": "x"}) }).collect();
        let data =
            json!({"submissionId": "sub_1", "status": "completed", "responses": {"email": "a@b.co"}, "items": items});
        assert_eq!(fields(&s.validate(&data)), vec!["data/items/0/id", "data/items/5/id", "data/items/10/id"]);
        let data = json!({"submissionId": "sub_1", "status": "completed", "responses": {"email": "a@b.co"}, "items": [{"id": 7}]});
        assert_eq!(s.validate(&data), vec![FieldError::new("data/items/0/id", "must be a string")]);
    }

    #[test]
    fn the_document_itself_is_data() {
        let s = compile(json!({"type": "object", "required": ["a"], "minProperties": 2}));
        assert_eq!(s.validate(&json!([])), vec![FieldError::new("data", "must be an object")]);
        assert_eq!(
            s.validate(&json!({"b": 1})),
            vec![FieldError::new("data", "must have at least 2 properties"), FieldError::new("data/a", "is required"),]
        );
    }

    #[test]
    fn properties_that_are_not_allowed_are_reported_one_by_one() {
        let s = compile(json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false}));
        assert_eq!(
            s.validate(&json!({"a": 1, "x": 2, "y/z": 3})),
            vec![
                FieldError::new("data/x", "is not allowed by the schema"),
                FieldError::new("data/y~1z", "is not allowed by the schema"),
            ]
        );
    }

    #[test]
    fn messages_do_not_repeat_large_values() {
        let s = compile(json!({"type": "object", "properties": {"big": {"type": "string"}}}));
        let big = json!({"nested": "x".repeat(10_000)});
        let errors = s.validate(&json!({"big": big}));
        assert_eq!(errors, vec![FieldError::new("data/big", "must be a string")]);
    }

    #[test]
    fn at_most_100_violations_then_a_count() {
        let s = compile(json!({"type": "array", "items": {"type": "string"}}));
        let errors = s.validate(&json!(vec![1; 150]));
        assert_eq!(errors.len(), MAX_VIOLATIONS + 1);
        assert_eq!(errors[0].field, "data/0");
        assert_eq!(errors[99].field, "data/99");
        assert_eq!(errors[100], FieldError::new("data", "and 50 more violations not listed"));
    }

    #[test]
    fn examples_are_reported_under_example() {
        let s = compile(submission_schema());
        let example = json!({"submissionId": "sub_1", "status": "completed", "responses": {}});
        assert_eq!(check_example(&s, &example), vec![FieldError::new("example/responses/email", "is required")]);
    }

    #[test]
    fn local_references_work() {
        let s = compile(json!({
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/pos"}, "b": {"$ref": "#pos"}},
            "$defs": {"pos": {"$anchor": "pos", "type": "integer", "exclusiveMinimum": 0}}
        }));
        assert_eq!(s.validate(&json!({"a": 1, "b": 2})), vec![]);
        assert_eq!(
            s.validate(&json!({"a": 0, "b": "x"})),
            vec![FieldError::new("data/a", "must be greater than 0"), FieldError::new("data/b", "must be an integer"),]
        );
    }

    #[test]
    fn remote_and_file_references_are_refused_before_compiling() {
        for (schema, at, keyword, reference) in [
            (json!({"$ref": "https://example.com/x.json"}), "#", "$ref", "https://example.com/x.json"),
            (
                json!({"properties": {"p": {"$ref": "file:///etc/passwd"}}}),
                "#/properties/p",
                "$ref",
                "file:///etc/passwd",
            ),
            (json!({"items": {"$ref": "other.json#/x"}}), "#/items", "$ref", "other.json#/x"),
            (
                json!({"allOf": [{}, {"$dynamicRef": "https://e.com/m#meta"}]}),
                "#/allOf/1",
                "$dynamicRef",
                "https://e.com/m#meta",
            ),
            // A property may be called `const`: its value is still a schema.
            (
                json!({"properties": {"const": {"$ref": "http://169.254.169.254/"}}}),
                "#/properties/const",
                "$ref",
                "http://169.254.169.254/",
            ),
        ] {
            let err = EventSchema::compile(&schema).unwrap_err();
            assert_eq!(err, SchemaError::ExternalReference { at: at.into(), keyword, reference: reference.into() });
        }
        let err = FieldError::from(EventSchema::compile(&json!({"$ref": "https://example.com/x.json"})).unwrap_err());
        assert_eq!(err.field, "schema");
        assert_eq!(
            err.message,
            "`$ref` at `#` refers to `https://example.com/x.json`; only references inside the schema (starting with #) are allowed"
        );
    }

    #[test]
    fn the_compiler_itself_refuses_to_fetch_anything() {
        // Past the walk (called directly), the retriever is the last line: it must refuse,
        // and a listening server must see no connection.
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        server.set_nonblocking(true).unwrap();
        let local = format!("http://{}/s.json", server.local_addr().unwrap());
        for reference in ["https://example.com/x.json", "file:///etc/passwd", local.as_str()] {
            let err = build(&json!({"$ref": reference})).unwrap_err().to_string();
            assert!(err.contains("was not fetched"), "{reference}: {err}");
        }
        let accepted = server.accept();
        assert!(matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock), "{accepted:?}");
    }

    #[test]
    fn references_inside_data_keywords_are_data() {
        let s = compile(json!({"const": {"$ref": "https://example.com/x.json"}, "examples": [{"$ref": "file:///x"}]}));
        assert_eq!(s.validate(&json!({"$ref": "https://example.com/x.json"})), vec![]);
    }

    #[test]
    fn only_draft_2020_12() {
        for ok in [DRAFT_2020_12, "https://json-schema.org/draft/2020-12/schema#"] {
            assert!(EventSchema::compile(&json!({"$schema": ok, "type": "object"})).is_ok(), "{ok}");
        }
        let err = EventSchema::compile(&json!({"$schema": "http://json-schema.org/draft-07/schema#"})).unwrap_err();
        assert_eq!(
            err,
            SchemaError::UnsupportedDraft {
                at: "#".into(),
                found: "\"http://json-schema.org/draft-07/schema#\"".into()
            }
        );
        let nested = json!({"$defs": {"x": {"$schema": "https://example.com/my-meta"}}});
        assert!(
            matches!(EventSchema::compile(&nested), Err(SchemaError::UnsupportedDraft { at, .. }) if at == "#/$defs/x")
        );
    }

    #[test]
    fn invalid_schemas_are_refused_with_their_place() {
        assert_eq!(EventSchema::compile(&json!(true)).unwrap_err(), SchemaError::NotAnObject);
        assert_eq!(EventSchema::compile(&json!([])).unwrap_err(), SchemaError::NotAnObject);
        let err = EventSchema::compile(&json!({"properties": {"age": {"type": "integr"}}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "is not a valid draft 2020-12 schema: `#/properties/age/type` must be array, boolean, integer, null, \
             number, object or string, or a list of them"
        );
        let err = EventSchema::compile(&json!({"minLength": -1})).unwrap_err();
        assert_eq!(err, SchemaError::Invalid { at: "#/minLength".into(), message: "must be at least 0".into() });
        assert_eq!(FieldError::from(err).field, "schema");
        let err = EventSchema::compile(&json!({"$ref": "#/$defs/missing"})).unwrap_err();
        assert!(err.to_string().starts_with("cannot be used: `#` has a reference that points nowhere"), "{err}");
    }

    #[test]
    fn patterns_run_in_linear_time_so_backtracking_ones_are_refused() {
        let err = EventSchema::compile(&json!({"pattern": "^(?=a)a$"})).unwrap_err();
        assert_eq!(
            err,
            SchemaError::Unusable {
                at: "#/pattern".into(),
                message:
                    "\"^(?=a)a$\" is not a supported regular expression (patterns run on a linear-time engine: no \
                      lookaround or backreferences)"
                        .into()
            }
        );
        let s = compile(json!({"type": "string", "pattern": "^(a+)+$"}));
        let started = std::time::Instant::now();
        assert_eq!(s.validate(&json!(format!("{}!", "a".repeat(50_000)))).len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn messages_say_what_the_value_must_be() {
        let s = compile(json!({"type": "object", "properties": {
            "n": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "m": {"not": {"type": "null"}},
            "p": {"propertyNames": {"pattern": "^[a-z]+$"}}, "c": {"const": "x"}, "t": {"type": ["string", "null"]},
            "u": {"uniqueItems": true}, "k": {"contains": {"type": "string"}}, "l": {"maxLength": 1},
            "i": {"minItems": 2}, "x": {"multipleOf": 5, "maximum": 100}, "f": false
        }}));
        let data = json!({"n": 1.5, "m": null, "p": {"Bad": 1}, "c": "y", "t": 1, "u": [1, 1], "k": [1],
                          "l": "ab", "i": [1], "x": 101, "f": 0});
        assert_eq!(
            s.validate(&data),
            vec![
                FieldError::new("data/c", r#"must be "x""#),
                FieldError::new("data/f", "is not allowed by the schema"),
                FieldError::new("data/i", "must have at least 2 items"),
                FieldError::new("data/k", "must contain an item that matches the schema of `contains`"),
                FieldError::new("data/l", "must be at most 1 character long"),
                FieldError::new("data/m", "must not match the schema in `not`"),
                FieldError::new("data/n", "must match exactly one of the schemas in `oneOf` (it matches none)"),
                FieldError::new(
                    "data/p",
                    r#"has a property name that is not allowed: "Bad" does not match "^[a-z]+$""#
                ),
                FieldError::new("data/t", "must be null or a string"),
                FieldError::new("data/u", "must not contain the same item twice"),
                FieldError::new("data/x", "must be a multiple of 5"),
                FieldError::new("data/x", "must be at most 100"),
            ]
        );
    }

    #[test]
    fn cache_compiles_once_per_name_and_version() {
        let a = cached("rules-test.cache", 1, &json!({"type": "object"})).unwrap();
        // Same key: the stored schema, even if the caller passes another (versions must change).
        let b = cached("rules-test.cache", 1, &json!({"type": "string"})).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = cached("rules-test.cache", 2, &json!({"type": "string"})).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.validate(&json!({})), vec![FieldError::new("data", "must be a string")]);
        assert!(cached("rules-test.cache", 3, &json!({"$ref": "https://e.com/"})).is_err());
    }

    #[test]
    fn cache_is_bounded() {
        let cache = SchemaCache::new(3);
        let schema = json!({"type": "object"});
        let first = cache.get_or_compile("t", 0, &schema).unwrap();
        for v in 1..3 {
            cache.get_or_compile("t", v, &schema).unwrap();
        }
        assert!(Arc::ptr_eq(&first, &cache.get_or_compile("t", 0, &schema).unwrap()));
        cache.get_or_compile("t", 3, &schema).unwrap();
        assert_eq!(cache.lock().len(), 1);
        assert!(!Arc::ptr_eq(&first, &cache.get_or_compile("t", 0, &schema).unwrap()));
    }

    #[test]
    fn pointer_order() {
        let mut v = vec!["data/items/10", "data/items/2", "data", "data/b", "data/a/x", "data/items/2/id"];
        v.sort_by(|a, b| pointer_cmp(a, b));
        assert_eq!(v, vec!["data", "data/a/x", "data/b", "data/items/2", "data/items/2/id", "data/items/10"]);
    }
}
