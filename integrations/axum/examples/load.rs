//! The server `scripts/load.sh`, `faults.sh` and `soak.sh` drive with wrk: `GET /users/{id}` on
//! `127.0.0.1:$PORT`, flushing on SIGTERM. `LOAD_MODE` picks the instrumentation: `bare`,
//! `traced` (this project, the default, on the native pipeline), or a peer on the OpenTelemetry
//! Datadog pipeline for comparison:
//! `otel-tower` (opentelemetry-instrumentation-tower), `axum-tracing-opentelemetry`,
//! `trace-layer` (tower-http `TraceLayer` through tracing-opentelemetry); or `floor`, the
//! bench's hand-built root span on libdatadog's exporter (`benches/support/floor.rs`), the
//! least any tracer on that exporter costs.

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use ddtrace_axum::DatadogLayer;

#[path = "../benches/support/floor.rs"]
mod floor;

async fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

#[tokio::main]
async fn main() {
    let mode = std::env::var("LOAD_MODE").unwrap_or_else(|_| "traced".into());
    // The peers are built on OpenTelemetry: they get the OpenTelemetry pipeline (configured
    // from the same `DD_*` variables); this project gets `init`'s, the native one.
    let peer = matches!(
        mode.as_str(),
        "otel-tower" | "axum-tracing-opentelemetry" | "trace-layer"
    );
    let guard = match mode.as_str() {
        "bare" | "floor" => None,
        _ if peer => Some(ddtrace_core::init_with(
            ddtrace_core::datadog_opentelemetry::configuration::Config::builder().build(),
        )),
        _ => Some(ddtrace_core::init()),
    };
    let floor = (mode == "floor").then(|| {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        floor::Floor::start(
            &var("DD_TRACE_AGENT_URL", "http://localhost:8126"),
            &var("DD_SERVICE", "load"),
        )
    });
    let app = Router::new().route("/users/{id}", get(user));
    let app = match mode.as_str() {
        "bare" => app,
        "floor" => match &floor {
            Some(floor) => app.layer(floor::FloorLayer(floor.clone())),
            None => app,
        },
        "otel-tower" => {
            use opentelemetry_instrumentation_tower::http::{extractors, server};
            match server::LayerBuilder::builder()
                .with_metrics(false)
                .with_route_extractor(extractors::AxumMatchedPathExtractor)
                .build()
            {
                Ok(layer) => app.layer(layer),
                Err(e) => {
                    eprintln!("load: opentelemetry-instrumentation-tower: {e}");
                    std::process::exit(1);
                }
            }
        }
        "axum-tracing-opentelemetry" => {
            app.layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
        }
        "trace-layer" => app.layer(tower_http::trace::TraceLayer::new_for_http()),
        _ => app.layer(DatadogLayer::new()),
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
    if let Some(floor) = floor {
        floor.flush();
    }
}
