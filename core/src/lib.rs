//! # ddtrace-core
//!
//! The framework-agnostic core of Datadog APM tracing for Rust web frameworks. Integrations
//! (`ddtrace-axum`, …) map their framework onto it; applications rarely use it directly,
//! except for [`init`] and [`record_error`].
//!
//! What a request becomes: one server span named `<framework>.request`, type `web`, resource
//! `<METHOD> <route template>` (`<METHOD> 404` when no route matched), with the HTTP tags of
//! Datadog's own tracers (`http.method`, `http.url` with the query obfuscated,
//! `http.status_code`, `http.route`, `http.useragent`, header tags, client IP), continued from
//! the trace context the request carries, and exported by libdatadog's exporter (the
//! Datadog-native pipeline, [`init`]'s default), or, with the `opentelemetry` feature, through
//! `datadog-opentelemetry` for applications that use the OpenTelemetry API (`init_with`).
//!
//! ```no_run
//! use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
//!
//! let _guard = ddtrace_core::init();
//! let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), Config::from_env());
//! let req = http::Request::get("/users/7").body(()).unwrap();
//! let mut span = tracer.start(RequestInfo::from_request(&req));
//! span.set_route("/users/{id}");
//! span.record_status(200, &http::HeaderMap::new());
//! span.finish();
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod body;
mod client;
pub mod client_ip;
mod clock;
mod config;
mod decimal;
mod error;
mod export;
pub mod grpc;
mod header_tags;
mod headers;
mod ids;
#[cfg(feature = "tracing-bridge")]
pub mod logs;
mod native;
mod obfuscation;
#[cfg(feature = "tracing-bridge")]
mod outage;
mod pipeline;
pub mod propagation;
mod recent;
mod request_head;
mod sampling;
mod signal;
mod span;
mod status;
pub mod tags;
mod trace;

pub use body::{complete_http_response, TracedBody};
pub use client::{ClientConfig, ClientFuture, ClientLayer, ClientService, ClientSpan};
pub use config::{Config, ConfigBuilder, ConfigError, Tags};
pub use error::{record_error, record_error_info, ErrorInfo};
pub use header_tags::HeaderTags;
pub use headers::HeaderSource;
pub use obfuscation::{QueryObfuscation, DEFAULT_QUERY_OBFUSCATION_REGEX};
#[cfg(feature = "opentelemetry")]
#[doc(hidden)]
pub use pipeline::init_for_benches;
#[cfg(feature = "opentelemetry")]
pub use pipeline::init_with;
#[cfg(feature = "tracing-bridge")]
pub use pipeline::tracing_layer;
pub use pipeline::{init, TracerGuard};
pub use request_head::{RequestHead, ResponseHead};
pub use signal::shutdown_signal;
pub use span::{
    observe_body_poll, observe_body_poll_with, poll_in_span, InSpan, Integration, RequestInfo,
    RequestSpan, RequestTracer, SpanGuard, SpanHandle, SpanTags,
};
pub use status::{StatusRanges, StatusRangesError};

/// The OpenTelemetry pipeline (the `opentelemetry` feature), re-exported so applications
/// configure it without a second dependency.
#[cfg(feature = "opentelemetry")]
pub use datadog_opentelemetry;
/// The OpenTelemetry API this crate speaks, re-exported for integrations and applications.
pub use opentelemetry;
