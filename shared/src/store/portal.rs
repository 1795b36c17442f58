//! Portal sessions (docs/api.md §13), stored by the SHA-256 of their token, expiring by TTL.

use super::{from_item, key, keys, s, to_item, ttl, Cond, Store, Write};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::model::PortalSession;

impl Store {
    pub async fn create_portal_session(&self, token_hash: &str, session: &PortalSession) -> Result<bool, StoreError> {
        let item = to_item(
            session,
            [
                (keys::PK, s(keys::portal_session(token_hash))),
                (keys::SK, s(keys::PORTAL_SK)),
                (keys::TTL, ttl(session.valid_until)),
            ],
        )?;
        self.write(Write::put(item).when(Cond::absent())).await
    }

    /// The live session of a token hash; expired sessions read as none.
    pub async fn portal_session(&self, token_hash: &str, now: Millis) -> Result<Option<PortalSession>, StoreError> {
        let found: Option<PortalSession> =
            self.get(key(keys::portal_session(token_hash), keys::PORTAL_SK), now).await?.map(from_item).transpose()?;
        // TTL works in whole seconds: check the exact expiry too.
        Ok(found.filter(|p| p.valid_until > now))
    }
}
