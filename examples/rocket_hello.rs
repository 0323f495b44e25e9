//! A small rocket service traced to Datadog: copy this to start.
//!
//! ```text
//! DD_SERVICE=shop-api DD_ENV=dev cargo run -p ddtrace-examples --bin rocket-hello
//! ```

use ddtrace_rocket::{traced, DatadogFairing};
use rocket::{get, routes};
use std::time::Duration;
use tracing::instrument;

#[instrument(name = "db.load_user")]
async fn load_user(id: u32) -> String {
    rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    format!("user {id}")
}

#[get("/users/<id>")]
async fn user(id: u32) -> String {
    load_user(id).await
}

#[rocket::main]
async fn main() -> Result<(), Box<rocket::Error>> {
    // Installs the Datadog pipeline from DD_* variables and the tracing bridge.
    let guard = ddtrace_core::init();
    let launched = rocket::build()
        .attach(DatadogFairing::new())
        // `traced` runs each handler inside its request span (child spans, panics).
        .mount("/api", traced(routes![user]))
        .launch()
        .await;
    guard.shutdown(); // flush every span
    launched.map(|_| ()).map_err(Box::new)
}
