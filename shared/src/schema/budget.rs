//! A bound on the work of checking one document, whatever the schema.
//!
//! The compile-time limits (pattern size, in-place reach) bound each step, not their number:
//! a reference cycle through `items` (`a: {allOf: [30 × {$ref: b}]}`, `b: {items: {$ref: a}}`)
//! multiplies by 30 per level of nesting in the data, and 999 `patternProperties` meet every
//! key of a 20,000-key object. So the check runs one of two ways:
//!
//! - **Plain**, when a bound computed before it proves the document cheap: a schema without
//!   reference cycles applies each of its subschemas (references inlined) at most once per value
//!   of the document, so the work is at most the schema's inlined size times the document's size
//!   ([`Cost::of`]). Ordinary catalogue schemas and events fall here and pay only that estimate.
//! - **Counted** otherwise: the same schema with a counting keyword added to every subschema, each
//!   application charging the subschema's size plus the value's size. Past [`WORK_BUDGET`] the
//!   check stops by unwinding out of the validator (its only way out: a keyword that answered
//!   "invalid" would count as valid under `not`), and the document is refused as too costly.
//!
//! The units are calibrated so that [`WORK_BUDGET`] is about 40 ms of one core in a release
//! build (`the_worst_schemas_stop_within_the_budget` prints the figures).

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

use super::{resolve_local, DATA_KEYWORDS, SCHEMA_MAPS};

/// The name of the counting keyword added to each subschema of the counted copy.
pub(super) const WORK_KEYWORD: &str = "$hooklineWork";

/// The work one document's check may do, in the units of [`charge`].
pub const WORK_BUDGET: u64 = 4_000_000;

/// Documents whose bound ([`Cost::of`]) is at most this take the plain check: about 5 ms.
pub const PLAIN_LIMIT: u64 = 500_000;

/// Keywords whose object values are not schemas (the counter must not go into them).
const NOT_SCHEMAS: &[&str] = &["dependentRequired", "$vocabulary"];

/// Keywords that scan a string: a regular expression or a format parser, about one unit per
/// byte; counting characters, about 1/16.
const SCANNING_KEYWORDS: &[&str] = &["pattern", "format", "contentEncoding"];
const COUNTING_KEYWORDS: &[&str] = &["minLength", "maxLength"];

thread_local! {
    /// Work left for the counted check running on this thread.
    static LEFT: Cell<u64> = const { Cell::new(0) };
}

/// The payload of the unwind that stops a check over budget.
struct OverBudget;

/// Runs `check` with [`WORK_BUDGET`] for the counting keywords it meets; `None` when it ran out.
pub(super) fn within_budget<T>(check: impl FnOnce() -> T) -> Option<T> {
    LEFT.with(|left| left.set(WORK_BUDGET));
    let result = panic::catch_unwind(AssertUnwindSafe(check));
    LEFT.with(|left| left.set(0));
    match result {
        Ok(value) => Some(value),
        Err(payload) if payload.is::<OverBudget>() => None,
        // A real bug in the validator: not ours to hide.
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// What a schema costs per unit of document, for the plain/counted choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cost {
    /// At most this many JSON values once references are inlined.
    Inlined(u64),
    /// A reference cycle or a `$dynamicRef`: no bound without counting.
    Unbounded,
}

/// Past this inlined size no document is cheap enough for the plain check anyway.
const INLINED_CAP: u64 = PLAIN_LIMIT;

impl Cost {
    /// The schema's size with every reference replaced by its target, counted once per
    /// target (memoised), stopping at [`INLINED_CAP`].
    pub(super) fn of_schema(root: &Value) -> Cost {
        let mut anchors = HashMap::new();
        super::collect_anchors(root, &mut String::new(), &mut anchors, false);
        let mut sizes = HashMap::new();
        match inlined(root, root, true, &anchors, &mut sizes) {
            Some(n) if n <= INLINED_CAP => Cost::Inlined(n),
            _ => Cost::Unbounded,
        }
    }

    /// Whether checking a document of `size` ([`document_size`], or its text's length, which
    /// is at least that) is provably within [`PLAIN_LIMIT`] without counting.
    pub(super) fn plain_for(self, size: u64) -> bool {
        match self {
            Cost::Inlined(n) => n.saturating_mul(size) <= PLAIN_LIMIT,
            Cost::Unbounded => false,
        }
    }
}

/// Values of the document plus its string and key bytes / 16: at most its text's length.
pub(super) fn document_size(value: &Value) -> u64 {
    let mut n = 0u64;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::String(s) => n += s.len() as u64 / 16,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, v) in map {
                    n += 1 + k.len() as u64 / 16;
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
    n
}

/// The inlined size of `value` (in schema position when `schema`); `None` on a cycle.
fn inlined(
    root: &Value,
    value: &Value,
    schema: bool,
    anchors: &HashMap<String, String>,
    sizes: &mut HashMap<String, Option<u64>>,
) -> Option<u64> {
    let mut n: u64 = 1;
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                n = n.saturating_add(1);
                if schema && key == "$dynamicRef" {
                    return None;
                }
                if schema && key == "$ref" {
                    let target = child.as_str().and_then(|r| resolve_local(r, anchors))?;
                    let size = match sizes.get(&target) {
                        Some(Some(size)) => *size,
                        // Being computed: a cycle.
                        Some(None) => return None,
                        None => {
                            sizes.insert(target.clone(), None);
                            let size = root.pointer(&target).and_then(|t| inlined(root, t, true, anchors, sizes))?;
                            sizes.insert(target, Some(size));
                            size
                        }
                    };
                    n = n.saturating_add(size);
                    continue;
                }
                let child_schema = schema && !DATA_KEYWORDS.contains(&key.as_str());
                if child_schema && SCHEMA_MAPS.contains(&key.as_str()) {
                    for v in child.as_object().into_iter().flat_map(|m| m.values()) {
                        n = n.saturating_add(1).saturating_add(inlined(root, v, true, anchors, sizes)?);
                    }
                } else {
                    n = n.saturating_add(inlined(root, child, child_schema, anchors, sizes)?);
                }
                if n > INLINED_CAP {
                    return Some(n);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                n = n.saturating_add(inlined(root, item, schema, anchors, sizes)?);
            }
        }
        _ => {}
    }
    Some(n)
}

/// A copy of `schema` with the counting keyword in every subschema object, its value the
/// subschema's own charge.
pub(super) fn counted_copy(schema: &Value) -> Value {
    let mut copy = schema.clone();
    add_counters(&mut copy, false);
    copy
}

fn add_counters(value: &mut Value, names: bool) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if !names && (DATA_KEYWORDS.contains(&key.as_str()) || NOT_SCHEMAS.contains(&key.as_str())) {
                    continue;
                }
                add_counters(child, !names && SCHEMA_MAPS.contains(&key.as_str()));
            }
            if !names {
                // First, so that it charges before the subschema's own keywords do the work.
                let charge = serde_json::to_value(Charge::of(map)).unwrap_or(Value::Null);
                let own = std::mem::take(map);
                map.insert(WORK_KEYWORD.into(), charge);
                map.extend(own);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| add_counters(item, false)),
        _ => {}
    }
}

/// What one application of a subschema charges: its own size (keywords, `enum` and `const`
/// values, which the check compares), plus the value's size where the subschema's work grows
/// with it.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Charge {
    /// Own keywords and compared values.
    base: u64,
    /// A string costs its length in bytes divided by this (0: nothing).
    per_string_bytes: u64,
    /// Per object member: 1 + the `patternProperties` entries each key is matched against.
    per_member: u64,
}

impl Charge {
    fn of(map: &Map<String, Value>) -> Charge {
        let compared: u64 = ["enum", "const"].iter().filter_map(|k| map.get(*k)).map(document_size).sum();
        let patterns = map.get("patternProperties").and_then(Value::as_object).map_or(0, |m| m.len() as u64);
        Charge {
            base: 1 + map.len() as u64 + compared,
            per_string_bytes: if SCANNING_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                1
            } else if COUNTING_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                16
            } else {
                0
            },
            per_member: 1 + patterns * 4,
        }
    }
}

/// The counting keyword's factory, for `ValidationOptions::with_keyword`.
pub(super) fn counter<'a>(
    _parent: &'a Map<String, Value>,
    value: &'a Value,
    _path: jsonschema::paths::Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let charge: Charge =
        serde_json::from_value(value.clone()).map_err(|e| ValidationError::custom(format!("internal counter: {e}")))?;
    Ok(Box::new(charge))
}

impl Charge {
    fn spend(&self, instance: &Value) {
        let size = match instance {
            Value::String(s) if self.per_string_bytes > 0 => s.len() as u64 / self.per_string_bytes,
            Value::Object(map) => map.len() as u64 * self.per_member,
            Value::Array(items) => items.len() as u64,
            _ => 0,
        };
        let cost = self.base + size;
        LEFT.with(|left| match left.get().checked_sub(cost) {
            Some(rest) => left.set(rest),
            None => panic::resume_unwind(Box::new(OverBudget)),
        });
    }
}

impl<'i> Keyword<'i> for Charge {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        self.spend(instance);
        Ok(())
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.spend(instance);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::schema::EventSchema;

    fn cost(schema: Value) -> Cost {
        Cost::of_schema(&schema)
    }

    #[test]
    fn the_inlined_size_counts_references_once_per_use_and_cycles_are_unbounded() {
        assert_eq!(cost(json!({"type": "string"})), Cost::Inlined(3));
        let one = cost(json!({"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}));
        let two = cost(
            json!({"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}, "y": {"$ref": "#/$defs/a"}}}),
        );
        let (Cost::Inlined(one), Cost::Inlined(two)) = (one, two) else { panic!("both are bounded") };
        assert!(two > one + 3, "the second use counts the target again: {one} then {two}");
        assert_eq!(cost(json!({"items": {"$ref": "#"}})), Cost::Unbounded);
        assert_eq!(
            cost(
                json!({"$defs": {"a": {"items": {"$ref": "#/$defs/b"}}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})
            ),
            Cost::Unbounded
        );
        assert_eq!(cost(json!({"$dynamicRef": "#meta"})), Cost::Unbounded);
    }

    #[test]
    fn small_documents_against_bounded_schemas_take_the_plain_check() {
        let schema = Cost::Inlined(100);
        let small = json!({"a": "b", "list": [1, 2, 3]});
        assert!(schema.plain_for(document_size(&small)));
        assert!(document_size(&small) <= small.to_string().len() as u64, "the text's length bounds it");
        let big = Value::Array((0..10_000).map(Value::from).collect());
        assert!(!schema.plain_for(document_size(&big)), "100 × 10,000 is past the plain limit");
        assert!(!Cost::Unbounded.plain_for(2));
    }

    /// `a` applies `b` `fan` times in place; `b` applies `a` to each item: `fan`^depth.
    fn multiplying(fan: usize) -> Value {
        let refs: Vec<Value> = (0..fan).map(|_| json!({"$ref": "#/$defs/b"})).collect();
        json!({"$defs": {"a": {"allOf": refs}, "b": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"})
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!([]), |inner, _| json!([inner]))
    }

    fn timed(schema: &Value, data: &Value) -> (Vec<crate::error::FieldError>, f64) {
        let compiled = EventSchema::compile(schema).expect("the catalogue accepts it");
        let t = Instant::now();
        compiled.counted();
        println!("counted copy compiled in {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let errors = compiled.validate(data);
        (errors, t.elapsed().as_secs_f64() * 1000.0)
    }

    fn over_budget(errors: &[crate::error::FieldError]) -> bool {
        errors.len() == 1 && errors[0].field == "data" && errors[0].message.contains("work limit")
    }

    #[test]
    fn the_worst_schemas_stop_within_the_budget() {
        // Each is accepted by the catalogue; unbounded, the first takes 30^12 steps.
        let cases = [
            ("reference cycle through items, 30 per level, 12 levels", multiplying(30), nested(12)),
            (
                "499 references to 64 patternProperties × 20,000 keys",
                json!({"$defs": {"p": {"patternProperties": (0..64).map(|i| (format!("^k{i}x"), json!({"type": "string"}))).collect::<Map<_, _>>()}},
                       "allOf": (0..499).map(|_| json!({"$ref": "#/$defs/p"})).collect::<Vec<_>>()}),
                Value::Object((0..20_000).map(|i| (format!("key{i}"), json!(1))).collect()),
            ),
            (
                "499 references to the largest pattern × a 240 KiB string",
                json!({"$defs": {"p": {"pattern": "(a|b|c|d|e|f|g|h)*[a-z]{8}x"}}, "allOf": (0..499).map(|_| json!({"$ref": "#/$defs/p"})).collect::<Vec<_>>()}),
                json!("abcdefgh".repeat(30 * 1024)),
            ),
            (
                "499 `enum`s of 100 values × 2,000 items",
                json!({"items": {"allOf": (0..499).map(|i| json!({"$ref": format!("#/$defs/e{}", i % 10)})).collect::<Vec<_>>()},
                       "$defs": (0..10).map(|i| (format!("e{i}"), json!({"enum": (0..100).collect::<Vec<_>>()}))).collect::<Map<_, _>>()}),
                Value::Array((0..2_000).map(|i| json!(i % 100)).collect()),
            ),
        ];
        let mut refused = 0;
        for (name, schema, data) in cases {
            let (errors, ms) = timed(&schema, &data);
            println!("{name}: {ms:.1} ms, {}", if over_budget(&errors) { "over budget" } else { "checked" });
            // Wall time on a machine running other tests: the bound here is "not minutes"; the
            // figures alone are in BENCHMARKS.md and the handlers' test holds one second.
            assert!(ms < 5000.0, "{name} took {ms:.0} ms");
            refused += usize::from(over_budget(&errors));
        }
        assert!(refused >= 3, "the budget stops the expensive ones");
    }

    #[test]
    fn recursive_schemas_still_check_ordinary_documents() {
        let tree = json!({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$"},
            "children": {"type": "array", "items": {"$ref": "#"}}}});
        let mut doc = json!({"name": "leaf"});
        for _ in 0..50 {
            doc = json!({"name": "node", "children": [doc.clone(), {"name": "x"}]});
        }
        assert_eq!(cost(tree.clone()), Cost::Unbounded);
        let (errors, _) = timed(&tree, &doc);
        assert!(errors.is_empty(), "{errors:?}");
        doc["children"][1]["name"] = json!("X");
        let (errors, _) = timed(&tree, &doc);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "data/children/1/name");
    }

    #[test]
    fn the_counted_check_finds_what_the_plain_one_finds() {
        let schema = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": "string", "minLength": 3}, "b": {"enum": [1, 2]},
            "c": {"not": {"type": "null"}}, "d": {"dependentRequired": {"x": ["y"]}, "type": "object"}},
            "additionalProperties": false});
        let compiled = EventSchema::compile(&schema).unwrap();
        let counted = compiled.counted().expect("the counted copy compiles");
        for doc in [json!({"a": "abc"}), json!({"a": "ab", "b": 3, "c": null, "d": {"x": 1}, "e": 1}), json!([])] {
            let plain = compiled.violations(&compiled.validator, "data", &doc);
            let checked = within_budget(|| compiled.violations(counted, "data", &doc)).expect("within budget");
            assert_eq!(plain, checked, "for {doc}");
        }
    }
}
