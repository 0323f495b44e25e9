//! The poem conformance app: the routes of docs/conformance.md, with `DatadogMiddleware` installed
//! the way a user installs it. Driven by the suite in `tests/`.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-examples --bin conformance-poem`

use ddtrace_examples::{
    log_marker, log_started, outbound, query_pairs, shutdown_signal, w3c_harness, W3cCall,
};
use ddtrace_poem::DatadogMiddleware;
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Json, Path};
use poem::{get, handler, post, Body, EndpointExt, Request, Response, Route, Server};
use std::time::Duration;

#[handler]
fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

#[handler]
fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The app's own error type; poem turns it into a 500.
#[derive(Debug)]
struct ConformanceError;

impl std::fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conformance failure")
    }
}

impl std::error::Error for ConformanceError {}

impl poem::error::ResponseError for ConformanceError {
    fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

#[handler]
fn fail() -> poem::Result<String> {
    Err(ConformanceError.into())
}

#[handler]
fn panic_route() -> &'static str {
    panic!("conformance panic")
}

#[handler]
fn stream() -> Body {
    Body::from_bytes_stream(ddtrace_examples::chunks())
}

#[handler]
async fn child() -> &'static str {
    ddtrace_examples::child_work().await;
    "ok"
}

#[handler]
fn headers(req: &Request) -> Response {
    let mut res = Response::builder().header("x-conformance", "yes");
    for (key, value) in query_pairs(req.uri().query().unwrap_or("")) {
        if key == "set" {
            if let Some((name, value)) = value.split_once(':') {
                res = res.header(name.to_string(), value.to_string());
            }
        }
    }
    res.body("headers")
}

#[handler]
fn echo(body: Vec<u8>) -> Vec<u8> {
    body
}

#[handler]
async fn outbound_route(req: &Request) -> StatusCode {
    outbound(req.uri().query().unwrap_or("")).await
}

#[handler]
fn log_route(req: &Request) -> StatusCode {
    log_marker(req.uri().query().unwrap_or(""));
    StatusCode::OK
}

#[handler]
async fn w3c(Json(calls): Json<Vec<W3cCall>>) -> StatusCode {
    w3c_harness(calls).await;
    StatusCode::OK
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let guard = ddtrace_core::init().with_shutdown_timeout(Duration::from_secs(3));
    log_started();
    let port = ddtrace_examples::port();
    let app = Route::new()
        .at("/users/:id", get(user))
        .at("/status/:code", get(status))
        .at("/fail", get(fail))
        .at("/panic", get(panic_route))
        .at("/stream", get(stream))
        .at("/child", get(child))
        .at("/headers", get(headers))
        .at("/echo", post(echo))
        .at("/outbound", get(outbound_route))
        .at("/log", get(log_route))
        .at("/w3c", post(w3c))
        .with(ddtrace_examples::integration(
            DatadogMiddleware::new,
            DatadogMiddleware::builder,
        ));
    let served = Server::new(TcpListener::bind(("127.0.0.1", port)))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(3)))
        .await;
    // Flush every finished span before exiting.
    guard.shutdown();
    served
}
