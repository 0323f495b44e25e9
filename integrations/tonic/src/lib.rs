//! # ddtrace-tonic
//!
//! Datadog APM tracing for [tonic](https://docs.rs/tonic) (gRPC). One layer on the server and one on the client's
//! channel, and every call becomes a Datadog span like those of Datadog's own gRPC
//! integrations: operation `grpc.server` or `grpc.client`, type `grpc`, resource the full
//! method (`/shop.Inventory/Get`), the `rpc.*` and `grpc.*` tags, the status code read from
//! the trailers (for unary and streaming calls), errors by Datadog's rule for gRPC codes, and
//! the distributed context carried in the metadata with the configured propagation styles.
//! The semantics and their sources are in [`ddtrace_core::grpc`].
//!
//! ```no_run
//! use ddtrace_tonic::{DatadogGrpcClientLayer, DatadogGrpcLayer};
//!
//! # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = ddtrace_core::init();
//!
//! // The server: every call it handles gets a `grpc.server` span.
//! let server = tonic::transport::Server::builder()
//!     .layer(DatadogGrpcLayer::new())
//!     .add_routes(routes)
//!     .serve("0.0.0.0:50051".parse()?);
//!
//! // A client: every call it makes gets a `grpc.client` span, and carries the trace on.
//! let channel = tonic::transport::Endpoint::from_static("http://inventory:50051").connect_lazy();
//! let channel = tower::ServiceBuilder::new()
//!     .layer(DatadogGrpcClientLayer::new().target("inventory:50051"))
//!     .service(channel);
//! // `InventoryClient::new(channel)`, as with the bare channel.
//! # let _ = (server, channel);
//! # Ok(())
//! # }
//! ```
//!
//! Both layers are plain tower layers over `http` requests: they need nothing of tonic but
//! its HTTP/2 messages: tonic 0.14 and 0.13 (both tested) take the same layers.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod future;
mod layer;
mod service;

pub use client::{ClientResponseFuture, DatadogGrpcClientLayer, DatadogGrpcClientService};
pub use future::ResponseFuture;
pub use layer::{DatadogGrpcLayer, DatadogGrpcLayerBuilder};
pub use service::DatadogGrpcService;
