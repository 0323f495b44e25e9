//! The axum 0.7 conformance app: the same routes and server as `conformance-axum`, on axum 0.7
//! (ddtrace-axum's `axum-07` feature), in 0.7's route syntax.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-examples --bin conformance-axum07`

use axum07 as ax;

const USERS_ROUTE: &str = "/users/:id";
const STATUS_ROUTE: &str = "/status/:code";

#[path = "conformance_axum/app.rs"]
mod app;

#[tokio::main]
async fn main() {
    app::serve("conformance-axum07").await
}
