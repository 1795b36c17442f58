use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::ProjectId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub project_id: ProjectId,
    pub client_id: Option<i64>,
    pub name: String,
    /// SHA-256 (hex) of the current API key; the key itself is never stored.
    pub api_key_hash: String,
    pub created_at: Millis,
    /// `ext_…`: the id the project's customers put in their AWS role's trust policy
    /// (`sts:ExternalId`), so that no other project can assume their role. Not a secret.
    /// Projects made before it existed get one on first read (`service::projects::get`).
    #[serde(default)]
    pub external_id: String,
}

impl Project {
    /// Project 0 is not stored: it is the deployment's operations project (docs/api.md §12).
    pub fn operations() -> Project {
        Project {
            project_id: ProjectId::OPERATIONS,
            client_id: None,
            name: "Operations".into(),
            api_key_hash: String::new(),
            created_at: Millis::ZERO,
            external_id: String::new(),
        }
    }
}
