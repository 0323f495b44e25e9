//! The layers change nothing a caller or a handler sees: the same answers (status, headers,
//! messages, trailers) with and without them, for good and hostile metadata; a handler's panic
//! unwinds as it would untraced; and the client layer hands the call's metadata and answer
//! through. In-process, on the native pipeline sending to a discarding sink.

#[path = "../examples/conformance/service.rs"]
mod service;

use ddtrace_tonic::{DatadogGrpcClientLayer, DatadogGrpcLayer};
use http_body_util::BodyExt;
use prost::Message;
use service::{ConformanceServer, Echo};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};

fn request(method: &str, echo: &Echo, metadata: &[(&'static str, Vec<u8>)]) -> http::Request<Body> {
    let message = echo.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    let mut req = http::Request::post(format!("/conformance.v1.Conformance/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::new(http_body_util::Full::new(bytes::Bytes::from(
            frame,
        ))))
        .expect("request");
    for (name, value) in metadata {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            req.headers_mut().append(*name, value);
        }
    }
    req
}

/// What a caller sees of an answer: status, headers, the body's bytes, the trailers.
type Seen = (
    u16,
    Vec<(String, Vec<u8>)>,
    Vec<u8>,
    Option<Vec<(String, Vec<u8>)>>,
);

fn pairs(map: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

async fn seen<S, B>(service: S, req: http::Request<Body>) -> Seen
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(req).await.expect("response");
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.expect("body");
    let trailers = collected.trailers().map(pairs);
    (
        parts.status.as_u16(),
        pairs(&parts.headers),
        collected.to_bytes().to_vec(),
        trailers,
    )
}

fn server() -> ConformanceServer<Channel> {
    ConformanceServer::new(None)
}

#[test]
fn answers_are_unchanged_for_good_and_hostile_metadata_and_panics_unwind_as_before() {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let layer = DatadogGrpcLayer::new();
    let mut cases = ddtrace_conformance::inproc::hostile_header_cases();
    cases.push(
        ddtrace_conformance::inproc::TRACE_HEADERS
            .iter()
            .map(|(k, v)| (*k, v.as_bytes().to_vec()))
            .collect(),
    );
    cases.push(Vec::new());
    let calls = [
        ("Echo", Echo::text("hello")),
        (
            "Fail",
            Echo {
                text: "no such item".into(),
                code: 5,
                count: 0,
            },
        ),
        (
            "Stream",
            Echo {
                text: "broke".into(),
                code: 13,
                count: 2,
            },
        ),
        ("Missing", Echo::text("?")),
    ];
    for metadata in &cases {
        for (method, echo) in &calls {
            let bare = rt.block_on(seen(server(), request(method, echo, metadata)));
            let traced = rt.block_on(seen(
                tower::ServiceBuilder::new()
                    .layer(layer.clone())
                    .service(server()),
                request(method, echo, metadata),
            ));
            assert_eq!(
                bare,
                traced,
                "{method} with {} metadata entries",
                metadata.len()
            );
        }
    }
    // A panicking handler: the same panic, with and without the layer.
    let panic_message = |traced: bool| {
        let req = request("Panic", &Echo::text("boom"), &[]);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                if traced {
                    let service = tower::ServiceBuilder::new()
                        .layer(layer.clone())
                        .service(server());
                    let _ = service.oneshot(req).await;
                } else {
                    let _ = server().oneshot(req).await;
                }
            })
        }));
        let payload = outcome.expect_err("the handler's panic reaches the caller");
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    };
    assert_eq!(panic_message(false), Some("conformance panic".to_string()));
    assert_eq!(panic_message(true), panic_message(false));
    guard.shutdown();
}

#[test]
fn the_client_layer_passes_the_call_and_its_answer_through() {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The "channel" is the server itself: what the client layer sends is what it receives.
    let metadata = [("x-request-id", b"42".to_vec())];
    for (method, echo) in [
        ("Echo", Echo::text("hello")),
        (
            "Fail",
            Echo {
                text: "gone".into(),
                code: 5,
                count: 0,
            },
        ),
        (
            "Stream",
            Echo {
                text: String::new(),
                code: 0,
                count: 2,
            },
        ),
    ] {
        let bare = rt.block_on(seen(server(), request(method, &echo, &metadata)));
        let client = tower::ServiceBuilder::new()
            .layer(DatadogGrpcClientLayer::new().target("127.0.0.1:50051"))
            .service(server());
        let traced = rt.block_on(seen(client, request(method, &echo, &metadata)));
        assert_eq!(bare, traced, "{method} through the client layer");
    }
    // The call carries the trace on: the server sees the injected context.
    let mut captured = None;
    let capture = tower::service_fn(|req: http::Request<Body>| {
        captured = Some(req.headers().clone());
        async { Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty())) }
    });
    let client = tower::ServiceBuilder::new()
        .layer(DatadogGrpcClientLayer::new())
        .service(capture);
    let _ = rt.block_on(client.oneshot(request("Echo", &Echo::text("x"), &metadata)));
    let headers = captured.expect("the call was made");
    assert!(headers.contains_key("x-datadog-trace-id"), "{headers:?}");
    assert!(headers.contains_key("traceparent"), "{headers:?}");
    assert_eq!(
        headers["x-request-id"], "42",
        "the caller's metadata is kept"
    );
    guard.shutdown();
}
