//! # ddtrace-axum
//!
//! Datadog APM tracing for [axum](https://docs.rs/axum): add one layer and every request
//! becomes a Datadog trace like those of Datadog's own tracers: operation `axum.request`, type
//! `web`, resource `GET /users/{id}`, the standard HTTP tags, errors, and the distributed
//! context continued from the caller.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use ddtrace_axum::DatadogLayer;
//!
//! #[tokio::main]
//! async fn main() {
//!     // Installs the Datadog pipeline from DD_* variables; flushes every span on drop.
//!     let _guard = ddtrace_core::init();
//!
//!     let app = Router::new()
//!         .route("/users/{id}", get(|| async { "user" }))
//!         .layer(DatadogLayer::new());
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//!     axum::serve(listener, app).await.unwrap();
//! }
//! ```
//!
//! ## What the span records
//!
//! * The span starts when the request reaches the router and ends when the last byte of the
//!   response body has been sent, or when the client goes away.
//! * Handlers run inside the span's context: `tracing` spans (`#[instrument]`, through the
//!   bridge [`ddtrace_core::init`] installs) and OpenTelemetry spans become its children.
//! * A handler panic is recorded (`error.type` `panic`, `error.message`) and then unwinds
//!   exactly as it would without the layer.
//! * A handler error: call [`ddtrace_core::record_error`] from its `IntoResponse`, or put a
//!   [`ddtrace_core::ErrorInfo`] in the response's extensions.
//! * Add `into_make_service_with_connect_info::<SocketAddr>()` to make the peer address
//!   available for `network.client.ip` and client IP resolution.
//!
//! ## axum 0.7 and 0.8
//!
//! The one layer serves both: the `axum-08` feature (on by default) reads axum 0.8's matched
//! route and peer address, `axum-07` reads axum 0.7's, and both may be on together. With axum
//! 0.7 the resource keeps 0.7's route syntax, as Datadog's tracers keep each framework's:
//! `GET /users/:id`.
//!
//! ```toml
//! ddtrace-axum = { version = "0.1", default-features = false, features = ["axum-07"] }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod extensions;
mod future;
mod layer;
mod service;

pub use ddtrace_core::TracedBody;
pub use future::ResponseFuture;
pub use layer::{DatadogLayer, DatadogLayerBuilder};
pub use service::DatadogService;
