use actix_web::{web, App, HttpServer};
use ddtrace_actix_web::DatadogTracing;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let guard = ddtrace_core::init();
    let tracing = DatadogTracing::new(); // built once, cloned into every worker
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    HttpServer::new(move || {
        App::new()
            .wrap(tracing.clone())
            .route("/users/{id}", web::get().to(|| async { "user" }))
    })
    .bind(("127.0.0.1", port))?
    .run() // stops gracefully on SIGTERM or Ctrl-C
    .await?;
    guard.shutdown(); // flush every span
    Ok(())
}
