//! Stopping without losing traces: a future for the frameworks' graceful shutdown.

/// Resolves on SIGTERM (what container platforms send to stop) or Ctrl-C: give it to the
/// framework's graceful shutdown, then shut the guard down once the server has returned, so
/// every span of the requests it finished reaches the agent.
///
/// ```no_run
/// # async fn run(app: axum_like::Router) {
/// let guard = ddtrace_core::init();
/// // axum::serve(listener, app).with_graceful_shutdown(ddtrace_core::shutdown_signal()).await
/// ddtrace_core::shutdown_signal().await;
/// guard.shutdown(); // flush every span before exiting
/// # }
/// # mod axum_like { pub struct Router; }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
