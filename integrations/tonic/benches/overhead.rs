//! Per-call overhead of `DatadogGrpcLayer` over a bare tonic server, in-process, beside
//! tower-http's `TraceLayer` (`new_for_grpc`, through the tracing-opentelemetry bridge) on
//! the same Datadog pipeline in the same run. Each case is one unary call
//! (`/conformance.v1.Conformance/Echo`) through the server's service stack, its body read to
//! the trailers, with and without incoming Datadog + W3C metadata. The pipeline exports to a
//! local sink that accepts the agent's endpoints and discards the payloads.
//!
//! After criterion's timings, a table gives CPU time per call summed over every thread but
//! the sink's (so the exporter's encoding and sending is counted) and allocations per call.
//!
//! `cargo bench -p ddtrace-tonic`

#[path = "../examples/conformance/service.rs"]
mod service;

use criterion::{criterion_group, Criterion};
use ddtrace_conformance::measure::{self, CountingAllocator};
use ddtrace_tonic::DatadogGrpcLayer;
use http_body_util::BodyExt;
use prost::Message;
use service::{ConformanceServer, Echo};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::util::BoxCloneService;
use tower::ServiceExt;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

type Server = BoxCloneService<http::Request<Body>, http::Response<Body>, std::convert::Infallible>;

fn server() -> ConformanceServer<Channel> {
    ConformanceServer::new(None)
}

/// A gRPC unary request: the length-prefixed message, and the metadata a tonic client sends.
fn request(with_trace_headers: bool) -> http::Request<Body> {
    let message = Echo::text("hello").encode_to_vec();
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    let mut builder = http::Request::post("/conformance.v1.Conformance/Echo")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", "bench/1.0");
    if with_trace_headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            builder = builder.header(k, v);
        }
    }
    let body = Body::new(http_body_util::Full::new(bytes::Bytes::from(frame)));
    builder.body(body).expect("request")
}

/// One call through `app`, its body read to the trailers.
fn call(rt: &tokio::runtime::Runtime, app: &Server, headers: bool) {
    rt.block_on(async {
        let res = app
            .clone()
            .oneshot(request(headers))
            .await
            .expect("response");
        let collected = res.into_body().collect().await.expect("body");
        assert_eq!(
            collected
                .trailers()
                .and_then(|t| t.get("grpc-status"))
                .map(|s| s.as_bytes()),
            Some(&b"0"[..]),
            "the call succeeded"
        );
    })
}

/// Every case of the run, built after the pipeline is installed.
fn apps() -> Vec<(&'static str, Server)> {
    let boxed = |s| BoxCloneService::new(s);
    vec![
        ("bare", boxed(server().map_response(|r| r))),
        (
            "DatadogGrpcLayer (this project)",
            BoxCloneService::new(
                tower::ServiceBuilder::new()
                    .layer(DatadogGrpcLayer::new())
                    .service(server())
                    .map_response(|r| r.map(Body::new))
                    .map_err(|never| match never {}),
            ),
        ),
        (
            "TraceLayer::new_for_grpc (tower-http, via tracing-opentelemetry)",
            BoxCloneService::new(
                tower::ServiceBuilder::new()
                    .layer(tower_http::trace::TraceLayer::new_for_grpc())
                    .service(server())
                    .map_response(|r| r.map(Body::new))
                    .map_err(|never| match never {}),
            ),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let apps = apps();
    let names: Vec<&str> = apps.iter().map(|(name, _)| *name).collect();
    let group = "tonic unary /conformance.v1.Conformance/Echo";
    measure::compare(c, group, &guard, &names, |case, headers| {
        call(&rt, &apps[case].1, headers);
    });
    guard.shutdown();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
