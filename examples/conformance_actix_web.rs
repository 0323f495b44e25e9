//! The actix-web conformance app: the routes of docs/conformance.md, with `DatadogTracing`
//! installed the way a user installs it. Driven by the suite in `tests/`.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-examples --bin conformance-actix-web`

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use ddtrace_actix_web::DatadogTracing;
use ddtrace_examples::{log_marker, log_started, outbound, query_pairs, w3c_harness, W3cCall};
use std::time::Duration;

async fn user(id: web::Path<String>) -> String {
    format!("user {id}")
}

async fn status(code: web::Path<u16>) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_REQUEST)).finish()
}

/// The app's own error type; actix turns it into a 500 through `ResponseError`.
#[derive(Debug)]
struct ConformanceError;

impl std::fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conformance failure")
    }
}

impl ResponseError for ConformanceError {}

async fn fail() -> Result<String, ConformanceError> {
    Err(ConformanceError)
}

async fn panic_route() -> &'static str {
    panic!("conformance panic")
}

async fn stream() -> HttpResponse {
    HttpResponse::Ok().streaming(ddtrace_examples::chunks())
}

async fn child() -> &'static str {
    ddtrace_examples::child_work().await;
    "ok"
}

async fn headers(req: HttpRequest) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header(("x-conformance", "yes"));
    for (key, value) in query_pairs(req.query_string()) {
        if key == "set" {
            if let Some((name, value)) = value.split_once(':') {
                res.append_header((name.to_string(), value.to_string()));
            }
        }
    }
    res.body("headers")
}

async fn echo(body: Bytes) -> Bytes {
    body
}

async fn outbound_route(req: HttpRequest) -> HttpResponse {
    let status = outbound(req.query_string()).await;
    HttpResponse::build(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY))
        .finish()
}

async fn log_route(req: HttpRequest) -> HttpResponse {
    log_marker(req.query_string());
    HttpResponse::Ok().finish()
}

async fn w3c(calls: web::Json<Vec<W3cCall>>) -> HttpResponse {
    w3c_harness(calls.into_inner()).await;
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let guard = ddtrace_core::init().with_shutdown_timeout(Duration::from_secs(3));
    log_started();
    let port = ddtrace_examples::port();
    // Built once (configuration read and validated once), cloned into every worker.
    let tracing = ddtrace_examples::integration(DatadogTracing::new, DatadogTracing::builder);
    let served = HttpServer::new(move || {
        App::new()
            .wrap(tracing.clone())
            .route("/users/{id}", web::get().to(user))
            .route("/status/{code}", web::get().to(status))
            .route("/fail", web::get().to(fail))
            .route("/panic", web::get().to(panic_route))
            .route("/stream", web::get().to(stream))
            .route("/child", web::get().to(child))
            .route("/headers", web::get().to(headers))
            .route("/echo", web::post().to(echo))
            .route("/outbound", web::get().to(outbound_route))
            .route("/log", web::get().to(log_route))
            .route("/w3c", web::post().to(w3c))
    })
    .workers(2)
    .shutdown_timeout(3)
    .bind(("127.0.0.1", port))?
    .run()
    .await;
    // actix stops on SIGTERM/SIGINT after finishing in-flight requests; then flush.
    guard.shutdown();
    served
}
