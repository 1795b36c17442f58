//! Reading a request into typed values: the body (413, 415, 400 in that order, then the
//! request struct's own checks) and the query string. Request structs are plain serde
//! types with `deny_unknown_fields`; their rules are in `Validate`.

use lambda_http::Request;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::{Content, Required};
use utoipa::{IntoParams, ToSchema};

use crate::api::openapi::Doc;
use crate::config::Settings;
use crate::error::{ApiError, FieldError};

/// Request bodies over this size get 413 (docs/api.md §1).
pub const MAX_BODY: usize = 256 * 1024;
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// A request struct as sent, and the checked value it stands for: `check` applies the
/// rules beyond the types and reports every failing field at once.
pub trait Check: DeserializeOwned + Send {
    type Checked: Send;
    fn check(self, settings: &Settings) -> Result<Self::Checked, Vec<FieldError>>;
}

/// Something read from the request body.
pub trait BodyInput: Sized + Send {
    /// Whether the route reads a body (it then documents 413 and 415).
    const READS_BODY: bool;
    fn parse(req: &Request, settings: &Settings) -> Result<Self, ApiError>;
    fn document(doc: &mut Doc) -> Option<RequestBody>;
}

/// Something read from the query string.
pub trait QueryInput: Sized + Send {
    fn parse(query: Option<&str>, settings: &Settings) -> Result<Self, ApiError>;
    fn document() -> Vec<Parameter>;
}

/// The route reads no body: one sent is ignored, as a GET's would be, unless it is over the
/// size limit (docs/api.md §1 refuses those everywhere). The project web hook's
/// `trigger_session_test` is one: its clients may send the route's parameters in the body too.
pub struct NoBody;

/// An action that takes no parameters: nothing, or `{}`. Anything else is refused, so a
/// client that thinks it is passing options learns otherwise before anything changes.
pub struct Empty;

/// A JSON object body parsed into `T` and checked.
pub struct Json<T: Check>(pub T::Checked);

/// Like `Json`, but an empty body (every field is optional) is `T::default()`.
pub struct MaybeJson<T: Check>(pub T::Checked);

/// Any JSON object, kept exactly as sent (the custom-event hook, `/api/hook/custom-event`).
pub struct AnyObject(pub Box<RawValue>);

pub struct NoQuery;

/// A query string parsed into `T` and checked (unknown parameters are ignored).
pub struct Query<T: Check>(pub T::Checked);

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The raw body, once checked for size, media type, JSON syntax and object-ness.
fn json_object(req: &Request) -> Result<&RawValue, ApiError> {
    let raw = req.body().as_ref();
    if raw.len() > MAX_BODY {
        return Err(ApiError::PayloadTooLarge);
    }
    let is_json = header(req, "content-type").is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: &RawValue = serde_json::from_slice(raw)
        .map_err(|e| ApiError::Invalid { message: format!("malformed JSON: {e}"), errors: Vec::new() })?;
    if !value.get().starts_with('{') {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    Ok(value)
}

fn is_empty(req: &Request) -> bool {
    req.body().as_ref().iter().all(u8::is_ascii_whitespace)
}

/// Deserializes `T` from JSON text, naming the field that failed.
pub fn typed<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = strip_location(&e.inner().to_string());
        field_error(&e.path().to_string(), message)
    })
}

/// serde says where in the text it failed; a person wants the field name only.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn field_error(path: &str, message: String) -> ApiError {
    // serde reports unknown and duplicate fields at the object, naming the field.
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_string);
    let join = |parent: &str, name: &str| {
        if parent == "." || parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    if message.starts_with("unknown field `") {
        let field = if path == "." { named("unknown field `").unwrap_or_default() } else { path.to_string() };
        return ApiError::from_fields(vec![FieldError::new(field, "unknown field")]);
    }
    if let Some(name) = named("duplicate field `") {
        let parent = path.rsplit_once('.').map_or(path, |(p, _)| p);
        return ApiError::from_fields(vec![FieldError::new(join(parent, &name), "appears more than once")]);
    }
    if let Some(name) = named("missing field `") {
        return ApiError::from_fields(vec![FieldError::new(join(path, &name), "is required")]);
    }
    let field = if path == "." || path.is_empty() { "body".to_string() } else { path.to_string() };
    ApiError::from_fields(vec![FieldError::new(field, message)])
}

fn checked<T: Check>(value: T, settings: &Settings) -> Result<T::Checked, ApiError> {
    value.check(settings).map_err(ApiError::from_fields)
}

fn json_body<T: ToSchema>(doc: &mut Doc, required: bool) -> RequestBody {
    RequestBodyBuilder::new()
        .content("application/json", Content::new(Some(doc.schema::<T>())))
        .required(Some(if required { Required::True } else { Required::False }))
        .build()
}

impl BodyInput for NoBody {
    const READS_BODY: bool = false;

    fn parse(req: &Request, _: &Settings) -> Result<Self, ApiError> {
        if req.body().as_ref().len() > MAX_BODY {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(NoBody)
    }

    fn document(_: &mut Doc) -> Option<RequestBody> {
        None
    }
}

impl BodyInput for Empty {
    const READS_BODY: bool = true;

    fn parse(req: &Request, _: &Settings) -> Result<Self, ApiError> {
        if req.body().as_ref().len() <= MAX_BODY && is_empty(req) {
            return Ok(Empty);
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Nothing {}
        typed::<Nothing>(json_object(req)?.get()).map(|_| Empty)
    }

    fn document(_: &mut Doc) -> Option<RequestBody> {
        let schema = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .description(Some("Nothing, or an empty object: the action takes no parameters."));
        Some(
            RequestBodyBuilder::new()
                .content("application/json", Content::new(Some(schema)))
                .required(Some(Required::False))
                .build(),
        )
    }
}

impl<T: Check + ToSchema> BodyInput for Json<T> {
    const READS_BODY: bool = true;

    fn parse(req: &Request, settings: &Settings) -> Result<Self, ApiError> {
        let raw = json_object(req)?;
        checked(typed::<T>(raw.get())?, settings).map(Json)
    }

    fn document(doc: &mut Doc) -> Option<RequestBody> {
        Some(json_body::<T>(doc, true))
    }
}

impl<T: Check + ToSchema + Default> BodyInput for MaybeJson<T> {
    const READS_BODY: bool = true;

    fn parse(req: &Request, settings: &Settings) -> Result<Self, ApiError> {
        if is_empty(req) {
            return checked(T::default(), settings).map(MaybeJson);
        }
        let raw = json_object(req)?;
        checked(typed::<T>(raw.get())?, settings).map(MaybeJson)
    }

    fn document(doc: &mut Doc) -> Option<RequestBody> {
        Some(json_body::<T>(doc, false))
    }
}

impl BodyInput for AnyObject {
    const READS_BODY: bool = true;

    fn parse(req: &Request, _: &Settings) -> Result<Self, ApiError> {
        json_object(req).map(|raw| AnyObject(raw.to_owned()))
    }

    fn document(_: &mut Doc) -> Option<RequestBody> {
        let schema = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("Any JSON object: `user_id`, `action`, `context`, …"));
        Some(
            RequestBodyBuilder::new()
                .content("application/json", Content::new(Some(schema)))
                .required(Some(Required::True))
                .build(),
        )
    }
}

impl QueryInput for NoQuery {
    fn parse(_: Option<&str>, _: &Settings) -> Result<Self, ApiError> {
        Ok(NoQuery)
    }

    fn document() -> Vec<Parameter> {
        Vec::new()
    }
}

impl<T: Check + IntoParams> QueryInput for Query<T> {
    fn parse(query: Option<&str>, settings: &Settings) -> Result<Self, ApiError> {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.unwrap_or("").as_bytes()));
        let value: T = serde_path_to_error::deserialize(de)
            .map_err(|e| field_error(&e.path().to_string(), e.inner().to_string()))?;
        checked(value, settings).map(Query)
    }

    fn document() -> Vec<Parameter> {
        T::into_params(|| Some(ParameterIn::Query))
    }
}

/// `?limit=` (default 50, 1..=200) and `?cursor=` of every list (docs/api.md §1).
#[derive(Debug, Clone, Default, serde::Deserialize, IntoParams)]
pub struct Paging {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page of this same list.
    pub cursor: Option<String>,
}

impl Paging {
    pub fn limit(&self) -> usize {
        self.limit.map_or(DEFAULT_LIMIT, |l| l as usize)
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }

    pub fn errors(&self) -> Vec<FieldError> {
        match self.limit {
            Some(l) if !(1..=MAX_LIMIT as u32).contains(&l) => {
                vec![FieldError::new("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))]
            }
            _ => Vec::new(),
        }
    }
}

impl Check for Paging {
    type Checked = Paging;

    fn check(self, _: &Settings) -> Result<Paging, Vec<FieldError>> {
        let errors = self.errors();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use serde::Deserialize;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        let mut b = http::Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Text(body.to_string())).unwrap()
    }

    #[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    struct Thing {
        name: Option<String>,
    }

    impl Check for Thing {
        type Checked = Thing;

        fn check(self, _: &Settings) -> Result<Thing, Vec<FieldError>> {
            match &self.name {
                Some(n) if n.is_empty() => Err(vec![FieldError::new("name", "must not be empty")]),
                _ => Ok(self),
            }
        }
    }

    fn fields(e: ApiError) -> Vec<(String, String)> {
        e.field_errors().iter().map(|f| (f.field.clone(), f.message.clone())).collect()
    }

    #[test]
    fn body_checks_in_order() {
        let s = Settings::default();
        let json = [("content-type", "application/json; charset=utf-8")];
        assert_eq!(Json::<Thing>::parse(&req(&json, r#"{"name":"a"}"#), &s).unwrap().0.name.as_deref(), Some("a"));
        let big = " ".repeat(MAX_BODY + 1);
        assert_eq!(
            Json::<Thing>::parse(&req(&[("content-type", "text/plain")], &big), &s).err().unwrap().status(),
            413
        );
        assert_eq!(
            Json::<Thing>::parse(&req(&[("content-type", "text/plain")], "{}"), &s).err().unwrap().status(),
            415
        );
        assert_eq!(Json::<Thing>::parse(&req(&json, "{nope"), &s).err().unwrap().status(), 400);
        assert_eq!(
            fields(Json::<Thing>::parse(&req(&json, "[]"), &s).err().unwrap()),
            vec![("body".into(), "must be a JSON object".into())]
        );
        assert!(MaybeJson::<Thing>::parse(&req(&[], ""), &s).unwrap().0.name.is_none());
    }

    #[test]
    fn routes_without_parameters_still_refuse_what_they_cannot_take() {
        let s = Settings::default();
        let json = [("content-type", "application/json")];
        let big = " ".repeat(MAX_BODY + 1);
        assert_eq!(NoBody::parse(&req(&json, &big), &s).err().unwrap().status(), 413);
        assert!(
            NoBody::parse(&req(&json, r#"{"project_id": 1}"#), &s).is_ok(),
            "trigger_session_test clients may send parameters"
        );
        assert!(Empty::parse(&req(&[], ""), &s).is_ok());
        assert!(Empty::parse(&req(&json, " {} "), &s).is_ok());
        assert_eq!(Empty::parse(&req(&json, &big), &s).err().unwrap().status(), 413);
        assert_eq!(Empty::parse(&req(&[("content-type", "text/plain")], "x"), &s).err().unwrap().status(), 415);
        assert_eq!(
            fields(Empty::parse(&req(&json, r#"{"x": 1}"#), &s).err().unwrap()),
            vec![("x".into(), "unknown field".into())]
        );
    }

    #[test]
    fn field_errors_name_the_field() {
        let s = Settings::default();
        let json = [("content-type", "application/json")];
        let e = Json::<Thing>::parse(&req(&json, r#"{"name": 5}"#), &s).err().unwrap();
        assert_eq!(fields(e)[0].0, "name");
        let e = Json::<Thing>::parse(&req(&json, r#"{"colour": 1}"#), &s).err().unwrap();
        assert_eq!(fields(e), vec![("colour".into(), "unknown field".into())]);
        let e = Json::<Thing>::parse(&req(&json, r#"{"name": "a", "name": "b"}"#), &s).err().unwrap();
        assert_eq!(fields(e), vec![("name".into(), "appears more than once".into())]);
        let e = Json::<Thing>::parse(&req(&json, r#"{"name": ""}"#), &s).err().unwrap();
        assert_eq!(fields(e), vec![("name".into(), "must not be empty".into())]);
    }

    #[test]
    fn paging() {
        let s = Settings::default();
        let p = Query::<Paging>::parse(Some("limit=500"), &s).err().unwrap();
        assert_eq!(fields(p)[0].0, "limit");
        let p = Query::<Paging>::parse(Some("limit=abc"), &s).err().unwrap();
        assert_eq!(fields(p)[0].0, "limit");
        let p = Query::<Paging>::parse(None, &s).unwrap().0;
        assert_eq!((p.limit(), p.cursor()), (50, None));
        let p = Query::<Paging>::parse(Some("limit=7&cursor=&other=1"), &s).unwrap().0;
        assert_eq!((p.limit(), p.cursor()), (7, None));
    }
}
