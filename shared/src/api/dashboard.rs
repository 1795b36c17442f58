//! The dashboard's files (docs/api.md §13), compiled into the binary (no bucket, no CDN), served
//! with a strict Content-Security-Policy.

use rust_embed::Embed;

use crate::api::edge::Cx;
use crate::api::respond::Asset;
use crate::config::Settings;
use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../dashboard/"]
#[exclude = "*.md"]
struct Files;

/// The headers every dashboard answer carries: scripts and styles only from the
/// dashboard itself, framable only by the configured origins, no referrer.
pub fn security_headers(settings: &Settings) -> Vec<(&'static str, String)> {
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
        settings.portal_frame_ancestors
    );
    let mut headers = vec![
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff".into()),
        ("referrer-policy", "no-referrer".into()),
        ("cache-control", "no-cache".into()),
    ];
    if let Some(xfo) = frame_options(&settings.portal_frame_ancestors) {
        headers.push(("x-frame-options", xfo.into()));
    }
    headers
}

/// `X-Frame-Options` for browsers that predate `frame-ancestors`, when it can say the
/// same thing: `'self'` alone is `SAMEORIGIN`, `'none'` alone is `DENY`. XFO cannot name
/// other origins, so for any other list it is left out and the CSP alone governs (a
/// browser that knows `frame-ancestors` ignores XFO anyway; an old one must not block an
/// embedder the list allows).
fn frame_options(ancestors: &str) -> Option<&'static str> {
    let mut sources: Vec<&str> = ancestors.split_ascii_whitespace().collect();
    sources.sort_unstable();
    sources.dedup();
    match sources.as_slice() {
        ["'self'"] => Some("SAMEORIGIN"),
        ["'none'"] => Some("DENY"),
        _ => None,
    }
}

/// The path of a redirect to `path` on this origin. A path starting `//` or `/\` would be
/// read by a browser as another host (`//evil.example/dashboard`), so backslashes become
/// slashes and runs of slashes collapse to one.
fn local_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for c in path.chars().map(|c| if c == '\\' { '/' } else { c }) {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn asset(settings: &Settings, name: &str) -> Option<Asset> {
    let file = Files::get(name)?;
    let body: &'static [u8] = match file.data {
        std::borrow::Cow::Borrowed(b) => b,
        // Embedded files are static; an owned copy only happens in debug builds reading
        // from disk, which `debug-embed` rules out.
        std::borrow::Cow::Owned(v) => Box::leak(v.into_boxed_slice()),
    };
    Some(Asset { content_type: content_type(name), body, headers: security_headers(settings), redirect: None })
}

/// `/dashboard/`: the page; `/dashboard` (no slash) redirects, so relative URLs work.
pub fn index(cx: &Cx<'_>) -> Asset {
    let path = cx.path();
    if !path.ends_with('/') {
        return Asset {
            content_type: "text/plain",
            body: b"",
            headers: security_headers(&cx.app.settings),
            redirect: Some(format!("{}/", local_path(path))),
        };
    }
    asset(&cx.app.settings, "index.html").unwrap_or_else(|| Asset {
        content_type: "text/plain",
        body: b"dashboard missing",
        headers: security_headers(&cx.app.settings),
        redirect: None,
    })
}

pub fn file(cx: &Cx<'_>) -> Result<Asset, ApiError> {
    asset(&cx.app.settings, cx.file_name()).ok_or_else(|| ApiError::not_found("file"))
}

/// A file of `vendor/` (the libraries the dashboard imports).
pub fn vendor_file(cx: &Cx<'_>) -> Result<Asset, ApiError> {
    asset(&cx.app.settings, &format!("vendor/{}", cx.file_name())).ok_or_else(|| ApiError::not_found("file"))
}

/// Every file of the dashboard and its size, for the README and tests.
pub fn files() -> Vec<(String, usize)> {
    Files::iter()
        .map(|name| {
            let size = Files::get(&name).map_or(0, |f| f.data.len());
            (name.into_owned(), size)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_origin() {
        assert_eq!(local_path("/dashboard"), "/dashboard");
        assert_eq!(local_path("/prod/dashboard"), "/prod/dashboard");
        assert_eq!(local_path("//evil.example/dashboard"), "/evil.example/dashboard");
        assert_eq!(local_path("/\\evil.example/dashboard"), "/evil.example/dashboard");
        assert_eq!(local_path("\\\\evil.example//x\\dashboard"), "/evil.example/x/dashboard");
        assert_eq!(local_path(""), "/");
    }

    #[test]
    fn frame_options_follow_frame_ancestors() {
        assert_eq!(frame_options("'self'"), Some("SAMEORIGIN"));
        assert_eq!(frame_options(" 'self'  'self' "), Some("SAMEORIGIN"));
        assert_eq!(frame_options("'none'"), Some("DENY"));
        assert_eq!(frame_options("'self' https://app.example.com"), None);
        assert_eq!(frame_options("https://app.example.com"), None);
    }
}
