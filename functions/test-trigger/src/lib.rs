//! Test deliveries: `POST …/webhooks/{id}/test` and 003's `trigger_session_test`.

use hookline::api::endpoints::tests;

hookline::function_routes![tests::Webhook, tests::Session];
