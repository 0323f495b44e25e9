//! The server `scripts/load.sh` drives with wrk: `GET /users/{id}`, bare or traced
//! (`LOAD_MODE=bare|traced`), on `127.0.0.1:$PORT`, flushing on SIGTERM.

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use ddtrace_axum::DatadogLayer;

async fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

#[tokio::main]
async fn main() {
    let traced = std::env::var("LOAD_MODE").as_deref() != Ok("bare");
    let guard = traced.then(ddtrace_core::init);
    let app = Router::new().route("/users/{id}", get(user));
    let app = if traced {
        app.layer(DatadogLayer::new())
    } else {
        app
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("load: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
            }
        })
        .await;
    if let Err(e) = served {
        eprintln!("load: {e}");
    }
    if let Some(guard) = guard {
        guard.shutdown();
    }
}
