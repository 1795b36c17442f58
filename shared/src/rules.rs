//! The input rules of docs/api.md (§4 webhooks, §5/§10 intake, §11 catalogue) as pure
//! functions: no I/O, no request parsing. Request types call them and collect the errors.
//!
//! A check answers `Err(message)` for one field, or a list of [`FieldError`]s where several
//! fields (`headers.X-Team`, …) can fail at once. Messages are written for the person who
//! sent the request: they say what is wrong and, where it helps, which character and where.

use std::collections::{BTreeMap, HashMap};

use unicode_general_category::{get_general_category, GeneralCategory};

use crate::config::Settings;
use crate::credentials::VERIFICATION_KEY_LEN;
use crate::error::FieldError;
use crate::guard;
use crate::matching;

/// Replaced by the webhook's URL-encoded verification key when a delivery is sent (docs/api.md §6).
pub const VERIFICATION_KEY_PLACEHOLDER: &str = "{VerificationKey}";
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_HEADERS: usize = 20;
pub const MAX_HEADER_NAME_LEN: usize = 256;
pub const MAX_HEADER_VALUE_LEN: usize = 4096;
pub const MAX_CUSTOM_PARAMETERS: usize = 50;
pub const MAX_PARAMETER_KEY_CHARS: usize = 100;
pub const MAX_PARAMETER_VALUE_CHARS: usize = 1000;
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 256;
pub const MAX_EVENT_TYPES: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
pub const MAX_SESSION_ID_CHARS: usize = 256;

/// Payload keys that custom parameters may not override, in either payload format.
pub const RESERVED_PAYLOAD_KEYS: &[&str] =
    &["id", "event", "timestamp", "project_id", "client_id", "data", "session_id", "event_type", "event_timestamp"];

const PORT_RANGE: &str = "port must be a number from 1 to 65535";

// ---------------------------------------------------------------------------------------------
// Characters

/// `U+202E`: how a character is named in messages (it may be invisible or break the line).
fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The first character (1-based position) for which `bad` holds.
fn find_char(text: &str, bad: impl Fn(char) -> bool) -> Option<(usize, char)> {
    text.chars().enumerate().find(|&(_, c)| bad(c)).map(|(i, c)| (i + 1, c))
}

/// U+FDD0..U+FDEF and the last two code points of every plane: never characters.
fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

/// Characters that have no place in a label a person reads: controls (Cc), invisible
/// format characters (Cf: zero-width spaces and joiners, bidi embeddings, overrides and
/// isolates, the BOM, tag characters…), line and paragraph separators, noncharacters.
///
/// The categories come from `unicode-general-category` (YesLogic, Unicode 16 tables) rather
/// than a hand-kept range table: jsonschema already depends on it, so it costs nothing, and
/// Cf has a few dozen scattered ranges that a copy would let drift. A side effect worth
/// knowing: emoji built with U+200D (ZERO WIDTH JOINER) are refused in names.
fn is_hidden_or_control(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || is_noncharacter(c)
}

/// Length in characters (not bytes), at most `max`; no hidden or control characters; not blank.
fn check_label(text: &str, max: usize) -> Result<(), String> {
    let len = text.chars().count();
    if len == 0 {
        return Err("must not be empty".into());
    }
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    if let Some((at, c)) = find_char(text, is_hidden_or_control) {
        return Err(format!("must not contain control or invisible characters ({} at character {at})", code(c)));
    }
    if text.trim().is_empty() {
        return Err("must not be blank".into());
    }
    Ok(())
}

/// 1 to `max` characters without control characters (Cc): for values that are data rather than labels.
fn check_plain(text: &str, max: usize) -> Result<(), String> {
    let len = text.chars().count();
    if len == 0 {
        return Err("must not be empty".into());
    }
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    if let Some((at, c)) = find_char(text, char::is_control) {
        return Err(format!("must not contain control characters ({} at character {at})", code(c)));
    }
    Ok(())
}

/// `text` without `prefix`, compared ASCII case-insensitively (URL schemes are case-insensitive).
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

// ---------------------------------------------------------------------------------------------
// Webhook URL (docs/api.md §4) and the project web hook's endpoint

/// Refuses what the WHATWG parser would silently strip, encode or reinterpret, so that the
/// URL stored is the URL sent: whitespace (CR, LF and tabs are removed by the parser, spaces
/// encoded), controls, invisible characters (IDNA drops some of them from host names) and
/// backslashes (read as `/` in http(s) URLs, but not by every other parser).
fn check_url_text(raw: &str) -> Result<(), String> {
    if let Some((at, c)) = find_char(raw, |c| c.is_whitespace() || is_hidden_or_control(c)) {
        return Err(format!(
            "must not contain spaces, control or invisible characters ({} at character {at})",
            code(c)
        ));
    }
    if let Some((at, _)) = find_char(raw, |c| c == '\\') {
        return Err(format!("must not contain backslashes (at character {at}); use / or %5C"));
    }
    Ok(())
}

/// Checks a webhook URL (docs/api.md §4); `Err` carries the message for the `url` field.
///
/// The URL must be absolute and written `https://host…` (`http://` only when
/// `settings.allow_http`), with no whitespace, control or invisible characters and no
/// backslash anywhere; no user information (not even an empty `https://@host/`); a host; no
/// port or a port from 1 to 65535; no fragment. A host that is an IP address (in any form
/// the parser accepts, `0x7f.1` included) must be allowed by the destination policy.
///
/// Length: at most [`MAX_URL_LEN`] bytes as given, and also as sent: with every
/// `{VerificationKey}` replaced by a key of [`VERIFICATION_KEY_LEN`] characters and after the
/// parser's encoding (non-ASCII hosts become punycode, other non-ASCII is percent-encoded).
/// The checks run on the URL with the key substituted, because that is what is requested.
pub fn check_url(raw: &str, settings: &Settings) -> Result<(), String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters (got {})", raw.len()));
    }
    check_url_text(raw)?;
    let has_placeholder = raw.contains(VERIFICATION_KEY_PLACEHOLDER);
    let expanded = if has_placeholder {
        // Base64url is never percent-encoded, so any key of the real length gives the real length.
        raw.replace(VERIFICATION_KEY_PLACEHOLDER, &"A".repeat(VERIFICATION_KEY_LEN))
    } else {
        raw.to_string()
    };
    let url = url::Url::parse(&expanded).map_err(|e| match e {
        url::ParseError::InvalidPort => PORT_RANGE.to_string(),
        url::ParseError::EmptyHost => "must have a host".to_string(),
        url::ParseError::IdnaError | url::ParseError::InvalidDomainCharacter => "has an invalid host name".to_string(),
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => {
            "has an invalid IP address".to_string()
        }
        _ => "must be an absolute URL".to_string(),
    })?;
    let scheme = url.scheme();
    match scheme {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => return Err("must use https".into()),
        _ => return Err("must be an https:// URL".into()),
    }
    // The parser also accepts `https:host` and `https:///host`; the stored text must read as sent.
    let rest = strip_prefix_ignore_case(&expanded, scheme)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| format!("must be an absolute URL starting with {scheme}://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // Any `@` before the path ends user information, even when both parts are empty.
    if authority.contains('@') {
        return Err("must not contain user information".into());
    }
    let (host, port) = split_host_port(authority);
    if host.is_empty() {
        return Err("must have a host".into());
    }
    if let Some(port) = port {
        // `host:` (empty port) means the default port to the parser; refuse the ambiguity, and `:0`.
        if port.is_empty() || url.port() == Some(0) {
            return Err(PORT_RANGE.into());
        }
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    if let Some(ip) = guard::literal_ip(&url) {
        if !guard::is_allowed(ip, settings) {
            return Err(guard::NOT_ALLOWED.into());
        }
    }
    let sent = url.as_str().len().max(expanded.len());
    if sent > MAX_URL_LEN {
        return Err(if has_placeholder {
            format!(
                "must be at most {MAX_URL_LEN} characters once each {VERIFICATION_KEY_PLACEHOLDER} is replaced by the \
                 {VERIFICATION_KEY_LEN}-character key (it would be {sent})"
            )
        } else {
            format!("must be at most {MAX_URL_LEN} characters once encoded (it would be {sent})")
        });
    }
    Ok(())
}

/// `host[:port]` or `[v6][:port]`; the port part is `Some("")` for a bare trailing colon.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => (&authority[..=end], authority[end + 1..].strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// Turns the project web hook's protocol-less `endpoint` into a webhook URL: `https://` is
/// added, a given `https://` (any case) is kept, `http://` only where the deployment allows
/// plain http, and any other scheme is refused. Nothing is trimmed: the endpoint must be
/// exactly a URL. The result obeys [`check_url`].
pub fn endpoint_to_url(endpoint: &str, settings: &Settings) -> Result<String, String> {
    // Checked here first so that positions in the message count from the endpoint as sent.
    check_url_text(endpoint)?;
    let url = if let Some(rest) = strip_prefix_ignore_case(endpoint, "https://") {
        format!("https://{rest}")
    } else if let Some(rest) = strip_prefix_ignore_case(endpoint, "http://") {
        if !settings.allow_http {
            return Err("must use https".into());
        }
        format!("http://{rest}")
    } else if has_scheme(endpoint) {
        return Err("must be an https endpoint".into());
    } else {
        format!("https://{endpoint}")
    };
    check_url(&url, settings)?;
    Ok(url)
}

/// Starts with `scheme://` (RFC 3986 scheme syntax): `example.com/?next=https://x` does not.
fn has_scheme(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    })
}

/// The project web hook's view of a webhook URL (its `endpoint`): without its `https://` (any
/// case). An `http://` URL (local runs) keeps its scheme, so that it reads back as the endpoint
/// that was given.
pub fn url_to_endpoint(url: &str) -> &str {
    strip_prefix_ignore_case(url, "https://").unwrap_or(url)
}

// ---------------------------------------------------------------------------------------------
// Webhook fields (docs/api.md §4)

/// A webhook's `name`: 1 to 100 characters (not bytes), not blank, and nothing invisible or
/// controlling: no Cc, no Cf (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+FEFF, …), no
/// U+2028/U+2029, no noncharacters. The name is shown in lists and logs, where such
/// characters hide or reorder text.
pub fn check_name(name: &str) -> Result<(), String> {
    check_label(name, MAX_NAME_CHARS)
}

/// Why a header name may not be configured, if it may not (`lower` is lowercase).
fn refused_header(lower: &str) -> Option<&'static str> {
    match lower {
        "authorization" => Some("cannot be a custom header; set it with the write-only `authorization` field"),
        "host" | "content-length" | "content-type" | "content-encoding" => {
            Some("is set by Hookline and cannot be configured")
        }
        "connection"
        | "keep-alive"
        | "proxy-authenticate"
        | "proxy-authorization"
        | "proxy-connection"
        | "te"
        | "trailer"
        | "trailers"
        | "transfer-encoding"
        | "upgrade" => Some("is a hop-by-hop header and cannot be configured"),
        _ if lower.starts_with("webhook-") || lower.starts_with("x-webhook-") => {
            Some("is reserved for Hookline's signature headers (webhook-*, x-webhook-*)")
        }
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_header_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a header name must not be empty".into());
    }
    if name.len() > MAX_HEADER_NAME_LEN {
        return Err(format!("header name must be at most {MAX_HEADER_NAME_LEN} characters (got {})", name.len()));
    }
    if let Some((at, c)) = find_char(name, |c| !c.is_ascii() || !is_token_byte(c as u8)) {
        return Err(format!(
            "is not a valid header name: {} at character {at} is not allowed (use letters, digits and !#$%&'*+-.^_`|~)",
            code(c)
        ));
    }
    match refused_header(&name.to_ascii_lowercase()) {
        Some(why) => Err(why.into()),
        None => Ok(()),
    }
}

/// RFC 9110 field value: visible ASCII, spaces and tabs inside, at most 4096 bytes. A leading or
/// trailing space or tab is refused because receivers strip it, so it would not arrive.
fn header_value_problem(value: &str) -> Option<String> {
    if value.len() > MAX_HEADER_VALUE_LEN {
        return Some(format!("must be at most {MAX_HEADER_VALUE_LEN} characters (got {})", value.len()));
    }
    if let Some((at, c)) = find_char(value, |c| c != '\t' && !(' '..='~').contains(&c)) {
        return Some(match c {
            '\r' | '\n' => format!("must not contain line breaks ({} at character {at})", code(c)),
            _ => format!("must be printable ASCII ({} at character {at})", code(c)),
        });
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Some("must not start or end with spaces or tabs".into());
    }
    None
}

/// A webhook's custom `headers` (docs/api.md §4): at most 20; names are RFC 9110 tokens of at
/// most 256 bytes; values printable ASCII (and tabs) of at most 4096 bytes; no header Hookline
/// sets (`Host`, `Content-Length`, `Content-Type`, `Content-Encoding`, signatures: `webhook-*`,
/// `x-webhook-*`), no `Authorization` (the `authorization` field sets it), no hop-by-hop
/// header. Header names are case-insensitive, so two names that differ only in case would merge
/// into one when sent: the second (in the map's order) is reported, naming the first.
///
/// Fields: `headers` for the count and an empty name, `headers.<Name>` for one header.
pub fn check_headers(headers: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if headers.len() > MAX_HEADERS {
        errors.push(FieldError::new("headers", format!("at most {MAX_HEADERS} headers (got {})", headers.len())));
    }
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(headers.len());
    for (name, value) in headers {
        let field = if name.is_empty() { "headers".to_string() } else { format!("headers.{name}") };
        if let Err(m) = check_header_name(name) {
            errors.push(FieldError::new(field, m));
            continue;
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            errors.push(FieldError::new(
                field,
                format!("differs from `{first}` only in case; header names are case-insensitive, so keep one of them"),
            ));
            continue;
        }
        if let Some(m) = header_value_problem(value) {
            errors.push(FieldError::new(field, format!("value {m}")));
        }
    }
    errors
}

/// The write-only `authorization` value (the `Authorization` header sent, docs/api.md §4; the
/// web_hook API's `http_authorization_value`): 1 to 4096 printable ASCII characters, as any
/// header value.
pub fn check_authorization_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty (use null to remove it)".into());
    }
    header_value_problem(value).map_or(Ok(()), Err)
}

/// A webhook's `custom_parameters` (docs/api.md §4), added as top-level payload keys: at most
/// 50; keys follow the rules of names (1 to 100 characters, nothing invisible or controlling)
/// and may not be one of the payload's own keys ([`RESERVED_PAYLOAD_KEYS`]); values are at most
/// 1000 characters without control characters.
///
/// Fields: `custom_parameters` for the count and an empty key, `custom_parameters.<key>` otherwise.
pub fn check_custom_parameters(params: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if params.len() > MAX_CUSTOM_PARAMETERS {
        errors.push(FieldError::new(
            "custom_parameters",
            format!("at most {MAX_CUSTOM_PARAMETERS} parameters (got {})", params.len()),
        ));
    }
    for (key, value) in params {
        if key.is_empty() {
            errors.push(FieldError::new("custom_parameters", "a key must not be empty"));
            continue;
        }
        let field = format!("custom_parameters.{key}");
        if let Err(m) = check_label(key, MAX_PARAMETER_KEY_CHARS) {
            errors.push(FieldError::new(field, format!("key {m}")));
        } else if RESERVED_PAYLOAD_KEYS.contains(&key.as_str()) {
            errors.push(FieldError::new(field, format!("would override the payload's own `{key}` field")));
        } else if value.chars().count() > MAX_PARAMETER_VALUE_CHARS {
            errors.push(FieldError::new(
                field,
                format!("value must be at most {MAX_PARAMETER_VALUE_CHARS} characters (got {})", value.chars().count()),
            ));
        } else if let Some((at, c)) = find_char(value, char::is_control) {
            errors.push(FieldError::new(
                field,
                format!("value must not contain control characters ({} at character {at})", code(c)),
            ));
        }
    }
    errors
}

/// A signing secret supplied on create (docs/api.md §4): any 16 to 256 characters without control
/// characters. A `whsec_…` secret whose rest is not base64 is accepted too (docs/api.md §4 says any
/// string); it then signs with its UTF-8 bytes, like any secret without that form.
pub fn check_secret(secret: &str) -> Result<(), String> {
    let len = secret.chars().count();
    if len < MIN_SECRET_CHARS {
        return Err(format!("must be at least {MIN_SECRET_CHARS} characters (got {len})"));
    }
    if len > MAX_SECRET_CHARS {
        return Err(format!("must be at most {MAX_SECRET_CHARS} characters (got {len})"));
    }
    if let Some((at, c)) = find_char(secret, char::is_control) {
        return Err(format!("must not contain control characters ({} at character {at})", code(c)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Events (docs/api.md §5, §10, §11)

/// An event type (docs/api.md §5) or a catalogue name (§11): 1 to 128 characters of
/// `[A-Za-z0-9_.-]`. The rule itself is [`matching::is_valid_event_type`]; this explains a
/// refusal.
pub fn check_event_type(event_type: &str) -> Result<(), String> {
    if matching::is_valid_event_type(event_type) {
        return Ok(());
    }
    if event_type.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some((at, c)) = find_char(event_type, |c| !c.is_ascii_alphanumeric() && !matches!(c, '_' | '.' | '-')) {
        return Err(format!("may only contain letters, digits, `_`, `.` and `-` ({} at character {at})", code(c)));
    }
    Err(format!("must be at most 128 characters (got {})", event_type.len()))
}

/// A webhook's `event_types` (docs/api.md §4): at most 100 entries, each an event type, `*`, or
/// a prefix wildcard `prefix.*` ([`matching::is_valid_pattern`]). Field: `event_types`.
pub fn check_event_type_patterns(patterns: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if patterns.len() > MAX_EVENT_TYPES {
        errors.push(FieldError::new(
            "event_types",
            format!("at most {MAX_EVENT_TYPES} entries (got {})", patterns.len()),
        ));
    }
    for p in patterns.iter().filter(|p| !matching::is_valid_pattern(p)) {
        errors.push(FieldError::new("event_types", format!("`{p}` is not an event type or a `prefix.*` pattern")));
    }
    errors
}

/// A catalogue entry's `description` (docs/api.md §11): at most 1000 characters; line breaks
/// and tabs are allowed, other control characters are not.
pub fn check_description(text: &str) -> Result<(), String> {
    let len = text.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        return Err(format!("must be at most {MAX_DESCRIPTION_CHARS} characters (got {len})"));
    }
    if let Some((at, c)) = find_char(text, |c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(format!("must not contain control characters ({} at character {at})", code(c)));
    }
    Ok(())
}

/// An `Idempotency-Key` header (docs/api.md §5) or batch `idempotency_key` (§10): 1 to 255
/// printable ASCII characters (0x20–0x7E), spaces allowed inside but not at either end.
///
/// Why no edge spaces: HTTP strips them from header values, so `" k"` could be sent in a
/// batch entry but would arrive as `"k"` in a header; refusing them keeps one key space for
/// both, as docs/api.md §10 promises.
pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some((at, c)) = find_char(key, |c| !(' '..='~').contains(&c)) {
        return Err(format!("must be printable ASCII ({} at character {at})", code(c)));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(format!("must be at most {MAX_IDEMPOTENCY_KEY_LEN} characters (got {})", key.len()));
    }
    if key.starts_with(' ') || key.ends_with(' ') {
        return Err("must not start or end with a space".into());
    }
    Ok(())
}

/// [`check_idempotency_key`] for a raw header value, which may hold bytes that are not
/// UTF-8: such a key is refused (400), never treated as absent.
pub fn idempotency_key_from_header(value: &[u8]) -> Result<&str, String> {
    let key = std::str::from_utf8(value).map_err(|_| "must be printable ASCII".to_string())?;
    check_idempotency_key(key)?;
    Ok(key)
}

/// An event's `session_id` (docs/api.md §5): 1 to 256 characters without control characters.
/// §15's `ordering_key`: 1–128 printable ASCII characters.
pub fn check_ordering_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err("must be 1 to 128 printable ASCII characters".into());
    }
    Ok(())
}

pub fn check_session_id(session_id: &str) -> Result<(), String> {
    check_plain(session_id, MAX_SESSION_ID_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https_only() -> Settings {
        Settings::default()
    }

    fn local() -> Settings {
        Settings { allow_http: true, allow_private_destinations: true, ..Settings::default() }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// `https://e.com/` followed by a path that makes the whole URL exactly `len` bytes.
    fn url_of_len(len: usize) -> String {
        let head = "https://e.com/";
        format!("{head}{}", "a".repeat(len - head.len()))
    }

    #[test]
    fn accepts_ordinary_urls() {
        let s = https_only();
        for url in [
            "https://example.com",
            "https://example.com/hook?k={VerificationKey}",
            "https://{VerificationKey}.example.com/x",
            "HTTPS://Example.com/Path",
            "https://example.com:1/x",
            "https://example.com:65535/x",
            "https://example.com:443/x",
            "https://[2606:4700:4700::1111]:8443/x",
            "https://93.184.216.34/x",
            "https://bücher.example/straße",
            "https://example.com/a%20b?q=a+b&r=%0A",
        ] {
            assert_eq!(check_url(url, &s), Ok(()), "{url}");
        }
    }

    #[test]
    fn refuses_what_the_probe_found_and_keeps_the_old_messages() {
        let s = https_only();
        for (url, why) in [
            ("http://example.com", "must use https"),
            ("ftp://example.com", "must be an https:// URL"),
            ("javascript:alert(1)", "must be an https:// URL"),
            ("https://user:pw@example.com", "must not contain user information"),
            ("https://:@example.com/", "must not contain user information"),
            ("https://@example.com/", "must not contain user information"),
            ("https://user@example.com/", "must not contain user information"),
            ("example.com/hook", "must be an absolute URL"),
            ("", "must be an absolute URL"),
            ("https://127.0.0.1/x", "destination not allowed"),
            ("https://[::1]/x", "destination not allowed"),
            ("https://169.254.169.254/latest", "destination not allowed"),
            ("https://0x7f.1/x", "destination not allowed"),
            ("https://2130706433/x", "destination not allowed"),
            ("https://[::ffff:10.0.0.1]/x", "destination not allowed"),
            ("https://example.com/x#frag", "must not contain a fragment"),
            ("https://example.com/x#", "must not contain a fragment"),
            ("https://example.com:0/x", "port must be a number from 1 to 65535"),
            ("https://example.com:00/x", "port must be a number from 1 to 65535"),
            ("https://example.com:65536/x", "port must be a number from 1 to 65535"),
            ("https://example.com:/x", "port must be a number from 1 to 65535"),
            ("https://[2606:4700::1]:/x", "port must be a number from 1 to 65535"),
            ("https:///example.com/x", "must have a host"),
            ("https://", "must have a host"),
            ("https:example.com/x", "must be an absolute URL starting with https://"),
            ("https:/example.com/x", "must be an absolute URL starting with https://"),
        ] {
            assert_eq!(check_url(url, &s), Err(why.to_string()), "{url:?}");
        }
    }

    #[test]
    fn refuses_whitespace_controls_invisible_characters_and_backslashes_before_parsing() {
        let s = https_only();
        for (url, found) in [
            ("https://example.com/a b", "U+0020 at character 22"),
            ("https://exa\r\nmple.com/", "U+000D at character 12"),
            ("https://example.com/x\n", "U+000A at character 22"),
            ("\thttps://example.com/", "U+0009 at character 1"),
            (" https://example.com/", "U+0020 at character 1"),
            ("https://example.com/\u{0}", "U+0000 at character 21"),
            ("https://example.com/\u{a0}", "U+00A0 at character 21"),
            ("https://exam\u{ad}ple.com/", "U+00AD at character 13"),
            ("https://example.com/\u{202e}", "U+202E at character 21"),
            ("https://example.com/\u{200b}", "U+200B at character 21"),
        ] {
            let err = check_url(url, &s).unwrap_err();
            assert!(err.starts_with("must not contain spaces, control or invisible characters"), "{url:?}: {err}");
            assert!(err.contains(found), "{url:?}: {err}");
        }
        assert_eq!(
            check_url("https://example.com\\@evil.com/", &s),
            Err("must not contain backslashes (at character 20); use / or %5C".into())
        );
    }

    #[test]
    fn http_only_where_the_deployment_allows_it() {
        assert_eq!(check_url("http://example.com/x", &https_only()), Err("must use https".into()));
        assert_eq!(check_url("http://127.0.0.1:8080/x", &local()), Ok(()));
        let http_public_only = Settings { allow_http: true, ..Settings::default() };
        assert_eq!(check_url("http://10.0.0.1/x", &http_public_only), Err("destination not allowed".into()));
        assert_eq!(
            check_url("http:example.com", &local()),
            Err("must be an absolute URL starting with http://".into())
        );
    }

    #[test]
    fn length_as_given_at_the_boundary() {
        let s = https_only();
        assert_eq!(check_url(&url_of_len(2048), &s), Ok(()));
        assert_eq!(check_url(&url_of_len(2049), &s), Err("must be at most 2048 characters (got 2049)".into()));
    }

    #[test]
    fn length_once_the_verification_key_is_substituted() {
        let s = https_only();
        let placeholder = VERIFICATION_KEY_PLACEHOLDER.len();
        let grows = VERIFICATION_KEY_LEN - placeholder;
        // The probe: 118 placeholders fit in 2048 bytes as given but expand to ~3.8 kB.
        let probe = format!("https://e.com/?{}", "{VerificationKey}".repeat(118));
        assert!(probe.len() <= MAX_URL_LEN);
        let err = check_url(&probe, &s).unwrap_err();
        assert!(err.contains("once each {VerificationKey} is replaced by the 32-character key"), "{err}");
        assert!(err.contains(&format!("it would be {}", probe.len() + 118 * grows)), "{err}");
        // Exactly 2048 once expanded passes; one more byte does not.
        let fits = format!("{}{VERIFICATION_KEY_PLACEHOLDER}", url_of_len(2048 - VERIFICATION_KEY_LEN));
        assert_eq!(check_url(&fits, &s), Ok(()));
        let over = format!("{}{VERIFICATION_KEY_PLACEHOLDER}", url_of_len(2049 - VERIFICATION_KEY_LEN));
        assert!(check_url(&over, &s).unwrap_err().contains("it would be 2049"));
    }

    #[test]
    fn length_once_encoded() {
        // 1000 two-byte characters: 2014 bytes as given, each percent-encoded to 6 bytes when sent.
        let url = format!("https://e.com/{}", "é".repeat(1000));
        assert!(url.len() <= MAX_URL_LEN);
        let err = check_url(&url, &https_only()).unwrap_err();
        assert!(err.starts_with("must be at most 2048 characters once encoded"), "{err}");
    }

    #[test]
    fn endpoint_becomes_an_https_url() {
        let s = https_only();
        assert_eq!(endpoint_to_url("example.com/web_hook", &s).unwrap(), "https://example.com/web_hook");
        assert_eq!(endpoint_to_url("https://example.com/w", &s).unwrap(), "https://example.com/w");
        assert_eq!(endpoint_to_url("HTTPS://example.com/w", &s).unwrap(), "https://example.com/w");
        assert_eq!(
            endpoint_to_url("example.com/?next=https://other.example", &s).unwrap(),
            "https://example.com/?next=https://other.example"
        );
        assert_eq!(endpoint_to_url("http://example.com/w", &s), Err("must use https".into()));
        assert_eq!(endpoint_to_url("ftp://example.com/w", &s), Err("must be an https endpoint".into()));
        assert_eq!(endpoint_to_url("http://127.0.0.1:9/w", &local()).unwrap(), "http://127.0.0.1:9/w");
    }

    #[test]
    fn endpoint_is_tightened_like_urls() {
        let s = https_only();
        for (endpoint, why) in [
            ("example.com:0/w", "port must be a number from 1 to 65535"),
            (":@example.com/w", "must not contain user information"),
            ("user@example.com/w", "must not contain user information"),
            ("example.com/w#x", "must not contain a fragment"),
            ("127.0.0.1/w", "destination not allowed"),
            ("", "must have a host"),
            ("/w", "must have a host"),
        ] {
            assert_eq!(endpoint_to_url(endpoint, &s), Err(why.to_string()), "{endpoint:?}");
        }
        // Not trimmed: the position counts from the endpoint as sent.
        assert_eq!(
            endpoint_to_url(" example.com/w", &s),
            Err("must not contain spaces, control or invisible characters (U+0020 at character 1)".into())
        );
        assert!(endpoint_to_url("example.com/w\r\n", &s).unwrap_err().contains("U+000D at character 14"));
    }

    #[test]
    fn url_reads_back_as_the_endpoint() {
        assert_eq!(url_to_endpoint("https://example.com/web_hook"), "example.com/web_hook");
        assert_eq!(url_to_endpoint("HTTPS://example.com/w"), "example.com/w");
        assert_eq!(url_to_endpoint("http://127.0.0.1:9/w"), "http://127.0.0.1:9/w");
        let s = local();
        for endpoint in ["example.com/w", "http://127.0.0.1:9/w"] {
            assert_eq!(url_to_endpoint(&endpoint_to_url(endpoint, &s).unwrap()), endpoint);
        }
    }

    #[test]
    fn names() {
        for ok in ["CRM", "é", "Ünïcödé 名前 🚀", "a b", &"x".repeat(100), &"é".repeat(100)] {
            assert_eq!(check_name(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check_name(""), Err("must not be empty".into()));
        assert_eq!(check_name("   "), Err("must not be blank".into()));
        assert_eq!(check_name("\u{3000}"), Err("must not be blank".into()));
        assert_eq!(check_name(&"x".repeat(101)), Err("must be at most 100 characters (got 101)".into()));
        assert_eq!(check_name(&"é".repeat(101)), Err("must be at most 100 characters (got 101)".into()));
        for (name, c) in [
            ("a\u{0}b", "U+0000 at character 2"),
            ("bell\u{7}", "U+0007 at character 5"),
            ("tab\tname", "U+0009 at character 4"),
            ("line\nbreak", "U+000A at character 5"),
            ("\u{85}", "U+0085 at character 1"),
            ("evil\u{202e}gnp.exe", "U+202E at character 5"),
            ("\u{202a}x", "U+202A"),
            ("x\u{2066}y\u{2069}", "U+2066"),
            ("zero\u{200b}width", "U+200B"),
            ("rtl\u{200f}", "U+200F"),
            ("\u{feff}bom", "U+FEFF"),
            ("soft\u{ad}hyphen", "U+00AD"),
            ("tag\u{e0041}", "U+E0041"),
            ("a\u{2028}b", "U+2028"),
            ("a\u{2029}b", "U+2029"),
            ("a\u{fffe}", "U+FFFE"),
            ("a\u{ffff}", "U+FFFF"),
            ("a\u{fdd0}", "U+FDD0"),
            ("a\u{10ffff}", "U+10FFFF"),
        ] {
            let err = check_name(name).unwrap_err();
            assert!(err.starts_with("must not contain control or invisible characters"), "{name:?}: {err}");
            assert!(err.contains(c), "{name:?}: {err}");
        }
    }

    #[test]
    fn header_count_boundary() {
        let h = |n: usize| (0..n).map(|i| (format!("X-H{i}"), "v".to_string())).collect::<BTreeMap<_, _>>();
        assert_eq!(check_headers(&h(20)), vec![]);
        assert_eq!(check_headers(&h(21)), vec![FieldError::new("headers", "at most 20 headers (got 21)")]);
    }

    #[test]
    fn refused_header_names_case_insensitively() {
        for name in [
            "Authorization",
            "authorization",
            "Host",
            "Content-Length",
            "content-type",
            "Content-Encoding",
            "Connection",
            "Keep-Alive",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "Proxy-Connection",
            "TE",
            "Trailer",
            "Trailers",
            "Transfer-Encoding",
            "UPGRADE",
            "webhook-id",
            "Webhook-Signature",
            "X-Webhook-Signature",
            "x-webhook-anything",
        ] {
            let errors = check_headers(&map(&[(name, "v")]));
            assert_eq!(fields(&errors), vec![format!("headers.{name}")], "{name}");
        }
        let auth = check_headers(&map(&[("Authorization", "Bearer x")]));
        assert!(auth[0].message.contains("write-only `authorization` field"), "{}", auth[0].message);
        assert!(check_headers(&map(&[("Transfer-Encoding", "chunked")]))[0].message.contains("hop-by-hop"));
        assert!(check_headers(&map(&[("webhook-id", "x")]))[0].message.contains("signature"));
        // Names that merely contain a refused word are fine.
        assert_eq!(
            check_headers(&map(&[("X-Authorization-Hint", "v"), ("X-Webhooks", "v"), ("Hosting", "v")])),
            vec![]
        );
    }

    #[test]
    fn header_names_differing_only_in_case_are_refused() {
        let errors = check_headers(&map(&[("X-A", "1"), ("x-a", "2")]));
        assert_eq!(
            errors,
            vec![FieldError::new(
                "headers.x-a",
                "differs from `X-A` only in case; header names are case-insensitive, so keep one of them"
            )]
        );
        assert_eq!(
            fields(&check_headers(&map(&[("X-A", "1"), ("X-a", "2"), ("x-A", "3")]))),
            vec!["headers.X-a", "headers.x-A"]
        );
    }

    #[test]
    fn header_names_must_be_tokens_of_at_most_256_bytes() {
        assert_eq!(check_headers(&map(&[(&"X".repeat(256), "v")])), vec![]);
        let long = "X".repeat(257);
        assert_eq!(
            check_headers(&map(&[(&long, "v")]))[0].message,
            "header name must be at most 256 characters (got 257)"
        );
        assert_eq!(
            check_headers(&map(&[("", "v")])),
            vec![FieldError::new("headers", "a header name must not be empty")]
        );
        for (name, c) in
            [("Bad Name", "U+0020"), ("X:A", "U+003A"), ("X\r\nInjected", "U+000D"), ("Xé", "U+00E9"), ("X(", "U+0028")]
        {
            let errors = check_headers(&map(&[(name, "v")]));
            assert_eq!(fields(&errors), vec![format!("headers.{name}")]);
            assert!(errors[0].message.starts_with("is not a valid header name") && errors[0].message.contains(c));
        }
        assert_eq!(check_headers(&map(&[("X-Odd!#$%&'*+.^_`|~9", "v")])), vec![]);
    }

    #[test]
    fn header_values_are_printable_ascii_of_at_most_4096_bytes() {
        let ok = "v".repeat(4096);
        assert_eq!(check_headers(&map(&[("X-A", &ok), ("X-B", ""), ("X-C", "a\tb c")])), vec![]);
        let long = "v".repeat(4097);
        for (value, message) in [
            (long.as_str(), "value must be at most 4096 characters (got 4097)"),
            ("a\r\nX-Injected: 1", "value must not contain line breaks (U+000D at character 2)"),
            ("a\nb", "value must not contain line breaks (U+000A at character 2)"),
            ("caf\u{e9}", "value must be printable ASCII (U+00E9 at character 4)"),
            ("a\u{0}", "value must be printable ASCII (U+0000 at character 2)"),
            ("a\u{7f}", "value must be printable ASCII (U+007F at character 2)"),
            (" padded", "value must not start or end with spaces or tabs"),
            ("padded\t", "value must not start or end with spaces or tabs"),
        ] {
            assert_eq!(
                check_headers(&map(&[("X-A", value)])),
                vec![FieldError::new("headers.X-A", message)],
                "{value:?}"
            );
        }
    }

    #[test]
    fn every_bad_header_is_reported() {
        let errors = check_headers(&map(&[
            ("Authorization", "x"),
            ("Content-Encoding", "gzip"),
            ("X-A", "1"),
            ("x-a", "2"),
            ("X-Ok", "fine"),
            ("X-Bad", "é"),
        ]));
        assert_eq!(
            fields(&errors),
            vec!["headers.Authorization", "headers.Content-Encoding", "headers.X-Bad", "headers.x-a"]
        );
    }

    #[test]
    fn authorization_values() {
        assert_eq!(check_authorization_value("Bearer abc"), Ok(()));
        assert_eq!(check_authorization_value(&"a".repeat(4096)), Ok(()));
        assert_eq!(check_authorization_value(""), Err("must not be empty (use null to remove it)".into()));
        assert_eq!(
            check_authorization_value(&"a".repeat(4097)),
            Err("must be at most 4096 characters (got 4097)".into())
        );
        assert_eq!(
            check_authorization_value("Bearer x\r\nX-Evil: 1"),
            Err("must not contain line breaks (U+000D at character 9)".into())
        );
        assert_eq!(
            check_authorization_value("Bearer é"),
            Err("must be printable ASCII (U+00E9 at character 8)".into())
        );
        assert_eq!(check_authorization_value("Bearer x "), Err("must not start or end with spaces or tabs".into()));
    }

    #[test]
    fn custom_parameters() {
        assert_eq!(check_custom_parameters(&map(&[("region", "eu"), ("名前", "値"), ("k", "")])), vec![]);
        let count = |n: usize| (0..n).map(|i| (format!("p{i}"), "v".to_string())).collect::<BTreeMap<_, _>>();
        assert_eq!(check_custom_parameters(&count(50)), vec![]);
        assert_eq!(
            check_custom_parameters(&count(51)),
            vec![FieldError::new("custom_parameters", "at most 50 parameters (got 51)")]
        );
        for key in RESERVED_PAYLOAD_KEYS {
            let errors = check_custom_parameters(&map(&[(key, "x")]));
            assert_eq!(
                errors,
                vec![FieldError::new(
                    format!("custom_parameters.{key}"),
                    format!("would override the payload's own `{key}` field")
                )]
            );
        }
        // JSON keys are case-sensitive: `Event` does not collide with `event`.
        assert_eq!(check_custom_parameters(&map(&[("Event", "x")])), vec![]);
        let k100 = "k".repeat(100);
        let k101 = "k".repeat(101);
        let v1000 = "é".repeat(1000);
        let v1001 = "é".repeat(1001);
        assert_eq!(check_custom_parameters(&map(&[(&k100, &v1000)])), vec![]);
        for (key, value, message) in [
            ("", "v", "a key must not be empty"),
            (k101.as_str(), "v", "key must be at most 100 characters (got 101)"),
            ("a\u{202e}b", "v", "key must not contain control or invisible characters (U+202E at character 2)"),
            (" ", "v", "key must not be blank"),
            ("k", v1001.as_str(), "value must be at most 1000 characters (got 1001)"),
            ("k", "a\nb", "value must not contain control characters (U+000A at character 2)"),
        ] {
            let field =
                if key.is_empty() { "custom_parameters".to_string() } else { format!("custom_parameters.{key}") };
            assert_eq!(
                check_custom_parameters(&map(&[(key, value)])),
                vec![FieldError::new(field, message)],
                "{key:?}"
            );
        }
    }

    #[test]
    fn secrets() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;

        let whsec_24 = format!("whsec_{}", STANDARD.encode([7u8; 24]));
        let whsec_64 = format!("whsec_{}", STANDARD.encode([7u8; 64]));
        for ok in ["0123456789abcdef", &"s".repeat(256), "my own secret ünïcode", &whsec_24, &whsec_64] {
            assert_eq!(check_secret(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check_secret("short"), Err("must be at least 16 characters (got 5)".into()));
        assert_eq!(check_secret(&"s".repeat(15)), Err("must be at least 16 characters (got 15)".into()));
        assert_eq!(check_secret(&"s".repeat(257)), Err("must be at most 256 characters (got 257)".into()));
        assert_eq!(
            check_secret("0123456789abcdef\n"),
            Err("must not contain control characters (U+000A at character 17)".into())
        );
        // docs/api.md §4: any string of 16–256 characters, also one that only looks like the
        // generated form.
        for odd in [
            "whsec_this is not base64!!".to_string(),
            format!("whsec_{}", STANDARD.encode([7u8; 23])),
            format!("whsec_{}", STANDARD.encode([7u8; 65])),
        ] {
            assert_eq!(check_secret(&odd), Ok(()), "{odd}");
        }
    }

    #[test]
    fn event_types() {
        assert_eq!(check_event_type("submission.completed"), Ok(()));
        assert_eq!(check_event_type("A-b_c.9"), Ok(()));
        assert_eq!(check_event_type(&"a".repeat(128)), Ok(()));
        assert_eq!(check_event_type(""), Err("must not be empty".into()));
        assert_eq!(check_event_type(&"a".repeat(129)), Err("must be at most 128 characters (got 129)".into()));
        assert_eq!(
            check_event_type("has space"),
            Err("may only contain letters, digits, `_`, `.` and `-` (U+0020 at character 4)".into())
        );
        assert_eq!(
            check_event_type("submission.*"),
            Err("may only contain letters, digits, `_`, `.` and `-` (U+002A at character 12)".into())
        );
    }

    #[test]
    fn event_type_patterns() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(check_event_type_patterns(&p(&["*", "submission.*", "aml.match.found"])), vec![]);
        assert_eq!(
            check_event_type_patterns(&p(&["sub*", "ok"])),
            vec![FieldError::new("event_types", "`sub*` is not an event type or a `prefix.*` pattern")]
        );
        let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
        assert_eq!(check_event_type_patterns(&many[..100]), vec![]);
        assert_eq!(
            check_event_type_patterns(&many),
            vec![FieldError::new("event_types", "at most 100 entries (got 101)")]
        );
    }

    #[test]
    fn descriptions() {
        assert_eq!(check_description(""), Ok(()));
        assert_eq!(check_description("Line one\nline two\twith a tab"), Ok(()));
        assert_eq!(check_description(&"d".repeat(1000)), Ok(()));
        assert_eq!(check_description(&"d".repeat(1001)), Err("must be at most 1000 characters (got 1001)".into()));
        assert_eq!(
            check_description("a\u{7}"),
            Err("must not contain control characters (U+0007 at character 2)".into())
        );
    }

    #[test]
    fn idempotency_keys() {
        for ok in ["k", "order-123", "a key with spaces", "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", &"k".repeat(255)] {
            assert_eq!(check_idempotency_key(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check_idempotency_key(""), Err("must not be empty".into()));
        assert_eq!(check_idempotency_key(&"k".repeat(256)), Err("must be at most 255 characters (got 256)".into()));
        assert_eq!(check_idempotency_key("clé"), Err("must be printable ASCII (U+00E9 at character 3)".into()));
        assert_eq!(check_idempotency_key("a\tb"), Err("must be printable ASCII (U+0009 at character 2)".into()));
        assert_eq!(check_idempotency_key("k\u{7f}"), Err("must be printable ASCII (U+007F at character 2)".into()));
        assert_eq!(check_idempotency_key(" k"), Err("must not start or end with a space".into()));
        assert_eq!(check_idempotency_key("k "), Err("must not start or end with a space".into()));
    }

    #[test]
    fn idempotency_keys_from_raw_header_bytes() {
        assert_eq!(idempotency_key_from_header(b"order-123"), Ok("order-123"));
        assert_eq!(idempotency_key_from_header(b"caf\xe9"), Err("must be printable ASCII".into()));
        assert_eq!(
            idempotency_key_from_header("café".as_bytes()),
            Err("must be printable ASCII (U+00E9 at character 4)".into())
        );
        assert_eq!(idempotency_key_from_header(b""), Err("must not be empty".into()));
    }

    #[test]
    fn session_ids() {
        assert_eq!(check_session_id("sess_1"), Ok(()));
        assert_eq!(check_session_id(&"é".repeat(256)), Ok(()));
        assert_eq!(check_session_id(""), Err("must not be empty".into()));
        assert_eq!(check_session_id(&"é".repeat(257)), Err("must be at most 256 characters (got 257)".into()));
        assert_eq!(
            check_session_id("a\u{0}"),
            Err("must not contain control characters (U+0000 at character 2)".into())
        );
    }
}
