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
//!   Linear is in the string's length times the pattern's compiled size, so a pattern (and a
//!   `patternProperties` key) may compile to at most [`PATTERN_SIZE_LIMIT`] bytes: `a{20000}`
//!   or `((a{50}){50}){50}` is refused at create, with its place.
//! - A subschema may reach at most [`MAX_EXPANSION`] subschemas through the keywords that apply
//!   to the same value (`$ref`, `allOf`, `anyOf`, ...), counting a reference each time it is
//!   followed: an `allOf` of two references, each to another such `allOf`, doubles per level,
//!   and the crate collects every error of every branch.
//! - At most [`MAX_PATTERN_PROPERTIES`] `patternProperties` per subschema: each key of an
//!   object meets each of them in one step.
//! - Whatever the schema, one document's check is bounded in work ([`budget`]): a document
//!   that a bound proves cheap takes the plain check; any other is checked with a counter and
//!   refused past [`WORK_BUDGET`] (about 40 ms), on field `data`, with a message that says so.
//! - Every number of the schema must be one a double holds exactly (integers within 64 bits,
//!   or decimals that read back the same from their double): the crate compares in double
//!   precision (its exact mode needs serde_json's `arbitrary_precision`, which this workspace
//!   cannot enable), so `maximum: 99999999999999999999999999999999` would mean 1e32. The
//!   schema's text itself is kept and returned exactly.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use indexmap::IndexMap;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, PatternOptions, ValidationError, Validator};
use serde_json::value::RawValue;
use serde_json::Value;
use thiserror::Error;

use crate::error::FieldError;

mod budget;

pub use budget::{PLAIN_LIMIT, WORK_BUDGET};

/// The only `$schema` accepted (with or without an empty fragment).
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// At most this many violations are listed for one document; a last entry counts the rest.
pub const MAX_VIOLATIONS: usize = 100;

/// At most this many of the crate's errors are read for one document (an `allOf` of
/// references repeats each error once per path): enough to count the distinct ones in any
/// schema the catalogue accepts, and a bound on memory when a schema does worse.
const MAX_COLLECTED: usize = 100_000;

/// The largest compiled size, in bytes, of one pattern (the `regex` crate's `size_limit`).
/// Checking a string costs up to its length times this size: at 16 KiB, `a{505}` fits (not
/// `a{506}`, nor `\w{169}`: Unicode classes are large) and a 256 KiB string, a whole request
/// body, is checked well within half a second even in a debug build (at 64 KiB, 2 s there).
pub const PATTERN_SIZE_LIMIT: usize = 16 * 1024;

/// The lazy DFA's cache per pattern (the `regex` crate's `dfa_size_limit`, default 2 MiB):
/// past it the engine falls back to the slower but still linear PikeVM.
const PATTERN_DFA_LIMIT: usize = 2 * 1024 * 1024;

/// The most subschemas one subschema may reach through in-place applicators, counting a
/// reference each time it is followed (see the module comment).
pub const MAX_EXPANSION: u64 = 1000;

/// The most `patternProperties` entries one subschema may have: each key of an object is
/// matched against every one of them in one step the work budget cannot interrupt, so this
/// bounds that step (64 × the 20,000 keys a request can hold is about 5 ms).
pub const MAX_PATTERN_PROPERTIES: usize = 64;

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
    #[error(
        "cannot be used: the pattern {pattern} at `{at}` is too large: it must compile to at most {} KiB (counted \
         repetitions multiply: `a{{1000}}` is 1000 copies of `a`)",
        PATTERN_SIZE_LIMIT / 1024
    )]
    PatternTooLarge { at: String, pattern: String },
    #[error(
        "cannot be used: `{at}` reaches more than {MAX_EXPANSION} subschemas through `$ref`, `allOf`, `anyOf`, \
         `oneOf`, `not` and `if` (a reference counts each time it is followed)"
    )]
    TooExpansive { at: String },
    #[error(
        "cannot be used: `{at}` has {count} `patternProperties`; at most {MAX_PATTERN_PROPERTIES} are allowed (every \
         key of an object is matched against each)"
    )]
    TooManyPatterns { at: String, count: usize },
    #[error(
        "cannot be used: the number {number} at `{at}` is not one a double holds exactly, and the check compares \
         in double precision; use an integer within 64 bits or a decimal of at most 17 significant digits"
    )]
    InexactNumber { at: String, number: String },
}

impl From<SchemaError> for FieldError {
    fn from(e: SchemaError) -> Self {
        FieldError::new("schema", e.to_string())
    }
}

/// A compiled event schema. `Send + Sync`; share it as `Arc<EventSchema>` (see [`cached`]).
pub struct EventSchema {
    validator: Validator,
    /// The bound that lets a document skip the counted check (see [`budget`]).
    cost: budget::Cost,
    /// The schema, for the counted copy, compiled on first need.
    schema: Value,
    counted: OnceLock<Result<Validator, String>>,
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
        check_expansion(schema)?;
        check_pattern_properties(schema)?;
        Ok(EventSchema {
            validator: build(schema)?,
            cost: budget::Cost::of_schema(schema),
            schema: schema.clone(),
            counted: OnceLock::new(),
        })
    }

    /// [`EventSchema::compile`] for a schema's exact JSON text, also refusing numbers the
    /// check would round (see the module comment).
    pub fn compile_text(text: &RawValue) -> Result<EventSchema, SchemaError> {
        let value: Value = serde_json::from_str(text.get())
            .map_err(|e| SchemaError::Invalid { at: "#".into(), message: e.to_string() })?;
        if !value.is_object() {
            return Err(SchemaError::NotAnObject);
        }
        check_numbers(text, &mut String::new(), Walk::Schema)?;
        EventSchema::compile(&value)
    }

    /// Checks an event's `data`: one entry per violation, `field` = `data` + the JSON pointer
    /// of the failing value (`data/responses/email`; the document itself is `data`), sorted by
    /// that pointer (array indexes in numeric order), then by message.
    pub fn validate(&self, data: &Value) -> Vec<FieldError> {
        self.report("data", data, budget::document_size(data))
    }

    /// [`EventSchema::validate`] for `data` parsed from a text of `len` bytes: the length
    /// bounds the document's size, which spares walking it for the plain/counted choice.
    pub fn validate_text(&self, data: &Value, len: usize) -> Vec<FieldError> {
        self.report("data", data, len as u64)
    }

    fn report(&self, prefix: &str, instance: &Value, size: u64) -> Vec<FieldError> {
        let found = if self.cost.plain_for(size) {
            Some(self.violations(&self.validator, prefix, instance))
        } else {
            match self.counted() {
                Some(counted) => budget::within_budget(|| self.violations(counted, prefix, instance)),
                // The counted copy compiles whenever the schema did; if it ever did not, the
                // check stays correct, only unbounded.
                None => Some(self.violations(&self.validator, prefix, instance)),
            }
        };
        let Some(mut out) = found else {
            return vec![FieldError::new(
                prefix,
                format!(
                    "could not be checked against the event type's schema within its work limit ({WORK_BUDGET} \
                     steps, about 40 ms): the schema applies too many of its parts to this document; send a \
                     smaller document or simplify the schema"
                ),
            )];
        };
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

    /// Every violation, unsorted; at most [`MAX_COLLECTED`] of the crate's errors are read.
    fn violations(&self, validator: &Validator, prefix: &str, instance: &Value) -> Vec<FieldError> {
        // The common case, a valid document, takes the crate's fast path.
        if validator.is_valid(instance) {
            return Vec::new();
        }
        validator.iter_errors(instance).take(MAX_COLLECTED).flat_map(|e| violations(prefix, &e)).collect()
    }

    fn counted(&self) -> Option<&Validator> {
        self.counted
            .get_or_init(|| {
                let copy = budget::counted_copy(&self.schema);
                build_options(Some(PATTERN_SIZE_LIMIT))
                    .with_keyword(budget::WORK_KEYWORD, budget::counter)
                    .build(&copy)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .ok()
    }
}

/// Checks a catalogue entry's `example` against its schema, as [`EventSchema::validate`] does
/// for `data`, with field prefix `example`.
pub fn check_example(schema: &EventSchema, example: &Value) -> Vec<FieldError> {
    schema.report("example", example, budget::document_size(example))
}

/// Refuses every retrieval: only reached if a non-local reference got past `check_references`.
struct RefuseRetrieval;

impl jsonschema::Retrieve for RefuseRetrieval {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("`{}` was not fetched: schemas may only refer to places inside themselves", uri.as_str()).into())
    }
}

fn build(schema: &Value) -> Result<Validator, SchemaError> {
    build_with(schema, Some(PATTERN_SIZE_LIMIT)).map_err(|e| {
        let at = fragment(e.instance_path().as_str());
        match e.kind() {
            ValidationErrorKind::Format { format } if format == "regex" => {
                let pattern = e.instance().to_string();
                // Only the size limit tells a too-large pattern from an unsupported one.
                let unlimited = build_with(&serde_json::json!({"pattern": e.instance().as_ref()}), None);
                if unlimited.is_ok() {
                    return SchemaError::PatternTooLarge { at, pattern };
                }
                SchemaError::Unusable {
                    at,
                    message: format!(
                        "{pattern} is not a supported regular expression (patterns run on a linear-time engine: no \
                         lookaround or backreferences)"
                    ),
                }
            }
            ValidationErrorKind::Referencing(_) => {
                SchemaError::Unusable { at, message: format!("has a reference that points nowhere: {e}") }
            }
            _ => SchemaError::Unusable { at, message: e.to_string() },
        }
    })
}

fn build_with(schema: &Value, pattern_size: Option<usize>) -> Result<Validator, ValidationError<'static>> {
    build_options(pattern_size).build(schema)
}

fn build_options(pattern_size: Option<usize>) -> jsonschema::ValidationOptions<'static> {
    let patterns = match pattern_size {
        Some(limit) => PatternOptions::regex().size_limit(limit).dfa_size_limit(PATTERN_DFA_LIMIT),
        None => PatternOptions::regex(),
    };
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_retriever(RefuseRetrieval)
        .should_validate_formats(true)
        .with_pattern_options(patterns)
}

/// Keywords whose subschemas apply to the same value as their parent (the ones that multiply).
const IN_PLACE_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];
const IN_PLACE_ONE: &[&str] = &["not", "if", "then", "else"];

/// Refuses a schema in which some subschema reaches more than [`MAX_EXPANSION`] subschemas
/// in place, references followed each time. Each subschema's count is computed once (a
/// reference target's count is reused), so a doubling schema costs its size, not 2^depth.
fn check_expansion(root: &Value) -> Result<(), SchemaError> {
    let mut anchors = HashMap::new();
    collect_anchors(root, &mut String::new(), &mut anchors, false);
    let mut counts: HashMap<String, Option<u64>> = HashMap::new();
    let mut places = Vec::new();
    collect_subschemas(root, &mut String::new(), &mut places, false);
    for at in places {
        let n = expansion(root, &at, &anchors, &mut counts);
        if n > MAX_EXPANSION {
            return Err(SchemaError::TooExpansive { at: fragment(&at) });
        }
    }
    Ok(())
}

/// Refuses a subschema with more than [`MAX_PATTERN_PROPERTIES`] `patternProperties`.
fn check_pattern_properties(root: &Value) -> Result<(), SchemaError> {
    let mut found = None;
    walk_schema_objects(root, &mut String::new(), false, &mut |map, at| {
        let count = map.get("patternProperties").and_then(Value::as_object).map_or(0, |m| m.len());
        if count > MAX_PATTERN_PROPERTIES && found.is_none() {
            found = Some(SchemaError::TooManyPatterns { at: fragment(&format!("{at}/patternProperties")), count });
        }
    });
    found.map_or(Ok(()), Err)
}

/// The in-place count of the subschema at pointer `at`; `None` in `counts` while it is being
/// computed (a reference cycle: the crate stops it, so it counts once).
fn expansion(
    root: &Value,
    at: &str,
    anchors: &HashMap<String, String>,
    counts: &mut HashMap<String, Option<u64>>,
) -> u64 {
    match counts.get(at) {
        Some(Some(n)) => return *n,
        Some(None) => return 1,
        None => {}
    }
    let Some(Value::Object(map)) = root.pointer(at) else { return 1 };
    counts.insert(at.to_string(), None);
    let mut n: u64 = 1;
    for (key, child) in map {
        let child_at = |suffix: &str| format!("{at}/{}{suffix}", escape_pointer(key));
        if IN_PLACE_LISTS.contains(&key.as_str()) {
            for i in 0..child.as_array().map_or(0, Vec::len) {
                n = n.saturating_add(expansion(root, &child_at(&format!("/{i}")), anchors, counts));
            }
        } else if IN_PLACE_ONE.contains(&key.as_str()) {
            n = n.saturating_add(expansion(root, &child_at(""), anchors, counts));
        } else if key == "dependentSchemas" {
            for name in child.as_object().into_iter().flat_map(|m| m.keys()) {
                n = n.saturating_add(expansion(
                    root,
                    &child_at(&format!("/{}", escape_pointer(name))),
                    anchors,
                    counts,
                ));
            }
        } else if key == "$ref" || key == "$dynamicRef" {
            if let Some(target) = child.as_str().and_then(|r| resolve_local(r, anchors)) {
                n = n.saturating_add(expansion(root, &target, anchors, counts));
            }
        }
        if n > MAX_EXPANSION {
            break;
        }
    }
    counts.insert(at.to_string(), Some(n));
    n
}

/// A local reference as a JSON pointer into the root: `#/$defs/a` or `#name` (an anchor).
fn resolve_local(reference: &str, anchors: &HashMap<String, String>) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() || fragment.starts_with('/') {
        // Pointers in references are URI fragments: percent-decoded first.
        let mut out = Vec::with_capacity(fragment.len());
        let bytes = fragment.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'%', Some(hex))
                    if std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).is_some() =>
                {
                    out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        return String::from_utf8(out).ok();
    }
    anchors.get(fragment).cloned()
}

/// Every place in the schema that holds a subschema object, as a pointer.
fn collect_subschemas(value: &Value, at: &mut String, out: &mut Vec<String>, names: bool) {
    walk_schema_objects(value, at, names, &mut |_, at| out.push(at.to_string()));
}

/// `$anchor` and `$dynamicAnchor` names and where they are.
fn collect_anchors(value: &Value, at: &mut String, out: &mut HashMap<String, String>, names: bool) {
    walk_schema_objects(value, at, names, &mut |map, at| {
        for key in ["$anchor", "$dynamicAnchor"] {
            if let Some(name) = map.get(key).and_then(Value::as_str) {
                out.entry(name.to_string()).or_insert_with(|| at.to_string());
            }
        }
    });
}

/// Calls `f` on every object in schema position (not inside data keywords, not the name maps
/// themselves), as [`check_references`] walks.
fn walk_schema_objects(
    value: &Value,
    at: &mut String,
    names: bool,
    f: &mut dyn FnMut(&serde_json::Map<String, Value>, &str),
) {
    match value {
        Value::Object(map) => {
            if !names {
                f(map, at);
            }
            for (key, child) in map {
                if !names && DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                let len = at.len();
                at.push('/');
                at.push_str(&escape_pointer(key));
                walk_schema_objects(child, at, !names && SCHEMA_MAPS.contains(&key.as_str()), f);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                walk_schema_objects(item, at, false, f);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// Where [`check_numbers`] is: in a schema, in a map of names to schemas, or in data that the
/// check compares (`const`, `enum`).
#[derive(Clone, Copy, PartialEq)]
enum Walk {
    Schema,
    Names,
    Data,
}

/// Refuses a number in the schema's text that reads as another value once parsed (see the
/// module comment). Annotations (`default`, `examples`) are never compared and may hold any.
/// Each level re-reads its own text: quadratic in the depth, which is fine once per create.
fn check_numbers(raw: &RawValue, at: &mut String, walk: Walk) -> Result<(), SchemaError> {
    let text = raw.get().trim_start();
    let invalid = |e: serde_json::Error| SchemaError::Invalid { at: fragment(at), message: e.to_string() };
    match text.as_bytes().first() {
        Some(b'{') => {
            let map: IndexMap<String, &RawValue> = serde_json::from_str(text).map_err(invalid)?;
            for (key, child) in map {
                let next = match walk {
                    Walk::Schema if ["default", "examples"].contains(&key.as_str()) => continue,
                    Walk::Schema if ["const", "enum"].contains(&key.as_str()) => Walk::Data,
                    Walk::Schema if SCHEMA_MAPS.contains(&key.as_str()) => Walk::Names,
                    Walk::Names => Walk::Schema,
                    other => other,
                };
                let len = at.len();
                at.push('/');
                at.push_str(&escape_pointer(&key));
                check_numbers(child, at, next)?;
                at.truncate(len);
            }
            Ok(())
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(invalid)?;
            for (i, item) in items.into_iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                check_numbers(item, at, walk)?;
                at.truncate(len);
            }
            Ok(())
        }
        Some(b'-' | b'0'..=b'9') if !is_exact(text.trim_end()) => {
            Err(SchemaError::InexactNumber { at: fragment(at), number: text.trim_end().to_string() })
        }
        _ => Ok(()),
    }
}

/// Whether the JSON number `text` is exactly the value the crate compares: an integer serde_json
/// keeps as such, or a double whose shortest form reads as the same decimal. From 2^53 on, the
/// double's exact value must be that decimal: there neighbours are more than 1 apart, so a
/// 64-bit integer of the data could fall between the decimal and its double.
fn is_exact(text: &str) -> bool {
    let Ok(n) = serde_json::from_str::<serde_json::Number>(text) else { return false };
    if n.is_u64() || n.is_i64() {
        return true;
    }
    let Some(f) = n.as_f64().filter(|f| f.is_finite()) else { return false };
    let exactly = if f.abs() < 9_007_199_254_740_992.0 { format!("{f:e}") } else { format!("{f:.0}") };
    decimal(text) == decimal(&exactly)
}

/// A decimal number's value as (negative, significant digits, exponent of the last digit);
/// zero is (false, "", 0).
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int}{frac}");
    let trimmed_start = all.trim_start_matches('0');
    let digits = trimmed_start.trim_end_matches('0');
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    let trailing = (trimmed_start.len() - digits.len()) as i64;
    (negative, digits.to_string(), exponent - frac.len() as i64 + trailing)
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

/// The cache key: a type's name, version and revision. The revision is random and new on
/// every write, so a type deleted and created again (its version restarts at 1) gets a new key.
type Key = (String, u64, String);

/// Compiled schemas by [`Key`]. Emptied when it would exceed `limit`: a catalogue has far
/// fewer types, so that only happens after many edits, and a cold recompile costs about a
/// millisecond.
struct SchemaCache {
    limit: usize,
    map: Mutex<HashMap<Key, Arc<EventSchema>>>,
}

impl SchemaCache {
    fn new(limit: usize) -> Self {
        SchemaCache { limit, map: Mutex::new(HashMap::new()) }
    }

    /// Entries are immutable once inserted, so a panic elsewhere cannot leave one half-made.
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Arc<EventSchema>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_or_compile(
        &self,
        name: &str,
        version: u64,
        revision: &str,
        schema: &RawValue,
    ) -> Result<Arc<EventSchema>, SchemaError> {
        let key = (name.to_string(), version, revision.to_string());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // Compiled without the lock held, so one slow compile does not stall other types.
        let compiled = Arc::new(EventSchema::compile_text(schema)?);
        let mut map = self.lock();
        if map.len() >= self.limit && !map.contains_key(&key) {
            map.clear();
        }
        // Two callers may have compiled at once; both get the one that was stored first.
        Ok(map.entry(key).or_insert(compiled).clone())
    }
}

/// A new catalogue revision: 128 random bits, hex.
pub fn new_revision() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    hex::encode(bytes)
}

/// The compiled schema of event type `name` at `version` and `revision`, compiled on first
/// use and then shared for the life of the process (one compile per type per cold start).
///
/// A cached key is never compiled again: the catalogue gives every write a new revision.
/// Errors are not cached.
pub fn cached(name: &str, version: u64, revision: &str, schema: &RawValue) -> Result<Arc<EventSchema>, SchemaError> {
    static CACHE: OnceLock<SchemaCache> = OnceLock::new();
    CACHE.get_or_init(|| SchemaCache::new(1000)).get_or_compile(name, version, revision, schema)
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

    fn raw(v: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&v).unwrap()
    }

    #[test]
    fn cache_compiles_once_per_name_version_and_revision() {
        let a = cached("rules-test.cache", 1, "r1", &raw(json!({"type": "object"}))).unwrap();
        // Same key: the stored schema, even if the caller passes another (revisions must change).
        let b = cached("rules-test.cache", 1, "r1", &raw(json!({"type": "string"}))).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // A type deleted and created again: version 1 again, another revision.
        let c = cached("rules-test.cache", 1, "r2", &raw(json!({"type": "string"}))).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.validate(&json!({})), vec![FieldError::new("data", "must be a string")]);
        assert!(cached("rules-test.cache", 3, "r3", &raw(json!({"$ref": "https://e.com/"}))).is_err());
        assert_ne!(new_revision(), new_revision());
    }

    #[test]
    fn cache_is_bounded() {
        let cache = SchemaCache::new(3);
        let schema = raw(json!({"type": "object"}));
        let first = cache.get_or_compile("t", 0, "", &schema).unwrap();
        for v in 1..3 {
            cache.get_or_compile("t", v, "", &schema).unwrap();
        }
        assert!(Arc::ptr_eq(&first, &cache.get_or_compile("t", 0, "", &schema).unwrap()));
        cache.get_or_compile("t", 3, "", &schema).unwrap();
        assert_eq!(cache.lock().len(), 1);
        assert!(!Arc::ptr_eq(&first, &cache.get_or_compile("t", 0, "", &schema).unwrap()));
    }

    #[test]
    fn patterns_up_to_the_size_limit_compile_and_larger_ones_are_refused_with_their_place() {
        assert!(EventSchema::compile(&json!({"pattern": "a{505}"})).is_ok());
        assert_eq!(
            EventSchema::compile(&json!({"properties": {"x": {"pattern": "a{506}"}}})).unwrap_err(),
            SchemaError::PatternTooLarge { at: "#/properties/x/pattern".into(), pattern: "\"a{506}\"".into() }
        );
        assert!(EventSchema::compile(&json!({"pattern": "((a{5}){5}){13}"})).is_ok());
        assert!(EventSchema::compile(&json!({"pattern": "\\w{168}"})).is_ok());
        assert!(matches!(
            EventSchema::compile(&json!({"pattern": "((a{5}){5}){14}"})),
            Err(SchemaError::PatternTooLarge { .. })
        ));
        for worst in ["a{20000}", "((a{50}){50}){50}"] {
            let err = EventSchema::compile(&json!({"patternProperties": {worst: {}}})).unwrap_err();
            assert!(
                matches!(&err, SchemaError::PatternTooLarge { at, .. } if at.starts_with("#/patternProperties")),
                "{err}"
            );
        }
        // Still refused for what it is, not its size.
        assert!(matches!(EventSchema::compile(&json!({"pattern": "(?=a)"})), Err(SchemaError::Unusable { .. })));
    }

    #[test]
    fn the_largest_patterns_check_a_whole_body_of_text_fast() {
        for pattern in ["a{505}", "((a{5}){5}){13}", "^(a|aa){1,40}$", "\\w{168}"] {
            let s = compile(json!({"type": "string", "pattern": pattern}));
            for text in ["a".repeat(256 * 1024), format!("{}b", "a".repeat(256 * 1024))] {
                let started = std::time::Instant::now();
                s.validate(&json!(text));
                let took = started.elapsed();
                assert!(took < std::time::Duration::from_millis(500), "{pattern}: {took:?}");
            }
        }
    }

    /// `d0` = allOf of two references to `d1`, ..., `d{depth}` a string: 2^(depth+2) - 3 in place.
    fn doubling(depth: usize) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..depth {
            let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
            defs.insert(format!("d{i}"), json!({"allOf": [next.clone(), next]}));
        }
        defs.insert(format!("d{depth}"), json!({"type": "string"}));
        json!({"$defs": defs, "items": {"$ref": "#/$defs/d0"}})
    }

    #[test]
    fn schemas_reaching_more_than_1000_subschemas_in_place_are_refused() {
        let all_of = |n: usize| json!({"properties": {"x": {"allOf": vec![json!({}); n]}}});
        assert!(EventSchema::compile(&all_of(999)).is_ok(), "1 + 999");
        assert_eq!(
            EventSchema::compile(&all_of(1000)).unwrap_err(),
            SchemaError::TooExpansive { at: "#/properties/x".into() }
        );
        // 2^9 - 3 = 509 and the reference to it: fine; one level more is 1021.
        assert!(EventSchema::compile(&doubling(7)).is_ok());
        assert!(matches!(EventSchema::compile(&doubling(8)), Err(SchemaError::TooExpansive { .. })));
        let started = std::time::Instant::now();
        assert!(matches!(EventSchema::compile(&doubling(20)), Err(SchemaError::TooExpansive { .. })));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "counted once per subschema");
        // Anchors and cycles: a recursive schema is fine.
        let tree = json!({"$defs": {"node": {"$anchor": "node", "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#node"}}}, "allOf": [{"$ref": "#/$defs/node/properties"}]}},
            "$ref": "#/$defs/node"});
        assert!(EventSchema::compile(&tree).is_ok());
    }

    #[test]
    fn the_worst_valid_schema_checks_invalid_data_fast() {
        let s = compile(doubling(7));
        let started = std::time::Instant::now();
        let errors = s.validate(&json!(vec![1; 160]));
        assert_eq!(errors.len(), MAX_VIOLATIONS + 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    }

    fn compile_text(text: &str) -> Result<EventSchema, SchemaError> {
        EventSchema::compile_text(&RawValue::from_string(text.into()).unwrap())
    }

    #[test]
    fn at_most_64_pattern_properties_per_subschema() {
        let patterns = |n: usize| (0..n).map(|i| (format!("^k{i}$"), json!(true))).collect::<serde_json::Map<_, _>>();
        assert!(EventSchema::compile(&json!({"patternProperties": patterns(64)})).is_ok());
        let err = EventSchema::compile(&json!({"items": {"patternProperties": patterns(65)}})).unwrap_err();
        assert_eq!(err, SchemaError::TooManyPatterns { at: "#/items/patternProperties".into(), count: 65 });
    }

    #[test]
    fn schema_numbers_must_be_exact_in_double_precision() {
        for ok in [
            "9007199254740993",     // a 64-bit integer: kept as one
            "18446744073709551615", // u64::MAX
            "-9223372036854775808",
            "9007199254740992.0",                      // 2^53
            "18446744073709551616",                    // 2^64, a double exactly
            "340282366920938463463374607431768211456", // 2^128
            "0.1",
            "1e-7",
            "1e20",
            "0.30000000000000004",
            "-0.0",
        ] {
            let text = format!(r#"{{"properties": {{"n": {{"maximum": {ok}, "enum": [{ok}]}}}}}}"#);
            assert!(compile_text(&text).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("99999999999999999999999999999999", "reads as 1e32"),
            ("1e32", "1e32 is not a double: 100000000000000005366162204393472"),
            ("18446744073709551617", "2^64 + 1"),
            ("9007199254740993.0", "2^53 + 1 written as a decimal"),
            ("0.1000000000000000000001", "more digits than a double"),
            ("0.30000000000000001", "reads as 0.3"),
            ("1.7976931348623157e308", "past 2^53 a decimal must be the double's exact value"),
        ] {
            let text = format!(r#"{{"properties": {{"n": {{"maximum": {bad}}}}}}}"#);
            assert_eq!(
                compile_text(&text).unwrap_err(),
                SchemaError::InexactNumber { at: "#/properties/n/maximum".into(), number: bad.into() },
                "{why}"
            );
        }
        // In `enum`/`const` data too, with the place; annotations may hold anything.
        let err = compile_text(r#"{"enum": [1, {"a": [123456789012345678901234567890]}]}"#).unwrap_err();
        assert_eq!(
            err,
            SchemaError::InexactNumber { at: "#/enum/1/a/0".into(), number: "123456789012345678901234567890".into() }
        );
        assert!(compile_text(
            r#"{"default": 123456789012345678901234567890, "examples": [1e-400, 99999999999999999999999]}"#
        )
        .is_ok());
        // A property called `default` is a schema.
        let err = compile_text(r#"{"properties": {"default": {"minimum": 1e32}}}"#).unwrap_err();
        assert!(matches!(err, SchemaError::InexactNumber { at, .. } if at == "#/properties/default/minimum"));
    }

    #[test]
    fn pointer_order() {
        let mut v = vec!["data/items/10", "data/items/2", "data", "data/b", "data/a/x", "data/items/2/id"];
        v.sort_by(|a, b| pointer_cmp(a, b));
        assert_eq!(v, vec!["data", "data/a/x", "data/b", "data/items/2", "data/items/2/id", "data/items/10"]);
    }
}
