//! gRPC spans end to end on the native pipeline: the status read from a response's trailers,
//! from a trailers-only answer, or a call the client gave up on; body errors; the error
//! statuses and hooks on a gRPC server; and the client span. What the real Datadog test agent
//! receives. A test binary of its own: it installs the pipeline for the process.

use ddtrace_conformance::TestAgent;
use ddtrace_core::grpc::{
    complete_grpc_client_response, complete_grpc_response, GrpcBody, GrpcTarget,
};
use ddtrace_core::{ClientConfig, ClientSpan, Config, Integration, RequestInfo, RequestTracer};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body of given frames; `Err` items fail the body.
struct Frames(VecDeque<Result<Frame<&'static [u8]>, std::io::Error>>);

impl Body for Frames {
    type Data = &'static [u8];
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(self.0.pop_front())
    }
}

fn trailers(pairs: &[(&'static str, &'static str)]) -> Frame<&'static [u8]> {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, v.parse().unwrap());
    }
    Frame::trailers(map)
}

fn data() -> Result<Frame<&'static [u8]>, std::io::Error> {
    Ok(Frame::data(&b"\0\0\0\0\x02hi"[..]))
}

/// Reads `body` to its end (or its error).
fn drain<B: Body + Unpin>(mut body: B) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                break;
            }
        }
    });
}

fn call(
    tracer: &RequestTracer,
    method: &str,
    head: &[(&'static str, &'static str)],
    frames: Vec<Result<Frame<&'static [u8]>, std::io::Error>>,
    read_to_end: bool,
) {
    call_with(tracer, method, &[], head, frames, read_to_end);
}

/// [`call`] with request `metadata`.
fn call_with(
    tracer: &RequestTracer,
    method: &str,
    metadata: &[(&'static str, &'static str)],
    head: &[(&'static str, &'static str)],
    frames: Vec<Result<Frame<&'static [u8]>, std::io::Error>>,
    read_to_end: bool,
) {
    let mut req = http::Request::post(method).header("content-type", "application/grpc");
    for (k, v) in metadata {
        req = req.header(*k, *v);
    }
    let req = req.body(()).unwrap();
    let span = tracer.start(RequestInfo::from_request(&req));
    let mut response = http::Response::builder();
    for (k, v) in head {
        response = response.header(*k, *v);
    }
    let response = response.body(Frames(frames.into())).unwrap();
    let response = complete_grpc_response(span, Ok::<_, std::io::Error>(response)).unwrap();
    let body: GrpcBody<Frames> = response.into_body();
    if read_to_end {
        drain(body);
    } else {
        // The client went away: the body is dropped before its trailers.
        drop(body);
    }
}

fn find<'a>(spans: &'a [Value], name: &str, resource: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name && s["resource"] == resource)
        .unwrap_or_else(|| panic!("no {name} span {resource}: {spans:#?}"))
}

#[test]
fn grpc_statuses_errors_and_hooks_reach_the_agent() {
    let agent = TestAgent::start();
    // B3 beside the default styles: context comes from the metadata in every configured style.
    std::env::set_var(
        "DD_TRACE_PROPAGATION_STYLE_EXTRACT",
        "datadog,tracecontext,b3multi",
    );
    let guard = agent.install_pipeline("inventory");
    let config = Config::builder()
        .ignore(|req| req.path().starts_with("/grpc.health.v1.Health/"))
        .resource_name(|_, method| {
            (method == Some("/shop.Inventory/Legacy")).then(|| "legacy".to_string())
        })
        // NOT_FOUND is an answer here, not an error.
        .grpc_server_error_statuses("2-4,6-16")
        .build()
        .unwrap();
    let tracer = RequestTracer::new(Integration::grpc_server("tonic"), config);
    let ok = trailers(&[("grpc-status", "0")]);
    call(
        &tracer,
        "/shop.Inventory/Get",
        &[],
        vec![data(), Ok(ok)],
        true,
    );
    // A trailers-only answer: the status is in the headers, the body is empty.
    let not_found = [("grpc-status", "5"), ("grpc-message", "no%20such%20item")];
    call(&tracer, "/shop.Inventory/Find", &not_found, vec![], true);
    let broken = trailers(&[("grpc-status", "13"), ("grpc-message", "broken")]);
    call(
        &tracer,
        "/shop.Inventory/List",
        &[],
        vec![data(), data(), Ok(broken)],
        true,
    );
    call(
        &tracer,
        "/shop.Inventory/Watch",
        &[],
        vec![data(), data()],
        false,
    );
    let failed = Err(std::io::Error::other("connection reset"));
    call(
        &tracer,
        "/shop.Inventory/Upload",
        &[],
        vec![data(), failed],
        true,
    );
    call(
        &tracer,
        "/grpc.health.v1.Health/Check",
        &[],
        vec![Ok(trailers(&[("grpc-status", "0")]))],
        true,
    );
    call(
        &tracer,
        "/shop.Inventory/Legacy",
        &[],
        vec![Ok(trailers(&[("grpc-status", "0")]))],
        true,
    );

    // A client call whose answer carries UNAVAILABLE in its trailers.
    let client_config = ClientConfig::default();
    let span = ClientSpan::start_grpc(
        &client_config,
        "tonic",
        "/shop.Pricing/Quote",
        GrpcTarget::parse("http://pricing:50051").as_ref(),
    );
    let response = http::Response::new(Frames(
        vec![Ok(trailers(&[
            ("grpc-status", "14"),
            ("grpc-message", "try later"),
        ]))]
        .into(),
    ));
    drain(
        complete_grpc_client_response(span, Ok::<_, std::io::Error>(response))
            .unwrap()
            .into_body(),
    );

    // A proxy's 503 in place of the service's answer: UNAVAILABLE, as the client sees it.
    let span = ClientSpan::start_grpc(&client_config, "tonic", "/shop.Pricing/Rates", None);
    let response = http::Response::builder()
        .status(503)
        .body(Frames(VecDeque::new()))
        .unwrap();
    drain(
        complete_grpc_client_response(span, Ok::<_, std::io::Error>(response))
            .unwrap()
            .into_body(),
    );

    let ok = || vec![Ok(trailers(&[("grpc-status", "0")]))];
    let b3 = [
        ("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"),
        ("x-b3-spanid", "a2fb4a1d1a96d312"),
        ("x-b3-sampled", "1"),
    ];
    call_with(&tracer, "/shop.Inventory/Trace", &b3, &[], ok(), true);

    // The integration's switch: `DD_TRACE_TONIC_ENABLED=false` makes the layer a pass-through.
    std::env::set_var("DD_TRACE_TONIC_ENABLED", "false");
    let off = RequestTracer::new(Integration::grpc_server("tonic"), Config::default());
    call(&off, "/shop.Inventory/Off", &[], ok(), true);

    guard.flush();
    let spans = agent.spans_once(9);
    guard.shutdown();
    assert_eq!(
        spans.len(),
        9,
        "the health check and the switched-off call have no span: {spans:#?}"
    );
    let b3_span = find(&spans, "grpc.server", "/shop.Inventory/Trace");
    assert_eq!(
        b3_span["trace_id"].as_u64(),
        Some(0x48485a3953bb6124),
        "{b3_span:#?}"
    );
    assert_eq!(b3_span["parent_id"].as_u64(), Some(0xa2fb4a1d1a96d312));
    assert_eq!(b3_span["meta"]["_dd.p.tid"], "463ac35c9f6413ad");
    let code = |s: &Value| s["metrics"]["grpc.status.code"].as_f64();
    let error = |s: &Value| {
        (
            s["error"].as_i64().unwrap_or(0),
            s["meta"]["error.type"].as_str().map(str::to_string),
            s["meta"]["error.message"].as_str().map(str::to_string),
        )
    };
    let s = |x: &str| Some(x.to_string());

    let get = find(&spans, "grpc.server", "/shop.Inventory/Get");
    assert_eq!((code(get), error(get)), (Some(0.0), (0, None, None)));
    assert_eq!(get["type"], "grpc");
    assert_eq!(
        get["meta"]["rpc.grpc.status_code"],
        Value::Null,
        "a metric, not a tag"
    );
    assert_eq!(get["metrics"]["rpc.grpc.status_code"].as_f64(), Some(0.0));

    let find_span = find(&spans, "grpc.server", "/shop.Inventory/Find");
    assert_eq!(
        code(find_span),
        Some(5.0),
        "read from a trailers-only answer"
    );
    assert_eq!(error(find_span).0, 0, "5 is not in 2-4,6-16");

    let list = find(&spans, "grpc.server", "/shop.Inventory/List");
    assert_eq!(
        (code(list), error(list)),
        (Some(13.0), (1, s("INTERNAL"), s("broken")))
    );

    let watch = find(&spans, "grpc.server", "/shop.Inventory/Watch");
    assert_eq!(
        code(watch),
        Some(1.0),
        "dropped before its trailers: CANCELLED"
    );
    assert_eq!(error(watch).0, 0, "CANCELLED is not a server error");

    let upload = find(&spans, "grpc.server", "/shop.Inventory/Upload");
    assert_eq!(code(upload), None);
    assert_eq!(
        error(upload),
        (1, s("std::io::error::Error"), s("connection reset"))
    );

    let legacy = find(&spans, "grpc.server", "legacy");
    assert_eq!(
        legacy["meta"]["grpc.method.name"], "Legacy",
        "the hook renamed only the resource"
    );

    let quote = find(&spans, "grpc.client", "/shop.Pricing/Quote");
    assert_eq!(
        (code(quote), error(quote)),
        (Some(14.0), (1, s("UNAVAILABLE"), s("try later")))
    );
    assert_eq!(quote["meta"]["out.host"], "pricing");
    assert_eq!(quote["meta"]["network.destination.port"], "50051");
    assert_eq!(quote["meta"]["span.kind"], "client");
    let rates = find(&spans, "grpc.client", "/shop.Pricing/Rates");
    assert_eq!(
        (code(rates), error(rates)),
        (Some(14.0), (1, s("UNAVAILABLE"), s("HTTP status 503")))
    );
    agent.check_failures().unwrap();
}
