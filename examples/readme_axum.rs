use axum::{routing::get, Router};
use ddtrace_axum::DatadogLayer;

#[tokio::main]
async fn main() {
    let guard = ddtrace_core::init(); // Datadog pipeline from DD_*

    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(DatadogLayer::new()); // the one line

    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    axum::serve(listener, app)
        .with_graceful_shutdown(ddtrace_core::shutdown_signal()) // SIGTERM or Ctrl-C
        .await
        .unwrap();
    guard.shutdown(); // every span of the finished requests reaches the agent
}
