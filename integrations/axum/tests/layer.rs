//! In-process tests of the layer: spans go to an in-memory exporter installed as the global
//! OpenTelemetry provider (the layer uses it when `ddtrace_core::init` was not called).

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use ddtrace_axum::DatadogLayer;
use ddtrace_conformance::inproc::{attr, exporter, server_spans};
use http_body_util::BodyExt;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, Context};
use std::time::Duration;
use tower::ServiceExt;

fn request(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "localhost")
        .body(Body::empty())
        .unwrap()
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, Vec<(String, String)>, Bytes) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn routes() -> Router {
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<String>| async move { format!("user {id}") }),
        )
        .route(
            "/teapot",
            get(|| async {
                (
                    StatusCode::IM_A_TEAPOT,
                    [("x-kind", "teapot")],
                    "short and stout",
                )
            }),
        )
        .nest(
            "/api",
            Router::new().route("/orders/{order}", get(|| async { "order" })),
        )
}

#[tokio::test]
async fn names_the_resource_from_the_route_template() {
    exporter();
    let app = routes().layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    call(app.clone(), request("/users/rt1")).await;
    call(app, request("/api/orders/rt1")).await;

    let users = server_spans("/users/rt1");
    assert_eq!(users.len(), 1);
    assert_eq!(
        attr(&users[0], "datadog.resource").as_deref(),
        Some("GET /users/{id}")
    );
    assert_eq!(
        attr(&users[0], "http.route").as_deref(),
        Some("/users/{id}")
    );
    assert_eq!(
        attr(&users[0], "datadog.name").as_deref(),
        Some("axum.request")
    );
    assert_eq!(attr(&users[0], "datadog.type").as_deref(), Some("web"));
    assert_eq!(attr(&users[0], "component").as_deref(), Some("axum"));
    assert_eq!(
        attr(&users[0], "datadog.http_status_code").as_deref(),
        Some("200")
    );

    let nested = server_spans("/api/orders/rt1");
    assert_eq!(
        attr(&nested[0], "datadog.resource").as_deref(),
        Some("GET /api/orders/{order}")
    );
}

#[tokio::test]
async fn an_unmatched_request_is_method_404() {
    exporter();
    let app = routes().layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    let (status, _, _) = call(app, request("/nothing/here/unmatched1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let spans = server_spans("/nothing/here/unmatched1");
    assert_eq!(spans.len(), 1);
    assert_eq!(
        attr(&spans[0], "datadog.resource").as_deref(),
        Some("GET 404")
    );
    assert_eq!(attr(&spans[0], "http.route"), None);
}

#[tokio::test]
async fn responses_are_unchanged() {
    exporter();
    let traced = routes().layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    for path in ["/users/same1", "/teapot", "/api/orders/9", "/missing/same1"] {
        let bare = call(routes(), request(path)).await;
        let with_layer = call(traced.clone(), request(path)).await;
        assert_eq!(bare, with_layer, "{path}");
    }
}

#[tokio::test]
async fn a_panic_is_recorded_then_unwinds_as_without_the_layer() {
    exporter();
    async fn boom() -> &'static str {
        panic!("layer test panic")
    }
    let app = Router::new()
        .route("/boom/panic1", get(boom))
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    let outcome = tokio::spawn(app.oneshot(request("/boom/panic1"))).await;
    let err = outcome.expect_err("the panic must reach the caller");
    assert!(err.is_panic());
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"layer test panic"));

    let spans = server_spans("/boom/panic1");
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(attr(span, "datadog.error.type").as_deref(), Some("panic"));
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("layer test panic")
    );
    assert_eq!(
        attr(span, "datadog.http_status_code").as_deref(),
        Some("500")
    );
    assert!(matches!(span.status, Status::Error { .. }));
}

#[tokio::test]
async fn a_recorded_handler_error_reaches_the_span() {
    exporter();
    async fn fails() -> (StatusCode, &'static str) {
        ddtrace_core::record_error(&std::io::Error::other("disk on fire"));
        (StatusCode::INTERNAL_SERVER_ERROR, "sorry")
    }
    let app = Router::new()
        .route("/fails/err1", get(fails))
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    let (status, _, body) = call(app, request("/fails/err1")).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::INTERNAL_SERVER_ERROR, &b"sorry"[..])
    );
    let span = &server_spans("/fails/err1")[0];
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("disk on fire")
    );
    assert_eq!(
        attr(span, "datadog.error.type").as_deref(),
        Some("std::io::error::Error")
    );
}

#[tokio::test]
async fn the_span_ends_with_the_body_and_once_when_dropped() {
    exporter();
    let app = Router::new()
        .route(
            "/stream/end1",
            get(|| async {
                let chunks = futures_util::stream::iter(
                    ["a", "b", "c"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
                );
                Body::from_stream(chunks)
            }),
        )
        .route("/stream/drop1", get(|| async { "never read" }))
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));

    let res = app.clone().oneshot(request("/stream/end1")).await.unwrap();
    assert!(
        server_spans("/stream/end1").is_empty(),
        "ended before the body was sent"
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"abc");
    assert_eq!(server_spans("/stream/end1").len(), 1);

    // The client went away: the response (and its body) is dropped unread.
    let res = app.oneshot(request("/stream/drop1")).await.unwrap();
    drop(res);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(server_spans("/stream/drop1").len(), 1);
}

#[tokio::test]
async fn handlers_run_inside_the_request_span() {
    exporter();
    let app = Router::new()
        .route(
            "/child/ctx1",
            get(|| async {
                let tracer = global::tracer("handler");
                let child = tracer.start("handler.child");
                let cx = Context::current().with_span(child);
                cx.span().end();
                "ok"
            }),
        )
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    call(app, request("/child/ctx1")).await;
    let server = &server_spans("/child/ctx1")[0];
    ddtrace_conformance::inproc::assert_child_of(server, "handler.child");
}

#[tokio::test]
async fn hostile_headers_never_panic_or_change_the_response() {
    exporter();
    let traced = routes().layer(
        DatadogLayer::builder()
            .header_tags("x-big,x-bin")
            .client_ip(true)
            .build()
            .unwrap(),
    );
    for (i, headers) in ddtrace_conformance::inproc::hostile_header_cases()
        .into_iter()
        .enumerate()
    {
        let build = || {
            let mut req = request("/users/hostile");
            for (k, v) in &headers {
                req.headers_mut().append(
                    HeaderName::from_static(k),
                    HeaderValue::from_bytes(v).unwrap(),
                );
            }
            req
        };
        let bare = call(routes(), build()).await;
        let with_layer = call(traced.clone(), build()).await;
        assert_eq!(bare, with_layer, "case {i}");
    }

    // Ten thousand headers, repeated propagation fields included.
    let mut req = request("/users/hostile-many");
    for i in 0..10_000 {
        req.headers_mut().append(
            HeaderName::from_bytes(format!("x-h-{}", i % 500).as_bytes()).unwrap(),
            HeaderValue::from_static("v"),
        );
        if i % 1000 == 0 {
            req.headers_mut()
                .append("tracestate", HeaderValue::from_static("a=1"));
        }
    }
    let (status, _, body) = call(traced, req).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &b"user hostile-many"[..])
    );
    let spans = server_spans("/users/hostile-many");
    assert_eq!(spans.len(), 1);
    let tagged = attr(&spans[0], "http.request.headers.x-big");
    assert!(tagged.is_none_or(|v| v.len() <= 4096));
}

#[tokio::test]
async fn distributed_tracing_off_ignores_incoming_context() {
    exporter();
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let on = routes().layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    let off = routes().layer(
        DatadogLayer::builder()
            .distributed_tracing(false)
            .build()
            .unwrap(),
    );
    for (app, path) in [(on, "/users/dt-on"), (off, "/users/dt-off")] {
        let mut req = request(path);
        req.headers_mut()
            .insert("traceparent", HeaderValue::from_static(traceparent));
        call(app, req).await;
    }
    let continued = &server_spans("/users/dt-on")[0];
    assert_eq!(
        continued.span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(continued.parent_span_id.to_string(), "b7ad6b7169203331");
    let fresh = &server_spans("/users/dt-off")[0];
    assert_ne!(
        fresh.span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(fresh.parent_span_id, opentelemetry::SpanId::INVALID);
}

#[tokio::test]
async fn a_failing_body_passes_through_and_is_recorded() {
    exporter();
    let app = Router::new()
        .route(
            "/body/fails1",
            get(|| async {
                let chunks = futures_util::stream::iter([
                    Ok(Bytes::from("partial")),
                    Err(std::io::Error::other("upstream reset")),
                ]);
                Body::from_stream(chunks)
            }),
        )
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    let res = app.oneshot(request("/body/fails1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let err = res
        .into_body()
        .collect()
        .await
        .expect_err("the body error reaches the caller");
    assert!(err.to_string().contains("upstream reset"));
    let spans = server_spans("/body/fails1");
    assert_eq!(spans.len(), 1);
    assert!(attr(&spans[0], "datadog.error.msg").is_some_and(|m| m.contains("upstream reset")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_keep_their_own_context() {
    exporter();
    async fn work(Path(i): Path<u64>) -> String {
        // Yield in the middle so thousands of requests interleave on the worker threads.
        tokio::task::yield_now().await;
        let child = global::tracer("handler").start(format!("concurrency.child.{i}"));
        let cx = Context::current().with_span(child);
        tokio::task::yield_now().await;
        cx.span().end();
        format!("done {i}")
    }
    let app = Router::new()
        .route("/concurrency/{i}", get(work))
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));

    const N: u64 = 2000;
    let trace_id = |i: u64| format!("{:016x}{:016x}", 0xc0c0_0000_0000_0000u64 | i, i + 1);
    let parent_id = |i: u64| format!("{:016x}", 0xaaaa_0000_0000_0000u64 | i);
    let mut tasks = Vec::new();
    for i in 0..N {
        let app = app.clone();
        let mut req = request(&format!("/concurrency/{i}"));
        req.headers_mut().insert(
            "traceparent",
            HeaderValue::from_str(&format!("00-{}-{}-01", trace_id(i), parent_id(i))).unwrap(),
        );
        tasks.push(tokio::spawn(async move { call(app, req).await }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, format!("done {i}").as_bytes())
        );
    }

    let spans = exporter().get_finished_spans().unwrap();
    for i in 0..N {
        let server = spans
            .iter()
            .find(|s| {
                s.span_kind == SpanKind::Server
                    && attr(s, "http.url")
                        .is_some_and(|u| u.ends_with(&format!("/concurrency/{i}")))
            })
            .unwrap_or_else(|| panic!("no server span for request {i}"));
        assert_eq!(
            server.span_context.trace_id().to_string(),
            trace_id(i),
            "request {i}"
        );
        assert_eq!(
            server.parent_span_id.to_string(),
            parent_id(i),
            "request {i}"
        );
        let child = spans
            .iter()
            .find(|s| s.name == format!("concurrency.child.{i}"))
            .unwrap_or_else(|| panic!("no child span for request {i}"));
        assert_eq!(
            child.span_context.trace_id(),
            server.span_context.trace_id(),
            "request {i}"
        );
        assert_eq!(
            child.parent_span_id,
            server.span_context.span_id(),
            "request {i}"
        );
    }
}

#[tokio::test]
async fn ten_thousand_mid_stream_disconnects_end_each_span_once() {
    exporter();
    let app = Router::new()
        .route(
            "/disconnect/{i}",
            get(|| async {
                let chunks = futures_util::stream::iter(
                    (0..5).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("chunk {i}")))),
                );
                Body::from_stream(chunks)
            }),
        )
        .layer(DatadogLayer::with_config(ddtrace_core::Config::default()));
    const N: usize = 10_000;
    for i in 0..N {
        let res = app
            .clone()
            .oneshot(request(&format!("/disconnect/{i}")))
            .await
            .unwrap();
        let mut body = res.into_body();
        // Read one chunk, then the client goes away.
        let _ = http_body_util::BodyExt::frame(&mut body).await;
        drop(body);
    }
    let ended = exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| attr(s, "http.url").is_some_and(|u| u.contains("/disconnect/")))
        .count();
    assert_eq!(ended, N, "each span ends exactly once");
}
