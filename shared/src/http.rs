//! The HTTP edge shared by the API functions: reading requests the same way under
//! API Gateway, function URLs and `cargo lambda watch`, and answering in the envelope.

use std::collections::HashMap;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::store::RateDecision;

/// Request bodies over this size get 413 (§1).
pub const MAX_BODY: usize = 256 * 1024;
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// An answer before it becomes a Lambda response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn success(status: u16, result: Value) -> Reply {
        Reply {
            status,
            body: json!({"status": "success", "message": "success", "result": result}),
            headers: Vec::new(),
        }
    }

    pub fn error(e: &ApiError) -> Reply {
        let mut reply = Reply {
            status: e.status(),
            body: json!({"status": "error", "message": e.to_string(), "errors": e.field_errors()}),
            headers: Vec::new(),
        };
        if let ApiError::RateLimited { retry_after_secs, limit } = e {
            reply = reply
                .header("Retry-After", retry_after_secs.to_string())
                .header("X-RateLimit-Limit", limit.to_string())
                .header("X-RateLimit-Remaining", "0");
        }
        reply
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Adds the `X-RateLimit-*` headers of the request's rate-limit decision.
    pub fn with_rate(self, rate: Option<(RateDecision, u32)>) -> Reply {
        match rate {
            Some((d, limit)) => self
                .header("X-RateLimit-Limit", limit.to_string())
                .header("X-RateLimit-Remaining", d.remaining.to_string()),
            None => self,
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut b = Response::builder().status(self.status).header("content-type", "application/json");
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Body::Text(self.body.to_string())).expect("status and headers are valid")
    }
}

/// The Lambda response for a handler's result, with the caller's rate-limit
/// headers (when the request got that far) on success and failure alike.
pub fn respond(r: Result<Reply, ApiError>, rate: Option<(RateDecision, u32)>) -> Response<Body> {
    let reply = match r {
        Ok(reply) => reply,
        Err(e) => Reply::error(&e),
    };
    let limited = reply.status == 429;
    if limited {
        reply.into_response()
    } else {
        reply.with_rate(rate).into_response()
    }
}

/// Refuses a method that a known route does not serve (405).
pub fn allow(method: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(method.to_string()))
    }
}

/// The path from `/api/` on, split into segments. Anything before it (an API
/// Gateway stage, `cargo lambda watch`'s `/lambda-url/<fn>`) is ignored.
pub fn api_segments(req: &Request) -> Vec<String> {
    let path = req.uri().path();
    let from = path.find("/api/").map_or(path, |i| &path[i..]);
    from.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn query(req: &Request) -> HashMap<String, String> {
    req.uri().query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The credential presented: `Authorization: Bearer …` or `X-API-Key: …`.
pub fn presented_credential(req: &Request) -> Option<&str> {
    if let Some(auth) = header(req, "authorization") {
        let (scheme, token) = auth.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty());
    }
    header(req, "x-api-key").map(str::trim).filter(|t| !t.is_empty())
}

/// The body as a JSON object: 413 when too large, 415 when not JSON, 400 when malformed.
pub fn json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
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
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("body", "must be a JSON object")),
        Err(e) => Err(ApiError::Invalid { message: format!("malformed JSON: {e}"), errors: Vec::new() }),
    }
}

/// Like `json_object`, but an empty body (for routes whose fields are all optional) is `{}`.
pub fn optional_json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
    if req.body().as_ref().iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    json_object(req)
}

/// `?limit=` (default 50, 1..=200) and `?cursor=`.
pub fn page_params(q: &HashMap<String, String>) -> Result<(usize, Option<&str>), ApiError> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::invalid("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))),
        },
    };
    let cursor = q.get("cursor").map(String::as_str).filter(|c| !c.is_empty());
    Ok((limit, cursor))
}

/// A `{project_id}` path segment: a positive integer, else 400.
pub fn project_id(segment: &str) -> Result<u64, ApiError> {
    match segment.parse::<u64>() {
        Ok(id) if id > 0 && !segment.starts_with('+') => Ok(id),
        _ => Err(ApiError::invalid("project_id", "must be a positive integer")),
    }
}

pub fn list_result<T>(items: &[T], view: impl Fn(&T) -> Value, next_cursor: Option<String>) -> Value {
    json!({"items": items.iter().map(view).collect::<Vec<_>>(), "next_cursor": next_cursor})
}

pub fn not_found_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)], body: &str) -> Request {
        let mut b = http::Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn segments_ignore_stage_and_watch_prefixes() {
        let r = req("/lambda-url/config-api/api/v1/projects/12/webhooks", &[], "");
        assert_eq!(api_segments(&r), vec!["api", "v1", "projects", "12", "webhooks"]);
        let r = req("/prod/api/v1/projects/x%20y", &[], "");
        assert_eq!(api_segments(&r), vec!["api", "v1", "projects", "x y"]);
    }

    #[test]
    fn credentials_from_bearer_or_api_key_header() {
        assert_eq!(presented_credential(&req("/", &[("authorization", "Bearer abc")], "")), Some("abc"));
        assert_eq!(presented_credential(&req("/", &[("x-api-key", "k")], "")), Some("k"));
        assert_eq!(presented_credential(&req("/", &[("authorization", "Basic abc")], "")), None);
        assert_eq!(presented_credential(&req("/", &[], "")), None);
    }

    #[test]
    fn body_checks() {
        let ok = req("/", &[("content-type", "application/json; charset=utf-8")], r#"{"a":1}"#);
        assert_eq!(json_object(&ok).unwrap()["a"], 1);
        let text = req("/", &[("content-type", "text/plain")], r#"{"a":1}"#);
        assert_eq!(json_object(&text).unwrap_err().status(), 415);
        let bad = req("/", &[("content-type", "application/json")], "{nope");
        assert_eq!(json_object(&bad).unwrap_err().status(), 400);
        let arr = req("/", &[("content-type", "application/json")], "[]");
        assert_eq!(json_object(&arr).unwrap_err().status(), 400);
        let big = req("/", &[("content-type", "application/json")], &" ".repeat(MAX_BODY + 1));
        assert_eq!(json_object(&big).unwrap_err().status(), 413);
        assert!(optional_json_object(&req("/", &[], "")).unwrap().is_empty());
    }

    #[test]
    fn paging_and_ids() {
        let q: HashMap<String, String> = [("limit".to_string(), "500".to_string())].into();
        assert_eq!(page_params(&q).unwrap_err().status(), 400);
        assert_eq!(page_params(&HashMap::new()).unwrap(), (50, None));
        assert_eq!(project_id("42").unwrap(), 42);
        assert!(project_id("abc").is_err() && project_id("0").is_err() && project_id("-1").is_err());
    }

    #[test]
    fn error_envelope() {
        let r = Reply::error(&ApiError::invalid("url", "must use https"));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body,
            json!({"status": "error", "message": "url: must use https", "errors": [{"field": "url", "message": "must use https"}]})
        );
        let r = Reply::error(&ApiError::RateLimited { retry_after_secs: 2, limit: 200 });
        assert!(r.headers.contains(&("Retry-After".to_string(), "2".to_string())));
    }
}
