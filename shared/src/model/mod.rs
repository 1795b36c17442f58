//! The domain records as they are stored. What users see of them is in `api::types`.

mod event;
mod event_type;
mod portal;
mod project;
mod webhook;

pub use event::{raw_text, After, Event, Target};
pub use event_type::EventType;
pub use portal::{PortalSession, Theme, ThemeMode};
pub use project::Project;
#[cfg(test)]
pub(crate) use webhook::fixture as webhook_fixture;
pub use webhook::{
    ContentType, DisabledReason, FailureStep, Generation, PayloadFormat, PreviousSecret, Webhook, WebhookRoute,
    MAX_PREVIOUS_SECRETS, SECRET_OVERLAP,
};
