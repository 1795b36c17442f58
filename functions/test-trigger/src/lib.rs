//! Test deliveries: `POST …/webhooks/{id}/test` and the project web hook's `trigger_session_test`.

use hookline::api::endpoints::tests;

hookline::function_routes![tests::Webhook, tests::Session];
