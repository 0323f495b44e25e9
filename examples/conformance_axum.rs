//! The axum 0.8 conformance app: the routes of docs/conformance.md, with `DatadogLayer` installed the way
//! a user installs it. Driven by the suite in `tests/`.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-examples --bin conformance-axum`

use axum as ax;

const USERS_ROUTE: &str = "/users/{id}";
const STATUS_ROUTE: &str = "/status/{code}";

#[path = "conformance_axum/app.rs"]
mod app;

#[tokio::main]
async fn main() {
    app::serve("conformance-axum").await
}
