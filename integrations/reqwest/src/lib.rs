//! Datadog APM tracing for [reqwest]: every request sent through the client gets a client span,
//! a child of the span current when it is sent (the request being handled), and carries the
//! trace on to the service it calls, with the configured propagation styles.
//!
//! ```no_run
//! use ddtrace_reqwest::DatadogMiddleware;
//!
//! # async fn run() -> Result<(), reqwest_middleware::Error> {
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(DatadogMiddleware::new())
//!     .build();
//! let answer = client.get("http://inventory/items/7").send().await?;
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```
//!
//! The span's tags are Datadog's for HTTP clients (see [`ddtrace_core::ClientSpan`]):
//! operation `reqwest.request`, type `http`, resource `GET /items/7`, `http.method`,
//! `http.url`, `out.host`, `http.status_code`, and an error for a 4xx answer
//! (`DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`) or a transport error. Baggage for one request goes
//! in its extensions: `.with_extension(ddtrace_reqwest::Baggage::new().with("user.id", "42"))`.

mod middleware;

pub use middleware::{Baggage, DatadogMiddleware};
