use std::convert::Infallible;

use hookline::App;
use lambda_http::{run, service_fn, Error, Request};

#[global_allocator]
static ALLOCATOR: hookline::Allocator = hookline::Allocator;

// One thread: the work is I/O-bound, and a Lambda instance handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Clients are built once per cold start and live for the whole process.
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    run(service_fn(move |req: Request| async move { Ok::<_, Infallible>(event_intake::handle(app, req).await) })).await
}
