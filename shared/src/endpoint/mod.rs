//! How Hookline authenticates to a webhook's receiver besides the signatures (docs/api.md §17):
//! `auth` (OAuth 2.0 client credentials or Basic) and `tls` (a client certificate, private roots).

pub mod oauth;
pub mod tls;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::field::ObjectFields;
use crate::config::Settings;
use crate::error::FieldError;

pub use tls::{TlsConfig, TlsView};

/// `auth` as stored: secrets included (they never leave the store; `AuthView` is what is shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EndpointAuth {
    /// RFC 6749 §4.4: a bearer token from `token_url`, the client authenticated with HTTP Basic.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
}

/// `auth` as responses show it: no secret, only that one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AuthView {
    Oauth2 {
        token_url: String,
        client_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
        secret_set: bool,
    },
    Basic {
        username: String,
        secret_set: bool,
    },
}

impl From<&EndpointAuth> for AuthView {
    fn from(a: &EndpointAuth) -> AuthView {
        match a {
            EndpointAuth::Oauth2 { token_url, client_id, client_secret, scope, audience } => AuthView::Oauth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                scope: scope.clone(),
                audience: audience.clone(),
                secret_set: !client_secret.is_empty(),
            },
            EndpointAuth::Basic { username, password } => {
                AuthView::Basic { username: username.clone(), secret_set: !password.is_empty() }
            }
        }
    }
}

/// An `auth` as a request gives it. The write-only secret may be left out of a `PATCH` that
/// keeps the type: the stored one stays (so a form can change the scope without retyping it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInput {
    /// With an empty secret when none was given.
    pub auth: EndpointAuth,
}

impl AuthInput {
    /// The auth to store, given what is stored now: a missing secret is the stored one's
    /// when the type is the same.
    pub fn merge(self, stored: Option<&EndpointAuth>) -> EndpointAuth {
        match (self.auth, stored) {
            (
                EndpointAuth::Oauth2 { token_url, client_id, client_secret, scope, audience },
                Some(EndpointAuth::Oauth2 { client_secret: kept, .. }),
            ) if client_secret.is_empty() => {
                EndpointAuth::Oauth2 { token_url, client_id, client_secret: kept.clone(), scope, audience }
            }
            (EndpointAuth::Basic { username, password }, Some(EndpointAuth::Basic { password: kept, .. }))
                if password.is_empty() =>
            {
                EndpointAuth::Basic { username, password: kept.clone() }
            }
            (auth, _) => auth,
        }
    }
}

const MAX_SECRET: usize = 1024;
const MAX_TEXT: usize = 256;

fn text(max: usize) -> impl Fn(&str) -> Result<(), String> {
    move |s: &str| {
        if s.is_empty() {
            Err("must not be empty".into())
        } else if s.chars().count() > max {
            Err(format!("must be at most {max} characters"))
        } else if s.chars().any(char::is_control) {
            Err("must not contain control characters".into())
        } else {
            Ok(())
        }
    }
}

/// Checks an `auth` object: its type, its fields (every problem at once, as `auth/<field>`),
/// `token_url` by the rules of a webhook URL. The secret is required unless `secret_optional`
/// (a `PATCH`, where the stored one may stay; `check_complete` then checks the result).
pub fn parse_auth(v: &Value, settings: &Settings, secret_optional: bool) -> Result<AuthInput, Vec<(String, String)>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![("auth".into(), "must be an object or null".into())]);
    };
    let mut errors = Vec::new();
    let mut f = ObjectFields { object: "auth", obj, errors: &mut errors };
    let kind = f.get("type", true, |t| match t {
        "oauth2" | "basic" => Ok(()),
        _ => Err("must be \"oauth2\" or \"basic\"".into()),
    });
    let auth = match kind.as_deref() {
        Some("oauth2") => {
            f.only(&["type", "token_url", "client_id", "client_secret", "scope", "audience"], &["secret_set"]);
            let token_url = f.get("token_url", true, |u| crate::rules::check_url(u, settings));
            let client_id = f.get("client_id", true, text(MAX_TEXT));
            let client_secret = f.get("client_secret", !secret_optional, text(MAX_SECRET));
            let scope = f.get("scope", false, text(1000));
            let audience = f.get("audience", false, text(1000));
            EndpointAuth::Oauth2 {
                token_url: token_url.unwrap_or_default(),
                client_id: client_id.unwrap_or_default(),
                client_secret: client_secret.unwrap_or_default(),
                scope,
                audience,
            }
        }
        Some(_) => {
            f.only(&["type", "username", "password"], &["secret_set"]);
            // RFC 7617: the user-id cannot contain a colon.
            let username = f.get("username", true, |u| {
                text(MAX_TEXT)(u)?;
                if u.contains(':') {
                    return Err("must not contain a colon".into());
                }
                Ok(())
            });
            let password = f.get("password", !secret_optional, text(MAX_SECRET));
            EndpointAuth::Basic { username: username.unwrap_or_default(), password: password.unwrap_or_default() }
        }
        None => return Err(errors),
    };
    if errors.is_empty() {
        Ok(AuthInput { auth })
    } else {
        Err(errors)
    }
}

/// A stored auth after a change: its secret must be there (a `PATCH` that switched the type
/// without giving one leaves none).
pub fn check_auth_complete(auth: &EndpointAuth) -> Option<FieldError> {
    match auth {
        EndpointAuth::Oauth2 { client_secret, .. } if client_secret.is_empty() => {
            Some(FieldError::new("auth/client_secret", "is required"))
        }
        EndpointAuth::Basic { password, .. } if password.is_empty() => {
            Some(FieldError::new("auth/password", "is required"))
        }
        _ => None,
    }
}

/// The `Authorization` value of Basic auth (RFC 7617).
pub fn basic_header(username: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Settings {
        Settings { allow_http: true, ..Settings::default() }
    }

    fn fields(v: Value, optional: bool) -> Vec<String> {
        parse_auth(&v, &settings(), optional).expect_err("refused").into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn accepts_both_types() {
        let a = parse_auth(
            &json!({"type": "oauth2", "token_url": "https://idp.example/token", "client_id": "c", "client_secret": "s",
                    "scope": "hooks:write"}),
            &settings(),
            false,
        )
        .unwrap();
        assert!(matches!(a.auth, EndpointAuth::Oauth2 { ref scope, .. } if scope.as_deref() == Some("hooks:write")));
        let b = parse_auth(&json!({"type": "basic", "username": "u", "password": "p"}), &settings(), false).unwrap();
        assert_eq!(b.auth, EndpointAuth::Basic { username: "u".into(), password: "p".into() });
    }

    #[test]
    fn reports_every_bad_field() {
        assert_eq!(
            fields(json!({"type": "oauth2"}), false),
            ["auth/token_url", "auth/client_id", "auth/client_secret"]
        );
        assert_eq!(
            fields(json!({"type": "oauth2", "token_url": "ftp://x", "client_id": "c"}), true),
            ["auth/token_url"]
        );
        assert_eq!(
            fields(json!({"type": "basic", "username": "a:b", "password": 5}), false),
            ["auth/username", "auth/password"]
        );
        assert_eq!(fields(json!({"type": "digest"}), false), ["auth/type"]);
        assert_eq!(
            fields(json!({"type": "basic", "username": "u", "password": "p", "scope": "x"}), false),
            ["auth/scope"]
        );
        assert_eq!(fields(json!("Bearer x"), false), ["auth"]);
    }

    #[test]
    fn a_patch_without_the_secret_keeps_the_stored_one_of_the_same_type() {
        let stored = EndpointAuth::Basic { username: "old".into(), password: "kept".into() };
        let input = parse_auth(&json!({"type": "basic", "username": "new"}), &settings(), true).unwrap();
        assert_eq!(
            input.clone().merge(Some(&stored)),
            EndpointAuth::Basic { username: "new".into(), password: "kept".into() }
        );
        let switched = input.merge(Some(&EndpointAuth::Oauth2 {
            token_url: "https://t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scope: None,
            audience: None,
        }));
        assert_eq!(check_auth_complete(&switched).unwrap().field, "auth/password");
    }

    #[test]
    fn views_hide_secrets() {
        let v =
            serde_json::to_value(AuthView::from(&EndpointAuth::Basic { username: "u".into(), password: "p".into() }))
                .unwrap();
        assert_eq!(v, json!({"type": "basic", "username": "u", "secret_set": true}));
        assert_eq!(basic_header("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }
}
