//! The gRPC conformance app: the `conformance.v1.Conformance` service (see `service.rs`)
//! served with the integration installed as a user installs it, and calling its downstream
//! (another instance, at `DOWNSTREAM_PORT`) through the traced client. `tests/conformance.rs`
//! drives it and checks what the test agent receives.
//!
//! `PORT=50051 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-tonic --example conformance-tonic`

mod service;

use ddtrace_tonic::{DatadogGrpcClientLayer, DatadogGrpcLayer};
use service::{ConformanceClient, ConformanceServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = ddtrace_core::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(50051);
    let downstream = match std::env::var("DOWNSTREAM_PORT") {
        Ok(port) => {
            let target = format!("127.0.0.1:{port}");
            let channel =
                tonic::transport::Endpoint::from_shared(format!("http://{target}"))?.connect_lazy();
            let channel = tower::ServiceBuilder::new()
                .layer(DatadogGrpcClientLayer::new().target(target))
                .service(channel);
            Some(ConformanceClient::new(channel))
        }
        Err(_) => None,
    };
    tonic::transport::Server::builder()
        .layer(DatadogGrpcLayer::new())
        .add_service(ConformanceServer::new(downstream))
        .serve_with_shutdown(
            ([127, 0, 0, 1], port).into(),
            ddtrace_core::shutdown_signal(),
        )
        .await?;
    guard.shutdown();
    Ok(())
}
