use ddtrace_poem::DatadogMiddleware;
use poem::{get, handler, listener::TcpListener, EndpointExt, Route, Server};

#[handler]
fn user() -> &'static str {
    "user"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let guard = ddtrace_core::init();
    let app = Route::new()
        .at("/users/:id", get(user))
        .with(DatadogMiddleware::new()); // the one line
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
        .run_with_graceful_shutdown(app, ddtrace_core::shutdown_signal(), None)
        .await?;
    guard.shutdown(); // flush every span
    Ok(())
}
