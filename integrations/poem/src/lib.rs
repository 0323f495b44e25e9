//! # ddtrace-poem
//!
//! Datadog APM tracing for [poem](https://docs.rs/poem) 3: add one middleware and every
//! request becomes a Datadog trace like those of Datadog's own tracers: operation
//! `poem.request`, type `web`, resource `GET /users/:id` from poem's matched path pattern,
//! the standard HTTP tags, errors, and the distributed context continued from the caller.
//!
//! ```no_run
//! use ddtrace_poem::DatadogMiddleware;
//! use poem::{get, handler, listener::TcpListener, EndpointExt, Route, Server};
//!
//! #[handler]
//! fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     // Installs the Datadog pipeline from DD_* variables; flushes every span on drop.
//!     let _guard = ddtrace_core::init();
//!     let app = Route::new().at("/hello", get(hello)).with(DatadogMiddleware::new());
//!     Server::new(TcpListener::bind("127.0.0.1:8080")).run(app).await
//! }
//! ```
//!
//! ## What the span records
//!
//! * Resource and `http.route` from poem's `PathPattern` (poem syntax, nested routes
//!   included); `<METHOD> 404` when nothing matched.
//! * The span ends when the response body has been sent (streamed bodies included) or the
//!   client disconnected; the body keeps its length, so responses are unchanged.
//! * Handlers run inside the span's context: `tracing` spans (through the bridge
//!   [`ddtrace_core::init`] installs) and OpenTelemetry spans become its children.
//! * A handler's `Err(poem::Error)` sets `error.type` and `error.message`, with the error's
//!   status; a panic is recorded (`error.type` `panic`) and unwinds exactly as without the
//!   middleware. poem attaches the matched pattern only to a finished response or error, so
//!   the resource of a request whose handler panicked is `<METHOD> 500`. With poem's
//!   `CatchPanic` inside this middleware the response is poem's 500 and the span says error.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod endpoint;
mod middleware;

pub use endpoint::DatadogEndpoint;
pub use middleware::{DatadogMiddleware, DatadogMiddlewareBuilder};
