//! A small axum service traced to Datadog: copy this to start.
//!
//! ```text
//! DD_SERVICE=shop-api DD_ENV=dev cargo run -p ddtrace-examples --bin axum-hello
//! ```
//!
//! - `GET /users/{id}`: a handler with an `#[instrument]`ed helper (a child span).
//! - `GET /orders/{id}`: an error type that records itself on the request span (`/orders/13`
//!   fails with a 503, an error; `/orders/99` is a 404, which is not an error in Datadog).
//! - `GET /checkout`: calls `/users/{id}` over HTTP (reqwest, traced by `ddtrace-reqwest`) on
//!   `USERS_URL` (this service itself when unset), so the downstream service continues the same
//!   trace: run a second instance with another `DD_SERVICE` for a trace across two services.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ddtrace_axum::DatadogLayer;
use std::net::SocketAddr;
use std::time::Duration;
use tracing::instrument;

#[derive(Clone)]
struct AppState {
    client: reqwest_middleware::ClientWithMiddleware,
    base_url: String,
}

#[instrument(name = "db.load_user")]
async fn load_user(id: u32) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    format!("user {id}")
}

async fn user(Path(id): Path<u32>) -> String {
    let user = load_user(id).await;
    // Written as a JSON line with the trace's and the request span's ids (`init` sets it up).
    tracing::info!(user_id = id, "loaded user");
    user
}

#[derive(Debug)]
enum OrderError {
    NotFound(u32),
    InventoryUnavailable,
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::NotFound(id) => write!(f, "order {id} not found"),
            OrderError::InventoryUnavailable => f.write_str("inventory service unavailable"),
        }
    }
}

impl std::error::Error for OrderError {}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        // Puts error.type and error.message on the request span. Whether the span is an
        // error follows the status, as in Datadog's tracers: the 503 is, the 404 is not.
        ddtrace_core::record_error(&self);
        let status = match self {
            OrderError::NotFound(_) => StatusCode::NOT_FOUND,
            OrderError::InventoryUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, self.to_string()).into_response()
    }
}

async fn order(Path(id): Path<u32>) -> Result<String, OrderError> {
    match id {
        1 => Ok("order 1: 2 items".to_string()),
        13 => Err(OrderError::InventoryUnavailable),
        _ => Err(OrderError::NotFound(id)),
    }
}

async fn checkout(State(state): State<AppState>) -> Result<String, StatusCode> {
    // The client is traced by `ddtrace-reqwest`: the call gets a client span, child of this
    // request's span, and carries the trace on to the service it calls.
    let url = format!("{}/users/7", state.base_url);
    match state.client.get(&url).send().await {
        Ok(res) => Ok(format!(
            "checked out for {}",
            res.text().await.unwrap_or_default()
        )),
        Err(_) => Err(StatusCode::BAD_GATEWAY),
    }
}

#[tokio::main]
async fn main() {
    // Installs the Datadog pipeline from DD_* variables and the tracing bridge.
    let guard = ddtrace_core::init();

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let state = AppState {
        client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ddtrace_reqwest::DatadogMiddleware::new())
            .build(),
        base_url: std::env::var("USERS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
    };
    let app = Router::new()
        .route("/users/{id}", get(user))
        .route("/orders/{id}", get(order))
        .route("/checkout", get(checkout))
        .with_state(state)
        .layer(DatadogLayer::new());

    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("axum-hello: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("axum-hello listening on http://127.0.0.1:{port}");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(ddtrace_examples::shutdown_signal())
    .await;
    if let Err(e) = served {
        eprintln!("axum-hello: {e}");
    }
    // Flush every finished span before exiting.
    guard.shutdown();
}
