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
}
