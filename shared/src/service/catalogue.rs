//! The event-type catalogue (§11): the deployment's list of event types, with an
//! optional JSON Schema for each type's `data`, checked at intake.

use std::collections::{BTreeSet, HashMap};

use futures::future::try_join_all;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::app::App;
use crate::clock::Millis;
use crate::error::{ApiError, FieldError};
use crate::model::EventType;
use crate::schema::{self, EventSchema};
use crate::service::webhooks::list_error;
use crate::store::Page;

/// A checked change to an event type.
#[derive(Debug, Default, Clone)]
pub struct EventTypeChanges {
    pub description: Option<String>,
    /// `Some(None)` removes it.
    pub schema: Option<Option<Box<RawValue>>>,
    pub example: Option<Option<Box<RawValue>>>,
    pub archived: Option<bool>,
}

/// Compiles `schema` (400 on field `schema` when it is not a usable draft 2020-12
/// schema, or refers to anything remote) and checks `example` against it.
fn check(schema_text: Option<&RawValue>, example: Option<&RawValue>) -> Result<(), ApiError> {
    let Some(s) = schema_text else { return Ok(()) };
    let compiled = EventSchema::compile_text(s)
        .map_err(|e| ApiError::from_fields(vec![FieldError::new("schema", e.to_string())]))?;
    if let Some(ex) = example {
        let ex: Value = serde_json::from_str(ex.get()).map_err(|e| ApiError::invalid("example", e.to_string()))?;
        let errors = schema::check_example(&compiled, &ex);
        if !errors.is_empty() {
            return Err(ApiError::from_fields(errors));
        }
    }
    Ok(())
}

pub async fn list(
    app: &App,
    include_archived: bool,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<EventType>, ApiError> {
    app.store.list_event_types(include_archived, limit, cursor).await.map_err(list_error)
}

pub async fn get(app: &App, name: &str) -> Result<EventType, ApiError> {
    app.store.get_event_type(name).await?.ok_or_else(|| ApiError::not_found("event type"))
}

pub async fn create(
    app: &App,
    name: String,
    description: String,
    schema_text: Option<Box<RawValue>>,
    example: Option<Box<RawValue>>,
) -> Result<EventType, ApiError> {
    check(schema_text.as_deref(), example.as_deref())?;
    let now = Millis::now();
    let t = EventType {
        name,
        description,
        schema: schema_text,
        example,
        archived: false,
        created_at: now,
        updated_at: now,
        version: 1,
        revision: schema::new_revision(),
    };
    if !app.store.create_event_type(&t).await? {
        return Err(ApiError::Conflict(format!("event type `{}` exists", t.name)));
    }
    Ok(t)
}

pub async fn patch(app: &App, name: &str, changes: EventTypeChanges) -> Result<EventType, ApiError> {
    let old = get(app, name).await?;
    let mut t = old.clone();
    if let Some(d) = changes.description {
        t.description = d;
    }
    if let Some(s) = changes.schema {
        t.schema = s;
    }
    if let Some(e) = changes.example {
        t.example = e;
    }
    if let Some(a) = changes.archived {
        t.archived = a;
    }
    check(t.schema.as_deref(), t.example.as_deref())?;
    t.version = old.version + 1;
    t.revision = schema::new_revision();
    t.updated_at = Millis::now().max(Millis(old.updated_at.0 + 1));
    if !app.store.replace_event_type(&t, old.version).await? {
        return Err(ApiError::Conflict("the event type was changed concurrently; retry".into()));
    }
    Ok(t)
}

pub async fn delete(app: &App, name: &str) -> Result<(), ApiError> {
    let Some(t) = app.store.get_event_type(name).await? else { return Err(ApiError::not_found("event type")) };
    if !app.store.delete_event_type(&t).await? {
        // Changed or deleted since the read: deleted now means done, changed means retry.
        return match app.store.get_event_type(name).await? {
            None => Err(ApiError::not_found("event type")),
            Some(_) => Err(ApiError::Conflict("the event type was changed concurrently; retry".into())),
        };
    }
    Ok(())
}

/// Checks an event's `data` against its type's schema, if the catalogue has one (types
/// not in the catalogue are accepted as before). One error per violation, on field
/// `data` + the JSON pointer of the failing value.
pub async fn check_data(app: &App, event_type: &str, data: &RawValue) -> Result<(), ApiError> {
    check_against(app.store.get_event_type(event_type).await?.as_ref(), data)
}

/// The catalogue entries of `names`, each read once (a batch often repeats its types),
/// concurrently.
pub async fn entries<'a>(
    app: &App,
    names: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Option<EventType>>, ApiError> {
    let distinct: BTreeSet<&str> = names.collect();
    let found = try_join_all(distinct.iter().map(|name| app.store.get_event_type(name))).await?;
    Ok(distinct.into_iter().map(str::to_string).zip(found).collect())
}

/// `check_data` with the catalogue entry already read.
pub fn check_against(t: Option<&EventType>, data: &RawValue) -> Result<(), ApiError> {
    let Some(t) = t else { return Ok(()) };
    let Some(schema_text) = &t.schema else { return Ok(()) };
    // Compiled when it was stored: failing now is a bug, not the caller's input.
    let compiled = schema::cached(&t.name, t.version, &t.revision, schema_text)
        .map_err(|e| ApiError::Internal(format!("stored schema of {}: {e}", t.name)))?;
    let value: Value = serde_json::from_str(data.get()).map_err(|e| ApiError::invalid("data", e.to_string()))?;
    let errors = compiled.validate_text(&value, data.get().len());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::from_fields(errors))
    }
}

/// The type's example (its exact text), for test deliveries sent without data.
pub async fn example(app: &App, event_type: &str) -> Result<Option<Box<RawValue>>, ApiError> {
    Ok(app.store.get_event_type(event_type).await?.and_then(|t| t.example).filter(|e| e.get().starts_with('{')))
}
