//! Per-request overhead of `DatadogLayer` over a bare router, in-process: a request through
//! `oneshot` with its body collected, with the real Datadog pipeline installed and exporting
//! to a local sink that accepts the agent's endpoints and discards the payloads.
//!
//! `cargo bench -p ddtrace-axum`

use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use ddtrace_axum::DatadogLayer;
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

fn router() -> Router {
    Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<String>| async move { format!("user {id}") }),
    )
}

fn request(with_trace_headers: bool) -> Request<Body> {
    let mut builder = Request::get("/users/42")
        .header("host", "localhost")
        .header("user-agent", "bench/1.0");
    if with_trace_headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            builder = builder.header(k, v);
        }
    }
    builder.body(Body::empty()).expect("request")
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = router();
    let traced = router().layer(DatadogLayer::new());

    let mut group = c.benchmark_group("axum GET /users/{id}");
    group.measurement_time(Duration::from_secs(5));
    let cases = [
        ("bare", bare, false),
        ("DatadogLayer", traced.clone(), false),
        ("DatadogLayer + Datadog/W3C headers", traced, true),
    ];
    for (name, app, headers) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let res = app
                        .clone()
                        .oneshot(request(headers))
                        .await
                        .expect("response");
                    res.into_body().collect().await.expect("body").to_bytes()
                })
            })
        });
    }
    group.finish();
    guard.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
