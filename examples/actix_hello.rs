//! A small actix-web service traced to Datadog: copy this to start.
//!
//! ```text
//! DD_SERVICE=shop-api DD_ENV=dev cargo run -p ddtrace-examples --bin actix-hello
//! ```

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpServer, ResponseError};
use ddtrace_actix_web::DatadogTracing;
use std::time::Duration;
use tracing::instrument;

#[instrument(name = "db.load_user")]
async fn load_user(id: u32) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    format!("user {id}")
}

async fn user(id: web::Path<u32>) -> String {
    load_user(*id).await
}

#[derive(Debug)]
struct InventoryUnavailable;

impl std::fmt::Display for InventoryUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("inventory service unavailable")
    }
}

// A handler's `Err` is recorded on the request span as error.type and error.message.
impl ResponseError for InventoryUnavailable {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn order(id: web::Path<u32>) -> Result<String, InventoryUnavailable> {
    match *id {
        13 => Err(InventoryUnavailable),
        n => Ok(format!("order {n}: 2 items")),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Installs the Datadog pipeline from DD_* variables and the tracing bridge.
    let guard = ddtrace_core::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    // Build the middleware once and clone it into each worker.
    let tracing = DatadogTracing::new();
    let served = HttpServer::new(move || {
        App::new().wrap(tracing.clone()).service(
            web::scope("/api")
                .route("/users/{id}", web::get().to(user))
                .route("/orders/{id}", web::get().to(order)),
        )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await;
    // Flush every finished span before exiting.
    guard.shutdown();
    served
}
