use hookline::sender::Sender;
use hookline::App;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[global_allocator]
static ALLOCATOR: hookline::Allocator = hookline::Allocator;

// One thread: the work is I/O-bound, and a Lambda instance handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Clients (AWS and the HTTP client with its connection pool) live for the whole process.
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let sender: &'static Sender = Box::leak(Box::new(Sender::new(&app.settings)));
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        match delivery::Invocation::from_json(event.payload)? {
            delivery::Invocation::Queue(batch) => {
                Ok::<Value, Error>(serde_json::to_value(delivery::handle(app, sender, batch).await)?)
            }
            delivery::Invocation::Sweep => Ok(delivery::sweep(app).await?),
        }
    }))
    .await
}
