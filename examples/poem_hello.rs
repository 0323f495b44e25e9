//! A small poem service traced to Datadog: copy this to start.
//!
//! ```text
//! DD_SERVICE=shop-api DD_ENV=dev cargo run -p ddtrace-examples --bin poem-hello
//! ```

use ddtrace_poem::DatadogMiddleware;
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::Path;
use poem::{get, handler, EndpointExt, Route, Server};
use std::time::Duration;
use tracing::instrument;

#[instrument(name = "db.load_user")]
async fn load_user(id: u32) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    format!("user {id}")
}

#[handler]
async fn user(Path(id): Path<u32>) -> String {
    load_user(id).await
}

// A handler's `Err` is recorded on the request span as error.type and error.message.
#[handler]
fn order(Path(id): Path<u32>) -> poem::Result<String> {
    match id {
        13 => Err(poem::Error::from_string(
            "inventory service unavailable",
            StatusCode::SERVICE_UNAVAILABLE,
        )),
        n => Ok(format!("order {n}: 2 items")),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Installs the Datadog pipeline from DD_* variables and the tracing bridge.
    let guard = ddtrace_core::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let api = Route::new()
        .at("/users/:id", get(user))
        .at("/orders/:id", get(order));
    let app = Route::new()
        .nest("/api", api)
        .with(DatadogMiddleware::new());
    let served = Server::new(TcpListener::bind(("127.0.0.1", port)))
        .run_with_graceful_shutdown(
            app,
            ddtrace_examples::shutdown_signal(),
            Some(Duration::from_secs(5)),
        )
        .await;
    // Flush every finished span before exiting.
    guard.shutdown();
    served
}
