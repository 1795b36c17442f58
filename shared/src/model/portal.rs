use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::ProjectId;

/// A portal session (docs/api.md §13): a short-lived Bearer credential for one project, stored
/// only as the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalSession {
    pub project_id: ProjectId,
    pub read_only: bool,
    pub created_at: Millis,
    /// Not `expires_at`: that name is the table's TTL attribute (epoch seconds).
    pub valid_until: Millis,
    /// How the dashboard looks in this session (sessions made before themes: the default).
    #[serde(default)]
    pub theme: Theme,
}

/// A portal session's look (docs/api.md §13): the product's brand instead of Hookline's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Theme {
    /// Shown in the header instead of "Hookline" (1-60 characters).
    pub brand_name: Option<String>,
    /// `#rrggbb`: primary buttons, links and the current tab.
    pub accent_color: Option<String>,
    pub mode: ThemeMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThemeMode {
    Light,
    Dark,
    /// The viewer's system setting (`prefers-color-scheme`).
    #[default]
    Auto,
}
