//! # ddtrace-foo
//!
//! Datadog APM tracing for foo: wrap the service once and every request becomes a Datadog
//! trace like those of Datadog's own tracers: operation `foo.request`, type `web`, resource
//! `GET /users/{id}`, the standard HTTP tags, errors, and the distributed context continued
//! from the caller.
//!
//! This crate was generated from `templates/integration` (see CONTRIBUTING.md). "foo" there
//! is the smallest possible server: a plain hyper service with hand-written routing. The
//! places every integration fills in are marked `DDTRACE (n)` in the source:
//!
//! 1. where the request span starts (`service.rs`);
//! 2. where the route template comes from (`future.rs`, [`MatchedRoute`]);
//! 3. where the response and the end of its body are seen (`future.rs`, `TracedBody`);
//! 4. where errors and panics are caught (`future.rs`);
//! 5. the conformance app (`examples/conformance.rs`) and its tests (`tests/conformance.rs`).
//!
//! ```no_run
//! use ddtrace_foo::FooTracing;
//! use http_body_util::Full;
//! use hyper::{body::Bytes, Request, Response};
//!
//! # async fn serve(io: hyper_util::rt::TokioIo<tokio::net::TcpStream>) {
//! let _guard = ddtrace_core::init();
//! let tracing = FooTracing::new();
//! let app = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//! });
//! let _ = hyper::server::conn::http1::Builder::new()
//!     .serve_connection(io, tracing.wrap(app))
//!     .await;
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod future;
mod service;

pub use future::ResponseFuture;
pub use service::{FooTracing, FooTracingBuilder, TracedService};

/// The route template that matched, put in the response's extensions by the application's
/// router (foo has no router of its own to ask).
///
/// ```
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(ddtrace_foo::MatchedRoute("/users/{id}"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedRoute(pub &'static str);
