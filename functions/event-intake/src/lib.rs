//! Event intake: `POST /api/v1/events`, its batch form, and the custom-event hook.

use hookline::api::endpoints::events;

hookline::function_routes![events::Post, events::Batch, events::Custom];
