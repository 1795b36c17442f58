//! Validation of webhook settings, shared by the webhooks API and 003's `/web_hook`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::Settings;
use crate::error::{ApiError, FieldError};
use crate::guard;
use crate::matching::is_valid_pattern;
use crate::model::{ContentType, PayloadFormat, Webhook};

pub const VERIFICATION_KEY_PLACEHOLDER: &str = "{VerificationKey}";
const MAX_URL_LEN: usize = 2048;
const MAX_HEADERS: usize = 20;
const MAX_CUSTOM_PARAMETERS: usize = 50;
const MAX_EVENT_TYPES: usize = 100;

/// Payload keys that custom parameters may not override, in either payload format.
pub const RESERVED_PAYLOAD_KEYS: &[&str] =
    &["id", "event", "timestamp", "project_id", "client_id", "data", "session_id", "event_type", "event_timestamp"];

/// Headers Hookline owns or that would break the HTTP exchange.
fn is_reserved_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "host"
            | "content-length"
            | "content-type"
            | "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "trailers"
            | "transfer-encoding"
            | "upgrade"
    ) || n.starts_with("webhook-")
        || n.starts_with("x-webhook-")
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(value: &str) -> bool {
    value.len() <= 4096 && value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Checks a webhook URL; `Err` carries the message for the `url` field.
pub fn check_url(raw: &str, settings: &Settings) -> Result<(), String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    // The placeholder is substituted at send time; validate the URL it will become.
    let probe = raw.replace(VERIFICATION_KEY_PLACEHOLDER, "key");
    let url = url::Url::parse(&probe).map_err(|_| "must be an absolute URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => return Err("must use https".into()),
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information".into());
    }
    url.host_str().filter(|h| !h.is_empty()).ok_or("must have a host")?;
    if let Some(ip) = guard::literal_ip(&url) {
        if !guard::is_allowed(ip, settings) {
            return Err("destination not allowed".into());
        }
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    Ok(())
}

/// A set of changes to a webhook, parsed and checked from a request body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WebhookChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears the stored value.
    pub authorization: Option<Option<String>>,
    pub authorization_enabled: Option<bool>,
    pub custom_parameters: Option<BTreeMap<String, String>>,
    pub content_type: Option<ContentType>,
    pub payload_format: Option<PayloadFormat>,
    pub secret: Option<String>,
}

/// Collects every field problem of one request before answering.
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn string(&mut self, field: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn string_map(&mut self, field: &str, v: &Value) -> Option<BTreeMap<String, String>> {
        let Value::Object(map) = v else {
            self.fail(field, "must be an object of strings");
            return None;
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                _ => self.fail(&format!("{field}.{k}"), "must be a string"),
            }
        }
        Some(out)
    }

    fn flag(&mut self, field: &str, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => {
                self.fail(field, "must be true or false");
                None
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::from_fields(self.errors))
        }
    }
}

const READ_ONLY_FIELDS: &[&str] =
    &["id", "project_id", "created_at", "updated_at", "authorization_set", "verification_key"];

impl WebhookChanges {
    /// Parses the body of a create (`creating`) or a PATCH of the webhooks API.
    pub fn parse(body: &Map<String, Value>, settings: &Settings, creating: bool) -> Result<Self, ApiError> {
        let mut c = Checker { errors: Vec::new() };
        let mut ch = WebhookChanges::default();
        for (key, v) in body {
            match key.as_str() {
                "name" => ch.name = c.string(key, v),
                "url" => ch.url = c.string(key, v),
                "enabled" => match v {
                    Value::Bool(b) => ch.enabled = Some(*b),
                    _ => c.fail(key, "must be true or false"),
                },
                "event_types" => match v {
                    Value::Array(items) => {
                        let mut types = Vec::new();
                        for item in items {
                            match item.as_str() {
                                Some(t) if is_valid_pattern(t) => types.push(t.to_string()),
                                _ => c.fail(
                                    "event_types",
                                    format!("`{item}` is not an event type or a `prefix.*` pattern"),
                                ),
                            }
                        }
                        ch.event_types = Some(types);
                    }
                    _ => c.fail(key, "must be an array of event types"),
                },
                "headers" => ch.headers = c.string_map(key, v),
                "authorization" => match v {
                    Value::Null => ch.authorization = Some(None),
                    _ => ch.authorization = c.string(key, v).map(Some),
                },
                "custom_parameters" => ch.custom_parameters = c.string_map(key, v),
                "content_type" => match v.as_str() {
                    Some("json") => ch.content_type = Some(ContentType::Json),
                    Some("xml") => ch.content_type = Some(ContentType::Xml),
                    _ => c.fail(key, "must be \"json\" or \"xml\""),
                },
                "payload_format" => match v.as_str() {
                    Some("envelope") => ch.payload_format = Some(PayloadFormat::Envelope),
                    Some("flat") => ch.payload_format = Some(PayloadFormat::Flat),
                    _ => c.fail(key, "must be \"envelope\" or \"flat\""),
                },
                "secret" if creating => ch.secret = c.string(key, v),
                "secret" => c.fail(key, "can only be set on create; use rotate-secret"),
                k if READ_ONLY_FIELDS.contains(&k) => {}
                _ => c.fail(key, "unknown field"),
            }
        }
        if creating {
            if ch.name.is_none() && !body.contains_key("name") {
                c.fail("name", "is required");
            }
            if ch.url.is_none() && !body.contains_key("url") {
                c.fail("url", "is required");
            }
        }
        ch.check(&mut c, settings);
        c.finish(ch)
    }

    fn check(&self, c: &mut Checker, settings: &Settings) {
        if let Some(name) = &self.name {
            let len = name.chars().count();
            if name.trim().is_empty() || len > 100 {
                c.fail("name", "must be 1 to 100 characters");
            }
        }
        if let Some(url) = &self.url {
            if let Err(m) = check_url(url, settings) {
                c.fail("url", m);
            }
        }
        if let Some(types) = &self.event_types {
            if types.len() > MAX_EVENT_TYPES {
                c.fail("event_types", format!("at most {MAX_EVENT_TYPES} entries"));
            }
        }
        if let Some(headers) = &self.headers {
            if headers.len() > MAX_HEADERS {
                c.fail("headers", format!("at most {MAX_HEADERS} headers"));
            }
            for (name, value) in headers {
                if !is_header_name(name) {
                    c.fail(&format!("headers.{name}"), "is not a valid header name");
                } else if is_reserved_header(name) {
                    c.fail(&format!("headers.{name}"), "is set by Hookline and cannot be configured");
                } else if !is_header_value(value) {
                    c.fail(&format!("headers.{name}"), "value must be printable ASCII, at most 4096 characters");
                }
            }
        }
        if let Some(Some(auth)) = &self.authorization {
            if auth.is_empty() || !is_header_value(auth) {
                c.fail("authorization", "must be 1 to 4096 printable ASCII characters");
            }
        }
        if let Some(params) = &self.custom_parameters {
            if params.len() > MAX_CUSTOM_PARAMETERS {
                c.fail("custom_parameters", format!("at most {MAX_CUSTOM_PARAMETERS} parameters"));
            }
            for (k, v) in params {
                if k.is_empty() || k.chars().count() > 100 {
                    c.fail("custom_parameters", "keys must be 1 to 100 characters");
                } else if RESERVED_PAYLOAD_KEYS.contains(&k.as_str()) {
                    c.fail(&format!("custom_parameters.{k}"), "would override a payload field");
                } else if v.chars().count() > 1000 {
                    c.fail(&format!("custom_parameters.{k}"), "must be at most 1000 characters");
                }
            }
        }
        if let Some(secret) = &self.secret {
            let len = secret.chars().count();
            if !(16..=256).contains(&len) || secret.chars().any(char::is_control) {
                c.fail("secret", "must be 16 to 256 printable characters");
            }
        }
    }

    /// Applies the changes to a webhook (already validated).
    pub fn apply(self, wh: &mut Webhook) {
        if let Some(v) = self.name {
            wh.name = v;
        }
        if let Some(v) = self.url {
            wh.url = v;
        }
        if let Some(v) = self.enabled {
            wh.enabled = v;
        }
        if let Some(v) = self.event_types {
            wh.event_types = v;
        }
        if let Some(v) = self.headers {
            wh.headers = v;
        }
        if let Some(v) = self.authorization {
            wh.authorization = v;
        }
        if let Some(v) = self.authorization_enabled {
            wh.authorization_enabled = v;
        }
        if let Some(v) = self.custom_parameters {
            wh.custom_parameters = v;
        }
        if let Some(v) = self.content_type {
            wh.content_type = v;
        }
        if let Some(v) = self.payload_format {
            wh.payload_format = v;
        }
        if let Some(v) = self.secret {
            wh.secret = v;
        }
    }

    /// Parses 003's `PUT /web_hook` parameters into the same changes.
    pub fn parse_web_hook(body: &Map<String, Value>, settings: &Settings) -> Result<Self, ApiError> {
        let mut c = Checker { errors: Vec::new() };
        let mut ch = WebhookChanges::default();
        for (key, v) in body {
            match key.as_str() {
                "endpoint" => {
                    if let Some(endpoint) = c.string(key, v) {
                        match endpoint_to_url(&endpoint, settings) {
                            Ok(url) => ch.url = Some(url),
                            Err(m) => c.fail(key, m),
                        }
                    }
                }
                "enable_web_hook" => ch.enabled = c.flag(key, v),
                "enable_http_authorization" => ch.authorization_enabled = c.flag(key, v),
                "http_authorization_value" => match v {
                    Value::Null => ch.authorization = Some(None),
                    _ => ch.authorization = c.string(key, v).map(Some),
                },
                "custom_parameters" => ch.custom_parameters = c.string_map(key, v),
                "client_id" | "project_id" => {}
                _ => c.fail(key, "unknown parameter"),
            }
        }
        // Report URL problems under 003's own parameter name.
        let before = c.errors.len();
        ch.check(&mut c, settings);
        for e in &mut c.errors[before..] {
            if e.field == "url" {
                e.field = "endpoint".into();
            }
            if e.field == "authorization" {
                e.field = "http_authorization_value".into();
            }
        }
        c.finish(ch)
    }
}

/// 003's endpoint has no protocol: `https://` is enforced, a given `https://` is
/// accepted, `http://` only where the deployment allows plain http.
pub fn endpoint_to_url(endpoint: &str, settings: &Settings) -> Result<String, String> {
    let e = endpoint.trim();
    let url = if e.starts_with("https://") {
        e.to_string()
    } else if e.starts_with("http://") {
        if !settings.allow_http {
            return Err("must use https".into());
        }
        e.to_string()
    } else if e.contains("://") {
        return Err("must be an https endpoint".into());
    } else {
        format!("https://{e}")
    };
    check_url(&url, settings)?;
    Ok(url)
}

/// 003's view of the endpoint: the URL without its `https://`.
pub fn url_to_endpoint(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(err: ApiError) -> Vec<String> {
        err.field_errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn accepts_a_full_webhook() {
        let s = Settings::default();
        let ch = WebhookChanges::parse(
            &body(json!({
                "name": "CRM", "url": "https://example.com/hook?k={VerificationKey}",
                "event_types": ["submission.*", "aml.match.found"], "headers": {"X-Team": "kyc"},
                "authorization": "Bearer abc", "custom_parameters": {"region": "eu"},
                "content_type": "xml", "payload_format": "flat", "secret": "my-own-secret-1234"
            })),
            &s,
            true,
        )
        .unwrap();
        assert_eq!(ch.content_type, Some(ContentType::Xml));
        assert_eq!(ch.authorization, Some(Some("Bearer abc".into())));
    }

    #[test]
    fn rejects_bad_urls() {
        let s = Settings::default();
        for (url, why) in [
            ("http://example.com", "must use https"),
            ("ftp://example.com", "must be an https:// URL"),
            ("https://user:pw@example.com", "must not contain user information"),
            ("example.com/hook", "must be an absolute URL"),
            ("https://127.0.0.1/x", "destination not allowed"),
            ("https://[::1]/x", "destination not allowed"),
            ("https://169.254.169.254/latest", "destination not allowed"),
        ] {
            assert_eq!(check_url(url, &s), Err(why.to_string()), "{url}");
        }
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2048)), &s).is_err());
        let local = Settings { allow_http: true, allow_private_destinations: true, ..Settings::default() };
        assert!(check_url("http://127.0.0.1:8080/x", &local).is_ok());
    }

    #[test]
    fn reports_every_bad_field() {
        let s = Settings::default();
        let err = WebhookChanges::parse(
            &body(json!({
                "name": "", "url": "https://e.com", "event_types": ["bad type"],
                "headers": {"Content-Type": "text/plain", "webhook-id": "x", "Bad Name": "v"},
                "custom_parameters": {"event": "x"}, "content_type": "yaml", "secret": "short", "colour": 1
            })),
            &s,
            true,
        )
        .unwrap_err();
        let f = fields(err);
        for expected in [
            "name",
            "event_types",
            "headers.Content-Type",
            "headers.webhook-id",
            "headers.Bad Name",
            "custom_parameters.event",
            "content_type",
            "secret",
            "colour",
        ] {
            assert!(f.contains(&expected.to_string()), "missing {expected} in {f:?}");
        }
    }

    #[test]
    fn create_requires_name_and_url_but_patch_does_not() {
        let s = Settings::default();
        assert_eq!(fields(WebhookChanges::parse(&body(json!({})), &s, true).unwrap_err()), vec!["name", "url"]);
        assert!(WebhookChanges::parse(&body(json!({"enabled": false})), &s, false).is_ok());
        assert!(WebhookChanges::parse(&body(json!({"enabled": "no"})), &s, false).is_err());
        assert!(WebhookChanges::parse(&body(json!({"secret": "0123456789abcdef"})), &s, false).is_err());
    }

    #[test]
    fn too_many_headers() {
        let s = Settings::default();
        let headers: Map<String, Value> = (0..21).map(|i| (format!("X-H{i}"), json!("v"))).collect();
        let err = WebhookChanges::parse(&body(json!({"headers": headers})), &s, false).unwrap_err();
        assert_eq!(fields(err), vec!["headers"]);
    }

    #[test]
    fn web_hook_endpoint_enforces_https() {
        let s = Settings::default();
        assert_eq!(endpoint_to_url("example.com/web_hook", &s).unwrap(), "https://example.com/web_hook");
        assert_eq!(endpoint_to_url("https://example.com/w", &s).unwrap(), "https://example.com/w");
        assert!(endpoint_to_url("http://example.com/w", &s).is_err());
        let local = Settings { allow_http: true, allow_private_destinations: true, ..Settings::default() };
        assert_eq!(endpoint_to_url("http://127.0.0.1:9/w", &local).unwrap(), "http://127.0.0.1:9/w");
        assert_eq!(url_to_endpoint("https://example.com/web_hook"), "example.com/web_hook");
        let ch = WebhookChanges::parse_web_hook(
            &body(json!({"endpoint": "e.com/x", "enable_web_hook": "false", "enable_http_authorization": true})),
            &s,
        )
        .unwrap();
        assert_eq!((ch.enabled, ch.authorization_enabled), (Some(false), Some(true)));
        let err = WebhookChanges::parse_web_hook(&body(json!({"enable_web_hook": "maybe", "endpoint": "ftp://x"})), &s)
            .unwrap_err();
        assert_eq!(fields(err), vec!["enable_web_hook", "endpoint"]);
    }
}
