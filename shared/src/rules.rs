//! TEMPORARY: today's input rules, moved here until the tightened rules land.

use std::collections::BTreeMap;

use crate::config::Settings;
use crate::error::FieldError;
use crate::guard;
use crate::matching::is_valid_event_type;

pub const VERIFICATION_KEY_PLACEHOLDER: &str = "{VerificationKey}";
const MAX_URL_LEN: usize = 2048;
const MAX_HEADERS: usize = 20;
const MAX_CUSTOM_PARAMETERS: usize = 50;

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

pub fn check_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if name.trim().is_empty() || len > 100 || name.chars().any(char::is_control) {
        return Err("must be 1 to 100 characters".into());
    }
    Ok(())
}

pub fn check_headers(headers: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if headers.len() > MAX_HEADERS {
        errors.push(FieldError::new("headers", format!("at most {MAX_HEADERS} headers")));
    }
    for (name, value) in headers {
        if !is_header_name(name) {
            errors.push(FieldError::new(format!("headers.{name}"), "is not a valid header name"));
        } else if is_reserved_header(name) {
            errors.push(FieldError::new(format!("headers.{name}"), "is set by Hookline and cannot be configured"));
        } else if !is_header_value(value) {
            errors.push(FieldError::new(
                format!("headers.{name}"),
                "value must be printable ASCII, at most 4096 characters",
            ));
        }
    }
    errors
}

pub fn check_authorization_value(v: &str) -> Result<(), String> {
    if v.is_empty() || !is_header_value(v) {
        return Err("must be 1 to 4096 printable ASCII characters".into());
    }
    Ok(())
}

pub fn check_custom_parameters(params: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if params.len() > MAX_CUSTOM_PARAMETERS {
        errors.push(FieldError::new("custom_parameters", format!("at most {MAX_CUSTOM_PARAMETERS} parameters")));
    }
    for (k, v) in params {
        if k.is_empty() || k.chars().count() > 100 {
            errors.push(FieldError::new("custom_parameters", "keys must be 1 to 100 characters"));
        } else if RESERVED_PAYLOAD_KEYS.contains(&k.as_str()) {
            errors.push(FieldError::new(format!("custom_parameters.{k}"), "would override a payload field"));
        } else if v.chars().count() > 1000 {
            errors.push(FieldError::new(format!("custom_parameters.{k}"), "must be at most 1000 characters"));
        }
    }
    errors
}

pub fn check_secret(secret: &str) -> Result<(), String> {
    let len = secret.chars().count();
    if !(16..=256).contains(&len) || secret.chars().any(char::is_control) {
        return Err("must be 16 to 256 printable characters".into());
    }
    Ok(())
}

pub fn check_event_type(t: &str) -> Result<(), String> {
    if is_valid_event_type(t) {
        Ok(())
    } else {
        Err("must be 1 to 128 characters of [A-Za-z0-9_.-]".into())
    }
}

pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err("must be 1 to 255 printable ASCII characters".into());
    }
    Ok(())
}

pub fn check_session_id(s: &str) -> Result<(), String> {
    if s.is_empty() || s.chars().count() > 256 {
        return Err("must be a string of 1 to 256 characters".into());
    }
    Ok(())
}
