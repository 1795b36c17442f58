//! `Field<T>`: one request field as sent. A value of the wrong type does not stop the
//! parse, so every bad field of a request is reported at once (docs/api.md §1's `errors`), and
//! `null` is told apart from absent (`"authorization": null` clears it).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::FieldError;

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Given(T),
    /// Present with the wrong type: what the field must be instead.
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Captured as text first, so a wrong type is the field's error, not the body's.
        let raw = Box::<RawValue>::deserialize(d)?;
        if raw.get() == "null" {
            return Ok(Field::Null);
        }
        Ok(serde_json::from_str(raw.get()).map_or(Field::Invalid, Field::Given))
    }
}

/// What a person is told a field must be.
pub trait Expect {
    const EXPECTED: &'static str;
}

impl Expect for String {
    const EXPECTED: &'static str = "must be a string";
}
impl Expect for bool {
    const EXPECTED: &'static str = "must be true or false";
}
impl Expect for u32 {
    const EXPECTED: &'static str = "must be a whole number";
}
impl Expect for u64 {
    const EXPECTED: &'static str = "must be a whole number";
}
impl Expect for i64 {
    const EXPECTED: &'static str = "must be an integer";
}
impl Expect for Vec<String> {
    const EXPECTED: &'static str = "must be an array of strings";
}
impl Expect for BTreeMap<String, String> {
    const EXPECTED: &'static str = "must be an object of strings";
}
impl Expect for Box<RawValue> {
    const EXPECTED: &'static str = "must be a JSON value";
}
impl Expect for serde_json::Value {
    const EXPECTED: &'static str = "must be a JSON value";
}
impl Expect for crate::model::ContentType {
    const EXPECTED: &'static str = "must be \"json\" or \"xml\"";
}
impl Expect for crate::signing::SignatureScheme {
    const EXPECTED: &'static str = "must be \"hmac\" or \"ed25519\"";
}
impl Expect for crate::model::PayloadFormat {
    const EXPECTED: &'static str = "must be \"envelope\" or \"flat\"";
}

/// The string fields of a nested object (`destination`, `auth`, `tls`), each checked; errors
/// are `(<object>/<field>, message)`, collected so that every problem is told at once.
pub struct ObjectFields<'a> {
    pub object: &'static str,
    pub obj: &'a serde_json::Map<String, serde_json::Value>,
    pub errors: &'a mut Vec<(String, String)>,
}

impl ObjectFields<'_> {
    pub fn path(&self, field: &str) -> String {
        format!("{}/{field}", self.object)
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let path = self.path(field);
        self.errors.push((path, message.into()));
    }

    /// The string field `name`, checked; `None` (with an error unless optional and absent
    /// or null) otherwise.
    pub fn get(
        &mut self,
        name: &str,
        required: bool,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<String> {
        use serde_json::Value;
        match self.obj.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.error(name, "is required");
                }
                None
            }
            Some(Value::String(s)) => match check(s) {
                Ok(()) => Some(s.clone()),
                Err(m) => {
                    self.error(name, m);
                    None
                }
            },
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// Refuses keys that are not in `known` (read-only keys a GET shows are in `ignored`).
    pub fn only(&mut self, known: &[&str], ignored: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !ignored.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            self.error(&k, "unknown field");
        }
    }
}

/// Collects a request's field errors in order.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn extend(&mut self, more: Vec<FieldError>) {
        self.0.extend(more);
    }

    /// Records a rule's outcome for `field`.
    pub fn check(&mut self, field: &str, result: Result<(), String>) {
        if let Err(m) = result {
            self.add(field, m);
        }
    }

    /// The value of a field that may be absent but never `null`.
    pub fn optional<'a, T: Expect>(&mut self, name: &str, f: &'a Field<T>) -> Option<&'a T> {
        match f {
            Field::Absent => None,
            Field::Given(v) => Some(v),
            Field::Null | Field::Invalid => {
                self.add(name, T::EXPECTED);
                None
            }
        }
    }

    /// The value of a required field.
    pub fn required<'a, T: Expect>(&mut self, name: &str, f: &'a Field<T>) -> Option<&'a T> {
        if matches!(f, Field::Absent) {
            self.add(name, "is required");
            return None;
        }
        self.optional(name, f)
    }

    /// A field where `null` means "clear it": `Some(None)` clears, `None` leaves it.
    pub fn clearable<'a, T: Expect>(&mut self, name: &str, f: &'a Field<T>) -> Option<Option<&'a T>> {
        match f {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Given(v) => Some(Some(v)),
            Field::Invalid => {
                self.add(name, T::EXPECTED);
                None
            }
        }
    }

    /// A field where `null` means its default (`ordered` false, `signature_scheme` hmac).
    pub fn defaulted<T: Expect + Clone + Default>(&mut self, name: &str, f: &Field<T>) -> Option<T> {
        self.clearable(name, f).map(|v| v.cloned().unwrap_or_default())
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        name: Field<String>,
        #[serde(default)]
        n: Field<u32>,
        #[serde(default)]
        auth: Field<String>,
    }

    #[test]
    fn wrong_types_and_nulls_are_fields_not_failures() {
        let b: Body = serde_json::from_str(r#"{"name": 5, "n": "x", "auth": null}"#).unwrap();
        let mut e = Errors::default();
        assert!(e.required("name", &b.name).is_none());
        assert!(e.optional("n", &b.n).is_none());
        assert_eq!(e.clearable("auth", &b.auth), Some(None));
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "n"]);
        assert_eq!(e.0[0].message, "must be a string");
        let b: Body = serde_json::from_str("{}").unwrap();
        let mut e = Errors::default();
        e.required("name", &b.name);
        assert_eq!(e.0[0].message, "is required");
        assert_eq!(e.clearable("auth", &b.auth), None, "absent leaves it as it is");
    }
}
