//! # ddtrace-actix-web
//!
//! Datadog APM tracing for [actix-web](https://actix.rs) 4: wrap the `App` with one
//! middleware and every request becomes a Datadog trace like those of Datadog's own tracers:
//! operation `actix-web.request`, type `web`, resource `GET /users/{id}` from actix's route
//! pattern, the standard HTTP tags, errors, and the distributed context continued from the
//! caller.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use ddtrace_actix_web::DatadogTracing;
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // Installs the Datadog pipeline from DD_* variables; flushes every span on drop.
//!     let _guard = ddtrace_core::init();
//!     HttpServer::new(|| {
//!         App::new()
//!             .wrap(DatadogTracing::new())
//!             .route("/users/{id}", web::get().to(|| async { "user" }))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! ## What the span records
//!
//! * Resource and `http.route` from `HttpRequest::match_pattern()` (actix syntax, scopes
//!   included); `<METHOD> 404` when nothing matched.
//! * The span ends when the response body has been sent (streamed bodies included) or the
//!   client disconnected.
//! * Handlers run inside the span's context: `tracing` spans (through the bridge
//!   [`ddtrace_core::init`] installs) and OpenTelemetry spans become its children.
//! * A handler's `Err` (any `ResponseError`) sets `error.type` and `error.message`; a status
//!   in `DD_TRACE_HTTP_SERVER_ERROR_STATUSES` sets `error`. A panic is recorded and then
//!   unwinds exactly as without the middleware.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod body;
mod future;
mod headers;
mod middleware;

pub use body::TracedBody;
pub use future::ResponseFuture;
pub use middleware::{DatadogTracing, DatadogTracingBuilder, DatadogTracingMiddleware};
