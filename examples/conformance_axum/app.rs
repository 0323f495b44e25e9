//! The axum conformance app's routes and server, for every supported axum version: each
//! version's binary names its axum crate `ax` and its route syntax, and includes this file.

use crate::ax;
use ax::body::{Body, Bytes};
use ax::extract::{Path, RawQuery};
use ax::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use ax::response::{IntoResponse, Response};
use ax::routing::{get, post};
use ax::{Json, Router};
use ddtrace_axum::DatadogLayer;
use ddtrace_examples::{log_marker, log_started, outbound, shutdown_signal, w3c_harness, W3cCall};
use std::net::SocketAddr;
use std::time::Duration;

async fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The app's own error type, turned into a 500 by axum through `IntoResponse`.
#[derive(Debug)]
struct ConformanceError;

impl std::fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conformance failure")
    }
}

impl std::error::Error for ConformanceError {}

impl IntoResponse for ConformanceError {
    fn into_response(self) -> Response {
        // The one line an axum user adds to see handler errors on the request span.
        ddtrace_core::record_error(&self);
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

async fn fail() -> Result<String, ConformanceError> {
    Err(ConformanceError)
}

async fn panic_route() -> &'static str {
    panic!("conformance panic")
}

async fn stream() -> Body {
    Body::from_stream(ddtrace_examples::chunks())
}

async fn child() -> &'static str {
    ddtrace_examples::child_work().await;
    "ok"
}

async fn headers(RawQuery(query): RawQuery) -> Response {
    let mut out = HeaderMap::new();
    out.insert("x-conformance", HeaderValue::from_static("yes"));
    for (key, value) in ddtrace_examples::query_pairs(query.as_deref().unwrap_or("")) {
        if key != "set" {
            continue;
        }
        if let Some((name, value)) = value.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                out.append(name, value);
            }
        }
    }
    (out, "headers").into_response()
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn outbound_route(RawQuery(query): RawQuery) -> StatusCode {
    outbound(query.as_deref().unwrap_or("")).await
}

async fn log_route(RawQuery(query): RawQuery) -> StatusCode {
    log_marker(query.as_deref().unwrap_or(""));
    StatusCode::OK
}

async fn w3c(Json(calls): Json<Vec<W3cCall>>) -> StatusCode {
    w3c_harness(calls).await;
    StatusCode::OK
}

fn app() -> Router {
    Router::new()
        .route(crate::USERS_ROUTE, get(user))
        .route(crate::STATUS_ROUTE, get(status))
        .route("/fail", get(fail))
        .route("/panic", get(panic_route))
        .route("/stream", get(stream))
        .route("/child", get(child))
        .route("/headers", get(headers))
        .route("/echo", post(echo))
        .route("/outbound", get(outbound_route))
        .route("/log", get(log_route))
        .route("/w3c", post(w3c))
        .layer(ddtrace_examples::integration(
            DatadogLayer::new,
            DatadogLayer::builder,
        ))
}

/// Serves the routes until SIGTERM or SIGINT, then flushes every finished span.
pub async fn serve(name: &str) {
    let guard = ddtrace_core::init().with_shutdown_timeout(Duration::from_secs(3));
    log_started();
    let port = ddtrace_examples::port();
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let served = ax::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    if let Err(e) = served {
        eprintln!("{name}: server error: {e}");
    }
    // Flushes every finished span to the agent before exiting.
    guard.shutdown();
}
