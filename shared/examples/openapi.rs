//! Prints the OpenAPI document: `cargo run -p hookline --example openapi > openapi.json`.

fn main() {
    print!("{}", hookline::api::openapi::render(hookline::api::ALL));
}
