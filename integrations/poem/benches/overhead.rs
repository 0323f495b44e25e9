//! Per-request overhead of `DatadogMiddleware` over a bare poem `Route`, in-process
//! (`Endpoint::get_response`, body collected), with and without incoming Datadog + W3C
//! headers. The Datadog pipeline exports to a local sink that discards the payloads.
//!
//! poem's own `OpenTelemetryTracing` is not run beside it: poem 3 builds it on opentelemetry
//! 0.30, and the Datadog pipeline is on 0.33, so the two cannot share a pipeline.
//!
//! `cargo bench -p ddtrace-poem`

use criterion::{criterion_group, criterion_main, Criterion};
use ddtrace_conformance::measure::{self, CountingAllocator};
use ddtrace_poem::DatadogMiddleware;
use poem::web::Path;
use poem::{get, handler, Endpoint, EndpointExt, Request, Route};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[handler]
fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

fn request(with_trace_headers: bool) -> Request {
    let mut req = Request::builder()
        .uri_str("/users/42")
        .header("host", "localhost")
        .header("user-agent", "bench/1.0");
    if with_trace_headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            req = req.header(k, v);
        }
    }
    req.finish()
}

async fn run(app: &impl Endpoint, headers: bool) {
    let res = app.get_response(request(headers)).await;
    let _ = res.into_body().into_bytes().await;
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = Route::new().at("/users/:id", get(user));
    let traced = Route::new()
        .at("/users/:id", get(user))
        .with(DatadogMiddleware::new());

    let names = ["bare", "DatadogMiddleware (this project)"];
    // Different types: one request per case, chosen by index.
    measure::compare(
        c,
        "poem GET /users/:id",
        &guard,
        &names,
        |case, headers| match case {
            0 => rt.block_on(run(&bare, headers)),
            _ => rt.block_on(run(&traced, headers)),
        },
    );
    guard.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
