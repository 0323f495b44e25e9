//! Per-request overhead of `DatadogLayer` over a bare router, in-process, beside the axum
//! peers on the same Datadog pipeline in the same run: `opentelemetry-instrumentation-tower`
//! (tracing only, metrics off), `axum-tracing-opentelemetry`, and tower-http's `TraceLayer`
//! through the tracing-opentelemetry bridge; and the floor, a hand-built root span with the same
//! tags on libdatadog's exporter (`support/floor.rs`). Each case is a request through `oneshot`
//! with its body collected, with and without incoming Datadog + W3C headers. The pipelines
//! export to a local sink that accepts the agent's endpoints and discards the payloads.
//!
//! After criterion's timings, a table gives CPU time per request summed over every thread but
//! the sink's (so the exporter's encoding and sending is counted) and allocations per request.
//!
//! `cargo bench -p ddtrace-axum`
//!
//! For a profile, `DDTRACE_PROFILE=<case>[+headers]` (a case's name up to its first space, as
//! `DatadogLayer+headers`) runs only that case for `DDTRACE_PROFILE_N` requests (default
//! 20,000) with no criterion around it, e.g. under `valgrind --tool=callgrind` (see
//! docs/performance.md). With `DDTRACE_ALLOC_TRACE=<file>` it also writes the request thread's
//! allocations and frees, request by request, for `scripts/alloc-sim.py`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, Criterion};
use ddtrace_axum::DatadogLayer;
use ddtrace_conformance::measure::{self, CountingAllocator};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

#[path = "support/floor.rs"]
mod floor;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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

/// One request through `app`, its body collected.
fn serve(rt: &tokio::runtime::Runtime, app: &Router, headers: bool) -> axum::body::Bytes {
    rt.block_on(async {
        let res = app
            .clone()
            .oneshot(request(headers))
            .await
            .expect("response");
        res.into_body().collect().await.expect("body").to_bytes()
    })
}

/// Every case of the run, built after the pipeline is installed (the peers read the global
/// tracer provider and propagator when they are constructed), each finalized with
/// `with_state(())` as `axum::serve` does for every connection: an unfinalized router rebuilds
/// each route, and clones each layer, on every request, which no served app does.
/// The floor's case is left out without its exporter (a profile of another case).
fn apps(floor: Option<&Arc<floor::Floor>>) -> Vec<(&'static str, Router)> {
    cases(floor)
        .into_iter()
        .map(|(name, router)| (name, router.with_state(())))
        .collect()
}

fn cases(floor: Option<&Arc<floor::Floor>>) -> Vec<(&'static str, Router)> {
    let otel_tower = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
        .with_metrics(false)
        .with_route_extractor(
            opentelemetry_instrumentation_tower::http::extractors::AxumMatchedPathExtractor,
        )
        .build()
        .expect("opentelemetry-instrumentation-tower layer");
    let mut cases = vec![
        ("bare", router()),
        (
            "DatadogLayer (this project)",
            router().layer(DatadogLayer::new()),
        ),
        (
            "opentelemetry-instrumentation-tower 0.19",
            router().layer(otel_tower),
        ),
        (
            "axum-tracing-opentelemetry 0.42",
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
        ),
        (
            "tower-http TraceLayer + tracing-opentelemetry",
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
        ),
        // What any layer costs in axum before it does anything: `Router::layer` boxes and
        // clones each route's service per request.
        (
            "no-op-layer (the floor of any axum layer)",
            router().layer(tower::util::MapRequestLayer::new(
                |req: axum::extract::Request| req,
            )),
        ),
    ];
    // The least a request span on libdatadog's exporter costs (see `floor.rs`): headers are
    // ignored, so its `+headers` row is no floor for propagation.
    if let Some(floor) = floor {
        cases.push((FLOOR_CASE, router().layer(floor::FloorLayer(floor.clone()))));
    }
    cases
}

const FLOOR_CASE: &str = "libdatadog-floor (hand-built root span, same exporter)";

/// The floor's exporter, to the sink `pipeline_to_sink` set up.
fn start_floor() -> Arc<floor::Floor> {
    let url = std::env::var("DD_TRACE_AGENT_URL").expect("set by pipeline_to_sink");
    floor::Floor::start(&url, ddtrace_conformance::inproc::BENCH_SERVICE)
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let floor = start_floor();
    let apps = apps(Some(&floor));
    let names: Vec<&str> = apps.iter().map(|(name, _)| *name).collect();
    measure::compare_flushing(
        c,
        "axum GET /users/{id}",
        || {
            guard.flush();
            floor.flush();
        },
        &names,
        |case, headers| {
            serve(&rt, &apps[case].1, headers);
        },
    );
    guard.shutdown();
}

/// The `DDTRACE_PROFILE` mode: one case in a loop, then the exporter flushed.
fn profile(case: &str, headers: bool, n: u64) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Only the floor's own profile runs its exporter: an idle one would be in every other's.
    let floor = (FLOOR_CASE.split(' ').next() == Some(case)).then(start_floor);
    let apps = apps(floor.as_ref());
    let Some((_, app)) = apps
        .iter()
        .find(|(name, _)| name.split(' ').next() == Some(case))
    else {
        panic!("no case {case}");
    };
    let trace = measure::allocation_trace_file();
    let sizes = measure::allocation_sizes(|| {
        for _ in 0..n {
            measure::trace_request_start();
            serve(&rt, app, headers);
        }
    });
    if let Some(floor) = &floor {
        floor.flush();
    }
    guard.shutdown();
    measure::report_sizes(case, n, sizes);
    if let Some(path) = trace {
        if let Err(e) = measure::write_allocation_trace(&path) {
            eprintln!("cannot write the allocation trace to {path}: {e}");
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    match measure::profile_spec() {
        Some((case, headers, n)) => profile(&case, headers, n),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
