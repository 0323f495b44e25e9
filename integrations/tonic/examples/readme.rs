use ddtrace_tonic::DatadogGrpcLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = ddtrace_core::init(); // Datadog pipeline; flushes on drop
    let port = std::env::var("PORT").unwrap_or_else(|_| "50051".into());
    // Your services here; tonic-health's stands in for one.
    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .layer(DatadogGrpcLayer::new()) // one span per call
        .add_service(health)
        .serve_with_shutdown(
            format!("0.0.0.0:{port}").parse()?,
            ddtrace_core::shutdown_signal(), // SIGTERM/Ctrl-C: stop, then flush
        )
        .await?;
    guard.shutdown();
    Ok(())
}
